"""Element-wise primitives: arithmetic, transcendental functions, comparisons.

Each op's gradient may come back in the broadcast output shape; the engine sums it to
each input's shape (see :mod:`nablanet.autograd.broadcasting`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor


class Add(Function):
    r""":math:`z = x + y`; :math:`\partial z/\partial x = \partial z/\partial y = 1`."""

    __slots__ = ()

    def forward(self, x: Any, y: Any) -> np.ndarray:
        return np.add(x, y)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return grad, grad


class Sub(Function):
    r""":math:`z = x - y`."""

    __slots__ = ()

    def forward(self, x: Any, y: Any) -> np.ndarray:
        return np.subtract(x, y)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    r""":math:`z = x y`; :math:`\bar x = \bar z\, y`, :math:`\bar y = \bar z\, x`."""

    __slots__ = ("x", "y")

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.x, self.y = x, y
        return np.multiply(x, y)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        nx, ny = self.needs_input_grad
        return (grad * self.y if nx else None), (grad * self.x if ny else None)


class Div(Function):
    r""":math:`z = x / y`; :math:`\bar x = \bar z / y`, :math:`\bar y = -\bar z\, x / y^2`."""

    __slots__ = ("x", "y")

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.x, self.y = x, y
        return np.divide(x, y)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        nx, ny = self.needs_input_grad
        gx = grad / self.y if nx else None
        gy = -grad * self.x / (self.y * self.y) if ny else None
        return gx, gy


class Pow(Function):
    r""":math:`z = x^y`; :math:`\bar x = \bar z\, y x^{y-1}`, :math:`\bar y = \bar z\, z \ln x`."""

    __slots__ = ("x", "y", "out")

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.x, self.y = x, y
        self.out = np.power(x, y)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        nx, ny = self.needs_input_grad
        gx = grad * self.y * np.power(self.x, np.subtract(self.y, 1)) if nx else None
        gy = None
        if ny:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_x = np.where(np.asarray(self.x) > 0, np.log(np.abs(self.x)), 0.0)
            gy = grad * self.out * log_x
        return gx, gy


class Neg(Function):
    r""":math:`z = -x`."""

    __slots__ = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.negative(x)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (-grad,)


class Abs(Function):
    r""":math:`z = |x|`; :math:`\bar x = \bar z\,\operatorname{sign}(x)` (0 at 0, as PyTorch)."""

    __slots__ = ("x",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.abs(x)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad * np.sign(self.x),)


class Exp(Function):
    r""":math:`z = e^x`; :math:`\bar x = \bar z\, z`."""

    __slots__ = ("out",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.exp(x)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad * self.out,)


class Log(Function):
    r""":math:`z = \ln x`; :math:`\bar x = \bar z / x`."""

    __slots__ = ("x",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log(x)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad / self.x,)


class Sqrt(Function):
    r""":math:`z = \sqrt{x}`; :math:`\bar x = \bar z / (2z)`."""

    __slots__ = ("out",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.sqrt(x)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad / (2 * self.out),)


class Tanh(Function):
    r""":math:`z = \tanh x`; :math:`\bar x = \bar z (1 - z^2)`."""

    __slots__ = ("out",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad * (1 - self.out * self.out),)


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    r"""Numerically stable :math:`\sigma(x) = 1 / (1 + e^{-x})` on an array (no overflow)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.result_type(x, np.float32))


class Sigmoid(Function):
    r""":math:`z = \sigma(x) = 1/(1+e^{-x})` (chapter eq. 9); :math:`\bar x = \bar z\, z(1-z)`."""

    __slots__ = ("out",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = sigmoid_array(x)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad * self.out * (1 - self.out),)


class Relu(Function):
    r""":math:`z = \max(0, x)` (chapter eq. 7); :math:`\bar x = \bar z [x > 0]` (0 at 0)."""

    __slots__ = ("mask",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, 0).astype(x.dtype, copy=False)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad * self.mask,)


class Maximum(Function):
    r""":math:`z = \max(x, y)` element-wise; ties send the gradient to ``x``."""

    __slots__ = ("x_wins",)

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.x_wins = np.greater_equal(x, y)
        return np.maximum(x, y)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return grad * self.x_wins, grad * ~self.x_wins


class Minimum(Function):
    r""":math:`z = \min(x, y)` element-wise; ties send the gradient to ``x``."""

    __slots__ = ("x_wins",)

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.x_wins = np.less_equal(x, y)
        return np.minimum(x, y)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return grad * self.x_wins, grad * ~self.x_wins


