# ruff: noqa: A001, A002 - Keras's names (abs, max, min, sum, ...) and argument names
"""``keras.ops`` NumPy-like functions over nablanet's differentiable primitives.

Most names are entries of a table pointing at :mod:`nablanet.ops` (the primitives) or
:mod:`nablanet.autograd.creation`; the rest adapt Keras's signature (``clip(x, x_min,
x_max)``, ``max(..., initial=)``, ``where(condition)``) or are short composites of primitives
(``square``, ``tile``, ``repeat``, ``log1p``). Every function taking a tensor is
differentiable where the maths is; index-valued results (``argmax``, ``where(condition)``)
and the array constructors carry no gradient. Inputs may be Tensors, NumPy arrays or numbers;
results are Tensors.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import ops as _ops
from nablanet.autograd.tensor import Tensor
from nablanet.keras_ops.core import cast

# -- helpers ------------------------------------------------------------------------------------


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _float(x: Any) -> Tensor:
    """``x`` as a floating Tensor (integers and booleans become float32, as in Keras)."""
    x = _tensor(x)
    return x if x.dtype.kind in "fc" else cast(x, "float32")


def _shape_arg(shape: Any) -> tuple[int, ...]:
    """A shape given as an int or a sequence (entries may be 0-d Tensors, as ``tf.shape``'s)."""
    if isinstance(shape, Tensor):
        shape = shape.data.tolist()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in shape)


def _default_float(dtype: Any) -> Any:
    return np.float32 if dtype is None else dtype


# -- element-wise maths -------------------------------------------------------------------------


def abs(x: Any) -> Tensor:
    """:math:`|x|` element-wise (``absolute`` is the same function)."""
    return _ops.abs(_tensor(x))


absolute = abs


def negative(x: Any) -> Tensor:
    """:math:`-x`."""
    return _ops.neg(_tensor(x))


def add(x1: Any, x2: Any) -> Tensor:
    """:math:`x_1 + x_2` with broadcasting."""
    return _ops.add(x1, x2)


def subtract(x1: Any, x2: Any) -> Tensor:
    """:math:`x_1 - x_2` with broadcasting."""
    return _ops.sub(x1, x2)


def multiply(x1: Any, x2: Any) -> Tensor:
    """:math:`x_1 x_2` element-wise with broadcasting."""
    return _ops.mul(x1, x2)


def divide(x1: Any, x2: Any) -> Tensor:
    """:math:`x_1 / x_2` (true division) with broadcasting."""
    return _ops.div(x1, x2)


true_divide = divide


def power(x1: Any, x2: Any) -> Tensor:
    """:math:`x_1^{x_2}` with broadcasting."""
    return _ops.pow(x1, x2)


def square(x: Any) -> Tensor:
    """:math:`x^2` (the input's dtype kept)."""
    x = _tensor(x)
    return x * x


def sqrt(x: Any) -> Tensor:
    r""":math:`\sqrt{x}` (integer input gives float32)."""
    return _ops.sqrt(_float(x))


def exp(x: Any) -> Tensor:
    """:math:`e^x` (integer input gives float32)."""
    return _ops.exp(_float(x))


def log(x: Any) -> Tensor:
    r""":math:`\ln x` (integer input gives float32)."""
    return _ops.log(_float(x))


def log1p(x: Any) -> Tensor:
    r""":math:`\ln(1 + x)`."""
    return _ops.log(_float(x) + 1.0)


def expm1(x: Any) -> Tensor:
    """:math:`e^x - 1`."""
    return _ops.exp(_float(x)) - 1.0


def tanh(x: Any) -> Tensor:
    r""":math:`\tanh x`."""
    return _ops.tanh(_float(x))


def sign(x: Any) -> Tensor:
    """-1, 0 or 1 by the sign of each element (no gradient: it is zero almost everywhere)."""
    data = _tensor(x).data
    return Tensor(np.sign(data), dtype=data.dtype)


def maximum(x1: Any, x2: Any) -> Tensor:
    """Element-wise larger of two tensors (ties share the gradient)."""
    return _ops.maximum(x1, x2)


def minimum(x1: Any, x2: Any) -> Tensor:
    """Element-wise smaller of two tensors (ties share the gradient)."""
    return _ops.minimum(x1, x2)


