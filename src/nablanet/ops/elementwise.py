r"""Element-wise primitives: arithmetic, transcendental functions, comparisons.

Each op's gradient may come back in the broadcast output shape; the engine sums it to
each input's shape (see :mod:`nablanet.autograd.broadcasting`).

Dtypes follow PyTorch: a float32 tensor stays float32 when it meets a Python number, a
NumPy float64 scalar or a float64 array (the non-Tensor operand takes the tensor's
dtype); integer tensors combined with floating values give float32; two tensors of
different floating dtypes promote as in NumPy (float32 with float64 gives float64).

Backward methods never write into the incoming gradient (it may be shared or a
read-only broadcast view); they work in place only on arrays they allocated.
"""

from __future__ import annotations

import typing
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor

_ONE: dict[np.dtype, np.ndarray] = {}
_EXP_LIMIT = {np.dtype(np.float16): 11.0, np.dtype(np.float32): 88.0}


def _one(dtype: np.dtype) -> np.ndarray:
    """A cached 0-d ``1`` of ``dtype`` (a ufunc with a matching 0-d array is cheapest)."""
    one = _ONE.get(dtype)
    if one is None:
        one = _ONE[dtype] = np.ones((), dtype)
    return one


def _broadcast_error(name: str, x: Any, y: Any) -> ValueError:
    return ValueError(f"{name}: shapes {np.shape(x)} and {np.shape(y)} cannot be broadcast")


def _float_dtype(dtype: np.dtype) -> np.dtype:
    return dtype if dtype.kind in "fc" else np.dtype(np.float32)


def _promote(x: Any, y: Any, true_divide: bool = False) -> tuple[Any, Any]:
    """Apply PyTorch's type promotion to the operands of a binary element-wise op.

    A non-Tensor operand (Python number, NumPy scalar or array, list) takes the floating
    dtype of the Tensor it meets; an integer Tensor meeting a floating value becomes
    float32 (integer tensors never require grad, so their data can be converted); with
    ``true_divide`` two integer operands give float32.
    """
    xt, yt = isinstance(x, Tensor), isinstance(y, Tensor)
    if xt and yt:
        xd, yd = x.data.dtype, y.data.dtype
        xf, yf = xd.kind in "fc", yd.kind in "fc"
        if xf and not yf:
            y = Tensor(y.data.astype(xd), dtype=xd)
        elif yf and not xf:
            x = Tensor(x.data.astype(yd), dtype=yd)
        elif true_divide and not xf:
            x, y = Tensor(x.data.astype(np.float32)), Tensor(y.data.astype(np.float32))
        return x, y
    if xt:
        return _promote_constant(x, y, true_divide, tensor_first=True)
    if yt:
        y, x = _promote_constant(y, x, true_divide, tensor_first=False)
        return x, y
    return x, y


def _promote_constant(t: Tensor, value: Any, true_divide: bool, tensor_first: bool) -> Any:
    dtype = t.data.dtype
    if dtype.kind in "fc":
        return t, np.asarray(value, dtype=dtype)
    array = np.asarray(value)
    if array.dtype.kind in "fc" or true_divide:  # integer tensor meets a float: float32
        float_dtype = np.dtype(np.float32) if array.dtype.kind != "c" else array.dtype
        return Tensor(t.data.astype(float_dtype)), array.astype(float_dtype)
    if isinstance(value, (bool, int)):  # keep the Python integer weak (int32 + 1 is int32)
        return t, value
    return t, array


def _binary(op: type[Function], x: Any, y: Any, true_divide: bool = False) -> Tensor:
    """Apply a binary op after dtype promotion; the common cases take no detour."""
    if isinstance(x, Tensor):
        dtype = x.data.dtype
        if isinstance(y, Tensor):
            if y.data.dtype is dtype and (dtype.kind in "fc" or not true_divide):
                return op.apply(x, y)
        elif (type(y) is float or type(y) is int) and dtype.kind == "f":
            # A 0-d array of the tensor's dtype: faster in NumPy than a Python scalar.
            return op.apply(x, np.asarray(y, dtype))
    elif isinstance(y, Tensor) and (type(x) is float or type(x) is int):
        dtype = y.data.dtype
        if dtype.kind == "f":
            return op.apply(np.asarray(x, dtype), y)
    x, y = _promote(x, y, true_divide)
    return op.apply(x, y)


