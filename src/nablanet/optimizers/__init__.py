"""Optimizers (chapter §6): the SGD family, with Keras 3's names, arguments and defaults.

``get('adam')`` / ``get({'class_name': 'Adam', 'config': {...}})`` / ``get(instance)``
resolve an optimizer as ``model.compile(optimizer=...)`` does.
"""

from __future__ import annotations

from typing import Any

from nablanet.optimizers import schedules
from nablanet.optimizers.adadelta import Adadelta, adadelta_update
from nablanet.optimizers.adagrad import Adagrad, adagrad_update
from nablanet.optimizers.adam import Adam, adam_update
from nablanet.optimizers.adamw import AdamW
from nablanet.optimizers.base import Optimizer
from nablanet.optimizers.nadam import Nadam, nadam_update
from nablanet.optimizers.rmsprop import RMSprop, rmsprop_update
from nablanet.optimizers.schedules import (
    CosineDecay,
    ExponentialDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)
from nablanet.optimizers.sgd import SGD, sgd_update

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineDecay",
    "ExponentialDecay",
    "LearningRateSchedule",
    "Nadam",
    "Optimizer",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "RMSprop",
    "adadelta_update",
    "adagrad_update",
    "adam_update",
    "deserialize",
    "get",
    "nadam_update",
    "rmsprop_update",
    "schedules",
    "serialize",
    "sgd_update",
]

# Keras's lookup table: lower-case class names.
_OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls for cls in (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Nadam)
}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Keras-style dict ``{"module", "class_name", "config", "registered_name"}``."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(
            "serialize: expected a nablanet optimizer. "
            f"Received: optimizer={optimizer!r} of type {type(optimizer).__name__}"
        )
    return {
        "module": "keras.optimizers",
        "class_name": type(optimizer).__name__,
        "config": optimizer.get_config(),
        "registered_name": None,
    }


def _lookup(name: str) -> type[Optimizer]:
    cls = _OPTIMIZERS.get(name.lower())
    if cls is None:
        valid = ", ".join(repr(k) for k in sorted(_OPTIMIZERS))
        raise ValueError(
            f"Could not interpret optimizer identifier: {name!r}. Valid names are {valid}."
        )
    return cls


def deserialize(config: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from :func:`serialize`'s dict (only this package's classes)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "deserialize: expected a dict with 'class_name' and 'config'. "
            f"Received: config={config!r}"
        )
    cls = _lookup(str(config["class_name"]))
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier: str | dict[str, Any] | Optimizer | None) -> Optimizer | None:
    """Resolve an optimizer from a name (case-insensitive), a config dict or an instance
    (None gives None, as in Keras).

    Examples
    --------
    >>> get("adam")  # doctest: +ELLIPSIS
    <Adam name='adam...' iterations=0>
    >>> get({"class_name": "SGD", "config": {"learning_rate": 0.1}}).learning_rate
    0.1
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()  # type: ignore[call-arg]  # subclasses have defaults
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
