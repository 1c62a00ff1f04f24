"""Loss classes with Keras 3 names, arguments and reductions.

``loss = SparseCategoricalCrossentropy(from_logits=True)``; ``loss(y_true, y_pred,
sample_weight=None)`` returns a scalar Tensor (or the per-sample Tensor with
``reduction=None``). The per-sample functions are in :mod:`nablanet.functional.losses`.

Reductions (Keras 3):

``'sum_over_batch_size'`` (default, alias ``'mean'``)
    :math:`\\frac1M \\sum_i w_i \\ell_i`, :math:`M` the number of per-sample loss values
    (not the sum of the weights).
``'sum'``
    :math:`\\sum_i w_i \\ell_i`.
``'mean_with_sample_weight'``
    :math:`\\sum_i w_i \\ell_i / \\sum_i w_i`.
``'none'`` / None
    the weighted per-sample losses.

Entries whose label equals ``ignore_class`` (sparse categorical cross-entropy) are masked:
they contribute nothing and the mean is over the other entries, as Keras does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.functional import losses as F
from nablanet.ops.elementwise import mul
from nablanet.ops.reduction import sum as _sum

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "Huber",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "SparseCategoricalCrossentropy",
    "binary_crossentropy",
    "categorical_crossentropy",
    "deserialize",
    "get",
    "huber",
    "mae",
    "mean_absolute_error",
    "mean_squared_error",
    "mse",
    "serialize",
    "sparse_categorical_crossentropy",
]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

sparse_categorical_crossentropy = F.sparse_categorical_crossentropy
categorical_crossentropy = F.categorical_crossentropy
binary_crossentropy = F.binary_crossentropy
mean_squared_error = mse = F.mean_squared_error
mean_absolute_error = mae = F.mean_absolute_error
huber = F.huber


def _broadcast_weight(weight: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Sample weights of shape (batch,) or (batch, 1, ...) broadcast against ``shape``."""
    while weight.ndim > len(shape) and weight.shape[-1] == 1:
        weight = weight[..., 0]
    while weight.ndim < len(shape):
        weight = weight[..., None]
    try:
        return np.broadcast_to(weight, shape)
    except ValueError:
        raise ValueError(f"{name}: sample_weight of shape {weight.shape} cannot be broadcast "
                         f"to the per-sample losses of shape {shape}") from None