def clip(x: Any, x_min: Any, x_max: Any) -> Tensor:
    """``x`` limited to ``[x_min, x_max]`` (the gradient passes inside the interval only)."""
    return _ops.clip(_tensor(x), x_min, x_max)


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """``x1`` where ``condition`` holds, else ``x2``; with only ``condition``, the indices of
    its true elements (a tuple of int Tensors, one per axis, as ``np.where``)."""
    if (x1 is None) != (x2 is None):
        raise ValueError(
            "`x1` and `x2` either both should be `None` or both should have non-None value. "
            f"Received: x1={x1}, x2={x2}"
        )
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if x1 is None:
        return tuple(Tensor(i) for i in np.nonzero(cond))
    return _ops.where(cond, x1, x2)


def equal(x1: Any, x2: Any) -> Tensor:
    """``x1 == x2`` element-wise (bool)."""
    return _ops.equal(x1, x2)


def not_equal(x1: Any, x2: Any) -> Tensor:
    """``x1 != x2`` element-wise (bool)."""
    return _ops.not_equal(x1, x2)


def greater(x1: Any, x2: Any) -> Tensor:
    """``x1 > x2`` element-wise (bool)."""
    return _ops.greater(x1, x2)


def greater_equal(x1: Any, x2: Any) -> Tensor:
    """``x1 >= x2`` element-wise (bool)."""
    return _ops.greater_equal(x1, x2)


def less(x1: Any, x2: Any) -> Tensor:
    """``x1 < x2`` element-wise (bool)."""
    return _ops.less(x1, x2)


def less_equal(x1: Any, x2: Any) -> Tensor:
    """``x1 <= x2`` element-wise (bool)."""
    return _ops.less_equal(x1, x2)


def logical_and(x1: Any, x2: Any) -> Tensor:
    """Element-wise AND of truth values (bool)."""
    return Tensor(np.logical_and(np.asarray(x1), np.asarray(x2)))


def logical_or(x1: Any, x2: Any) -> Tensor:
    """Element-wise OR of truth values (bool)."""
    return Tensor(np.logical_or(np.asarray(x1), np.asarray(x2)))


def logical_not(x: Any) -> Tensor:
    """Element-wise NOT of truth values (bool)."""
    return Tensor(np.logical_not(np.asarray(x)))


# -- reductions ---------------------------------------------------------------------------------


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (an int, a tuple, or None for all axes)."""
    return _ops.sum(_tensor(x), axis, keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis`` (integer input gives float32)."""
    return _ops.mean(_float(x), axis, keepdims)


