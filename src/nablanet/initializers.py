"""Weight initialisers with Keras 3 names, arguments and formulas (chapter §4).

An initialiser is a callable ``init(shape, dtype=None) -> ndarray``. Layers accept one as an
object (``HeNormal(seed=1)``), as a string (``'he_normal'``), or as a config dict
(``{'class_name': 'HeNormal', 'config': {'seed': 1}}``); :func:`get` resolves all three.

The variance-scaling family draws weights with variance ``scale / n`` where ``n`` is the fan
chosen by ``mode``:

.. math::

    \\mathrm{fan\\_in} = r \\cdot c_{in}, \\qquad \\mathrm{fan\\_out} = r \\cdot c_{out},
    \\qquad r = \\prod_{i < d-2} \\mathrm{shape}_i

for a kernel of shape ``(k_1, ..., k_{d-2}, c_in, c_out)`` (``r`` is the receptive field,
1 for a Dense kernel ``(c_in, c_out)``).

=================  =======  =========  ==============================================
name               scale    mode       distribution
=================  =======  =========  ==============================================
glorot_uniform     1        fan_avg    U(-l, l), l = sqrt(6 / (fan_in + fan_out))
glorot_normal      1        fan_avg    truncated normal, Var = 2 / (fan_in + fan_out)
lecun_uniform      1        fan_in     U(-l, l), l = sqrt(3 / fan_in)
lecun_normal       1        fan_in     truncated normal, Var = 1 / fan_in
he_uniform         2        fan_in     U(-l, l), l = sqrt(6 / fan_in)
he_normal          2        fan_in     truncated normal, Var = 2 / fan_in
=================  =======  =========  ==============================================

The "truncated normal" is Keras's: a normal of standard deviation
``sqrt(scale / n) / 0.87962566103423978`` truncated at two standard deviations, whose
variance after truncation is ``scale / n`` (0.8796... is the standard deviation of a unit
normal truncated to [-2, 2]).

Without a ``seed`` an initialiser draws from :func:`nablanet.random.generator` (so
``nb.set_random_seed`` makes model construction reproducible); with a seed, each call with
the same shape returns the same values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nablanet import random as nb_random
from nablanet.autograd.tensor import Tensor

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
    "constant",
    "deserialize",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "serialize",
    "truncated_normal",
    "zeros",
]

#: Standard deviation of a unit normal truncated to [-2, 2] (Keras's constant).
TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape: Sequence[int], input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (Keras's rule).

    A scalar has fans (1, 1); a vector (n,) has (n, n); a matrix (n_in, n_out) has its two
    dimensions; a convolution kernel ``(k_1, ..., k_d, c_in, c_out)`` has
    ``fan_in = k_1···k_d · c_in`` and ``fan_out = k_1···k_d · c_out``. With both
    ``input_axes`` and ``output_axes`` given, the fans are the products of those axes' sizes.

    Examples
    --------
    >>> compute_fans((3, 3, 16, 32))
    (144, 288)
    >>> compute_fans((512, 8, 64), input_axes=[0], output_axes=[1, 2])
    (512, 512)
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (int(math.prod(shape[a] for a in input_axes)),
                int(math.prod(shape[a] for a in output_axes)))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = math.prod(shape[:-2])
    return int(receptive * shape[-2]), int(receptive * shape[-1])


def _dtype(dtype: Any) -> np.dtype:
    return np.dtype(dtype or "float32")


class Initializer:
    """Base class: ``init(shape, dtype=None) -> ndarray``; ``get_config``/``from_config``."""

    seed: Any = None

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def _rng(self) -> np.random.Generator:
        if self.seed is None:
            return nb_random.generator()
        return np.random.default_rng(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        return np.zeros(tuple(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        return np.ones(tuple(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """``value`` broadcast to the requested shape: a number, or an array (Keras's
    ``Constant(value=array)``), whose config stores it as a nested list."""

    def __init__(self, value: Any = 0.0) -> None:
        array = np.asarray(getattr(value, "data", value))
        if array.dtype.kind not in "biuf":
            raise ValueError(f"Constant: value must be a number or a numeric array. "
                             f"Received: value={value!r}")
        self.value: float | np.ndarray = float(array) if array.ndim == 0 else array

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        shape = tuple(shape)
        if isinstance(self.value, np.ndarray):
            try:
                values = np.broadcast_to(self.value, shape)
            except ValueError:
                raise ValueError(f"Constant: value of shape {self.value.shape} cannot be "
                                 f"broadcast to the requested shape {shape}") from None
            return np.array(values, dtype=_dtype(dtype))
        return np.full(shape, self.value, dtype=_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        value = self.value
        return {"value": value.tolist() if isinstance(value, np.ndarray) else value}


class RandomNormal(Initializer):
    """Normal distribution :math:`\\mathcal N(\\mathrm{mean}, \\mathrm{stddev}^2)`."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        out = self._rng().normal(self.mean, self.stddev, size=tuple(shape))
        return out.astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform distribution on ``[minval, maxval)``."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05,
                 seed: int | None = None) -> None:
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        out = self._rng().uniform(self.minval, self.maxval, size=tuple(shape))
        return out.astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], mean: float,
                      stddev: float) -> np.ndarray:
    """Normal(mean, stddev²) samples redrawn until within two standard deviations."""
    out = rng.standard_normal(size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return mean + stddev * out


class TruncatedNormal(Initializer):
    """Normal distribution truncated to ``mean ± 2·stddev`` (out-of-range draws redrawn).

    ``stddev`` is the standard deviation *before* truncation; the values' standard
    deviation is about ``0.88 · stddev``.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        out = _truncated_normal(self._rng(), tuple(shape), self.mean, self.stddev)
        return out.astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Weights with variance ``scale / n``, ``n`` the fan chosen by ``mode``.

    .. math::

        n = \\begin{cases} \\mathrm{fan\\_in} & \\text{mode='fan_in'} \\\\
        \\mathrm{fan\\_out} & \\text{mode='fan_out'} \\\\
        (\\mathrm{fan\\_in} + \\mathrm{fan\\_out}) / 2 & \\text{mode='fan_avg'}
        \\end{cases}

    ``distribution='truncated_normal'``: normal with :math:`\\sigma = \\sqrt{s/n} / 0.8796`
    truncated at :math:`2\\sigma`; ``'untruncated_normal'``: :math:`\\sigma = \\sqrt{s/n}`;
    ``'uniform'``: :math:`U(-l, l)` with :math:`l = \\sqrt{3 s / n}`. Fans follow
    :func:`compute_fans` (receptive field × channels for convolution kernels).

    Parameters
    ----------
    scale : float
        Positive scaling factor ``s``.
    mode : {'fan_in', 'fan_out', 'fan_avg'}
    distribution : {'truncated_normal', 'untruncated_normal', 'uniform'}
    seed : int, optional
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "normal")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None,
                 input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None) -> None:
        if not scale > 0:
            raise ValueError(f"VarianceScaling: Argument `scale` must be positive float. "
                             f"Received: scale={scale}")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: Invalid `mode` argument: {mode}. Please use "
                             f"one of {list(self._MODES)}")
        distribution = distribution.lower()
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: Invalid `distribution` argument: "
                             f"{distribution}. Please use one of "
                             f"{list(self._DISTRIBUTIONS[:3])}")
        if distribution == "normal":
            distribution = "truncated_normal"
        self.scale, self.mode, self.distribution, self.seed = (float(scale), mode,
                                                               distribution, seed)
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]

    def variance(self, shape: Sequence[int]) -> float:
        """The target variance ``scale / n`` for ``shape`` (fans from ``input_axes`` /
        ``output_axes`` when both are given)."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        shape = tuple(shape)
        var = self.variance(shape)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            out = _truncated_normal(rng, shape, 0.0, math.sqrt(var) / TRUNCATED_STD)
        elif self.distribution == "untruncated_normal":
            out = rng.normal(0.0, math.sqrt(var), size=shape)
        else:
            limit = math.sqrt(3.0 * var)
            out = rng.uniform(-limit, limit, size=shape)
        return out.astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed scale/mode/distribution (only ``seed`` is configurable)."""

    _preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int | None = None, input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None) -> None:
        scale, mode, distribution = self._preset
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotUniform(_Preset):
    """Glorot (Xavier) uniform: :math:`U(-l, l)`, :math:`l = \\sqrt{6/(n_{in}+n_{out})}`."""

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot normal: truncated normal with variance :math:`2/(n_{in}+n_{out})`."""

    _preset = (1.0, "fan_avg", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform: :math:`U(-l, l)`, :math:`l = \\sqrt{3/n_{in}}`."""

    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun normal: truncated normal with variance :math:`1/n_{in}`."""

    _preset = (1.0, "fan_in", "truncated_normal")


class HeUniform(_Preset):
    """He uniform: :math:`U(-l, l)`, :math:`l = \\sqrt{6/n_{in}}`."""

    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """He normal: truncated normal with variance :math:`2/n_{in}`."""

    _preset = (2.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014; Keras's algorithm).

    The shape is flattened to ``(prod(shape[:-1]), shape[-1])``; a normal matrix of that
    shape (transposed when it has fewer rows than columns) is QR-factorised, ``Q``'s columns
    are multiplied by the signs of ``diag(R)`` so the result is uniformly distributed.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have at least two dimensions. "
                             f"Received: shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = self._rng().standard_normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = float(gain)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        shape = tuple(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity: the shape must be 2-D. Received: shape={shape}")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


_CLASSES: dict[str, type[Initializer]] = {
    cls.__name__: cls for cls in (
        Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
        GlorotUniform, GlorotNormal, LecunUniform, LecunNormal, HeUniform, HeNormal,
        Orthogonal, Identity,
    )
}

_ALIASES: dict[str, type[Initializer]] = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "normal": RandomNormal, "uniform": RandomUniform,  # Keras's short names (Embedding's default)
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "xavier_uniform": GlorotUniform, "xavier_normal": GlorotNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "orthogonal": Orthogonal, "identity": Identity,
    # Keras's compatibility names
    "OrthogonalInitializer": Orthogonal, "IdentityInitializer": Identity,
}

# Function-style aliases (``initializers.he_normal(seed=0)`` as in Keras).
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal
he_uniform, he_normal = HeUniform, HeNormal
orthogonal, identity = Orthogonal, Identity


def serialize(initializer: Callable[..., np.ndarray] | None) -> dict[str, Any] | None:
    """``{'class_name': ..., 'config': ...}`` for an initialiser of this module."""
    if initializer is None:
        return None
    if not isinstance(initializer, Initializer) or type(initializer).__name__ not in _CLASSES:
        raise ValueError(f"Cannot serialize {initializer!r}: only nablanet initializers can "
                         f"be saved (a plain function cannot).")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config: dict[str, Any]) -> Initializer:
    """The initialiser described by :func:`serialize`'s output (allow-list of this module)."""
    name = config.get("class_name")
    if name not in _CLASSES:
        raise ValueError(f"Unknown initializer class {name!r}. Valid classes: "
                         f"{sorted(_CLASSES)}")
    return _CLASSES[name].from_config(dict(config.get("config") or {}))


