"""Softmax and log-softmax as primitives with their own (stable) backward."""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor


def softmax_array(x: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Stable :math:`e^{x_i - m} / \sum_j e^{x_j - m}` on an array, :math:`m = \max_j x_j`."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax_array(x: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Stable :math:`x_i - m - \log\sum_j e^{x_j - m}` on an array."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class Softmax(Function):
    r"""Softmax along ``axis``, computed without overflow (the maximum is subtracted first).

    .. math::

        s_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \quad m = \max_j x_j, \qquad
        \bar x = s \odot \Big(\bar s - \sum_j \bar s_j s_j\Big)
    """

    __slots__ = ("out", "axis")

    def forward(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        self.axis = axis
        self.out = softmax_array(x, axis)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        s = self.out
        return (s * (grad - np.sum(grad * s, axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    r"""Log-softmax along ``axis``, computed without overflow.

    .. math::

        y_i = x_i - m - \log\sum_j e^{x_j - m}, \qquad
        \bar x = \bar y - \operatorname{softmax}(x) \sum_j \bar y_j
    """

    __slots__ = ("out", "axis")

    def forward(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        self.axis = axis
        self.out = log_softmax_array(x, axis)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad - np.exp(self.out) * np.sum(grad, axis=self.axis, keepdims=True),)


def softmax(x: Any, axis: int = -1) -> Tensor:
    r"""Softmax :math:`e^{x_i} / \sum_j e^{x_j}` along ``axis``, computed without overflow.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.softmax(nb.tensor([0.0, 1000.0]))
    tensor([0., 1.])
    """
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    r"""Log-softmax :math:`x_i - \log\sum_j e^{x_j}` along ``axis``, without overflow.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.log_softmax(nb.tensor([0.0, 0.0]))
    tensor([-0.6931, -0.6931])
    """
    return LogSoftmax.apply(x, axis=axis)
