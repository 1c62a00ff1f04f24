r"""Reductions: sum, mean, max, min, var, std, logsumexp, argmax, argmin.

``axis`` may be None (all axes), an int (negative counts from the end) or a tuple of
ints; ``keepdims`` keeps the reduced axes with size 1, as in NumPy.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor

Axis = int | tuple[int, ...] | list[int] | None


def _axis_arg(axis: Axis) -> int | tuple[int, ...] | None:
    """A list of axes (Keras's ``ops.mean(x, axis=[0, 1])``) as the tuple NumPy needs."""
    return tuple(axis) if isinstance(axis, list) else axis


def _normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise np.exceptions.AxisError(int(a), ndim)
    return tuple(int(a) % ndim if ndim else 0 for a in axes)


def _restore_dims(
    grad: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool
) -> np.ndarray:
    """Re-insert the reduced axes (size 1) so ``grad`` broadcasts against the input."""
    if keepdims or not shape:
        return grad
    return np.expand_dims(grad, _normalize_axis(axis, len(shape)))


def _reduced_count(shape: tuple[int, ...], axis: Any) -> int:
    """Number of elements combined into each output element."""
    n = 1
    for a in set(_normalize_axis(axis, len(shape))) if shape else ():
        n *= shape[a]
    return n


class Sum(Function):
    r"""Sum over the axes :math:`A`.

    .. math::

        z = \sum_{i \in A} x_i, \qquad \bar x_i = \bar z
    """

    __slots__ = ("shape", "axis", "keepdims")

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return np.sum(x, axis=axis, keepdims=keepdims)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.shape, self.axis, self.keepdims)
        return (np.broadcast_to(grad, self.shape),)


class Mean(Function):
    r"""Arithmetic mean over the axes :math:`A` (:math:`n` elements each).

    .. math::

        z = \frac1n \sum_{i \in A} x_i, \qquad \bar x_i = \frac{\bar z}{n}

    The mean of an integer tensor is float32.
    """

    __slots__ = ("shape", "axis", "keepdims", "count")

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        self.count = _reduced_count(x.shape, axis)
        dtype = x.dtype if x.dtype.kind in "fc" else np.dtype(np.float32)
        return np.asarray(np.mean(x, axis=axis, keepdims=keepdims, dtype=dtype), dtype=dtype)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.shape, self.axis, self.keepdims) / self.count
        return (np.broadcast_to(grad, self.shape),)


class _Extreme(Function):
    r"""max / min over the axes :math:`A`.

    .. math::

        z = \max_{i \in A} x_i, \qquad \bar x_i = \bar z\,\frac{[x_i = z]}{\sum_{j\in A} [x_j = z]}

    The gradient is shared equally among tied winners (as PyTorch's ``amax``/``amin``).
    """

    __slots__ = ("x", "out", "axis", "keepdims")
    numpy_fn: Any = None

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        if x.size == 0:
            raise ValueError(
                f"{type(self).__name__.lower()}: cannot reduce an empty tensor of shape {x.shape}"
            )
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = type(self).numpy_fn(x, axis=axis, keepdims=True)
        return self.out if keepdims else np.squeeze(self.out, _normalize_axis(axis, x.ndim))

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.x.shape, self.axis, self.keepdims)
        winners = np.equal(self.x, self.out)
        count = winners.sum(axis=self.axis, keepdims=True).astype(grad.dtype)
        return (grad * winners / count,)


class Max(_Extreme):
    r"""Largest value over the axes :math:`A`; ties share the gradient (see ``_Extreme``).

    .. math::

        z = \max_{i \in A} x_i
    """

    __slots__ = ()
    numpy_fn = staticmethod(np.max)


class Min(_Extreme):
    r"""Smallest value over the axes :math:`A`; ties share the gradient.

    .. math::

        z = \min_{i \in A} x_i
    """

    __slots__ = ()
    numpy_fn = staticmethod(np.min)


