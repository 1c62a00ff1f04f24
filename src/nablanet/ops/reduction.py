"""Reductions: sum, mean, max, min, var, std, logsumexp, argmax, argmin."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor

Axis = int | tuple[int, ...] | None


def _normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % ndim if ndim else 0 for a in axes)


def _restore_dims(grad: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes (size 1) so ``grad`` broadcasts against the input."""
    if keepdims or not shape:
        return grad
    return np.expand_dims(grad, _normalize_axis(axis, len(shape)))


class Sum(Function):
    r""":math:`z = \sum_{i \in A} x_i`; :math:`\bar x_i = \bar z`."""

    __slots__ = ("shape", "axis", "keepdims")

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return np.sum(x, axis=axis, keepdims=keepdims)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.shape, self.axis, self.keepdims)
        return (np.broadcast_to(grad, self.shape),)


class Mean(Function):
    r""":math:`z = \frac1n \sum_{i \in A} x_i`; :math:`\bar x_i = \bar z / n`."""

    __slots__ = ("shape", "axis", "keepdims", "count")

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        out = np.mean(x, axis=axis, keepdims=keepdims)
        self.count = x.size // builtins.max(np.size(out), 1) if x.size else 1
        return np.asarray(out, dtype=x.dtype)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.shape, self.axis, self.keepdims) / self.count
        return (np.broadcast_to(grad, self.shape),)


class _Extreme(Function):
    """max / min: the gradient is shared equally among tied winners (as PyTorch's amax)."""

    __slots__ = ("x", "out", "axis", "keepdims")
    numpy_fn: Any = None

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        if x.size == 0:
            raise ValueError(f"{type(self).__name__.lower()}: cannot reduce an empty tensor")
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = type(self).numpy_fn(x, axis=axis, keepdims=True)
        return self.out if keepdims else np.squeeze(self.out, _normalize_axis(axis, x.ndim))

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.x.shape, self.axis, self.keepdims)
        winners = self.x == self.out
        count = winners.sum(axis=self.axis, keepdims=True)
        return (grad * winners / count,)


class Max(_Extreme):
    __slots__ = ()
    numpy_fn = staticmethod(np.max)


class Min(_Extreme):
    __slots__ = ()
    numpy_fn = staticmethod(np.min)


class Var(Function):
    r""":math:`z = \frac{1}{n - d}\sum (x_i - \bar x)^2`; :math:`\bar x_i = \bar z \frac{2(x_i - \bar x)}{n-d}`."""

    __slots__ = ("centred", "axis", "keepdims", "divisor")

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> np.ndarray:
        self.axis, self.keepdims = axis, keepdims
        self.centred = x - x.mean(axis=axis, keepdims=True)
        n = x.size // builtins.max(np.size(x.mean(axis=axis)), 1) if x.size else 0
        self.divisor = n - ddof
        out = np.sum(self.centred * self.centred, axis=axis, keepdims=keepdims) / self.divisor
        return np.asarray(out, dtype=x.dtype)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.centred.shape, self.axis, self.keepdims)
        return (grad * 2 * self.centred / self.divisor,)


class LogSumExp(Function):
    r""":math:`z = m + \log\sum_i e^{x_i - m}`, :math:`m = \max_i x_i` (stable);
    :math:`\bar x_i = \bar z\,\operatorname{softmax}(x)_i`."""

    __slots__ = ("x", "out", "axis", "keepdims")

    def forward(self, x: np.ndarray, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        self.x, self.axis, self.keepdims = x, axis, keepdims
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        self.out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
        return self.out if keepdims else np.squeeze(self.out, _normalize_axis(axis, x.ndim))

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grad = _restore_dims(grad, self.x.shape, self.axis, self.keepdims)
        return (grad * np.exp(self.x - self.out),)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes when None)."""
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``."""
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Largest value over ``axis``."""
    return Max.apply(x, axis=axis, keepdims=keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Smallest value over ``axis``."""
    return Min.apply(x, axis=axis, keepdims=keepdims)


def var(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom (0: population)."""
    return Var.apply(x, axis=axis, keepdims=keepdims, ddof=ddof)


def std(x: Any, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    r"""Standard deviation :math:`\sqrt{\operatorname{var}(x)}`."""
    from nablanet.ops.elementwise import sqrt

    return sqrt(var(x, axis, keepdims, ddof))


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed without overflow."""
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest value along ``axis`` (int64, no gradient)."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(np.argmax(data, axis=axis, keepdims=keepdims))


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest value along ``axis`` (int64, no gradient)."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor(np.argmin(data, axis=axis, keepdims=keepdims))
