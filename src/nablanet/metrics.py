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

from nablanet.functional import losses as _FL
from nablanet.functional.losses import squeeze_or_expand_to_same_rank

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Poisson",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SquaredHinge",
    "TopKCategoricalAccuracy",
    "get",
]


def _array(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "data", x))


class Metric:
    """Base class of stateful metrics.

    Subclasses implement ``update_state``, ``result`` and ``reset_state``.
    """

    #: Names of the attributes that hold the metric's state (Keras's metric variables).
    _state_names: tuple[str, ...] = ()

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        import re

        self.name = name or re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", type(self).__name__).lower()
        self.dtype = dtype or "float32"

    @property
    def variables(self) -> list[Any]:
        """The state, one array per state variable (Keras's ``metric.variables``)."""
        return [np.asarray(getattr(self, n), dtype=self.dtype) for n in self._state_names]

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

    _state_names = ("total", "count")

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add a batch of values. Per-sample weights may have fewer axes than the values
        (the values are then averaged over the extra axes first) or as many (one weight
        per element); ranks differing by a trailing axis of 1 are reconciled (Keras)."""
        values = _array(values).astype(np.float64)
        if sample_weight is None:
            if values.ndim > 1:
                values = values.mean(axis=tuple(range(1, values.ndim)))
            self.total += float(values.sum())
            self.count += float(len(values)) if values.ndim else 1.0
            return
        w = _array(sample_weight).astype(np.float64)
        values, w = squeeze_or_expand_to_same_rank(values, w)
        if values.ndim > w.ndim:
            values = values.mean(axis=tuple(range(w.ndim, values.ndim)))
        try:
            w = np.broadcast_to(w, values.shape)
        except ValueError:
            raise ValueError(f"{self.name}: sample_weight of shape {w.shape} cannot be "
                             f"broadcast to the values of shape {values.shape}") from None
        self.total += float((values * w).sum())
        self.count += float(w.sum())

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """The weighted mean of ``fn(y_true, y_pred)`` (per-sample values) over all batches.

    The ranks of ``y_true`` and ``y_pred`` are reconciled before ``fn`` is called (a plain
    function sees ``(N, 1)`` targets for ``(N, 1)`` predictions, never an ``(N, N)``
    broadcast)."""

    def __init__(self, fn: Callable[..., np.ndarray], name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        default_name: str = getattr(fn, "__name__", "mean")
        super().__init__(name=name or default_name, dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs

    # Keras's hierarchy: a Mean of per-sample values that is updated with (y_true, y_pred).
    def update_state(  # type: ignore[override]
            self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = squeeze_or_expand_to_same_rank(_array(y_true), _array(y_pred))
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}


# --- per-sample functions ---------------------------------------------------------------------

def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """1 where ``y_pred == y_true`` exactly, else 0, element by element (ranks reconciled
    as Keras does, so ``(N,)`` labels against ``(N, 1)`` predictions work)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(np.asarray(y_true), np.asarray(y_pred))
    return (y_true == y_pred).astype(np.float32)


def binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5
                    ) -> np.ndarray:
    """1 where ``(y_pred > threshold)`` equals the 0/1 label, element by element."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(np.asarray(y_true), np.asarray(y_pred))
    return ((y_pred > threshold).astype(y_true.dtype) == y_true).astype(np.float32)


def categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """1 where ``argmax(y_pred) == argmax(y_true)`` (one-hot labels)."""
    return (np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)).astype(np.float32)


def _sparse_labels(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true


def sparse_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """1 where ``argmax(y_pred) == y_true`` (integer labels, shape ``y_pred.shape[:-1]``
    or with a trailing axis of 1)."""
    y_pred = np.asarray(y_pred)
    return (np.argmax(y_pred, axis=-1) == _sparse_labels(y_true, y_pred)).astype(np.float32)


def _in_top_k(labels: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """Whether each label's score is among the ``k`` largest (ties count as in, as Keras)."""
    scores = np.take_along_axis(y_pred, labels[..., None].astype(np.int64), axis=-1)
    higher = (y_pred > scores).sum(axis=-1)
    return (higher < k).astype(np.float32)


def top_k_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray, k: int = 5
                               ) -> np.ndarray:
    """1 where the one-hot label's class is among the ``k`` highest scores."""
    return _in_top_k(np.argmax(y_true, axis=-1), np.asarray(y_pred), k)


def sparse_top_k_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray, k: int = 5,
                                      from_sorted_ids: bool = False) -> np.ndarray:
    """1 where the integer label is among the ``k`` highest scores; with
    ``from_sorted_ids=True``, ``y_pred`` holds class ids sorted by score and the label must
    be among the first ``k``."""
    y_pred = np.asarray(y_pred)
    labels = np.asarray(y_true)
    if from_sorted_ids:
        labels = labels.reshape(labels.shape[:y_pred.ndim - 1])
        return np.any(labels[..., None] == y_pred[..., :k], axis=-1).astype(np.float32)
    return _in_top_k(_sparse_labels(labels, y_pred), y_pred, k)


def _loss_metric(loss_fn: Callable[..., Any]) -> Callable[..., np.ndarray]:
    """The metric form of a per-sample loss function: same maths, on arrays, no graph."""

    def fn(y_true: np.ndarray, y_pred: np.ndarray, **kwargs: Any) -> np.ndarray:
        from nablanet.autograd.function import no_grad

        with no_grad():
            return np.asarray(loss_fn(y_true, np.asarray(y_pred), **kwargs).data)

    fn.__name__ = fn.__qualname__ = loss_fn.__name__
    fn.__doc__ = loss_fn.__doc__
    return fn