class Add(Function):
    r"""Element-wise sum with broadcasting.

    .. math::

        z = x + y, \qquad \bar x = \bar z, \qquad \bar y = \bar z
    """

    __slots__ = ()

    def forward(self, x: Any, y: Any) -> np.ndarray:
        try:
            return np.add(x, y)
        except ValueError:
            raise _broadcast_error("add", x, y) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return grad, grad


class Sub(Function):
    r"""Element-wise difference with broadcasting.

    .. math::

        z = x - y, \qquad \bar x = \bar z, \qquad \bar y = -\bar z
    """

    __slots__ = ()

    def forward(self, x: Any, y: Any) -> np.ndarray:
        try:
            return np.subtract(x, y)
        except ValueError:
            raise _broadcast_error("sub", x, y) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return grad, (np.negative(grad) if self.needs_input_grad[1] else None)


class Mul(Function):
    r"""Element-wise (Hadamard) product with broadcasting.

    .. math::

        z = x \odot y, \qquad \bar x = \bar z \odot y, \qquad \bar y = \bar z \odot x
    """

    __slots__ = ("x", "y")

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.x = x
        self.y = y
        try:
            return np.multiply(x, y)
        except ValueError:
            raise _broadcast_error("mul", x, y) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        nx, ny = self.needs_input_grad
        return (np.multiply(grad, self.y) if nx else None), (
            np.multiply(grad, self.x) if ny else None
        )


class Div(Function):
    r"""Element-wise true division with broadcasting.

    .. math::

        z = \frac{x}{y}, \qquad \bar x = \frac{\bar z}{y}, \qquad
        \bar y = -\bar z\,\frac{x}{y^2} = -\frac{\bar z}{y}\, z
    """

    __slots__ = ("y", "out")

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.y = y
        try:
            self.out = np.divide(x, y)
        except ValueError:
            raise _broadcast_error("div", x, y) from None
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        nx, ny = self.needs_input_grad
        q = np.divide(grad, self.y)
        gy = None
        if ny:
            gy = np.multiply(q, self.out)
            np.negative(gy, out=gy)
        return (q if nx else None), gy


class Pow(Function):
    r"""Element-wise power with broadcasting.

    .. math::

        z = x^y, \qquad \bar x = \bar z\, y\, x^{y-1}, \qquad \bar y = \bar z\, z \ln x

    As in PyTorch, :math:`\bar y = 0` where :math:`x = 0` and :math:`y \ge 0`
    (the limit of :math:`x^y \ln x`), and it is NaN where :math:`x < 0`.
    """

    __slots__ = ("x", "y", "out")

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.x, self.y = x, y
        try:
            self.out = np.power(x, y)
        except ValueError:
            raise _broadcast_error("pow", x, y) from None
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        nx, ny = self.needs_input_grad
        x, y = self.x, self.y
        gx = gy = None
        if nx:
            gx = grad * y * np.power(x, y - _one(np.result_type(y)))
        if ny:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_x = np.log(x)
            zero_base = np.logical_and(np.equal(x, 0), np.greater_equal(y, 0))
            gy = np.where(zero_base, 0, grad * self.out * log_x)
        return gx, gy


class Neg(Function):
    r"""Negation: :math:`z = -x`, :math:`\bar x = -\bar z`."""

    __slots__ = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.negative(x)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (np.negative(grad),)


