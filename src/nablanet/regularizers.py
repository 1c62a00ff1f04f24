"""Weight regularisers with Keras 3 names and semantics (chapter §5.1).

A regulariser is a callable ``regularizer(weight) -> scalar Tensor``; it is differentiable,
so the penalty's gradient reaches the weight through the training loss. Layers accept one as
``kernel_regularizer``, ``bias_regularizer`` or ``activity_regularizer``; the penalties of each
call appear in ``layer.losses`` and are added to the training loss by the model.

Keras's ``L2(l2)`` adds :math:`\\lambda_2 \\sum_i w_i^2` (no factor ½), so the chapter's
:math:`\\tfrac{\\lambda}{2}\\lVert w \\rVert^2` is ``L2(l2=λ/2)`` (ERRATA 5.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nablanet.autograd.tensor import Tensor
from nablanet.functional.regularization import l1_l2_penalty, l1_penalty, l2_penalty

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "Regularizer",
    "deserialize",
    "get",
    "l1",
    "l1_l2",
    "l2",
    "serialize",
]


def _check(name: str, value: Any, owner: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {name} must be a non-negative number. "
                         f"Received: {name}={value!r}") from None
    if not value >= 0:
        raise ValueError(f"{owner}: {name} must be a non-negative number. "
                         f"Received: {name}={value!r}")
    return value


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


# Keras's function-style names.
l1, l2, l1_l2 = L1, L2, L1L2

_CLASSES: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2}
_ALIASES: dict[str, type[Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


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
