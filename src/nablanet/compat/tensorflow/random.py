"""``tf.random``: ``set_seed`` (:func:`nablanet.set_random_seed`), ``normal``, ``uniform``,
``truncated_normal`` and ``shuffle`` (:mod:`nablanet.keras_ops.random`)."""

from __future__ import annotations

from typing import Any

from nablanet.autograd.tensor import Tensor as _Tensor
from nablanet.keras_ops import random as _random
from nablanet.random import set_random_seed as set_seed

normal = _random.normal
truncated_normal = _random.truncated_normal


def uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = "float32",
            seed: Any = None) -> _Tensor:
    """Uniform in ``[minval, maxval)``; ``maxval`` defaults to 1 for floats and is required
    for integer dtypes (then the values are :func:`~nablanet.keras_ops.random.randint`'s)."""
    import numpy as np

    if np.dtype(dtype).kind in "iu":
        if maxval is None:
            raise ValueError("uniform: maxval must be given for an integer dtype")
        return _random.randint(shape, minval, maxval, dtype, seed)
    return _random.uniform(shape, minval, 1.0 if maxval is None else maxval, dtype, seed)


def shuffle(value: Any, seed: Any = None) -> _Tensor:
    """``value`` with its first-axis slices in a random order."""
    return _random.shuffle(value, 0, seed)


__all__ = ["normal", "set_seed", "shuffle", "truncated_normal", "uniform"]
