"""Weight constraints with Keras 3 names and semantics.

A constraint is a callable ``constraint(w) -> w'`` that projects a weight back onto an
allowed set. Layers accept one as ``kernel_constraint``, ``bias_constraint`` (and
``beta_constraint`` / ``gamma_constraint``, ``embeddings_constraint``,
``recurrent_constraint``); the weight's :class:`~nablanet.Variable` keeps it as
``variable.constraint`` and the optimizer applies it after every update
(``w <- constraint(w)``), as Keras does. Srivastava et al. (2014), the chapter's dropout
reference, pair dropout with the max-norm constraint.

With :math:`\\lVert w \\rVert` the L2 norm along ``axis`` (kept for broadcasting) and
:math:`\\epsilon = 10^{-7}` (Keras's ``backend.epsilon()``):

- ``MaxNorm(m)``: :math:`w \\cdot \\min(\\lVert w\\rVert, m) / (\\epsilon + \\lVert w\\rVert)`;
- ``MinMaxNorm(a, b, rate)``: :math:`w \\cdot \\bigl(r\\,\\mathrm{clip}(\\lVert w\\rVert, a, b)
  + (1-r)\\lVert w\\rVert\\bigr) / (\\epsilon + \\lVert w\\rVert)`;
- ``UnitNorm()``: :math:`w / (\\epsilon + \\lVert w\\rVert)`;
- ``NonNeg()``: :math:`w \\odot [w \\ge 0]`.

``axis=0`` (the default) constrains each column of a Dense kernel ``(in, out)``, i.e. the
incoming weights of each unit; for a Conv2D kernel ``(h, w, in, out)`` use
``axis=[0, 1, 2]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "deserialize",
    "get",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "serialize",
    "unit_norm",
]

_EPSILON = 1e-7  # Keras's backend.epsilon()

Axis = int | Sequence[int]


def _as_array(w: Any) -> np.ndarray:
    return np.asarray(w.data if isinstance(w, Tensor) else w)


def _axis(owner: str, axis: Any) -> int | tuple[int, ...]:
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
        return tuple(int(a) for a in axis)
    raise ValueError(f"{owner}: axis must be an integer or a non-empty list of integers. "
                     f"Received: axis={axis!r}")


def _norms(w: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight (the identity here).

    The result is an array of ``w``'s dtype (a Tensor in gives a Tensor out, cut from the
    graph: constraints are applied outside differentiation).
    """

    def __call__(self, w: Any) -> Any:
        return w

    def _wrap(self, w: Any, value: np.ndarray) -> Any:
        value = value.astype(_as_array(w).dtype, copy=False)
        return Tensor(value, dtype=value.dtype) if isinstance(w, Tensor) else value

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescale each slice along ``axis`` whose L2 norm exceeds ``max_value`` to that norm.

    Parameters
    ----------
    max_value : float
        The largest allowed norm. Default 2.
    axis : int or list of int
        The axes the norm runs over. Default 0.

    Examples
    --------
    >>> MaxNorm(2.0)(np.array([[3.0], [4.0]]))  # norm 5 -> 2
    array([[1.2],
           [1.6]])
    """

    def __init__(self, max_value: float = 2, axis: Axis = 0) -> None:
        self.max_value = max_value
        self.axis = axis
        self._axis = _axis("MaxNorm", axis)

    def __call__(self, w: Any) -> Any:
        x = _as_array(w)
        norms = _norms(x, self._axis)
        desired = np.clip(norms, 0, self.max_value)
        return self._wrap(w, x * (desired / (_EPSILON + norms)))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Set negative weights to zero."""

    def __call__(self, w: Any) -> Any:
        x = _as_array(w)
        return self._wrap(w, x * (x >= 0).astype(x.dtype))


class UnitNorm(Constraint):
    """Rescale each slice along ``axis`` to unit L2 norm.

    Parameters
    ----------
    axis : int or list of int
        The axes the norm runs over. Default 0.
    """

    def __init__(self, axis: Axis = 0) -> None:
        self.axis = axis
        self._axis = _axis("UnitNorm", axis)

    def __call__(self, w: Any) -> Any:
        x = _as_array(w)
        return self._wrap(w, x / (_EPSILON + _norms(x, self._axis)))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each slice's L2 norm into ``[min_value, max_value]``, a fraction ``rate`` of
    the way (``rate=1`` enforces the bounds exactly).

    Parameters
    ----------
    min_value, max_value : float
        The bounds of the norm. Default 0 and 1.
    rate : float
        Default 1.
    axis : int or list of int
        The axes the norm runs over. Default 0.
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: Axis = 0) -> None:
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis
        self._axis = _axis("MinMaxNorm", axis)

    def __call__(self, w: Any) -> Any:
        x = _as_array(w)
        norms = _norms(x, self._axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) \
            + (1 - self.rate) * norms
        return self._wrap(w, x * (desired / (_EPSILON + norms)))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Keras's function-style aliases.
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_CLASSES: dict[str, type[Constraint]] = {
    cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_ALIASES: dict[str, type[Constraint]] = {
    "max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
    "maxnorm": MaxNorm, "minmaxnorm": MinMaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm}


def serialize(constraint: Any) -> dict[str, Any] | None:
    """``{'class_name': ..., 'config': ...}`` for a constraint of this module (None → None)."""
    if constraint is None:
        return None
    if not isinstance(constraint, Constraint) or type(constraint).__name__ not in _CLASSES:
        raise ValueError(f"Cannot serialize {constraint!r}: only nablanet constraints "
                         f"({sorted(_CLASSES)}) can be saved.")
    return {"module": "keras.constraints", "class_name": type(constraint).__name__,
            "config": constraint.get_config(), "registered_name": None}


def _lookup(name: str) -> type[Constraint]:
    cls = _CLASSES.get(name) or _ALIASES.get(name.lower())
    if cls is None:
        raise ValueError(f"Could not interpret constraint identifier: {name!r}. Valid names: "
                         f"{sorted(_CLASSES) + sorted(a for a in _ALIASES if '_' in a)}")
    return cls


def deserialize(config: dict[str, Any]) -> Constraint:
    """The constraint described by :func:`serialize`'s output (allow-list of this module)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config'. "
                         f"Received: config={config!r}")
    return _lookup(str(config["class_name"])).from_config(dict(config.get("config") or {}))


def get(identifier: Any) -> Callable[[Any], Any] | None:
    """Resolve None, a name (``'max_norm'``, ``'MaxNorm'``, ...), a config dict or a callable.

    Examples
    --------
    >>> get("unit_norm")
    UnitNorm(axis=0)
    >>> get(None) is None
    True
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
