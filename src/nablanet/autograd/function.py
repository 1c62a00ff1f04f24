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

:func:`backward` walks the graph in reverse topological order without recursion, so a
graph of any depth (a long unrolled RNN) never meets Python's recursion limit. Every
recorded node gets a sequence number when it is created; a node's inputs are always
created before it, so sorting the reachable nodes by decreasing sequence number is a
valid reverse topological order (the order PyTorch's engine uses too).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from heapq import heappop, heappush
from itertools import count
from typing import Any, TypeVar

import numpy as np

from nablanet.autograd.broadcasting import unbroadcast

_F = TypeVar("_F", bound=Callable[..., Any])

_grad_enabled = True  # read by Function.apply on every op: a module global is the cheapest
_next_seq = count().__next__
_ndarray = np.ndarray
_new = object.__new__


def is_grad_enabled() -> bool:
    """Whether operations are currently being recorded for differentiation."""
    return _grad_enabled


def set_grad_enabled(mode: bool) -> None:
    """Turn graph recording on or off globally (prefer the ``no_grad`` context manager)."""
    global _grad_enabled
    _grad_enabled = bool(mode)


class no_grad:  # noqa: N801 - named like torch.no_grad
    """Context manager and decorator that turns graph recording off.

    Inside the block, ops run normally but record nothing: their results do not
    require grad and hold no reference to their inputs. Blocks nest, and the previous
    mode is restored on exit (also when an exception leaves the block).

    Examples
    --------
    >>> import nablanet as nb
    >>> w = nb.tensor([1.0, 2.0], requires_grad=True)
    >>> with nb.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    >>> @nb.no_grad()
    ... def update(w):
    ...     return w * 2
    >>> update(w).requires_grad
    False
    """

    __slots__ = ("_previous",)

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


@contextmanager
def enable_grad() -> Iterator[None]:
    """Turn graph recording back on inside a ``no_grad`` block."""
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = True
    try:
        yield
    finally:
        _grad_enabled = previous


class Function:
    """Base class of every differentiable primitive (one node of the graph).

    Attributes
    ----------
    inputs : tuple
        The positional inputs of ``apply`` (Tensors, scalars or arrays); set only
        when the node is recorded in the graph, and released when it is freed.
    needs_input_grad : tuple of bool
        For each positional input, whether it is a Tensor that requires a gradient.
        Set before ``forward`` runs; ``forward`` and ``backward`` may skip work for
        inputs that need none.

    Examples
    --------
    >>> import numpy as np
    >>> import nablanet as nb
    >>> class Square(nb.Function):
    ...     __slots__ = ("x",)
    ...     def forward(self, x):
    ...         self.x = x
    ...         return x * x
    ...     def backward(self, grad):
    ...         return (2 * self.x * grad,)
    >>> t = nb.tensor([3.0], requires_grad=True)
    >>> Square.apply(t).sum().backward()
    >>> t.grad
    array([6.], dtype=float32)
    """

    __slots__ = ("inputs", "needs_input_grad", "_seq")
    inputs: tuple[Any, ...]
    needs_input_grad: tuple[bool, ...]
    _seq: int
    #: True when ``backward`` returns new arrays that nothing else refers to (not the
    #: incoming gradient, not a saved array, not one array for two inputs): a leaf then
    #: takes such a gradient as its ``.grad`` without the defensive copy.
    fresh_grads = False

    def forward(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    @classmethod
    def apply(cls, *inputs: Any, **kwargs: Any) -> Tensor:
        """Run the op on ``inputs`` and record it in the graph when needed."""
        fn = _new(cls)
        n = len(inputs)
        # One- and two-input ops are most of a graph: unrolled for speed, and called
        # without ``**kwargs`` when there are none (a plain call is cheaper).
        if n == 1:
            x = inputs[0]
            if isinstance(x, Tensor):
                record = x.requires_grad
                x = x.data
            else:
                record = False
            fn.needs_input_grad = (record,)
            data = fn.forward(x, **kwargs) if kwargs else fn.forward(x)
        elif n == 2:
            x, y = inputs
            if isinstance(x, Tensor):
                nx = x.requires_grad
                x = x.data
            else:
                nx = False
            if isinstance(y, Tensor):
                ny = y.requires_grad
                y = y.data
            else:
                ny = False
            fn.needs_input_grad = (nx, ny)
            record = nx or ny
            data = fn.forward(x, y, **kwargs) if kwargs else fn.forward(x, y)
        else:
            needs = tuple([isinstance(x, Tensor) and x.requires_grad for x in inputs])
            fn.needs_input_grad = needs
            record = True in needs
            data = fn.forward(*[x.data if isinstance(x, Tensor) else x for x in inputs], **kwargs)
        if type(data) is not _ndarray:  # ufuncs return NumPy scalars for 0-d inputs
            data = np.asarray(data)
        out = _new(Tensor)
        out.data = data
        out.grad = None
        out._retains_grad = False
        if record and _grad_enabled:
            out.requires_grad = True
            fn.inputs = inputs
            fn._seq = _next_seq()
            out._ctx = fn
        else:
            out.requires_grad = False
            out._ctx = None
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


_FREED = (
    "Trying to backward through the graph a second time (or directly access saved values "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward(). Specify retain_graph=True if you need to backward through "
    "the graph a second time."
)


class _FreedNode:
    """Stands in for a node whose saved values were released by ``backward``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<FreedNode>"


_FREED_NODE = _FreedNode()


def _reachable(root: Tensor) -> dict[int, Tensor]:
    """Non-leaf tensors that ``root`` depends on through recorded ops, keyed by sequence number."""
    fn = root._ctx
    if fn is _FREED_NODE:
        raise RuntimeError(_FREED)
    nodes = {fn._seq: root}
    stack = [fn]
    pop, push = stack.pop, stack.append
    while stack:
        fn = pop()
        for parent, need in zip(fn.inputs, fn.needs_input_grad):
            if need:
                pfn = parent._ctx
                if pfn is None:
                    continue
                if pfn is _FREED_NODE:
                    raise RuntimeError(_FREED)
                seq = pfn._seq
                if seq not in nodes:
                    nodes[seq] = parent
                    push(pfn)
    return nodes


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    Gradients of intermediate tensors are kept only while they are needed (and stored in
    ``.grad`` of tensors that called ``retain_grad()``). Unless ``retain_graph`` is true
    the graph is freed on the way, so a second call through the same nodes raises a
    RuntimeError.
    """
    _propagate(root, _root_grad(root, grad, "backward"), retain_graph, None, 0)


def grad(output: Tensor, inputs: Any, grad_output: Any = None, retain_graph: bool = False,
         recorded_from: int = 0) -> list[np.ndarray | None]:
    """The gradients d(output)/d(input) for each of ``inputs``, leaving every ``.grad`` alone.

    ``inputs`` are Tensors, leaves or not (``torch.autograd.grad``); an input that ``output``
    does not depend on gets None. Only nodes recorded at sequence number ``recorded_from`` or
    later are differentiated through: an older non-leaf tensor counts as a constant (this is
    how :class:`~nablanet.autograd.GradientTape` sees only what it recorded).

    Examples
    --------
    >>> import nablanet as nb
    >>> x = nb.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> grad(y, [x]), x.grad is None
    ([array([2., 4.], dtype=float32)], True)
    """
    inputs = list(inputs)
    targets: dict[int, list[Any]] = {id(t): [t, None] for t in inputs}
    if output.requires_grad:
        g = _root_grad(output, grad_output, "grad")
        if output._ctx is None or output._ctx._seq < recorded_from:
            if id(output) in targets:
                targets[id(output)][1] = g
        else:
            _propagate(output, g, retain_graph, targets, recorded_from)
    return [targets[id(t)][1] for t in inputs]


def _root_grad(root: Tensor, grad: Any, where: str) -> np.ndarray:
    if not root.requires_grad:
        raise RuntimeError(
            f"{where}: the tensor does not require grad and has no grad_fn "
            "(was it computed under no_grad, or from tensors with requires_grad=False?)"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"{where}: grad can be implicitly created only for scalar outputs; got a "
                f"tensor of shape {root.shape}. Pass the gradient, e.g. "
                f"y.backward(nb.ones_like(y))"
            )
        return np.ones_like(root.data)
    grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.data.dtype)
    if grad.shape != root.shape:
        raise ValueError(
            f"{where}: gradient of shape {grad.shape} does not match the tensor's "
            f"shape {root.shape}"
        )
    return grad


def _propagate(root: Tensor, grad: np.ndarray, retain_graph: bool,
               targets: dict[int, list[Any]] | None, recorded_from: int) -> None:
    """Send ``grad`` back from ``root`` through the recorded graph.

    With ``targets`` None, gradients accumulate into the ``.grad`` of leaves (``backward``).
    Otherwise they are summed into ``targets[id(tensor)][1]`` for the requested tensors only,
    and nodes recorded before ``recorded_from`` are treated as constants (``grad``).
    """
    if root._ctx is None:  # a leaf
        _accumulate(root, grad)
        return
    # Process nodes from the newest: a max-heap on the sequence number (stored negated).
    # Every consumer of a node is newer than it, so when a node comes off the heap all the
    # gradient contributions to it have arrived. A node enters the heap with its first
    # contribution, so only nodes that receive a gradient are ever visited.
    fn = root._ctx
    if fn is _FREED_NODE:
        raise RuntimeError(_FREED)
    grads: dict[int, Any] = {fn._seq: grad}
    heap: list[tuple[int, Tensor]] = [(-fn._seq, root)]
    pop_grad = grads.pop
    while heap:
        neg_seq, tensor = heappop(heap)
        fn = tensor._ctx
        g = pop_grad(-neg_seq)
        if targets is None:
            if tensor._retains_grad:
                _accumulate(tensor, g)
        elif id(tensor) in targets:
            _add_to(targets[id(tensor)], g)
        for parent, need, pg in zip(fn.inputs, fn.needs_input_grad, fn.backward(g)):
            if need and pg is not None:
                pdata = parent.data
                if pg.shape != pdata.shape:
                    pg = unbroadcast(pg, pdata.shape)
                if pg.dtype is not pdata.dtype and pg.dtype != pdata.dtype:
                    pg = pg.astype(pdata.dtype)
                pfn = parent._ctx
                if targets is not None and (pfn is None or (
                        pfn is not _FREED_NODE and pfn._seq < recorded_from)):
                    if id(parent) in targets:  # a requested leaf, or a constant to this call
                        _add_to(targets[id(parent)], pg)
                elif pfn is None:  # a leaf: accumulate into .grad (a fresh array at first)
                    if parent.grad is None:
                        parent.grad = pg if fn.fresh_grads else np.array(pg, copy=True)
                    else:
                        parent.grad += pg
                elif pfn is _FREED_NODE:
                    raise RuntimeError(_FREED)
                else:
                    key = pfn._seq
                    previous = grads.get(key)
                    if previous is None:
                        grads[key] = pg
                        heappush(heap, (-key, parent))
                    else:
                        grads[key] = previous + pg
        if not retain_graph:
            # Dropping the only reference to the node frees it and everything it saved;
            # the marker makes a second backward through here raise.
            tensor._ctx = _FREED_NODE


def _add_to(slot: list[Any], grad: np.ndarray) -> None:
    """Sum ``grad`` into ``slot[1]`` (a fresh array the first time: never aliased)."""
    slot[1] = np.array(grad, copy=True) if slot[1] is None else slot[1] + grad


def _accumulate(tensor: Tensor, grad: Any) -> None:
    """Add ``grad`` into ``tensor.grad`` (a fresh array the first time: never aliased)."""
    if tensor.grad is None:
        tensor.grad = np.array(grad, dtype=tensor.data.dtype, copy=True)
    else:
        tensor.grad += grad


from nablanet.autograd.tensor import Tensor  # noqa: E402  (Tensor's methods use this module)
