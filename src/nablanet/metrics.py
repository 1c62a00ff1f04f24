"""Metrics with Keras 3 names: stateful accumulators over batches, on plain NumPy arrays.

``m.update_state(y_true, y_pred, sample_weight=None)`` accumulates, ``m.result()`` returns
the current value (a float), ``m.reset_state()`` starts again. Metrics never build autograd
graphs: Tensors are read through their ``.data``.

``get('accuracy', loss=...)`` resolves ``'accuracy'``/``'acc'`` from the loss as Keras does
(sparse categorical cross-entropy → :class:`SparseCategoricalAccuracy`, categorical →
:class:`CategoricalAccuracy`, binary → :class:`BinaryAccuracy`); with no loss it decides
from the shapes at the first update. The metric keeps the name ``'accuracy'``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Mean",
    "MeanAbsoluteError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "get",
]


def _array(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "data", x))


class Metric:
    """Base class of stateful metrics.

    Subclasses implement ``update_state``, ``result`` and ``reset_state``.
    """

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        import re

        self.name = name or re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", type(self).__name__).lower()
        self.dtype = dtype or "float32"

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def reset_state(self) -> None:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> float:
        """Update with one batch and return the result (Keras's stateful call)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    r"""Weighted mean of all values seen: :math:`\sum_i w_i v_i / \sum_i w_i`."""

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values = _array(values).astype(np.float64)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += float(values.size)
            return
        w = _array(sample_weight).astype(np.float64)
        while w.ndim > values.ndim and w.shape[-1] == 1:
            w = w[..., 0]
        while w.ndim < values.ndim:
            w = w[..., None]
        w = np.broadcast_to(w, values.shape)
        self.total += float((values * w).sum())
        self.count += float(w.sum())

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """The weighted mean of ``fn(y_true, y_pred)`` (per-sample values) over all batches."""

    def __init__(self, fn: Callable[..., np.ndarray], name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        default_name: str = getattr(fn, "__name__", "mean")
        super().__init__(name=name or default_name, dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs

    # Keras's hierarchy: a Mean of per-sample values that is updated with (y_true, y_pred).
    def update_state(  # type: ignore[override]
            self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        values = self._fn(_array(y_true), _array(y_pred), **self._fn_kwargs)
        super().update_state(values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}


# --- per-sample functions ---------------------------------------------------------------------

def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """1 where ``y_pred == y_true`` exactly, else 0 (element-wise)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
        y_pred = y_pred.reshape(y_true.shape)
    return (y_true == y_pred).astype(np.float32)


def binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5
                    ) -> np.ndarray:
    """Mean over the last axis of ``(y_pred > threshold) == y_true``."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    hits = (y_pred > threshold) == (y_true > 0.5)
    return hits.astype(np.float32).mean(axis=-1)


def categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """1 where ``argmax(y_pred) == argmax(y_true)``."""
    return (np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)).astype(np.float32)


def _sparse_labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true.astype(np.int64)


def sparse_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """1 where ``argmax(y_pred) == y_true`` (integer labels)."""
    return (np.argmax(y_pred, axis=-1) == _sparse_labels(y_true, y_pred)).astype(np.float32)


def _in_top_k(labels: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """Whether each label's score is among the ``k`` largest (ties count as in, as Keras)."""
    scores = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    higher = (y_pred > scores).sum(axis=-1)
    return (higher < k).astype(np.float32)


def top_k_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray, k: int = 5
                               ) -> np.ndarray:
    return _in_top_k(np.argmax(y_true, axis=-1), np.asarray(y_pred), k)


def sparse_top_k_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray, k: int = 5
                                      ) -> np.ndarray:
    y_pred = np.asarray(y_pred)
    return _in_top_k(_sparse_labels(y_true, y_pred), y_pred, k)


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    diff = np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)
    return (diff * diff).mean(axis=-1)


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    diff = np.asarray(y_pred, np.float64) - np.asarray(y_true, np.float64)
    return np.abs(diff).mean(axis=-1)


# --- classes ----------------------------------------------------------------------------------

class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the binary label."""

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None,
                 threshold: float = 0.5) -> None:
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=float(threshold))


class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches ``argmax`` of the one-hot label."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches the integer label."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest scores."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))


class MeanSquaredError(MeanMetricWrapper):
    """Mean of the per-sample mean squared errors."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of the per-sample mean absolute errors."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class _AutoAccuracy(Mean):
    """``'accuracy'`` with no loss to decide from: the kind is chosen from the shapes of the
    first batch (Keras's rule): last prediction axis of 1 → binary; labels with one axis fewer
    than the predictions (or a trailing 1) → sparse categorical; else categorical."""

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._fn: Callable[..., np.ndarray] | None = None

    # As MeanMetricWrapper: a Mean of per-sample values updated with (y_true, y_pred).
    def update_state(  # type: ignore[override]
            self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = _array(y_true), _array(y_pred)
        if self._fn is None:
            if y_pred.ndim == 0 or y_pred.shape[-1] == 1 or y_true.ndim > y_pred.ndim:
                self._fn = binary_accuracy
            elif y_true.ndim == y_pred.ndim - 1 or (y_true.ndim == y_pred.ndim
                                                    and y_true.shape[-1] == 1):
                self._fn = sparse_categorical_accuracy
            else:
                self._fn = categorical_accuracy
        super().update_state(self._fn(y_true, y_pred), sample_weight)


_CLASSES: dict[str, type[Metric]] = {cls.__name__: cls for cls in (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, Mean, MeanSquaredError,
    MeanAbsoluteError)}

_NAMES: dict[str, type[Metric]] = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "mean": Mean,
}


def _loss_kind(loss: Any) -> str | None:
    """'sparse', 'categorical' or 'binary' for a cross-entropy loss (name, class or function)."""
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(
        loss, "__name__", None) or type(loss).__name__
    name = str(name).lower().replace("_", "")
    if "sparsecategoricalcrossentropy" in name:
        return "sparse"
    if "categoricalcrossentropy" in name:
        return "categorical"
    if "binarycrossentropy" in name:
        return "binary"
    return None


def get(identifier: Any, loss: Any = None) -> Metric:
    """Resolve a metric: a name, a :class:`Metric` instance or class, or a function
    ``fn(y_true, y_pred) -> per-sample values`` (wrapped in a mean).

    ``'accuracy'``/``'acc'`` follow the loss (see the module docstring); ``'mse'``,
    ``'mae'`` and the class names in snake case work too.

    Examples
    --------
    >>> get('accuracy', loss='sparse_categorical_crossentropy')
    <SparseCategoricalAccuracy name=accuracy>
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            kind = _loss_kind(loss) if loss is not None else None
            cls: type[Metric] | None = {"sparse": SparseCategoricalAccuracy,
                                        "categorical": CategoricalAccuracy,
                                        "binary": BinaryAccuracy}.get(kind)  # type: ignore[arg-type]
            if cls is None:
                return _AutoAccuracy(name=identifier)
            return cls(name=identifier)
        cls = _CLASSES.get(identifier) or _NAMES.get(key)
        if cls is None:
            raise ValueError(f"Unknown metric: {identifier!r}. Valid names: "
                             f"{sorted({'accuracy', 'acc', *_NAMES, *_CLASSES})}")
        return cls(name=identifier) if key in ("mse", "mae") else cls()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")



# The confusion-matrix metrics (Precision, Recall, AUC, F1Score, ...) live in their own module,
# which adds them to this namespace and to ``get``'s names when it loads.
import nablanet.confusion_metrics  # noqa: E402, F401
