"""``tf.math`` (and the same names at ``tf.`` top level): TensorFlow's tensor functions.

A table over :mod:`nablanet.keras_ops`: ``tf.reduce_mean`` *is* ``keras.ops.mean``, and so
on. Five names whose TensorFlow signature differs from Keras's are one-line adapters onto
the same functions: ``shape`` (an int32 Tensor), ``argmax`` / ``argmin`` (``axis=0`` by
default), ``matmul`` (``transpose_a`` / ``transpose_b``), ``one_hot`` (``depth``,
``on_value``, ``off_value``) and ``range``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from nablanet import keras_ops as _k
from nablanet.autograd.tensor import Tensor as _Tensor

abs = _k.abs  # noqa: A001 - TensorFlow's names
add = _k.add
subtract = _k.subtract
multiply = _k.multiply
divide = _k.divide
truediv = _k.divide
negative = _k.negative
pow = _k.power  # noqa: A001
square = _k.square
sqrt = _k.sqrt
exp = _k.exp
log = _k.log
log1p = _k.log1p
sign = _k.sign
tanh = _k.tanh
sigmoid = _k.nn.sigmoid
softplus = _k.nn.softplus
maximum = _k.maximum
minimum = _k.minimum
equal = _k.equal
not_equal = _k.not_equal
greater = _k.greater
greater_equal = _k.greater_equal
less = _k.less
less_equal = _k.less_equal
logical_and = _k.logical_and
logical_or = _k.logical_or
logical_not = _k.logical_not
reduce_sum = _k.sum
reduce_mean = _k.mean
reduce_max = _k.max
reduce_min = _k.min
reduce_std = _k.std
reduce_variance = _k.var
clip_by_value = _k.clip
concat = _k.concatenate
stack = _k.stack
reshape = _k.reshape
transpose = _k.transpose
expand_dims = _k.expand_dims
squeeze = _k.squeeze
tile = _k.tile
repeat = _k.repeat
ones = _k.ones
zeros = _k.zeros
ones_like = _k.ones_like
zeros_like = _k.zeros_like
fill = _k.full
linspace = _k.linspace
where = _k.where
gather = _k.take
split = _k.split
broadcast_to = _k.broadcast_to
reverse = _k.flip
stop_gradient = _k.stop_gradient


def shape(input: Any) -> _Tensor:  # noqa: A002 - TensorFlow's argument name
    """The shape of ``input`` as an int32 Tensor (``tf.shape(x)[0]`` is the batch size)."""
    return _Tensor(_np.asarray(_k.shape(input), dtype=_np.int32))


def argmax(input: Any, axis: int | None = None, output_type: Any = _np.int64) -> _Tensor:  # noqa: A002
    """Index of the largest value along ``axis`` (0 when None, as in TensorFlow)."""
    return _k.cast(_k.argmax(input, 0 if axis is None else axis), output_type)


def argmin(input: Any, axis: int | None = None, output_type: Any = _np.int64) -> _Tensor:  # noqa: A002
    """Index of the smallest value along ``axis`` (0 when None, as in TensorFlow)."""
    return _k.cast(_k.argmin(input, 0 if axis is None else axis), output_type)


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False) -> _Tensor:
    """:math:`AB` with either factor's last two axes swapped first when asked."""
    if transpose_a:
        a = _k.numpy.swapaxes(a, -1, -2)
    if transpose_b:
        b = _k.numpy.swapaxes(b, -1, -2)
    return _k.matmul(a, b)


def one_hot(indices: Any, depth: int, on_value: Any = None, off_value: Any = None,
            axis: int | None = None, dtype: Any = None) -> _Tensor:
    """``depth``-wide one-hot vectors (``on_value`` / ``off_value`` default to 1 and 0)."""
    hot = _k.one_hot(indices, depth, -1 if axis is None else axis, dtype)
    if on_value is None and off_value is None:
        return hot
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    return _Tensor(_np.where(hot.data > 0, on, off).astype(hot.dtype))


def range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None) -> _Tensor:  # noqa: A001
    """``tf.range``: values in ``[start, limit)`` step ``delta``."""
    return _k.arange(start, limit, delta, dtype)


__all__ = [
    "abs", "add", "argmax", "argmin", "broadcast_to", "clip_by_value", "concat", "divide",
    "equal", "exp", "expand_dims", "fill", "gather", "greater", "greater_equal", "less",
    "less_equal", "linspace", "log", "log1p", "logical_and", "logical_not", "logical_or",
    "matmul", "maximum", "minimum", "multiply", "negative", "not_equal", "one_hot", "ones",
    "ones_like", "pow", "range", "reduce_max", "reduce_mean", "reduce_min", "reduce_std",
    "reduce_sum", "reduce_variance", "repeat", "reshape", "reverse", "shape", "sigmoid", "sign",
    "softplus", "split", "sqrt", "square", "squeeze", "stack", "stop_gradient", "subtract",
    "tanh", "tile", "transpose", "truediv", "where", "zeros", "zeros_like",
]