class Abs(Function):
    r"""Absolute value.

    .. math::

        z = |x|, \qquad \bar x = \bar z \operatorname{sign}(x)

    with :math:`\operatorname{sign}(0) = 0`, as in PyTorch.
    """

    __slots__ = ("x",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.abs(x)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (grad * np.sign(self.x),)


class Exp(Function):
    r"""Exponential: :math:`z = e^x`, :math:`\bar x = \bar z\, z`."""

    __slots__ = ("out",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.exp(x)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (np.multiply(grad, self.out),)


class Log(Function):
    r"""Natural logarithm: :math:`z = \ln x`, :math:`\bar x = \bar z / x`."""

    __slots__ = ("x",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.log(x)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return (np.divide(grad, self.x),)


class Sqrt(Function):
    r"""Square root: :math:`z = \sqrt{x}`, :math:`\bar x = \bar z / (2z)`."""

    __slots__ = ("out",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.sqrt(x)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        g = np.divide(grad, self.out)
        g *= 0.5
        return (g,)


class Tanh(Function):
    r"""Hyperbolic tangent.

    .. math::

        z = \tanh x = \frac{e^x - e^{-x}}{e^x + e^{-x}}, \qquad \bar x = \bar z\,(1 - z^2)
    """

    __slots__ = ("out",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        out = self.out
        g = np.multiply(out, out)
        np.subtract(_one(g.dtype), g, out=g)
        np.multiply(g, grad, out=g)
        return (g,)


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    r"""The logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})` on an array, without overflow.

    The exponent is capped (at 88 for float32), so :math:`e^{-x}` never overflows; where
    the cap acts, :math:`\sigma(x) < 10^{-38}` and the result differs from the exact value
    by less than that.

    Examples
    --------
    >>> sigmoid_array(np.array([-1000.0, 0.0, 1000.0], dtype=np.float32)).round(3)
    array([0. , 0.5, 1. ], dtype=float32)
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float32)
    one = _one(x.dtype)
    t = np.negative(x)
    np.minimum(t, _EXP_LIMIT.get(x.dtype, 700.0), out=t)
    np.exp(t, out=t)
    np.add(t, one, out=t)
    np.divide(one, t, out=t)
    return t


class Sigmoid(Function):
    r"""Logistic sigmoid (chapter eq. 9).

    .. math::

        z = \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \bar x = \bar z\, z\,(1 - z)
    """

    __slots__ = ("out",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = sigmoid_array(x)
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        out = self.out
        g = np.subtract(_one(out.dtype), out)
        np.multiply(g, out, out=g)
        np.multiply(g, grad, out=g)
        return (g,)


class Relu(Function):
    r"""Rectified linear unit (chapter eq. 7).

    .. math::

        z = \max(0, x), \qquad \bar x = \bar z\,[x > 0]

    (the subgradient 0 is used at :math:`x = 0`, as in PyTorch).
    """

    __slots__ = ("out",)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.maximum(x, np.zeros((), x.dtype))
        return self.out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        mask = np.greater(self.out, np.zeros((), self.out.dtype))
        return (np.multiply(grad, mask, dtype=grad.dtype),)


def _extremum_weights(x: Any, y: Any, x_wins: Any, dtype: np.dtype) -> np.ndarray:
    """1 where ``x`` strictly wins, 1/2 on ties, 0 where ``y`` wins (PyTorch's convention)."""
    return np.where(np.equal(x, y), 0.5, x_wins).astype(dtype)


class Maximum(Function):
    r"""Element-wise maximum with broadcasting.

    .. math::

        z = \max(x, y), \qquad \bar x = \bar z\,w, \qquad \bar y = \bar z\,(1 - w),
        \qquad w = [x > y] + \tfrac12 [x = y]

    (ties share the gradient equally, as in PyTorch).
    """

    __slots__ = ("x", "y")

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.x, self.y = x, y
        try:
            return np.maximum(x, y)
        except ValueError:
            raise _broadcast_error("maximum", x, y) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        w = _extremum_weights(self.x, self.y, np.greater(self.x, self.y), grad.dtype)
        return grad * w, grad * (1 - w)


class Minimum(Function):
    r"""Element-wise minimum with broadcasting.

    .. math::

        z = \min(x, y), \qquad \bar x = \bar z\,w, \qquad \bar y = \bar z\,(1 - w),
        \qquad w = [x < y] + \tfrac12 [x = y]
    """

    __slots__ = ("x", "y")

    def forward(self, x: Any, y: Any) -> np.ndarray:
        self.x, self.y = x, y
        try:
            return np.minimum(x, y)
        except ValueError:
            raise _broadcast_error("minimum", x, y) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        w = _extremum_weights(self.x, self.y, np.less(self.x, self.y), grad.dtype)
        return grad * w, grad * (1 - w)


class Where(Function):
    r"""Select element-wise: :math:`z = c\ ?\ x : y` (all three broadcast together).

    .. math::

        \bar x = [c]\,\bar z, \qquad \bar y = [\lnot c]\,\bar z

    The condition gets no gradient.
    """

    __slots__ = ("cond",)

    def forward(self, cond: Any, x: Any, y: Any) -> np.ndarray:
        self.cond = np.asarray(cond, dtype=bool)
        try:
            return np.where(self.cond, x, y)
        except ValueError:
            raise ValueError(
                f"where: shapes {np.shape(cond)}, {np.shape(x)} and {np.shape(y)} "
                "cannot be broadcast"
            ) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        zero = np.zeros((), grad.dtype)
        _, nx, ny = self.needs_input_grad
        return (
            None,
            np.where(self.cond, grad, zero) if nx else None,
            np.where(self.cond, zero, grad) if ny else None,
        )


class Clip(Function):
    r"""Limit values to :math:`[a, b]` (either bound may be None).

    .. math::

        z = \min(\max(x, a), b), \qquad \bar x = \bar z\,[a \le x \le b], \qquad
        \bar a = \bar z\,[x < a], \qquad \bar b = \bar z\,[x > b]

    The gradient at a bound goes to ``x``, as in PyTorch's ``clamp``.
    """

    __slots__ = ("x", "low", "high", "inside")

    def forward(self, x: np.ndarray, low: Any = None, high: Any = None) -> np.ndarray:
        self.x, self.low, self.high = x, low, high
        out = np.clip(x, low, high)
        self.inside = out == x
        return out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        _, nlow, nhigh = self.needs_input_grad
        glow = grad * np.less(self.x, self.low) if nlow else None
        ghigh = grad * np.greater(self.x, self.high) if nhigh else None
        return grad * self.inside, glow, ghigh


class Cast(Function):
    r"""Convert to another dtype: :math:`z = x`, :math:`\bar x = \bar z` in ``x``'s dtype.

    A cast to an integer or boolean dtype is not differentiable.
    """

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
    op_name = "compare"

    def forward(self, x: Any, y: Any) -> np.ndarray:
        try:
            return type(self).numpy_fn(x, y)
        except ValueError:
            raise _broadcast_error(self.op_name, x, y) from None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        return None, None


def _comparison(name: str, function_name: str, numpy_fn: Any, symbol: str) -> Any:
    op = typing.cast("type[_Compare]", type(  # a _Compare subclass made at run time
        name,
        (_Compare,),
        {
            "__slots__": (),
            "numpy_fn": staticmethod(numpy_fn),
            "op_name": function_name,
            "__module__": __name__,
            "__doc__": f"Element-wise :math:`x {symbol} y` as booleans (no gradient).",
        },
    ))

    def compare(x: Any, y: Any) -> Tensor:
        out = op.apply(x, y)
        out.requires_grad = False
        out._ctx = None
        return out

    compare.__name__ = compare.__qualname__ = function_name
    compare.__doc__ = (
        f"Element-wise :math:`x {symbol} y` with broadcasting, as a boolean tensor.\n\n"
        "Comparisons are not differentiable: the result never requires grad.\n\n"
        "Examples\n--------\n>>> import nablanet as nb\n"
        f">>> nb.ops.{function_name}(nb.tensor([1.0, 2.0]), 1.5).numpy()\n"
        f"{numpy_fn(np.array([1.0, 2.0]), 1.5)!r}\n"
    )
    return op, compare


Less, less = _comparison("Less", "less", np.less, "<")
LessEqual, less_equal = _comparison("LessEqual", "less_equal", np.less_equal, r"\le")
Greater, greater = _comparison("Greater", "greater", np.greater, ">")
GreaterEqual, greater_equal = _comparison(
    "GreaterEqual", "greater_equal", np.greater_equal, r"\ge"
)
Equal, equal = _comparison("Equal", "equal", np.equal, "=")
NotEqual, not_equal = _comparison("NotEqual", "not_equal", np.not_equal, r"\ne")


def add(x: Any, y: Any) -> Tensor:
    r"""Element-wise :math:`x + y` with NumPy broadcasting.

    Parameters
    ----------
    x, y : Tensor, ndarray or Python number
        Operands; shapes must broadcast together.

    Returns
    -------
    Tensor
        The sum, in the promoted dtype (see the module notes).

    Raises
    ------
    ValueError
        ``add: shapes (2, 3) and (4,) cannot be broadcast`` when the shapes do not broadcast.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.add(nb.tensor([1.0, 2.0]), 0.5)
    tensor([1.5, 2.5])
    """
    return _binary(Add, x, y)


def sub(x: Any, y: Any) -> Tensor:
    r"""Element-wise :math:`x - y` with broadcasting (see :func:`add` for the rules).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.sub(1.0, nb.tensor([1.0, 2.0]))
    tensor([ 0., -1.])
    """
    return _binary(Sub, x, y)


def mul(x: Any, y: Any) -> Tensor:
    r"""Element-wise (Hadamard) product :math:`x \odot y` with broadcasting.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.mul(nb.tensor([1.0, 2.0]), nb.tensor([[3.0], [4.0]]))
    tensor([[3., 6.],
            [4., 8.]])
    """
    return _binary(Mul, x, y)


def div(x: Any, y: Any) -> Tensor:
    r"""Element-wise true division :math:`x / y` (integer operands give float32).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.div(nb.tensor([1, 2]), 2)
    tensor([0.5, 1. ])
    """
    return _binary(Div, x, y, true_divide=True)


def pow(x: Any, y: Any) -> Tensor:  # noqa: A001 - the operator's name
    r"""Element-wise power :math:`x^y` with broadcasting.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.tensor([1.0, 2.0, 3.0]) ** 2
    tensor([1., 4., 9.])
    """
    return _binary(Pow, x, y)


def neg(x: Any) -> Tensor:
    r"""Negation :math:`-x`.

    Examples
    --------
    >>> import nablanet as nb
    >>> -nb.tensor([1.0, -2.0])
    tensor([-1.,  2.])
    """
    return Neg.apply(x)


def abs(x: Any) -> Tensor:  # noqa: A001
    r"""Absolute value :math:`|x|` (gradient :math:`\operatorname{sign}(x)`, 0 at 0).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.abs(nb.tensor([-1.5, 2.0]))
    tensor([1.5, 2. ])
    """
    return Abs.apply(x)


def exp(x: Any) -> Tensor:
    r"""Exponential :math:`e^x`.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.exp(nb.tensor([0.0]))
    tensor([1.])
    """
    return Exp.apply(x)


def log(x: Any) -> Tensor:
    r"""Natural logarithm :math:`\ln x`.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.log(nb.tensor([1.0]))
    tensor([0.])
    """
    return Log.apply(x)


def sqrt(x: Any) -> Tensor:
    r"""Square root :math:`\sqrt x`.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.sqrt(nb.tensor([4.0]))
    tensor([2.])
    """
    return Sqrt.apply(x)


def tanh(x: Any) -> Tensor:
    r"""Hyperbolic tangent :math:`\tanh x`, with derivative :math:`1 - \tanh^2 x`.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.tanh(nb.tensor([0.0]))
    tensor([0.])
    """
    return Tanh.apply(x)


def sigmoid(x: Any) -> Tensor:
    r"""Logistic sigmoid :math:`\sigma(x) = 1/(1+e^{-x})`, computed without overflow.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.sigmoid(nb.tensor([0.0]))
    tensor([0.5])
    """
    return Sigmoid.apply(x)


def relu(x: Any) -> Tensor:
    r"""Rectified linear unit :math:`\max(0, x)`.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.relu(nb.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return Relu.apply(x)


def maximum(x: Any, y: Any) -> Tensor:
    r"""Element-wise :math:`\max(x, y)` with broadcasting (ties share the gradient).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.maximum(nb.tensor([1.0, 3.0]), 2.0)
    tensor([2., 3.])
    """
    return _binary(Maximum, x, y)


def minimum(x: Any, y: Any) -> Tensor:
    r"""Element-wise :math:`\min(x, y)` with broadcasting (ties share the gradient).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.minimum(nb.tensor([1.0, 3.0]), 2.0)
    tensor([1., 2.])
    """
    return _binary(Minimum, x, y)


def where(cond: Any, x: Any, y: Any) -> Tensor:
    r"""``x`` where ``cond`` is true, else ``y`` (broadcasting all three).

    .. math::

        z_i = \begin{cases} x_i & c_i \\ y_i & \text{otherwise} \end{cases}

    Examples
    --------
    >>> import nablanet as nb
    >>> x = nb.tensor([-1.0, 2.0])
    >>> nb.ops.where(x > 0, x, 0.0)
    tensor([0., 2.])
    """
    if isinstance(cond, Tensor):
        cond = cond.data
    if not (isinstance(x, Tensor) and isinstance(y, Tensor) and x.data.dtype is y.data.dtype):
        x, y = _promote(x, y)
    return Where.apply(cond, x, y)


def clip(x: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    r"""Limit values to :math:`[\min, \max]`; either bound may be None.

    Raises
    ------
    ValueError
        When both bounds are None.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.clip(nb.tensor([-2.0, 0.5, 2.0]), -1.0, 1.0)
    tensor([-1. ,  0.5,  1. ])
    """
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(x, Tensor) and x.data.dtype.kind in "fc":
        dtype = x.data.dtype
        min = min if min is None or isinstance(min, Tensor) else np.asarray(min, dtype)  # noqa: A001
        max = max if max is None or isinstance(max, Tensor) else np.asarray(max, dtype)  # noqa: A001
    return Clip.apply(x, min, max)


def cast(x: Any, dtype: Any) -> Tensor:
    r"""Convert ``x`` to ``dtype`` (differentiable between floating dtypes).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ops.cast(nb.tensor([1.5]), "float64").dtype
    dtype('float64')
    """
    out = Cast.apply(x, dtype=dtype)
    if out.data.dtype.kind not in "fc":
        out.requires_grad, out._ctx = False, None
    return out
