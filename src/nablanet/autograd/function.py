"""The autograd graph: :class:`Function` nodes, the backward engine and ``no_grad``.

Every differentiable primitive is a subclass of :class:`Function` with two methods
side by side:

``forward(self, *arrays, **options) -> ndarray``
    receives the raw inputs (``ndarray`` for Tensor inputs, Python scalars and
    arrays as given) and may save whatever the backward pass needs on ``self``.
``backward(self, grad) -> tuple``
    receives the gradient of the loss with respect to the output and returns one
    gradient (``ndarray`` or ``None``) per positional input. A gradient may have
    the broadcast (output) shape: the engine sums it back to the input's shape
    with :func:`~nablanet.autograd.broadcasting.unbroadcast`.

``Op.apply(*inputs, **options)`` runs ``forward`` and, when gradients are being
recorded and some input requires one, links the node into the graph.

:func:`backward` walks the graph iteratively in reverse topological order, so a
graph of any depth (a long unrolled RNN) never meets Python's recursion limit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from nablanet.autograd.broadcasting import unbroadcast

_F = TypeVar("_F", bound=Callable[..., Any])


class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    """Whether operations are currently being recorded for differentiation."""
    return _GradMode.enabled


class no_grad:  # noqa: N801 - named like torch.no_grad
    """Context manager and decorator that turns graph recording off.

    Examples
    --------
    >>> import nablanet as nb
    >>> w = nb.tensor([1.0, 2.0], requires_grad=True)
    >>> with nb.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self) -> None:
        self._previous = _GradMode.enabled
        _GradMode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self._previous

    def __call__(self, func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


@contextmanager
def enable_grad() -> Iterator[None]:
    """Turn graph recording back on inside a ``no_grad`` block."""
    previous = _GradMode.enabled
    _GradMode.enabled = True
    try:
        yield
    finally:
        _GradMode.enabled = previous


class Function:
    """Base class of every differentiable primitive (one node of the graph).

    Attributes
    ----------
    inputs : tuple
        The positional inputs of ``apply`` (Tensors, scalars or arrays); set only
        when the node is recorded in the graph, and cleared when it is freed.
    needs_input_grad : tuple of bool
        For each positional input, whether it is a Tensor that requires a gradient.
        ``backward`` may skip work for inputs that need none.
    """

    __slots__ = ("inputs", "needs_input_grad")

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Tensor:
        """Run the op on ``inputs`` and record it in the graph when needed."""
        fn = cls.__new__(cls)
        arrays = [x.data if type(x) is Tensor else x for x in inputs]
        needs = tuple(type(x) is Tensor and x.requires_grad for x in inputs)
        record = _GradMode.enabled and any(needs)
        fn.needs_input_grad = needs
        out = Tensor.__new__(Tensor)
        out.data = fn.forward(*arrays, **kwargs)
        out.grad = None
        out._retains_grad = False
        out.requires_grad = record
        if record:
            fn.inputs = inputs
            out._ctx = fn
        else:
            out._ctx = None
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


_FREED = "Trying to backward through the graph a second time (or directly access saved "
_FREED += "tensors after they have already been freed). Saved intermediate values of the graph "
_FREED += "are freed when you call .backward(). Specify retain_graph=True if you need to "
_FREED += "backward through the graph a second time."


def _topological_order(root: Tensor) -> list[Tensor]:
    """Non-leaf tensors reachable from ``root``, each after every tensor that uses it."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        fn = tensor._ctx
        if fn is None:
            continue
        if not hasattr(fn, "inputs"):
            raise RuntimeError(_FREED)
        stack.append((tensor, True))
        for parent in fn.inputs:
            if type(parent) is Tensor and parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()
    return order


def backward(root: Tensor, grad: np.ndarray | None = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    Gradients of intermediate tensors are kept only while they are needed. Unless
    ``retain_graph`` is true the graph is freed on the way, so a second call
    through the same nodes raises a RuntimeError.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "element 0 of tensors does not require grad and does not have a grad_fn"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; got a tensor of "
                f"shape {root.shape}: pass the gradient, e.g. y.backward(nb.ones_like(y))"
            )
        grad = np.ones_like(root.data)
    else:
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.data.dtype)
        if grad.shape != root.shape:
            raise ValueError(
                f"backward: gradient of shape {grad.shape} does not match the tensor's "
                f"shape {root.shape}"
            )
    if root._ctx is None:  # a leaf
        _accumulate(root, grad)
        return
    order = _topological_order(root)
    grads: dict[int, np.ndarray] = {id(root): grad}
    for tensor in order:
        g = grads.pop(id(tensor), None)
        fn = tensor._ctx
        if g is None or fn is None:
            continue
        if tensor._retains_grad:
            _accumulate(tensor, g)
        input_grads = fn.backward(g)
        for parent, pg in zip(fn.inputs, input_grads):
            if pg is None or type(parent) is not Tensor or not parent.requires_grad:
                continue
            if pg.shape != parent.data.shape:
                pg = unbroadcast(pg, parent.data.shape)
            if pg.dtype != parent.data.dtype:
                pg = pg.astype(parent.data.dtype)
            if parent._ctx is None:
                _accumulate(parent, pg)
            elif id(parent) in grads:
                grads[id(parent)] = grads[id(parent)] + pg
            else:
                grads[id(parent)] = pg
        if not retain_graph:
            del fn.inputs
            tensor._ctx = _FreedNode()


class _FreedNode:
    """Stands in for a node whose saved values were released by ``backward``."""

    __slots__ = ()


def _accumulate(tensor: Tensor, grad: np.ndarray) -> None:
    if tensor.grad is None:
        tensor.grad = np.array(grad, dtype=tensor.data.dtype, copy=True)
    else:
        tensor.grad += grad


from nablanet.autograd.tensor import Tensor  # noqa: E402  (Tensor's methods use this module)
