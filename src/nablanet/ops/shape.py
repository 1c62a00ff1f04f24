"""Shape primitives: reshape, transpose, broadcast, squeeze, join, split, pad, flip, indexing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor


class Reshape(Function):
    r"""View the data with a new shape (one entry may be -1).

    .. math::

        z = \operatorname{reshape}(x, s), \qquad \bar x = \operatorname{reshape}(\bar z,
        \operatorname{shape}(x))
    """

    __slots__ = ("shape",)

    def forward(self, x: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                f"into shape {tuple(shape)}"
            ) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad.reshape(self.shape),)


class Transpose(Function):
    r"""Permute the axes by :math:`\pi`; the gradient is permuted back by :math:`\pi^{-1}`.

    .. math::

        z_{i_{\pi(1)} \dots i_{\pi(n)}} = x_{i_1 \dots i_n}, \qquad
        \bar x = \operatorname{transpose}(\bar z, \pi^{-1})
    """

    __slots__ = ("inverse",)

    def forward(self, x: np.ndarray, axes: Sequence[int] | None = None) -> np.ndarray:
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(int(a) % x.ndim for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of {x.ndim} axes")
        self.inverse = tuple(np.argsort(axes))
        return np.transpose(x, axes)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (np.transpose(grad, self.inverse),)


class BroadcastTo(Function):
    r"""Broadcast to ``shape`` (NumPy's rules); the engine sums the gradient back.

    .. math::

        z_j = x_{b(j)}, \qquad \bar x_i = \sum_{j: b(j) = i} \bar z_j
    """

    __slots__ = ()

    def forward(self, x: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(
                f"broadcast_to: shape {np.shape(x)} cannot be broadcast to {tuple(shape)}"
            ) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad,)


class Concatenate(Function):
    r"""Join along an existing axis; the gradient is split at the same offsets.

    .. math::

        z = [x^{(1)}, \dots, x^{(k)}]_{\text{axis}}, \qquad
        \bar x^{(m)} = \bar z[o_{m-1}:o_m]_{\text{axis}}
    """

    __slots__ = ("axis", "bounds")

    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        self.axis = axis
        self.bounds = np.cumsum([np.shape(x)[axis] for x in xs])[:-1]
        try:
            return np.concatenate(xs, axis=axis)
        except ValueError:
            shapes = ", ".join(str(np.shape(x)) for x in xs)
            raise ValueError(f"concatenate: shapes {shapes} differ outside axis {axis}") from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return tuple(np.split(grad, self.bounds, axis=self.axis))


class Stack(Function):
    r"""Join equal-shaped inputs along a new axis; the gradient is unstacked.

    .. math::

        z[\dots, m, \dots] = x^{(m)}, \qquad \bar x^{(m)} = \bar z[\dots, m, \dots]
    """

    __slots__ = ("axis",)

    def forward(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        self.axis = axis
        try:
            return np.stack(xs, axis=axis)
        except ValueError:
            shapes = ", ".join(str(np.shape(x)) for x in xs)
            raise ValueError(f"stack: all inputs must have the same shape; got {shapes}") from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return tuple(np.moveaxis(grad, self.axis, 0))


class Pad(Function):
    r"""Constant padding with ``np.pad`` widths; the gradient is the interior slice.

    .. math::

        z_{i + l} = x_i \ (\text{inside}), \quad z = v \ (\text{padding}), \qquad
        \bar x_i = \bar z_{i + l}
    """

    __slots__ = ("interior",)

    def forward(self, x: np.ndarray, pad_width: Any = 0, value: float = 0.0) -> np.ndarray:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
        if (widths < 0).any():
            raise ValueError(f"pad: widths must be non-negative. Received: pad_width={pad_width}")
        self.interior = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad[self.interior],)


class Flip(Function):
    r"""Reverse the order of elements along ``axis``; the gradient is flipped back.

    .. math::

        z_i = x_{n-1-i}, \qquad \bar x_i = \bar z_{n-1-i}
    """

    __slots__ = ("axis",)

    def forward(self, x: np.ndarray, axis: Any = None) -> np.ndarray:
        self.axis = axis
        return np.flip(x, axis)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (np.flip(grad, self.axis),)


def _has_array_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, np.ndarray)) for p in parts)


class GetItem(Function):
    r"""Basic and integer-array (fancy) indexing; backward scatter-adds into zeros.

    .. math::

        z_j = x_{\iota(j)}, \qquad \bar x_i = \sum_{j:\,\iota(j) = i} \bar z_j

    With basic indexing :math:`\iota` is injective and the scatter is an assignment; with
    integer arrays an index may repeat, so ``np.add.at`` accumulates.
    """

    __slots__ = ("shape", "dtype", "index")

    def forward(self, x: np.ndarray, index: Any = None) -> np.ndarray:
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        try:
            return x[index]
        except IndexError as err:
            raise IndexError(f"getitem: {err} (tensor shape {x.shape})") from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        out = np.zeros(self.shape, dtype=self.dtype)
        if _has_array_index(self.index):
            np.add.at(out, self.index, grad)
        else:
            out[self.index] = grad
        return (out,)


class Gather(Function):
    r"""Pick values along ``axis`` (``np.take_along_axis``, ``torch.gather``); scatter-add back.

    .. math::

        z_{\dots j \dots} = x_{\dots\, \mathrm{index}_{\dots j \dots}\, \dots}, \qquad
        \bar x_{\dots i \dots} = \sum_{j:\, \mathrm{index}_{\dots j \dots} = i}
        \bar z_{\dots j \dots}
    """

    __slots__ = ("shape", "dtype", "index", "axis")

    def forward(self, x: np.ndarray, index: Any = None, axis: int = -1) -> np.ndarray:
        index = np.asarray(index)
        if index.dtype.kind not in "iu":
            raise TypeError(f"gather: index must be integer; got dtype {index.dtype}")
        n = x.shape[axis]
        if index.size and (index.min() < -n or index.max() >= n):
            raise IndexError(
                f"gather: index out of range [{-n}, {n}) for axis {axis} of shape {x.shape}"
            )
        self.shape, self.dtype, self.index, self.axis = x.shape, x.dtype, index, axis
        return np.take_along_axis(x, index, axis=axis)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        out = np.zeros(self.shape, dtype=self.dtype)
        idx = np.broadcast_to(self.index, grad.shape)
        grids: list[np.ndarray] = list(np.indices(grad.shape, sparse=True))
        grids[self.axis % len(self.shape)] = idx
        np.add.at(out, tuple(grids), grad)
        return (out,)


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    """Same data, new shape (one entry may be -1).

    Raises
    ------
    ValueError
        ``reshape: cannot reshape a tensor of shape (2, 3) (6 elements) into shape (4, 2)``.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.reshape(nb.arange(6), (2, -1))
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    return Reshape.apply(x, shape=tuple(shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes (reverse them when ``axes`` is None); negative axes count from the end.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.transpose(nb.zeros(2, 3, 4), (2, 0, -2)).shape
    (4, 2, 3)
    """
    return Transpose.apply(x, axes=axes)


def permute(x: Any, axes: Sequence[int]) -> Tensor:
    """Alias of :func:`transpose` with explicit axes, as in PyTorch.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.permute(nb.zeros(2, 3), (1, 0)).shape
    (3, 2)
    """
    return Transpose.apply(x, axes=axes)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes (a :class:`Transpose`).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.swapaxes(nb.zeros(2, 3, 4), 0, -1).shape
    (4, 3, 2)
    """
    ndim = np.ndim(x.data if isinstance(x, Tensor) else x)
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return Transpose.apply(x, axes=axes)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """Broadcast to ``shape`` following NumPy's rules (the gradient is summed back).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.broadcast_to(nb.tensor([1.0, 2.0]), (2, 2))
    tensor([[1., 2.],
            [1., 2.]])
    """
    return BroadcastTo.apply(x, shape=tuple(shape))


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """Remove size-1 axes (all of them when ``axis`` is None).

    Raises
    ------
    ValueError
        When a named axis does not have size 1.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.squeeze(nb.zeros(1, 3, 1), -1).shape
    (1, 3)
    """
    shape = np.shape(x.data if isinstance(x, Tensor) else x)
    if axis is None:
        new = tuple(n for n in shape if n != 1)
    else:
        axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {shape} has size {shape[a]}, not 1")
        new = tuple(n for i, n in enumerate(shape) if i not in axes)
    return Reshape.apply(x, shape=new)


def expand_dims(x: Any, axis: int) -> Tensor:
    """Insert a size-1 axis at ``axis`` (``unsqueeze`` in PyTorch).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.expand_dims(nb.zeros(2, 3), -1).shape
    (2, 3, 1)
    """
    shape = np.shape(x.data if isinstance(x, Tensor) else x)
    return Reshape.apply(x, shape=np.expand_dims(np.empty(shape, dtype=bool), axis).shape)


def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (``torch.cat``).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.concatenate([nb.zeros(2, 1), nb.ones(2, 2)], axis=-1).shape
    (2, 3)
    """
    if not len(xs):
        raise ValueError("concatenate: need at least one tensor")
    return Concatenate.apply(*xs, axis=axis)


def stack(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new axis.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.stack([nb.zeros(3), nb.ones(3)], axis=1).shape
    (3, 2)
    """
    if not len(xs):
        raise ValueError("stack: need at least one tensor")
    return Stack.apply(*xs, axis=axis)


def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """Split into equal sections or at the given indices (as ``np.split``), differentiably.

    Each piece is a :class:`GetItem` slice of ``x``. Note that ``torch.split`` takes
    section *sizes* where this takes, like NumPy, a number of sections or cut indices.

    Examples
    --------
    >>> import nablanet as nb
    >>> [p.tolist() for p in nb.ops.split(nb.arange(5), [2])]
    [[0, 1], [2, 3, 4]]
    """
    shape = np.shape(x.data if isinstance(x, Tensor) else x)
    n = shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of size {n} cannot be split into {indices_or_sections} "
                "equal sections"
            )
        step = n // indices_or_sections
        cuts = list(range(0, n + 1, step))
    else:
        cuts = [0, *indices_or_sections, n]
    index = [slice(None)] * len(shape)
    pieces = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        index[axis % len(shape)] = slice(lo, hi)
        pieces.append(GetItem.apply(x, index=tuple(index)))
    return pieces


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """Constant padding with ``np.pad`` widths: an int, ``(before, after)`` or one pair per axis.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.pad(nb.ones(1, 2), ((0, 1), (1, 0)))
    tensor([[0., 1., 1.],
            [0., 0., 0.]])
    """
    return Pad.apply(x, pad_width=pad_width, value=value)


def flip(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """Reverse element order along ``axis`` (all axes when None).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.flip(nb.tensor([1.0, 2.0, 3.0]))
    tensor([3., 2., 1.])
    """
    return Flip.apply(x, axis=axis)


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]`` for basic slicing, integer-array (fancy) and boolean-mask indexing.

    Repeated indices accumulate their gradients (scatter-add).

    Examples
    --------
    >>> import nablanet as nb
    >>> x = nb.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> x[[0, 0, 2]].sum().backward()
    >>> x.grad
    array([2., 0., 1.], dtype=float32)
    """
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem.apply(x, index=index)


def gather(x: Any, index: Any, axis: int = -1) -> Tensor:
    """Values of ``x`` at ``index`` along ``axis`` (``np.take_along_axis``, ``torch.gather``).

    ``index`` is an integer array with as many axes as ``x``.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.gather(nb.tensor([[1.0, 2.0], [3.0, 4.0]]), [[1], [0]], axis=1)
    tensor([[2.],
            [3.]])
    """
    if isinstance(index, Tensor):
        index = index.data
    return Gather.apply(x, index=index, axis=axis)
