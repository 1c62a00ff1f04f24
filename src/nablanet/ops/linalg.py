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
    fresh_grads = True  # (every gradient is a new product)

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


class Dense(Function):
    r"""A dense layer's map on a batch of rows, as one primitive: product, bias and ReLU.

    .. math::

        Z = X W + b, \qquad Y = g(Z), \quad g = \mathrm{id} \text{ or } \max(0, \cdot)

    .. math::

        \bar Z = \bar Y \odot [Z > 0] \text{ (ReLU; } \bar Z = \bar Y \text{ otherwise)},
        \quad \bar X = \bar Z W^\top, \quad \bar W = X^\top \bar Z,
        \quad \bar b = \textstyle\sum_{\text{rows}} \bar Z

    The same values and gradients as ``matmul``, ``add`` and ``relu`` one after the other
    (:class:`MatMul`, :class:`~nablanet.ops.elementwise.Add`,
    :class:`~nablanet.ops.elementwise.Relu`), with one node in the graph instead of three: the
    bias and the ReLU are applied in place to the product, and the bias gradient is the column
    sum of the masked gradient.
    """

    __slots__ = ("x", "w", "out", "relu", "has_bias")
    fresh_grads = True  # (new products, and a new masked gradient and column sum)

    @staticmethod
    def _matmul2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """A 2-D product ``a @ b`` (a fast kernel replaces it)."""
        return np.matmul(a, b)

    @staticmethod
    def _bias_relu_(z: np.ndarray, b: np.ndarray | None, relu: bool) -> None:
        """``z += b``, then ``z = max(z, 0)`` if ``relu``, in place."""
        if b is not None:
            np.add(z, b, out=z)
        if relu:
            np.maximum(z, np.zeros((), z.dtype), out=z)

    @staticmethod
    def _relu_grad(grad: np.ndarray, out: np.ndarray, bias_grad: bool
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        """``(grad ⊙ [out > 0], its column sum or None)``."""
        g = np.multiply(grad, np.greater(out, np.zeros((), out.dtype)), dtype=grad.dtype)
        return g, (g.sum(axis=0) if bias_grad else None)

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                activation: str | None = None) -> np.ndarray:
        if activation not in (None, "linear", "relu"):
            raise ValueError(f"dense: activation must be None, 'linear' or 'relu'. Received: "
                             f"activation={activation!r}")
        x, w = np.asarray(x), np.asarray(w)
        if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
            raise ValueError(f"dense: inputs of shape {x.shape} and a kernel of shape "
                             f"{w.shape} do not fit (expected (batch, n) and (n, units))")
        if b is not None and np.shape(b) != (w.shape[1],):
            raise ValueError(f"dense: the bias must have shape ({w.shape[1]},). Received: "
                             f"bias of shape {np.shape(b)}")
        z = self._matmul2d(x, w)
        if b is not None and np.result_type(z, b) != z.dtype:
            z = z.astype(np.result_type(z, b))  # (as ``add`` would promote)
        self.relu, self.has_bias = activation == "relu", b is not None
        self._bias_relu_(z, b, self.relu)
        self.x, self.w = x, w
        self.out = z if self.relu else None
        return z

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        needs = self.needs_input_grad
        want_b = self.has_bias and needs[2]
        if self.relu and self.out is not None:  # (out is kept exactly when relu)
            g, gb = self._relu_grad(grad, self.out, want_b)
        else:
            g, gb = grad, (grad.sum(axis=0) if want_b else None)
        gx, gw = self._products(g, needs[0], needs[1])
        return (gx, gw, gb) if self.has_bias else (gx, gw)

    def _products(self, g: np.ndarray, need_x: bool, need_w: bool
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """:math:`(\bar Z W^\top, X^\top \bar Z)`, each only when needed."""
        gx = self._matmul2d(g, self.w.T) if need_x else None
        gw = self._matmul2d(self.x.T, g) if need_w else None
        return gx, gw


def dense(x: Any, kernel: Any, bias: Any = None, activation: str | None = None) -> Tensor:
    r"""``activation(x @ kernel + bias)`` for a batch of rows, as one primitive (:class:`Dense`).

    Parameters
    ----------
    x : Tensor or array, shape (batch, n)
    kernel : Tensor or array, shape (n, units)
    bias : Tensor or array, shape (units,), optional
    activation : {None, 'linear', 'relu'}

    As for ``x @ kernel + bias``, the dtypes follow NumPy's promotion (no conversion of
    arrays to the Tensors' dtype: the layer passes Tensors of one dtype).

    Returns
    -------
    Tensor, shape (batch, units)

    Examples
    --------
    >>> import nablanet as nb
    >>> dense(nb.tensor([[1.0, -2.0]]), nb.tensor([[1.0], [1.0]]), nb.tensor([0.5]),
    ...       activation="relu")
    tensor([[0.]])
    """
    return dispatch("dense", dense_apply, x, kernel, bias,  # type: ignore[no-any-return]
                    activation=activation)


def dense_apply(x: Any, kernel: Any, bias: Any = None, activation: str | None = None,
                primitive: type[Dense] = Dense) -> Tensor:
    """``primitive.apply``, with the bias an input only when there is one."""
    if bias is None:
        return primitive.apply(x, kernel, activation=activation)
    return primitive.apply(x, kernel, bias, activation=activation)


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
