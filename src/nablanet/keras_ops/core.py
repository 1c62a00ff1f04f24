"""``keras.ops`` core functions: conversion between tensors and arrays, shapes, casts.

Each name is one line over nablanet's own objects (a Tensor *is* nablanet's tensor type).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.autograd.variable import Variable
from nablanet.data.image_ops import cast

__all__ = ["Variable", "cast", "convert_to_numpy", "convert_to_tensor", "dtype", "is_tensor",
           "shape", "stop_gradient"]


def convert_to_tensor(x: Any, dtype: Any = None, sparse: bool | None = None,
                      ragged: bool | None = None) -> Tensor:
    """``x`` as a Tensor (returned as is when it already is one of ``dtype``).

    Floating-point data becomes float32 unless ``dtype`` is given (Keras's ``floatx``);
    integers and booleans keep their kind. ``sparse`` and ``ragged`` must be falsy.
    """
    if sparse or ragged:
        raise ValueError("convert_to_tensor: nablanet has no sparse or ragged tensors. "
                         f"Received: sparse={sparse}, ragged={ragged}")
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == np.dtype(dtype) else cast(x, dtype)
    return Tensor(x, dtype=dtype)


def convert_to_numpy(x: Any) -> np.ndarray:
    """The values of ``x`` as a NumPy array (a Tensor's array is shared, not copied)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a nablanet Tensor."""
    return isinstance(x, Tensor)


def shape(x: Any) -> tuple[int, ...]:
    """The shape of ``x`` as a tuple of ints (``keras.ops.shape``)."""
    return tuple(np.shape(x.data if isinstance(x, Tensor) else x))


def dtype(x: Any) -> str:
    """The dtype name of ``x`` (``"float32"``, ``"int64"``, ...)."""
    return str(np.dtype(getattr(x, "dtype", None) or np.asarray(x).dtype))


def stop_gradient(variable: Any) -> Tensor:
    """The same values, cut from the graph: no gradient flows back through the result."""
    if isinstance(variable, Tensor):
        return variable.detach()
    return Tensor(variable)
