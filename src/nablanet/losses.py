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
from nablanet.functional.losses import squeeze_or_expand_to_same_rank
from nablanet.ops.elementwise import mul
from nablanet.ops.reduction import sum as _sum

__all__ = [
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Dice",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "Tversky",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
    "dice",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "kld",
    "log_cosh",
    "logcosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "tversky",
]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

sparse_categorical_crossentropy = F.sparse_categorical_crossentropy
categorical_crossentropy = F.categorical_crossentropy
binary_crossentropy = F.binary_crossentropy
mean_squared_error = mse = F.mean_squared_error
mean_absolute_error = mae = F.mean_absolute_error
mean_absolute_percentage_error = mape = F.mean_absolute_percentage_error
mean_squared_logarithmic_error = msle = F.mean_squared_logarithmic_error
huber = F.huber
log_cosh = logcosh = F.log_cosh
hinge = F.hinge
squared_hinge = F.squared_hinge
categorical_hinge = F.categorical_hinge
cosine_similarity = F.cosine_similarity
kl_divergence = kld = F.kl_divergence
poisson = F.poisson
binary_focal_crossentropy = F.binary_focal_crossentropy
categorical_focal_crossentropy = F.categorical_focal_crossentropy
dice = F.dice
tversky = F.tversky


def _weight_array(weight: Any, dtype: Any) -> np.ndarray:
    return np.asarray(getattr(weight, "data", weight), dtype=dtype)


