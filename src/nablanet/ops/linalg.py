"""Matrix multiplication (batched and broadcasting)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.broadcasting import unbroadcast
from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor
from nablanet.kernels.registry import dispatch


class MatMul(Function):
    r"""Matrix product with ``np.matmul`` semantics (batched, broadcasting, 1-D promotion).

    .. math::

        Z = X Y, \qquad \bar X = \bar Z Y^\top, \qquad \bar Y = X^\top \bar Z

    applied to the last two axes; leading (batch) axes broadcast and their gradients are
    summed back. A 1-D ``X`` is treated as a row vector and a 1-D ``Y`` as a column vector,
    and the inserted axis is removed again, as in NumPy.
    """

    __slots__ = ("x", "y")

    @staticmethod
    def _matmul2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """A 2-D product ``a @ b`` (a fast kernel replaces it)."""
        return np.matmul(a, b)

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        self.x, self.y = x, y
        if np.ndim(x) == 2 and np.ndim(y) == 2 and x.shape[1] == y.shape[0]:
            return self._matmul2d(np.asarray(x), np.asarray(y))
        try:
            return np.matmul(x, y)
        except ValueError:
            raise ValueError(
                f"matmul: shapes {np.shape(x)} and {np.shape(y)} cannot be multiplied"
            ) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        x, y = np.asarray(self.x), np.asarray(self.y)
        nx, ny = self.needs_input_grad
        if x.ndim == 2 and y.ndim == 2 and grad.ndim == 2:
            gx = self._matmul2d(grad, y.T) if nx else None
            gy = self._matmul2d(x.T, grad) if ny else None
            return gx, gy
        if x.ndim >= 2 and y.ndim >= 2:
            gx = np.matmul(grad, np.swapaxes(y, -1, -2)) if nx else None
            gy = np.matmul(np.swapaxes(x, -1, -2), grad) if ny else None
            return gx, gy
        # Promote 1-D operands to matrices as matmul does, then undo it.
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
        g = np.reshape(grad, batch + (x2.shape[-2], y2.shape[-1]))
        gx = gy = None
        if nx:
            gx = unbroadcast(np.matmul(g, np.swapaxes(y2, -1, -2)), x2.shape).reshape(x.shape)
        if ny:
            gy = unbroadcast(np.matmul(np.swapaxes(x2, -1, -2), g), y2.shape).reshape(y.shape)
        return gx, gy


def matmul(x: Any, y: Any) -> Tensor:
    r"""Matrix product :math:`XY` (``x @ y``), batched over leading axes with broadcasting.

    Parameters
    ----------
    x : Tensor or array_like, shape (..., n, k) or (k,)
    y : Tensor or array_like, shape (..., k, m) or (k,)

    Returns
    -------
    Tensor, shape (..., n, m) (1-D operands lose their promoted axis)

    Raises
    ------
    ValueError
        ``matmul: shapes (64, 3136) and (3200, 128) cannot be multiplied`` when the inner
        dimensions differ or the batch axes do not broadcast.

    Examples
    --------
    >>> import nablanet as nb
    >>> a = nb.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> a @ nb.tensor([1.0, 1.0])
    tensor([3., 7.])
    """
    if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
        from nablanet.ops.elementwise import _promote

        x, y = _promote(x, y)
    return dispatch("matmul", MatMul.apply, x, y)  # type: ignore[no-any-return]