def reduce_weighted(values: Tensor, sample_weight: Any, reduction: str | None,
                    mask: np.ndarray | None = None, name: str = "loss") -> Tensor:
    """Apply sample weights (and an optional 0/1 mask) and reduce, as Keras 3 does."""
    weight = None
    if sample_weight is not None:
        sw = np.asarray(getattr(sample_weight, "data", sample_weight), dtype=values.dtype)
        weight = _broadcast_weight(sw, values.shape, name)
    if mask is not None:
        m = mask.astype(values.dtype)
        if reduction in ("sum_over_batch_size", "mean") and m.size:
            m = m * (m.size / max(float(m.sum()), 1e-7))  # mean over unmasked entries
        weight = m if weight is None else weight * m
    if weight is not None:
        values = mul(values, weight)
    if reduction in ("none", None):
        return values
    total = _sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        return total / values.dtype.type(max(float(weight.sum()), 1e-7))
    return total / values.dtype.type(max(values.size, 1))


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None) -> Tensor``.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses.
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: invalid reduction {reduction!r}; expected "
                             f"one of {list(REDUCTIONS)}. Received: reduction={reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def _mask(self, y_true: Any, y_pred: Tensor) -> np.ndarray | None:
        return None

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        if not isinstance(y_pred, Tensor):
            y_pred = Tensor(y_pred)
        values = self.call(y_true, y_pred)
        return reduce_weighted(values, sample_weight, self.reduction,
                               self._mask(y_true, y_pred), self.name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _snake(name: str) -> str:
    import re

    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class SparseCategoricalCrossentropy(Loss):
    r"""Cross-entropy of integer class labels (:func:`~nablanet.functional.losses.
    sparse_categorical_crossentropy`); labels outside ``[0, n_classes)`` raise ValueError.

    Examples
    --------
    >>> import numpy as np
    >>> loss = SparseCategoricalCrossentropy(from_logits=True)
    >>> round(float(loss(np.array([0]), np.array([[0.0, 0.0]]))), 4)
    0.6931
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size",
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits, self.ignore_class = bool(from_logits), ignore_class

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.sparse_categorical_crossentropy(y_true, y_pred, self.from_logits,
                                                 self.ignore_class)

    def _mask(self, y_true: Any, y_pred: Tensor) -> np.ndarray | None:
        if self.ignore_class is None:
            return None
        labels = np.asarray(getattr(y_true, "data", y_true))
        if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
            labels = labels[..., 0]
        return labels != self.ignore_class

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


class CategoricalCrossentropy(Loss):
    r"""Cross-entropy of one-hot / soft targets, with ``label_smoothing``."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_crossentropy", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CategoricalCrossentropy: label_smoothing must be in [0, 1]. "
                             f"Received: label_smoothing={label_smoothing}")
        self.from_logits, self.label_smoothing, self.axis = (bool(from_logits),
                                                             float(label_smoothing), axis)

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.categorical_crossentropy(y_true, y_pred, self.from_logits,
                                          self.label_smoothing, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(Loss):
    r"""Binary cross-entropy (averaged over the last axis), with ``label_smoothing``."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size",
                 name: str = "binary_crossentropy", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"BinaryCrossentropy: label_smoothing must be in [0, 1]. "
                             f"Received: label_smoothing={label_smoothing}")
        self.from_logits, self.label_smoothing, self.axis = (bool(from_logits),
                                                             float(label_smoothing), axis)

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing,
                                     self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class MeanSquaredError(Loss):
    r""":math:`\frac1K\sum_k (y_k - \hat y_k)^2` per sample."""

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(Loss):
    r""":math:`\frac1K\sum_k |y_k - \hat y_k|` per sample."""

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.mean_absolute_error(y_true, y_pred)


class Huber(Loss):
    r"""Huber loss with threshold ``delta`` (quadratic inside, linear outside)."""

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size",
                 name: str = "huber_loss", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not delta > 0:
            raise ValueError(f"Huber: delta must be positive. Received: delta={delta}")
        self.delta = float(delta)

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.huber(y_true, y_pred, self.delta)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "delta": self.delta}


_CLASSES: dict[str, type[Loss]] = {cls.__name__: cls for cls in (
    SparseCategoricalCrossentropy, CategoricalCrossentropy, BinaryCrossentropy,
    MeanSquaredError, MeanAbsoluteError, Huber)}

_NAMES: dict[str, type[Loss]] = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
}


def get(identifier: Any) -> Callable[..., Tensor] | None:
    """Resolve a loss: None, a name (``'mse'``, ``'sparse_categorical_crossentropy'``, ...),
    a config dict, a :class:`Loss` instance or any callable ``(y_true, y_pred) -> Tensor``.

    Names give the Loss *class instance* with default arguments, so ``loss(y, p)`` is a
    scalar.

    Examples
    --------
    >>> get('mse')
    MeanSquaredError(name='mean_squared_error', reduction='sum_over_batch_size')
    """
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier) or _NAMES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown loss: {identifier!r}. Valid names: "
                             f"{sorted(set(_NAMES) | set(_CLASSES))}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss: Any) -> dict[str, Any] | str:
    """``{'class_name', 'config'}`` for a Loss; the name for a function of this module."""
    if isinstance(loss, Loss) and type(loss).__name__ in _CLASSES:
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    for name in _NAMES:
        if getattr(F, name, None) is loss:
            return name
    raise ValueError(f"Cannot serialize loss {loss!r}: only nablanet losses can be saved.")


def deserialize(config: dict[str, Any] | str) -> Callable[..., Tensor]:
    """Inverse of :func:`serialize` (allow-list of this module)."""
    if isinstance(config, str):
        resolved = get(config)
        assert resolved is not None
        return resolved
    name = config.get("class_name")
    if name not in _CLASSES:
        raise ValueError(f"Unknown loss class {name!r}. Valid classes: {sorted(_CLASSES)}")
    return _CLASSES[name].from_config(dict(config.get("config") or {}))
