"""``import nablanet.compat.tensorflow as tf``: the TensorFlow names the chapter uses.

``tf.keras`` (layers, models, callbacks, regularizers, losses, ...), ``tf.cast``, the dtypes
(``tf.float32`` is ``numpy.float32``), ``tf.image.resize``, ``tf.data.Dataset``,
``tf.random.set_seed``, ``tf.constant`` / ``tf.convert_to_tensor`` (a float32 ``Tensor``
unless a dtype is given) and ``tf.Tensor``; the tensor functions of ``tf.math`` also at top
level (``tf.reduce_mean``, ``tf.concat``, ``tf.shape``, ``tf.matmul``, ...), ``tf.nn``,
``tf.random.normal`` / ``uniform``, ``tf.GradientTape`` (:class:`nablanet.autograd.GradientTape`),
``tf.Variable`` (:class:`nablanet.Variable`), ``tf.function`` (returns the function
unchanged) and ``tf.__version__`` (the first TensorFlow release whose ``tf.keras`` is Keras 3,
the API nablanet follows). A table of names: see :mod:`nablanet.compat`.
"""

from typing import Any

import numpy as _np

from nablanet.autograd import Tensor, no_grad
from nablanet.autograd.creation import tensor as constant
from nablanet.autograd.creation import tensor as convert_to_tensor
from nablanet.autograd.tape import GradientTape
from nablanet.autograd.variable import Variable
from nablanet.compat.tensorflow import data, image, keras, math, nn, random
from nablanet.compat.tensorflow.math import *  # noqa: F403 - tf.reduce_mean, tf.concat, ...
from nablanet.data import cast

float16 = _np.float16
float32 = _np.float32
float64 = _np.float64
int8 = _np.int8
int16 = _np.int16
int32 = _np.int32
int64 = _np.int64
uint8 = _np.uint8
bool = _np.bool_  # noqa: A001 - TensorFlow's name



def function(func: Any = None, **kwargs: Any) -> Any:
    """``@tf.function``: returns the function unchanged (nablanet runs eagerly; there is no
    graph to compile). Usable bare or with arguments (``@tf.function(jit_compile=True)``)."""
    if func is None:
        return lambda f: f
    return func


__version__ = "2.16.1"

__all__ = [
    "GradientTape", "Tensor", "Variable", "bool", "cast", "constant", "convert_to_tensor",
    "data", "float16", "float32", "float64", "function", "image", "int8", "int16", "int32",
    "int64", "keras", "math", "nn", "no_grad", "random", "uint8",
]
__all__ += math.__all__