def reduce_weighted(values: Tensor, sample_weight: Any, reduction: str | None,
                    mask: np.ndarray | None = None, name: str = "loss") -> Tensor:
    """Apply sample weights (and an optional 0/1 mask) and reduce, as Keras 3 does.

    The weights' rank is reconciled with the per-sample losses' rank
    (:func:`~nablanet.functional.losses.squeeze_or_expand_to_same_rank`); weights with
    fewer axes still line up with the leading (sample) axes, and they must then broadcast
    to the losses' shape without enlarging it. A mask gives the valid entries the
    weight ``total / valid`` under the mean reductions, so the mean runs over them only.
    ``'mean_with_sample_weight'`` divides by the sum of the weights.
    """
    weight = None if sample_weight is None else _weight_array(sample_weight, values.dtype)
    if mask is not None:
        float_mask = mask.astype(values.dtype)
        if reduction in ("sum_over_batch_size", "mean") and float_mask.size:
            valid = float(float_mask.sum())
            float_mask = float_mask * (float_mask.size / valid if valid else 0.0)
        if weight is not None:
            float_mask, weight = squeeze_or_expand_to_same_rank(float_mask, weight)
            weight = weight * float_mask
        else:
            weight = float_mask
    if weight is not None:
        values, weight = squeeze_or_expand_to_same_rank(values, weight)
        if 0 < weight.ndim < values.ndim:
            # Per-sample (or per-step) weights line up with the leading axes.
            weight = weight.reshape(weight.shape + (1,) * (values.ndim - weight.ndim))
        try:
            grown = np.broadcast_shapes(values.shape, weight.shape) != values.shape
        except ValueError:
            grown = True
        if grown:
            raise ValueError(f"{name}: sample_weight of shape {weight.shape} cannot be "
                             f"broadcast to the per-sample losses of shape {values.shape}")
        values = mul(values, weight)
    if reduction in ("none", None) or values.shape in ((), (0,)):
        return values
    total = _sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = float(weight.sum())
    else:
        divisor = float(values.size)
    return total / values.dtype.type(divisor) if divisor else total * 0.0


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None) -> Tensor``.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses.
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction` of "
                             f"{type(self).__name__}. Expected one of {list(REDUCTIONS)}. "
                             f"Received: reduction={reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def _mask(self, y_true: Any, y_pred: Tensor) -> np.ndarray | None:
        return None

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        y_pred = F._tensor(y_pred)
        values = self.call(y_true, y_pred)
        if not isinstance(values, Tensor):
            values = F._tensor(values)
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


class LossFunctionWrapper(Loss):
    """A Loss from a function ``fn(y_true, y_pred, **kwargs)`` of per-sample values.

    ``compile(loss=fn)`` wraps a plain function in one, so that sample weights and the
    reduction apply to it as to the built-in losses. The ranks of ``y_true`` and ``y_pred``
    are reconciled before ``fn`` is called (Keras's rule), so ``fn`` sees ``(N, 1)`` targets
    for ``(N, 1)`` predictions even when the data hold ``(N,)``.

    Examples
    --------
    >>> import numpy as np
    >>> loss = LossFunctionWrapper(lambda t, p: (p - t) ** 2, name="sq")
    >>> float(loss(np.array([1.0, 2.0]), np.array([[1.0], [4.0]])))
    2.0
    """

    def __init__(self, fn: Callable[..., Any], reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        if not isinstance(y_true, Tensor):
            y_true = np.asarray(y_true)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


class SparseCategoricalCrossentropy(Loss):
    r"""Cross-entropy of integer class labels (:func:`~nablanet.functional.losses.
    sparse_categorical_crossentropy`); labels outside ``[0, n_classes)`` raise ValueError,
    and so does a one-hot target (use :class:`CategoricalCrossentropy`).

    Examples
    --------
    >>> import numpy as np
    >>> loss = SparseCategoricalCrossentropy(from_logits=True)
    >>> round(float(loss(np.array([0]), np.array([[0.0, 0.0]]))), 4)
    0.6931
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits, self.ignore_class, self.axis = bool(from_logits), ignore_class, axis

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.sparse_categorical_crossentropy(y_true, y_pred, self.from_logits,
                                                 self.ignore_class, self.axis)

    def _mask(self, y_true: Any, y_pred: Tensor) -> np.ndarray | None:
        if self.ignore_class is None:
            return None
        labels = np.asarray(getattr(y_true, "data", y_true))
        axis = self.axis % y_pred.ndim
        if labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
            labels = np.squeeze(labels, axis)
        return labels != self.ignore_class

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


class CategoricalCrossentropy(Loss):
    r"""Cross-entropy of one-hot / soft targets along ``axis``, with ``label_smoothing``."""

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
    r"""Binary cross-entropy (averaged over ``axis``), with ``label_smoothing``."""

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


class _Elementwise(Loss):
    """A loss given by one function of :mod:`nablanet.functional.losses` and no options."""

    _fn: Callable[..., Tensor]
    _default_name: str

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name or self._default_name, reduction=reduction, dtype=dtype)

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return type(self)._fn(y_true, y_pred)


class MeanSquaredError(_Elementwise):
    r""":math:`\frac1K\sum_k (y_k - \hat y_k)^2` per sample."""

    _fn, _default_name = F.mean_squared_error, "mean_squared_error"


class MeanAbsoluteError(_Elementwise):
    r""":math:`\frac1K\sum_k |y_k - \hat y_k|` per sample."""

    _fn, _default_name = F.mean_absolute_error, "mean_absolute_error"


class MeanAbsolutePercentageError(_Elementwise):
    r"""100 times the mean relative error (:func:`~nablanet.functional.losses.
    mean_absolute_percentage_error`)."""

    _fn, _default_name = F.mean_absolute_percentage_error, "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_Elementwise):
    r"""Mean squared difference of :math:`\log(1 + y)` (:func:`~nablanet.functional.losses.
    mean_squared_logarithmic_error`)."""

    _fn, _default_name = F.mean_squared_logarithmic_error, "mean_squared_logarithmic_error"


class LogCosh(_Elementwise):
    r"""Mean of :math:`\log\cosh(\hat y - y)` per sample."""

    _fn, _default_name = F.log_cosh, "log_cosh"


class Hinge(_Elementwise):
    r"""Hinge loss :math:`\max(1 - y\hat y, 0)` (labels in {-1, 1} or {0, 1})."""

    _fn, _default_name = F.hinge, "hinge"


class SquaredHinge(_Elementwise):
    r"""Squared hinge loss :math:`\max(1 - y\hat y, 0)^2`."""

    _fn, _default_name = F.squared_hinge, "squared_hinge"


class CategoricalHinge(_Elementwise):
    r"""Categorical hinge loss of one-hot targets (:func:`~nablanet.functional.losses.
    categorical_hinge`)."""

    _fn, _default_name = F.categorical_hinge, "categorical_hinge"


class KLDivergence(_Elementwise):
    r"""Kullback-Leibler divergence :math:`\sum_k t_k \log(t_k / p_k)`."""

    _fn, _default_name = F.kl_divergence, "kl_divergence"


class Poisson(_Elementwise):
    r"""Poisson negative log-likelihood :math:`\hat y - y \log \hat y` (up to a constant)."""

    _fn, _default_name = F.poisson, "poisson"


class CosineSimilarity(Loss):
    r"""Negative cosine similarity along ``axis`` (-1 is a perfect match)."""

    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "cosine_similarity", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = axis

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.cosine_similarity(y_true, y_pred, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class BinaryFocalCrossentropy(Loss):
    r"""Focal binary cross-entropy (:func:`~nablanet.functional.losses.
    binary_focal_crossentropy`): easy examples weigh :math:`(1 - p_t)^\gamma` less."""

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "binary_focal_crossentropy", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.apply_class_balancing, self.alpha, self.gamma = apply_class_balancing, alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.binary_focal_crossentropy(y_true, y_pred, self.apply_class_balancing,
                                           self.alpha, self.gamma, self.from_logits,
                                           self.label_smoothing, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma}


class CategoricalFocalCrossentropy(Loss):
    r"""Focal categorical cross-entropy (:func:`~nablanet.functional.losses.
    categorical_focal_crossentropy`)."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_focal_crossentropy", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha, self.gamma, self.from_logits = alpha, gamma, from_logits
        self.label_smoothing, self.axis = label_smoothing, axis

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.categorical_focal_crossentropy(y_true, y_pred, self.alpha, self.gamma,
                                                self.from_logits, self.label_smoothing,
                                                self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis,
                "alpha": self.alpha, "gamma": self.gamma}


class Dice(Loss):
    r"""Dice loss over ``axis`` (:func:`~nablanet.functional.losses.dice`)."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "dice",
                 axis: Any = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = axis

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.dice(y_true, y_pred, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Tversky(Loss):
    r"""Tversky loss with weights ``alpha`` (false positives) and ``beta`` (false
    negatives) (:func:`~nablanet.functional.losses.tversky`)."""

    def __init__(self, alpha: float = 0.5, beta: float = 0.5,
                 reduction: str | None = "sum_over_batch_size", name: str = "tversky",
                 axis: Any = None, dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha, self.beta, self.axis = alpha, beta, axis

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        return F.tversky(y_true, y_pred, self.alpha, self.beta, self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta,
                "axis": self.axis}


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
    MeanSquaredError, MeanAbsoluteError, Huber, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, LogCosh, Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, CosineSimilarity, BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy, Dice, Tversky)}

_NAMES: dict[str, type[Loss]] = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "log_cosh": LogCosh, "logcosh": LogCosh, "hinge": Hinge, "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge, "kl_divergence": KLDivergence,
    "kld": KLDivergence, "poisson": Poisson, "cosine_similarity": CosineSimilarity,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy, "dice": Dice,
    "tversky": Tversky,
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
