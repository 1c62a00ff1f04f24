"""``keras.backend``: ``clear_session`` (resets automatic layer names), and the tf.keras 2
functions scripts still call as ``K.``: ``random_normal``, ``random_uniform``, ``shape``,
``int_shape``, ``epsilon``, ``floatx`` and the tensor maths (``K.mean``, ``K.exp``, ...) --
all names of :mod:`nablanet.keras_ops`."""

from __future__ import annotations

from typing import Any

from nablanet import keras_ops as _k
from nablanet.compat.tensorflow.math import shape
from nablanet.layers import clear_session

abs = _k.abs  # noqa: A001
square = _k.square
sqrt = _k.sqrt
exp = _k.exp
log = _k.log
mean = _k.mean
sum = _k.sum  # noqa: A001
max = _k.max  # noqa: A001
min = _k.min  # noqa: A001
std = _k.std
var = _k.var
concatenate = _k.concatenate
reshape = _k.reshape
stop_gradient = _k.stop_gradient
cast = _k.cast
random_normal = _k.random.normal
random_uniform = _k.random.uniform


def int_shape(x: Any) -> tuple[int, ...]:
    """The shape of ``x`` as a tuple of ints."""
    return _k.shape(x)


def epsilon() -> float:
    """Keras's fuzz factor, 1e-7."""
    return _k.nn.EPSILON


def floatx() -> str:
    """The default float type, ``"float32"``."""
    return "float32"


__all__ = [
    "abs", "cast", "clear_session", "concatenate", "epsilon", "exp", "floatx", "int_shape",
    "log", "max", "mean", "min", "random_normal", "random_uniform", "reshape", "shape",
    "sqrt", "square", "std", "stop_gradient", "sum", "var",
]