def var(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    r"""Population variance :math:`\frac1n\sum_i (x_i - \bar x)^2` over ``axis``."""
    return _ops.var(_float(x), axis, keepdims)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    r"""Population standard deviation :math:`\sqrt{\operatorname{var}(x)}` over ``axis``."""
    return _ops.std(_float(x), axis, keepdims)


def _extreme(reduce: Any, pick: Any, x: Any, axis: Any, keepdims: bool, initial: Any) -> Tensor:
    x = _tensor(x)
    if x.size == 0:
        if initial is None:
            raise ValueError(f"{reduce.__name__}: cannot reduce an empty tensor of shape "
                             f"{x.shape} without `initial`")
        shape = np.max(np.empty(x.shape), axis=axis, keepdims=keepdims, initial=0).shape
        return Tensor(np.full(shape, initial, dtype=x.dtype))
    out = reduce(x, axis, keepdims)
    return out if initial is None else pick(out, np.asarray(initial, dtype=x.dtype))


def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Tensor:
    """Largest value over ``axis``; ``initial`` is a lower bound included in the reduction
    (and the result for an empty tensor). Tied winners share the gradient."""
    return _extreme(_ops.max, _ops.maximum, x, axis, keepdims, initial)


def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Tensor:
    """Smallest value over ``axis``; ``initial`` is an upper bound included in the reduction."""
    return _extreme(_ops.min, _ops.minimum, x, axis, keepdims, initial)


amax = max
amin = min


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest value along ``axis`` (of the flattened tensor when None)."""
    return _ops.argmax(x, axis, keepdims)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest value along ``axis`` (of the flattened tensor when None)."""
    return _ops.argmin(x, axis, keepdims)


# -- shapes -------------------------------------------------------------------------------------


def reshape(x: Any, newshape: Any) -> Tensor:
    """Same values in shape ``newshape`` (an int or a sequence; at most one entry -1)."""
    shape = _shape_arg(newshape) if not isinstance(newshape, (int, np.integer)) else (
        int(newshape),)
    if builtins.any(n < -1 for n in shape):
        raise ValueError("reshape: each entry of `newshape` must be a non-negative integer "
                         f"or -1. Received: newshape={shape}")
    if builtins.sum(n == -1 for n in shape) > 1:
        raise ValueError("reshape: `newshape` can have at most one unknown dimension (-1). "
                         f"Received: newshape={shape}")
    return _ops.reshape(_tensor(x), shape)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them when ``axes`` is None); negative axes count from the end."""
    x = _tensor(x)
    if axes is not None:
        axes = [int(a) for a in axes]
        n = x.ndim
        if len(axes) != n:
            raise ValueError("transpose: `axes` must be a list of the same length as the input "
                             f"shape {x.shape}. Received: axes={axes}")
        if builtins.any(not -n <= a < n for a in axes):
            raise ValueError(f"transpose: Each axis in `axes` must be an integer in [{-n}, {n}). "
                             f"Received: axes={axes}")
        if sorted(a % n for a in axes) != list(range(n)):
            raise ValueError("transpose: `axes` must be a valid permutation of the input's "
                             f"axes. Received: axes={axes}")
    return _ops.transpose(x, axes)


def expand_dims(x: Any, axis: int | Sequence[int]) -> Tensor:
    """Insert size-1 axes at ``axis`` (an int or a tuple of positions in the result)."""
    return _ops.expand_dims(_tensor(x), axis)  # type: ignore[arg-type]


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """Remove size-1 axes (all of them when ``axis`` is None)."""
    return _ops.squeeze(_tensor(x), axis)


def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return _ops.concatenate(list(xs), axis)


def stack(x: Sequence[Any], axis: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new axis."""
    return _ops.stack(list(x), axis)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """``x`` with axes ``axis1`` and ``axis2`` exchanged."""
    return _ops.swapaxes(_tensor(x), axis1, axis2)


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """``x`` broadcast to ``shape`` (the gradient sums over the broadcast axes)."""
    return _ops.broadcast_to(_tensor(x), _shape_arg(shape))


