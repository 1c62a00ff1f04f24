"""Helpers shared by the tests: numerical gradient checking and comparisons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor


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
