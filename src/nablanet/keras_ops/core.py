"""``keras.ops`` core functions: conversion between tensors and arrays, shapes, casts.

Each name is one line over nablanet's own objects (a Tensor *is* nablanet's tensor type).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
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


class Variable(Tensor):
    """A named tensor updated in place (``keras.Variable``; also ``tf.Variable``).

    Parameters
    ----------
    initializer : array_like, Tensor or initializer
        The initial value, or an initializer (a name such as ``"glorot_uniform"`` or a
        callable ``(shape, dtype) -> array``) used with ``shape``. ``initial_value=`` is
        accepted as TensorFlow's name for it.
    shape : tuple, optional
        Needed with an initializer.
    dtype : optional
        float32 for floating-point values unless given.
    trainable : bool
        Whether gradients are computed for it (``requires_grad``; floating dtypes only).
    name : str, optional

    Examples
    --------
    >>> v = Variable([1.0, 2.0], name="v")
    >>> v.assign_add([1.0, 1.0]).numpy()
    array([2., 3.], dtype=float32)
    >>> (v * 2).requires_grad, v.trainable
    (True, True)
    """

    __slots__ = ("name", "trainable")

    def __init__(self, initializer: Any = None, shape: Any = None, dtype: Any = None,
                 trainable: bool = True, name: str | None = None, **kwargs: Any) -> None:
        if "initial_value" in kwargs:
            initializer = kwargs.pop("initial_value")
        if kwargs:
            raise TypeError(f"Variable: unexpected keyword argument(s) {sorted(kwargs)}")
        if initializer is None:
            raise ValueError("Variable: an initial value or an initializer is required.")
        if isinstance(initializer, str) or (callable(initializer) and
                                            not isinstance(initializer, Tensor)):
            from nablanet import initializers

            if shape is None:
                raise ValueError("Variable: `shape` is required with an initializer. "
                                 f"Received: initializer={initializer!r}, shape=None")
            init = initializers.get(initializer)
            assert init is not None
            value = init(tuple(shape), dtype=dtype or np.float32)
        else:
            value = initializer.data if isinstance(initializer, Tensor) else initializer
        super().__init__(np.array(value, copy=True), dtype=dtype)
        if shape is not None and tuple(shape) != self.shape:
            raise ValueError(f"Variable: initial value of shape {self.shape} does not match "
                             f"shape={tuple(shape)}")
        self.name = name or "variable"
        self.trainable = bool(trainable)
        if self.trainable and self.dtype.kind in "fc":
            self.requires_grad = True

    @property
    def value(self) -> Tensor:
        """The current value as a plain Tensor (sharing the data)."""
        return Tensor(self.data, dtype=self.data.dtype)

    @property
    def path(self) -> str:
        return self.name

    def assign(self, value: Any) -> Variable:
        """Overwrite the values in place (same shape; cast to this variable's dtype)."""
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.shape != self.shape and array.size != self.size:
            raise ValueError(f"assign: value of shape {array.shape} does not match the "
                             f"variable's shape {self.shape}")
        self.data[...] = array.reshape(self.shape) if array.shape != self.shape else array
        return self

    def assign_add(self, value: Any) -> Variable:
        """``self += value`` in place."""
        return self.assign(self.data + np.asarray(getattr(value, "data", value)))

    def assign_sub(self, value: Any) -> Variable:
        """``self -= value`` in place."""
        return self.assign(self.data - np.asarray(getattr(value, "data", value)))

    def __repr__(self) -> str:
        return f"<Variable path={self.name}, shape={self.shape}, dtype={self.dtype}, " \
               f"value={np.array2string(self.data, separator=', ')}>"
