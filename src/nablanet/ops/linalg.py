"""Matrix multiplication (batched and broadcasting)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor


class MatMul(Function):
    r""":math:`Z = X Y` (``np.matmul`` semantics: batched, broadcasting, 1-D promotion).

    .. math::

        \bar X = \bar Z Y^\top, \qquad \bar Y = X^\top \bar Z
    """

    __slots__ = ("x", "y")

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.x, self.y = x, y
        try:
            return np.matmul(x, y)
        except ValueError:
            raise ValueError(
                f"matmul: shapes {np.shape(x)} and {np.shape(y)} cannot be multiplied"
            ) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        x, y = np.asarray(self.x), np.asarray(self.y)
        nx, ny = self.needs_input_grad
        # Promote 1-D operands to matrices as matmul does, then undo it.
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g = grad
        if x.ndim == 1:
            g = np.expand_dims(g, -2)
        if y.ndim == 1:
            g = np.expand_dims(g, -1)
        gx = gy = None
        if nx:
            gx = np.matmul(g, np.swapaxes(y2, -1, -2))
            if x.ndim == 1:
                gx = gx.reshape(gx.shape[:-2] + gx.shape[-1:]) if gx.ndim > 2 else gx[0]
        if ny:
            gy = np.matmul(np.swapaxes(x2, -1, -2), g)
            if y.ndim == 1:
                gy = gy[..., 0]
        return gx, gy


def matmul(x: Any, y: Any) -> Tensor:
    """Matrix product ``x @ y``; raises ``ValueError`` naming both shapes on a mismatch."""
    return MatMul.apply(x, y)
