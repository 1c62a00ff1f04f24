"""Tensor's operators and methods (``x + y``, ``x @ w``, ``x.sum()``, ``x.T`` ...), bound to
:class:`~nablanet.autograd.tensor.Tensor` when :mod:`nablanet.ops` is imported.

Each is one call of a primitive's public function. They are bound here, not written in the
class, so that :mod:`nablanet.autograd` imports nothing above it (the class declares them for
type checkers only).
"""

# ruff: noqa: A001, A002 - the methods are named after the operations (sum, max, abs, min ...)

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nablanet import ops
from nablanet.autograd.tensor import Tensor
from nablanet.ops import elementwise as _ew
from nablanet.ops.elementwise import _binary


def _T(self) -> Tensor:  # noqa: N802 - numpy's name
    return ops.transpose(self)

def _astype(self, dtype: Any) -> Tensor:
    """A copy converted to ``dtype`` (differentiable between floating dtypes)."""
    return ops.cast(self, dtype)

def _add(self, other: Any) -> Tensor:
    return _binary(_ew.Add, self, other)

def _radd(self, other: Any) -> Tensor:
    return _binary(_ew.Add, other, self)

def _sub(self, other: Any) -> Tensor:
    return _binary(_ew.Sub, self, other)

def _rsub(self, other: Any) -> Tensor:
    return _binary(_ew.Sub, other, self)

def _mul(self, other: Any) -> Tensor:
    return _binary(_ew.Mul, self, other)

def _rmul(self, other: Any) -> Tensor:
    return _binary(_ew.Mul, other, self)

def _truediv(self, other: Any) -> Tensor:
    return _binary(_ew.Div, self, other, True)

def _rtruediv(self, other: Any) -> Tensor:
    return _binary(_ew.Div, other, self, True)

def _pow(self, other: Any) -> Tensor:
    return _binary(_ew.Pow, self, other)

def _rpow(self, other: Any) -> Tensor:
    return _binary(_ew.Pow, other, self)

def _matmul(self, other: Any) -> Tensor:
    return ops.matmul(self, other)

def _rmatmul(self, other: Any) -> Tensor:
    return ops.matmul(other, self)

def _neg(self) -> Tensor:
    return ops.neg(self)

def _abs(self) -> Tensor:
    return ops.abs(self)

def _getitem(self, index: Any) -> Tensor:
    return ops.getitem(self, index)

def _lt(self, other: Any) -> Tensor:
    return ops.less(self, other)

def _le(self, other: Any) -> Tensor:
    return ops.less_equal(self, other)

def _gt(self, other: Any) -> Tensor:
    return ops.greater(self, other)

def _ge(self, other: Any) -> Tensor:
    return ops.greater_equal(self, other)

def _eq(self, other: Any) -> Tensor:  # type: ignore[override]
    return ops.equal(self, other)

def _ne(self, other: Any) -> Tensor:  # type: ignore[override]
    return ops.not_equal(self, other)

def _exp(self) -> Tensor:
    return ops.exp(self)

def _log(self) -> Tensor:
    return ops.log(self)

def _sqrt(self) -> Tensor:
    return ops.sqrt(self)

def _tanh(self) -> Tensor:
    return ops.tanh(self)

def _sigmoid(self) -> Tensor:
    return ops.sigmoid(self)

def _relu(self) -> Tensor:
    return ops.relu(self)

def _clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return ops.clip(self, min, max)

def _sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.sum(self, axis, keepdims)

def _mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.mean(self, axis, keepdims)

def _max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.max(self, axis, keepdims)

def _min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.min(self, axis, keepdims)

def _var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    return ops.var(self, axis, keepdims, ddof)

def _std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    return ops.std(self, axis, keepdims, ddof)

def _argmax(self, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.argmax(self, axis, keepdims)

def _argmin(self, axis: Any = None, keepdims: bool = False) -> Tensor:
    return ops.argmin(self, axis, keepdims)

def _reshape(self, *shape: Any) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return ops.reshape(self, shape)

def _flatten(self) -> Tensor:
    return ops.reshape(self, (-1,))

def _transpose(self, *axes: Any) -> Tensor:
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return ops.transpose(self, axes or None)

def _swapaxes(self, axis1: int, axis2: int) -> Tensor:
    return ops.swapaxes(self, axis1, axis2)

def _squeeze(self, axis: Any = None) -> Tensor:
    return ops.squeeze(self, axis)

def _expand_dims(self, axis: int) -> Tensor:
    return ops.expand_dims(self, axis)

def _unsqueeze(self, axis: int) -> Tensor:
    return ops.expand_dims(self, axis)

def _broadcast_to(self, shape: Sequence[int]) -> Tensor:
    return ops.broadcast_to(self, tuple(shape))

_METHODS: dict[str, Any] = {
    "T": property(_T),
    "astype": _astype,
    "__add__": _add,
    "__radd__": _radd,
    "__sub__": _sub,
    "__rsub__": _rsub,
    "__mul__": _mul,
    "__rmul__": _rmul,
    "__truediv__": _truediv,
    "__rtruediv__": _rtruediv,
    "__pow__": _pow,
    "__rpow__": _rpow,
    "__matmul__": _matmul,
    "__rmatmul__": _rmatmul,
    "__neg__": _neg,
    "__abs__": _abs,
    "__getitem__": _getitem,
    "__lt__": _lt,
    "__le__": _le,
    "__gt__": _gt,
    "__ge__": _ge,
    "__eq__": _eq,
    "__ne__": _ne,
    "exp": _exp,
    "log": _log,
    "sqrt": _sqrt,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "relu": _relu,
    "abs": _abs,
    "clip": _clip,
    "sum": _sum,
    "mean": _mean,
    "max": _max,
    "min": _min,
    "var": _var,
    "std": _std,
    "argmax": _argmax,
    "argmin": _argmin,
    "reshape": _reshape,
    "flatten": _flatten,
    "transpose": _transpose,
    "swapaxes": _swapaxes,
    "squeeze": _squeeze,
    "expand_dims": _expand_dims,
    "unsqueeze": _unsqueeze,
    "broadcast_to": _broadcast_to,
}

for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)
