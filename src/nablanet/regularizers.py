"""Weight regularisers with Keras 3 names and semantics (chapter §5.1).

A regulariser is a callable ``regularizer(weight) -> scalar Tensor``; it is differentiable,
so the penalty's gradient reaches the weight through the training loss. Layers accept one as
``kernel_regularizer``, ``bias_regularizer`` or ``activity_regularizer``; the penalties of each
call appear in ``layer.losses`` and are added to the training loss by the model.

Keras's ``L2(l2)`` adds :math:`\\lambda_2 \\sum_i w_i^2` (no factor ½), so the chapter's
:math:`\\tfrac{\\lambda}{2}\\lVert w \\rVert^2` is ``L2(l2=λ/2)`` (ERRATA 5.1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from nablanet import ops
from nablanet.autograd.tensor import Tensor
from nablanet.functional.regularization import l1_l2_penalty, l1_penalty, l2_penalty

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "OrthogonalRegularizer",
    "Regularizer",
    "deserialize",
    "get",
    "l1",
    "l1_l2",
    "l2",
    "orthogonal_regularizer",
    "serialize",
    "validate_float_arg",
]


def validate_float_arg(value: Any, name: str) -> float:
    """``float(value)`` for a finite number >= 0; Keras's ValueError otherwise."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value) \
        and value >= 0
    if not ok:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float."
                         f"Received: {name}={value}")
    return float(value)


def _check(name: str, value: Any, owner: str) -> float:
    try:
        return validate_float_arg(value, name)
    except ValueError as error:
        raise ValueError(f"{owner}: {name} must be a non-negative number. {error}") from None


class Regularizer:
    """Base class: ``__call__(weight) -> scalar Tensor``, ``get_config``/``from_config``."""

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))


class L1(Regularizer):
    r"""L1 penalty :math:`\lambda_1 \sum_i |w_i|`.

    Examples
    --------
    >>> float(L1(0.1)(Tensor([1.0, -3.0])))
    0.4000000059604645
    """

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _check("l1", l1, "L1")

    def __call__(self, x: Tensor) -> Tensor:
        return l1_penalty(x, self.l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    r"""L2 penalty :math:`\lambda_2 \sum_i w_i^2` (Keras: no factor ½).

    Examples
    --------
    >>> float(L2(0.5)(Tensor([1.0, -3.0])))
    5.0
    """

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _check("l2", l2, "L2")

    def __call__(self, x: Tensor) -> Tensor:
        return l2_penalty(x, self.l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class L1L2(Regularizer):
    r"""Elastic-net penalty :math:`\lambda_1 \sum_i |w_i| + \lambda_2 \sum_i w_i^2`."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _check("l1", l1, "L1L2")
        self.l2 = _check("l2", l2, "L1L2")

    def __call__(self, x: Tensor) -> Tensor:
        return l1_l2_penalty(x, self.l1, self.l2)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    r"""Penalise non-orthogonal rows (``mode="rows"``) or columns of a 2-D weight.

    With :math:`\hat w_i` the L2-normalised rows (or columns), :math:`n` of them,

    .. math::

        \Omega(W) = \lambda\, \frac{1}{2}\, \frac{\sum_{i \ne j} |\hat w_i \cdot \hat w_j|}
            {n(n-1)/2}

    i.e. :math:`\lambda/2` times the mean absolute cosine between distinct rows (Keras's
    ``OrthogonalRegularizer``). On a Dense kernel ``(input_dim, units)``, ``"rows"`` pushes
    the input features' weight vectors apart, ``"columns"`` the units'.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = validate_float_arg(factor, name="factor")
        if mode not in {"rows", "columns"}:
            raise ValueError('Invalid value for argument `mode`. Expected one of {"rows", '
                             f'"columns"}}. Received: mode={mode}')
        self.mode = mode

    def __call__(self, x: Tensor) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 2:
            raise ValueError("Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={tuple(x.shape)}")
        axis = 1 if self.mode == "rows" else 0
        norms = ops.sqrt(ops.maximum(ops.sum(x * x, axis=axis, keepdims=True),
                                     np.asarray(1e-12, dtype=x.dtype)))
        unit = x / norms
        product = unit @ unit.T if self.mode == "rows" else unit.T @ unit
        size = x.shape[1 - axis]
        off_diagonal = product * (1.0 - np.eye(size, dtype=x.dtype))
        pairs = size * (size - 1.0) / 2.0
        return ops.sum(ops.abs(off_diagonal)) * np.asarray(self.factor * 0.5 / pairs,
                                                            dtype=x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


# Keras's function-style names.
l1, l2, l1_l2 = L1, L2, L1L2
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2,
                                          "OrthogonalRegularizer": OrthogonalRegularizer}
_ALIASES: dict[str, type[Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2,
                                          "orthogonal_regularizer": OrthogonalRegularizer}


def serialize(regularizer: Any) -> dict[str, Any] | None:
    """``{'class_name': ..., 'config': ...}`` for a regulariser of this module (None → None)."""
    if regularizer is None:
        return None
    if type(regularizer).__name__ not in _CLASSES or not isinstance(regularizer, Regularizer):
        raise ValueError(f"Cannot serialize {regularizer!r}: only nablanet regularizers "
                         f"({sorted(_CLASSES)}) can be saved.")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config: dict[str, Any]) -> Regularizer:
    """The regulariser described by :func:`serialize`'s output (allow-list of this module)."""
    name = config.get("class_name")
    cls = _CLASSES.get(name) or _ALIASES.get(str(name).lower())  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"Unknown regularizer class {name!r}. Valid classes: "
                         f"{sorted(_CLASSES)}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier: Any) -> Callable[[Tensor], Tensor] | None:
    """Resolve None, a name (``'l1'``, ``'l2'``, ``'l1_l2'``), a config dict, or a callable.

    Examples
    --------
    >>> get('l2')
    L2(l2=0.01)
    """
    if identifier is None:
        return None
    if isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier) or _ALIASES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown regularizer: {identifier!r}. Valid names: "
                             f"{sorted(_ALIASES)}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
