"""Functions that make new tensors: ``tensor``, ``zeros``, ``ones``, ``randn``, ``arange``, ..."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor, _as_array
from nablanet.random import generator


def _shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(
                f"shape entries must be non-negative integers. Received: shape={shape}"
            )
    return tuple(int(n) for n in shape)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Make a tensor from array-like ``data`` (copied; float32 for floating-point data).

    Parameters
    ----------
    data : array_like or Tensor
        Values. Python floats and float64 arrays become float32 unless ``dtype`` is given;
        integers stay int64 and booleans bool (as ``torch.tensor``). A Tensor keeps its dtype.
    dtype : numpy dtype, optional
    requires_grad : bool
        Whether to record operations on it for ``backward`` (floating dtypes only).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.tensor([[1, 2], [3, 4]]).dtype
    dtype('int64')
    >>> nb.tensor([0.5, 1.5]).dtype
    dtype('float32')
    """
    array = _as_array(data, dtype, copy=True)
    return Tensor(array, dtype=array.dtype, requires_grad=requires_grad)


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(array, dtype=array.dtype, requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros; ``shape`` as separate ints or one tuple.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.zeros(2, 3).shape
    (2, 3)
    """
    return _make(np.zeros(_shape(shape), dtype=dtype), requires_grad)


def ones(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ones; ``shape`` as separate ints or one tuple.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.ones((2,), dtype="float64")
    tensor([1., 1.], dtype=float64)
    """
    return _make(np.ones(_shape(shape), dtype=dtype), requires_grad)


def full(shape: Sequence[int], fill_value: float, dtype: Any = np.float32,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.full((2,), 0.5)
    tensor([0.5, 0.5])
    """
    return _make(np.full(_shape(tuple(shape)), fill_value, dtype=dtype), requires_grad)


def zeros_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape and (unless ``dtype`` is given) the dtype of ``x``."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return _make(np.zeros_like(data, dtype=dtype), requires_grad)


def ones_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape and (unless ``dtype`` is given) the dtype of ``x``."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return _make(np.ones_like(data, dtype=dtype), requires_grad)


def randn(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the framework generator (see ``set_random_seed``).

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.set_random_seed(0)
    >>> nb.randn(2, 2).shape
    (2, 2)
    """
    data = generator().standard_normal(_shape(shape), dtype=np.float64).astype(dtype)
    return _make(data, requires_grad)


def rand(*shape: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Uniform samples in :math:`[0, 1)` from the framework generator."""
    data = generator().random(_shape(shape)).astype(dtype)
    return _make(data, requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (int64 for integer arguments, else float32).

    ``arange(n)`` counts from 0, as ``np.arange`` and ``torch.arange``.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.arange(5, step=2)
    tensor([0, 2, 4])
    """
    if step == 0:
        raise ValueError("arange: step must be non-zero. Received: step=0")
    if stop is None:
        start, stop = 0, start
    return Tensor(np.arange(start, stop, step), dtype=dtype)