mean_squared_error = _loss_metric(_FL.mean_squared_error)
mean_absolute_error = _loss_metric(_FL.mean_absolute_error)
mean_absolute_percentage_error = _loss_metric(_FL.mean_absolute_percentage_error)
mean_squared_logarithmic_error = _loss_metric(_FL.mean_squared_logarithmic_error)
log_cosh = _loss_metric(_FL.log_cosh)
hinge = _loss_metric(_FL.hinge)
squared_hinge = _loss_metric(_FL.squared_hinge)
categorical_hinge = _loss_metric(_FL.categorical_hinge)
kl_divergence = _loss_metric(_FL.kl_divergence)
poisson = _loss_metric(_FL.poisson)
binary_crossentropy = _loss_metric(_FL.binary_crossentropy)
categorical_crossentropy = _loss_metric(_FL.categorical_crossentropy)
sparse_categorical_crossentropy = _loss_metric(_FL.sparse_categorical_crossentropy)


# --- classes ----------------------------------------------------------------------------------

class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    _direction = "up"

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the binary label."""

    _direction = "up"

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None,
                 threshold: float = 0.5) -> None:
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=float(threshold))


class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches ``argmax`` of the one-hot label."""

    _direction = "up"

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches the integer label."""

    _direction = "up"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest scores."""

    _direction = "up"

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))
        self.k = int(k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores."""

    _direction = "up"

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = None, from_sorted_ids: bool = False) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k),
                         from_sorted_ids=bool(from_sorted_ids))
        self.k, self.from_sorted_ids = int(k), bool(from_sorted_ids)


class _LossMetric(MeanMetricWrapper):
    """The mean over all batches of a per-sample loss (lower is better)."""

    _direction = "down"
    _metric_fn: Callable[..., np.ndarray]
    _default_name: str

    def __init__(self, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(type(self)._metric_fn, name=name or self._default_name, dtype=dtype,
                         **kwargs)


class MeanSquaredError(_LossMetric):
    """Mean of the per-sample mean squared errors."""

    _metric_fn, _default_name = mean_squared_error, "mean_squared_error"


class MeanAbsoluteError(_LossMetric):
    """Mean of the per-sample mean absolute errors."""

    _metric_fn, _default_name = mean_absolute_error, "mean_absolute_error"


class MeanAbsolutePercentageError(_LossMetric):
    """Mean of the per-sample mean absolute percentage errors."""

    _metric_fn, _default_name = (mean_absolute_percentage_error,
                                 "mean_absolute_percentage_error")


class MeanSquaredLogarithmicError(_LossMetric):
    """Mean of the per-sample mean squared logarithmic errors."""

    _metric_fn, _default_name = (mean_squared_logarithmic_error,
                                 "mean_squared_logarithmic_error")


class LogCoshError(_LossMetric):
    """Mean of the per-sample log-cosh errors."""

    _metric_fn, _default_name = log_cosh, "logcosh"


class Hinge(_LossMetric):
    """Mean of the per-sample hinge losses."""

    _metric_fn, _default_name = hinge, "hinge"


class SquaredHinge(_LossMetric):
    """Mean of the per-sample squared hinge losses."""

    _metric_fn, _default_name = squared_hinge, "squared_hinge"


class CategoricalHinge(_LossMetric):
    """Mean of the per-sample categorical hinge losses."""

    _metric_fn, _default_name = categorical_hinge, "categorical_hinge"


class KLDivergence(_LossMetric):
    """Mean of the per-sample Kullback-Leibler divergences."""

    _metric_fn, _default_name = kl_divergence, "kl_divergence"


class Poisson(_LossMetric):
    """Mean of the per-sample Poisson losses."""

    _metric_fn, _default_name = poisson, "poisson"


class BinaryCrossentropy(_LossMetric):
    """Mean binary cross-entropy (``from_logits``, ``label_smoothing`` as the loss)."""

    _metric_fn, _default_name = binary_crossentropy, "binary_crossentropy"

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0.0) -> None:
        super().__init__(name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(_LossMetric):
    """Mean categorical cross-entropy (``from_logits``, ``label_smoothing``, ``axis``)."""

    _metric_fn, _default_name = categorical_crossentropy, "categorical_crossentropy"

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1) -> None:
        super().__init__(name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_LossMetric):
    """Mean sparse categorical cross-entropy (``from_logits``, ``axis``)."""

    _metric_fn, _default_name = (sparse_categorical_crossentropy,
                                 "sparse_categorical_crossentropy")

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, axis: int = -1) -> None:
        super().__init__(name=name, dtype=dtype, from_logits=from_logits, axis=axis)


class _AutoAccuracy(Mean):
    """``'accuracy'`` with no loss to decide from: the kind is chosen from the shapes of the
    first batch (Keras's rule): last prediction axis of 1 → binary; labels with one axis fewer
    than the predictions (or a trailing 1) → sparse categorical; else categorical."""

    _direction = "up"

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
_CLASSES.update({cls.__name__: cls for cls in (
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, LogCoshError, Hinge,
    SquaredHinge, CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy)})

_NAMES: dict[str, type[Metric]] = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "mean": Mean,
}
_NAMES.update({
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError, "logcosh": LogCoshError, "log_cosh": LogCoshError,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "poisson": Poisson,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
})


#: Short names that become the metric's name (``'mse'`` is logged as ``mse``).
_ALIASES = ("mse", "mae", "mape", "msle", "kld", "logcosh")


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
        return cls(name=identifier) if key in _ALIASES else cls()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")



# The confusion-matrix metrics (Precision, Recall, AUC, F1Score, ...) live in their own module,
# which adds them to this namespace and to ``get``'s names when it loads.
import nablanet.confusion_metrics  # noqa: E402, F401
