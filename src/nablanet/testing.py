"""Helpers shared by the tests: numerical gradient checking, and the checks every layer passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.random import set_random_seed

if TYPE_CHECKING:
    from nablanet.layers.base import Layer


def numerical_gradient(fn: Callable[..., Any], inputs: list[np.ndarray], index: int,
                       weights: np.ndarray, eps: float) -> np.ndarray:
    r"""Central-difference gradient of :math:`\sum w \odot f(x)` with respect to ``inputs[index]``.

    .. math::

        \frac{\partial}{\partial x_k} \approx
        \frac{\langle w, f(x + \epsilon e_k)\rangle
              - \langle w, f(x - \epsilon e_k)\rangle}{2\epsilon}
    """
    x = inputs[index]
    grad = np.zeros_like(x)
    flat = x.reshape(-1)  # a view: inputs are made contiguous by gradcheck
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + eps
        plus = np.sum(weights * _value(fn, inputs))
        flat[k] = saved - eps
        minus = np.sum(weights * _value(fn, inputs))
        flat[k] = saved
        grad.reshape(-1)[k] = (plus - minus) / (2 * eps)
    return grad


def _value(fn: Callable[..., Any], arrays: list[np.ndarray]) -> np.ndarray:
    out = fn(*[Tensor(a, dtype=a.dtype) for a in arrays])
    return np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)


def gradcheck(fn: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-4, wrt: Any = None, seed: int = 0) -> bool:
    r"""Check autograd gradients of ``fn`` against central differences in float64.

    ``fn`` takes Tensors and returns a Tensor. The output is contracted with fixed random
    weights :math:`w`, so every output element's gradient is exercised, and
    :math:`\nabla_x \langle w, f(x)\rangle` from :meth:`Tensor.backward` is compared
    with the finite-difference estimate for each input in ``wrt`` (all inputs by default).

    Inputs are converted to float64 (their memory layout is kept: a transposed array stays
    non-contiguous for the analytic pass). Raises ``AssertionError`` describing the worst
    mismatch, and returns True otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> gradcheck(lambda x: (x * x).sum(), np.array([1.0, 2.0]))
    True
    """
    arrays = [np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    wrt = range(len(arrays)) if wrt is None else ([wrt] if isinstance(wrt, int) else wrt)
    tensors = [Tensor(a, dtype=np.float64, requires_grad=(i in wrt)) for i, a in enumerate(arrays)]
    out = fn(*tensors)
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(out.shape)
    (out * Tensor(weights, dtype=np.float64)).sum().backward()
    for i in wrt:
        contiguous = [np.array(a, order="C", copy=True) for a in arrays]  # keeps 0-d
        expected = numerical_gradient(fn, contiguous, i, weights, eps)
        actual = tensors[i].grad
        if actual is None:
            actual = np.zeros_like(expected)
        if not np.allclose(actual, expected, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(actual - expected)), expected.shape)
            raise AssertionError(
                f"gradcheck: gradient of input {i} differs at {worst}: "
                f"autograd {actual[worst]!r}, numerical {expected[worst]!r} "
                f"(max abs error {np.max(np.abs(actual - expected)):.3g})"
            )
    return True


# -- layers ------------------------------------------------------------------------------

def _random_inputs(shape: Any, rng: np.random.Generator) -> Any:
    if isinstance(shape, list):
        return [_random_inputs(s, rng) for s in shape]
    return rng.standard_normal(tuple(shape)).astype(np.float32)


def _with_none_batch(shape: Any) -> Any:
    if isinstance(shape, list):
        return [_with_none_batch(s) for s in shape]
    return (None, *tuple(shape)[1:])


def _outputs(x: Any) -> list[np.ndarray]:
    if isinstance(x, (list, tuple)):
        return [a for item in x for a in _outputs(item)]
    return [np.asarray(x.data if isinstance(x, Tensor) else x)]

def check_layer(layer_cls: type[Layer], kwargs: dict[str, Any], input_shape: Any,
                expected_output_shape: tuple[int | None, ...], expected_num_weights: int,
                *, seed: int = 0, atol: float = 1e-6) -> Any:
    """The checks every layer must pass; returns the built layer for further checks.

    * an eager call on random data of ``input_shape`` gives ``expected_output_shape``;
    * ``compute_output_shape`` on ``input_shape`` with an unknown (None) batch axis gives
      ``expected_output_shape`` with None for the batch axis;
    * the layer has ``expected_num_weights`` weights, and ``count_params`` agrees;
    * ``get_config`` → ``from_config`` gives a layer with the same config which, given the
      same weights through ``set_weights``, produces the same output (inference mode).

    ``input_shape`` may be a list of shapes for multi-input layers; ``expected_output_shape``
    is then the (first) output's shape. Usable for your own layers too.
    """
    rng = np.random.default_rng(seed)
    set_random_seed(seed)
    layer = layer_cls(**kwargs)
    inputs = _random_inputs(input_shape, rng)
    out = layer(inputs)
    shapes = [o.shape for o in _outputs(out)]
    assert shapes[0] == tuple(expected_output_shape), (
        f"{layer_cls.__name__}: eager output shape {shapes[0]}, expected "
        f"{tuple(expected_output_shape)}")

    fresh = layer_cls(**kwargs)
    symbolic = fresh.compute_output_shape(_with_none_batch(input_shape))
    if isinstance(symbolic, list):
        symbolic = symbolic[0]
    expected_symbolic = (None, *tuple(expected_output_shape)[1:])
    assert tuple(symbolic) == expected_symbolic, (
        f"{layer_cls.__name__}: compute_output_shape gave {tuple(symbolic)}, expected "
        f"{expected_symbolic}")

    assert len(layer.weights) == expected_num_weights, (
        f"{layer_cls.__name__}: {len(layer.weights)} weights, expected {expected_num_weights}")
    assert len(layer.get_weights()) == expected_num_weights
    assert layer.count_params() == sum(w.size for w in layer.get_weights())

    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config, (
        f"{layer_cls.__name__}: config changed in the round trip:\n{config}\n"
        f"{clone.get_config()}")
    reference = _outputs(layer(inputs, training=False))
    clone(inputs, training=False)  # build
    clone.set_weights(layer.get_weights())
    for a, b in zip(reference, _outputs(clone(inputs, training=False))):
        np.testing.assert_allclose(b, a, atol=atol, rtol=1e-6,
                                   err_msg=f"{layer_cls.__name__}: clone output differs")
    return layer


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (a free port) for download tests: nothing leaves the machine.

    ``server.add(name, data)`` serves ``data`` at ``server.url(name)``
    (``http://127.0.0.1:<port>/files/<name>``); ``/redirect/<name>`` answers 302 to it,
    ``/truncated/<name>`` announces the full length but sends half the bytes and closes the
    connection, and anything else is a 404. ``server.requests`` lists the paths asked for.
    Use it as a context manager (or call :meth:`close`).

    Examples
    --------
    >>> import urllib.request
    >>> with LoopbackServer() as server:
    ...     url = server.add("hello.txt", b"hello")
    ...     urllib.request.urlopen(url).read()
    b'hello'
    """

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with owner._lock:
                    owner.requests.append(self.path)
                kind, _, name = self.path.lstrip("/").partition("/")
                data = owner.files.get(name)
                if data is None or kind not in ("files", "redirect", "truncated"):
                    self.send_error(404, "Not Found")
                elif kind == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"/files/{name}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data if kind == "files" else data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = kind == "truncated"

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        #: ``http://127.0.0.1:<port>``
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def add(self, name: str, data: bytes) -> str:
        """Serve ``data`` as ``name``; return its URL."""
        self.files[name] = data
        return self.url(name)

    def url(self, name: str, kind: str = "files") -> str:
        return f"{self.base}/{kind}/{name}"

    def count(self, name: str) -> int:
        """How many requests asked for ``name`` (in any form)."""
        return sum(path.endswith("/" + name) for path in self.requests)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