class Where(Function):
    r""":math:`z = c\,?\,x : y`; the gradient goes to ``x`` where ``c`` holds, else to ``y``."""

    __slots__ = ("cond",)

    def forward(self, cond: Any, x: Any, y: Any) -> np.ndarray:
        self.cond = np.asarray(cond, dtype=bool)
        return np.where(self.cond, x, y)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        zero = np.zeros((), grad.dtype)
        return None, np.where(self.cond, grad, zero), np.where(self.cond, zero, grad)


class Clip(Function):
    r""":math:`z = \min(\max(x, a), b)`; gradient 1 inside :math:`[a, b]`, 0 outside."""

    __slots__ = ("inside",)

    def forward(self, x: np.ndarray, low: Any = None, high: Any = None) -> np.ndarray:
        out = np.clip(x, low, high)
        self.inside = out == x
        return out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return grad * self.inside, None, None


class Cast(Function):
    """Convert to another dtype; the gradient is converted back to the input's dtype."""

    __slots__ = ("dtype",)

    def forward(self, x: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad.astype(self.dtype) if self.dtype.kind in "fc" else None,)


class _Compare(Function):
    """Comparisons return boolean tensors and are not differentiable."""

    __slots__ = ()
    numpy_fn: Any = None

    def forward(self, x: Any, y: Any) -> np.ndarray:
        return type(self).numpy_fn(x, y)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return None, None


def _comparison(name: str, numpy_fn: Any) -> Any:
    op = type(name, (_Compare,), {"__slots__": (), "numpy_fn": staticmethod(numpy_fn)})

    def compare(x: Any, y: Any) -> Tensor:
        out = op.apply(x, y)
        out.requires_grad = False
        out._ctx = None
        return out

    compare.__name__ = compare.__qualname__ = name.lower()
    compare.__doc__ = f"Element-wise ``{numpy_fn.__name__}`` as a boolean tensor (no gradient)."
    return compare


less = _comparison("Less", np.less)
less_equal = _comparison("LessEqual", np.less_equal)
greater = _comparison("Greater", np.greater)
greater_equal = _comparison("GreaterEqual", np.greater_equal)
equal = _comparison("Equal", np.equal)
not_equal = _comparison("NotEqual", np.not_equal)


def add(x: Any, y: Any) -> Tensor:
    """``x + y`` with broadcasting."""
    return Add.apply(x, y)


def sub(x: Any, y: Any) -> Tensor:
    """``x - y`` with broadcasting."""
    return Sub.apply(x, y)


def mul(x: Any, y: Any) -> Tensor:
    """``x * y`` with broadcasting (the Hadamard product for equal shapes)."""
    return Mul.apply(x, y)


def div(x: Any, y: Any) -> Tensor:
    """``x / y`` with broadcasting."""
    return Div.apply(x, y)


def pow(x: Any, y: Any) -> Tensor:  # noqa: A001 - the operator's name
    """``x ** y`` with broadcasting."""
    return Pow.apply(x, y)


def neg(x: Any) -> Tensor:
    return Neg.apply(x)


def abs(x: Any) -> Tensor:  # noqa: A001
    return Abs.apply(x)


def exp(x: Any) -> Tensor:
    return Exp.apply(x)


def log(x: Any) -> Tensor:
    return Log.apply(x)


def sqrt(x: Any) -> Tensor:
    return Sqrt.apply(x)


def tanh(x: Any) -> Tensor:
    return Tanh.apply(x)


def sigmoid(x: Any) -> Tensor:
    return Sigmoid.apply(x)


def relu(x: Any) -> Tensor:
    return Relu.apply(x)


def maximum(x: Any, y: Any) -> Tensor:
    return Maximum.apply(x, y)


def minimum(x: Any, y: Any) -> Tensor:
    return Minimum.apply(x, y)


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """``x`` where ``cond`` is true, else ``y`` (broadcasting all three)."""
    if isinstance(cond, Tensor):
        cond = cond.data
    return Where.apply(cond, x, y)


def clip(x: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit values to ``[min, max]``; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(x, min, max)


def cast(x: Any, dtype: Any) -> Tensor:
    """Convert ``x`` to ``dtype``."""
    out = Cast.apply(x, dtype=dtype)
    if out.data.dtype.kind not in "fc":
        out.requires_grad, out._ctx = False, None
    return out