def _from_values(values: np.ndarray) -> Callable[..., np.ndarray]:
    """Keras's ``get(tensor)``: an initializer that returns these values (same shape only)."""

    def initialize_fn(shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        if tuple(shape) != values.shape:
            raise ValueError(f"Expected `shape` to be {values.shape} for direct tensor as "
                             f"initializer. Received shape={tuple(shape)}")
        return np.array(values, dtype=dtype or values.dtype)

    return initialize_fn


def get(identifier: Any) -> Callable[..., np.ndarray] | None:
    """Resolve ``identifier``: None, a name (Keras's class names and snake-case aliases), a
    config dict, an instance, a callable, or an array / Tensor of the values themselves.

    Examples
    --------
    >>> get('he_normal')
    HeNormal(seed=None, input_axes=None, output_axes=None)
    >>> get('glorot_uniform')((2, 3)).shape
    (2, 3)
    """
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        key = identifier if identifier in _CLASSES or identifier in _ALIASES \
            else identifier.lower()
        cls = _CLASSES.get(key) or _ALIASES.get(key)
        if cls is None:
            raise ValueError(f"Unknown initializer: {identifier!r}. Valid names: "
                             f"{sorted(_ALIASES)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, (np.ndarray, np.generic, Tensor)):
        return _from_values(np.asarray(getattr(identifier, "data", identifier)))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