class Var(Function):
    r"""Variance over the axes :math:`A` with ``ddof`` :math:`d` (0: population, as Keras).

    .. math::

        z = \frac{1}{n - d}\sum_{i\in A} (x_i - \mu)^2, \qquad
        \bar x_i = \bar z\,\frac{2(x_i - \mu)}{n - d}

    (the :math:`\partial\mu/\partial x_i` terms cancel because :math:`\sum (x_i - \mu) = 0`).
    """

    __slots__ = ("centred", "axis", "keepdims", "divisor")

    def forward(
        self, x: np.ndarray, axis: Axis = None, keepdims: bool = False, ddof: int = 0
    ) -> np.ndarray:
        self.axis, self.keepdims = axis, keepdims
        dtype = x.dtype if x.dtype.kind in "fc" else np.dtype(np.float32)
        self.centred = x - np.mean(x, axis=axis, keepdims=True, dtype=dtype)
        self.divisor = _reduced_count(x.shape, axis) - ddof
        out = np.sum(self.centred * self.centred, axis=axis, keepdims=keepdims) / self.divisor
        return np.asarray(out, dtype=dtype)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.centred.shape, self.axis, self.keepdims)
        return (grad * (2 / self.divisor) * self.centred,)


class LogSumExp(Function):
    r"""Log-sum-exp over the axes :math:`A`, computed without overflow.

    .. math::

        z = m + \log\sum_{i\in A} e^{x_i - m}, \quad m = \max_{i\in A} x_i, \qquad
        \bar x_i = \bar z\, e^{x_i - z} = \bar z\,\operatorname{softmax}(x)_i
    """

    __slots__ = ("x", "out", "axis", "keepdims")

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.x, self.axis, self.keepdims = x, axis, keepdims
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, np.zeros((), m.dtype))
        self.out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
        return self.out if keepdims else np.squeeze(self.out, _normalize_axis(axis, x.ndim))

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.x.shape, self.axis, self.keepdims)
        return (grad * np.exp(self.x - self.out),)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    r"""Sum :math:`\sum_{i\in A} x_i` over ``axis`` (all axes when None).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.sum(nb.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=-1)
    tensor([3., 7.])
    """
    return Sum.apply(x, axis=_axis_arg(axis), keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    r"""Arithmetic mean :math:`\frac1n\sum_{i\in A} x_i` over ``axis``.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.mean(nb.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0, keepdims=True)
    tensor([[2., 3.]])
    """
    return Mean.apply(x, axis=_axis_arg(axis), keepdims=keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    r"""Largest value :math:`\max_{i\in A} x_i` over ``axis``.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.max(nb.tensor([[1.0, 5.0], [3.0, 4.0]]), axis=(0, 1))
    tensor(5.)
    """
    return Max.apply(x, axis=_axis_arg(axis), keepdims=keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    r"""Smallest value :math:`\min_{i\in A} x_i` over ``axis``.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.min(nb.tensor([[1.0, 5.0], [3.0, 4.0]]), axis=1)
    tensor([1., 3.])
    """
    return Min.apply(x, axis=_axis_arg(axis), keepdims=keepdims)


def var(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    r"""Variance :math:`\frac{1}{n-d}\sum (x_i-\mu)^2` over ``axis``.

    ``ddof`` :math:`d` defaults to 0 (NumPy and Keras); PyTorch's default is
    ``correction=1``.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.var(nb.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.25)
    """
    return Var.apply(x, axis=_axis_arg(axis), keepdims=keepdims, ddof=ddof)


def std(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    r"""Standard deviation :math:`\sqrt{\operatorname{var}(x)}` (a composite of var and sqrt).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.std(nb.tensor([1.0, 3.0]))
    tensor(1.)
    """
    from nablanet.ops.elementwise import sqrt

    return sqrt(var(x, axis, keepdims, ddof))


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    r""":math:`\log\sum_i e^{x_i}` over ``axis``, computed without overflow.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.logsumexp(nb.tensor([1000.0, 1000.0])) - 1000.0
    tensor(0.6931)
    """
    return LogSumExp.apply(x, axis=_axis_arg(axis), keepdims=keepdims)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest value along ``axis`` (int64, no gradient; flat index when None).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.argmax(nb.tensor([[1.0, 5.0], [7.0, 4.0]]), axis=1)
    tensor([1, 0])
    """
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(np.asarray(np.argmax(data, axis=axis, keepdims=keepdims)))


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest value along ``axis`` (int64, no gradient; flat index when None).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.argmin(nb.tensor([[1.0, 5.0], [7.0, 4.0]]), axis=0)
    tensor([0, 1])
    """
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(np.asarray(np.argmin(data, axis=axis, keepdims=keepdims)))