def tile(x: Any, repeats: Any) -> Tensor:
    r"""``x`` repeated ``repeats[i]`` times along axis ``i`` (``np.tile``).

    Written as a broadcast: axis :math:`i` of size :math:`n_i` becomes a pair
    :math:`(r_i, n_i)` broadcast from :math:`(1, n_i)`, then each pair is merged, so the
    gradient is the sum over the copies.
    """
    x = _tensor(x)
    reps = _shape_arg(repeats)
    ndim = builtins.max(x.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + x.shape
    paired = _ops.reshape(x, [m for n in shape for m in (1, n)])
    wide = _ops.broadcast_to(paired, tuple(m for r, n in zip(reps, shape) for m in (r, n)))
    return _ops.reshape(wide, tuple(r * n for r, n in zip(reps, shape)))


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times along ``axis`` (of the flattened tensor when
    None); ``repeats`` may give one count per element (``np.repeat``)."""
    x = _tensor(x)
    if axis is None:
        x, axis = _ops.reshape(x, (-1,)), 0
    axis = int(axis) % x.ndim
    counts = np.asarray(repeats.data if isinstance(repeats, Tensor) else repeats)
    index = np.repeat(np.arange(x.shape[axis]), counts)
    return _ops.getitem(x, (slice(None),) * axis + (index,))


def flip(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """Reverse the order of elements along ``axis`` (all axes when None)."""
    return _ops.flip(_tensor(x), axis)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Split into equal sections or at the given indices along ``axis``."""
    return _ops.split(_tensor(x), indices_or_sections, axis)


def take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """Elements of ``x`` at integer ``indices`` along ``axis`` (of the flattened tensor when
    None); the gradient is scattered back (added where an index repeats)."""
    x = _tensor(x)
    if axis is None:
        x, axis = _ops.reshape(x, (-1,)), 0
    index = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    return _ops.getitem(x, (slice(None),) * (int(axis) % x.ndim) + (index,))


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """``np.take_along_axis``: ``indices`` has as many axes as ``x``."""
    x = _tensor(x)
    if axis is None:
        x, axis = _ops.reshape(x, (-1,)), 0
    return _ops.gather(x, indices, int(axis))


def matmul(x1: Any, x2: Any) -> Tensor:
    """Matrix product, batched over leading axes with broadcasting (1-D operands as NumPy)."""
    return _ops.matmul(x1, x2)


# -- constructors (no gradient) ----------------------------------------------------------------


def array(x: Any, dtype: Any = None) -> Tensor:
    """A new Tensor holding ``x`` (float32 for floating-point data unless ``dtype`` is given)."""
    return Tensor(np.array(x.data if isinstance(x, Tensor) else x, dtype=dtype, copy=True),
                  dtype=dtype)


def ones(shape: Any, dtype: Any = None) -> Tensor:
    """A tensor of ones (float32 unless ``dtype`` is given)."""
    return Tensor(np.ones(_shape_arg(shape), dtype=_default_float(dtype)))


def zeros(shape: Any, dtype: Any = None) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype`` is given)."""
    return Tensor(np.zeros(_shape_arg(shape), dtype=_default_float(dtype)))


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (float32 unless ``dtype`` is given)."""
    return Tensor(np.full(_shape_arg(shape), np.asarray(fill_value), dtype=_default_float(dtype)))


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    """Ones with the shape and (unless ``dtype`` is given) the dtype of ``x``."""
    return Tensor(np.ones_like(_tensor(x).data, dtype=dtype))


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    """Zeros with the shape and (unless ``dtype`` is given) the dtype of ``x``."""
    return Tensor(np.zeros_like(_tensor(x).data, dtype=dtype))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    """``fill_value`` with the shape and (unless ``dtype`` is given) the dtype of ``x``."""
    return Tensor(np.full_like(_tensor(x).data, np.asarray(fill_value), dtype=dtype))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Tensor:  # noqa: N803
    """The ``N x M`` identity (ones on diagonal ``k``), float32 unless ``dtype`` is given."""
    return Tensor(np.eye(N, M, k, dtype=_default_float(dtype)))


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Tensor:
    """Evenly spaced values in ``[start, stop)``; int32 when every argument is an integer,
    else float32 (Keras's defaults)."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        ints = builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dtype = np.int32 if ints else np.float32
    return Tensor(np.arange(start, stop, step, dtype=np.dtype(dtype)))


def linspace(start: Any, stop: Any, num: Any = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (``np.linspace``; ``start``
    and ``stop`` may be arrays). With ``retstep`` returns ``(values, step)``."""
    start = np.asarray(getattr(start, "data", start))
    stop = np.asarray(getattr(stop, "data", stop))
    values, step = np.linspace(start, stop, int(getattr(num, "data", num)), endpoint=endpoint,
                               retstep=True, dtype=_default_float(dtype), axis=axis)
    values = Tensor(values, dtype=values.dtype)
    return (values, Tensor(np.asarray(step, dtype=np.float32))) if retstep else values


__all__ = [
    "abs", "absolute", "add", "amax", "amin", "arange", "array", "argmax", "argmin", "broadcast_to",
    "clip", "concatenate", "divide", "equal", "exp", "expand_dims", "expm1", "eye", "flip",
    "full", "full_like", "greater", "greater_equal", "less", "less_equal", "linspace", "log",
    "log1p", "logical_and", "logical_not", "logical_or", "matmul", "max", "maximum", "mean",
    "min", "minimum", "multiply", "negative", "not_equal", "ones", "ones_like", "power",
    "repeat", "reshape", "sign", "split", "sqrt", "square", "squeeze", "stack", "std",
    "subtract", "sum", "swapaxes", "take", "take_along_axis", "tanh", "tile", "transpose",
    "true_divide", "var", "where", "zeros", "zeros_like",
]
