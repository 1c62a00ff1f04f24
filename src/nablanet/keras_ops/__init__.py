# ruff: noqa: A004 - Keras's names (abs, max, min, sum, ...)
"""Keras 3's ``keras.ops`` over nablanet's primitives: one flat namespace of tensor functions.

``nablanet.keras_ops.mean(x, axis=1)`` is ``keras.ops.mean``. The functions come from three
modules, as in Keras: :mod:`~nablanet.keras_ops.numpy` (the NumPy-like set),
:mod:`~nablanet.keras_ops.nn` (activations, ``one_hot``, cross-entropies) and
:mod:`~nablanet.keras_ops.core` (``convert_to_tensor``, ``convert_to_numpy``,
``stop_gradient``, ``shape``, ``cast``). ``keras.random`` is :mod:`nablanet.keras_ops.random`.
Nothing here has its own backward: each function is a primitive of :mod:`nablanet.ops` under
Keras's name and signature, or a composite of them, so all are differentiable where the maths
is. In compat they are ``keras.ops`` and ``keras.random``
(``from nablanet.compat.tensorflow import keras; keras.ops.mean(...)``).

Examples
--------
>>> import numpy as np
>>> from nablanet import keras_ops as ops
>>> ops.mean(ops.square(np.array([[1.0, 2.0], [3.0, 4.0]])), axis=1)
tensor([ 2.5, 12.5])
"""

from nablanet.keras_ops import core, nn, numpy, random
from nablanet.keras_ops.core import *  # noqa: F403
from nablanet.keras_ops.nn import *  # noqa: F403
from nablanet.keras_ops.numpy import *  # noqa: F403

__all__ = ["core", "nn", "numpy", "random"]
__all__ += core.__all__ + nn.__all__ + numpy.__all__
