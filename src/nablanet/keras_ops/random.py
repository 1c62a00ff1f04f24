"""``keras.random``: random tensors from a ``seed``, drawn with NumPy's generators.

``seed`` is as in Keras: None draws from nablanet's framework generator (reseeded by
``keras.utils.set_random_seed``); an int gives the same values on every call; a
:class:`SeedGenerator` gives new values on each call, reproducibly from its own seed. The
results are constants (no gradient), except ``dropout``'s, which is differentiable in its input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet import functional as _F
from nablanet import random as _random
from nablanet.autograd.tensor import Tensor
from nablanet.keras_ops.numpy import _shape_arg, _tensor

__all__ = ["SeedGenerator", "dropout", "normal", "randint", "shuffle", "truncated_normal",
           "uniform"]


class SeedGenerator:
    """A random state owned by a layer or a script (``keras.random.SeedGenerator``).

    Parameters
    ----------
    seed : int, optional
        Start state; None takes one from the framework generator.

    Examples
    --------
    >>> from nablanet.keras_ops import random
    >>> g = random.SeedGenerator(1337)
    >>> a, b = random.normal((2,), seed=g), random.normal((2,), seed=g)
    >>> bool((a.numpy() != b.numpy()).all())
    True
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError("SeedGenerator: seed must be a non-negative integer or None. "
                             f"Received: seed={seed!r}")
        self.seed = seed
        self.name = name or "seed_generator"
        self.rng = _random.make_generator(seed)

    def __repr__(self) -> str:
        return f"<SeedGenerator seed={self.seed}>"


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, SeedGenerator):
        return seed.rng
    if seed is None:
        return _random.generator()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError("seed must be None, a non-negative int or a SeedGenerator. "
                     f"Received: seed={seed!r}")


def _float_dtype(dtype: Any) -> np.dtype:
    dtype = np.dtype(np.float32 if dtype is None else getattr(dtype, "as_numpy_dtype", dtype))
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point type. Received: dtype={dtype}")
    return dtype


def normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
           seed: Any = None) -> Tensor:
    r"""Samples of :math:`\mathcal N(\mu, \sigma^2)` (float32 unless ``dtype`` is given)."""
    dtype = _float_dtype(dtype)
    draw = _rng(seed).standard_normal(_shape_arg(shape))
    return Tensor((draw * float(stddev) + float(mean)).astype(dtype))


def truncated_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                     seed: Any = None) -> Tensor:
    r""":math:`\mathcal N(\mu, \sigma^2)` samples redrawn until within two :math:`\sigma`."""
    dtype = _float_dtype(dtype)
    rng = _rng(seed)
    draw = rng.standard_normal(_shape_arg(shape))
    outside = np.abs(draw) > 2.0
    while outside.any():
        draw[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(draw) > 2.0
    return Tensor((draw * float(stddev) + float(mean)).astype(dtype))


def uniform(shape: Any, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None,
            seed: Any = None) -> Tensor:
    """Samples uniform in ``[minval, maxval)`` (float32 unless ``dtype`` is given)."""
    dtype = _float_dtype(dtype)
    draw = _rng(seed).uniform(float(minval), float(maxval), _shape_arg(shape))
    return Tensor(draw.astype(dtype))


def randint(shape: Any, minval: int, maxval: int, dtype: Any = "int32",
            seed: Any = None) -> Tensor:
    """Integers uniform in ``[minval, maxval)``."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise ValueError(f"randint: dtype must be an integer type. Received: dtype={dtype}")
    return Tensor(_rng(seed).integers(int(minval), int(maxval), _shape_arg(shape), dtype=dtype))


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> Tensor:
    """``x`` with its slices along ``axis`` in a random order (differentiable: a gather)."""
    x = _tensor(x)
    order = _rng(seed).permutation(x.shape[axis])
    return x[(slice(None),) * (axis % x.ndim) + (order,)]


def dropout(inputs: Any, rate: float, noise_shape: Any = None, seed: Any = None) -> Tensor:
    r"""Inverted dropout: each element zeroed with probability ``rate``, the rest scaled by
    :math:`1 / (1 - \text{rate})` (one mask broadcast over ``noise_shape``'s size-1 axes)."""
    return _F.dropout(inputs, rate, training=True, noise_shape=noise_shape, seed=_rng(seed))
