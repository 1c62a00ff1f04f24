r"""Classification metrics from the confusion matrix at thresholds: Keras 3's
``TruePositives`` ... ``FalseNegatives``, ``Precision``, ``Recall``, ``AUC``, the
sensitivity/specificity family, and ``F1Score`` / ``FBetaScore``.

A prediction :math:`p` counts as positive at threshold :math:`t` when :math:`p > t`; a label
counts as positive when it is non-zero. For each threshold the four counts (weighted by
``sample_weight``) are accumulated over batches:

.. math::

    TP_t = \sum_i w_i [y_i \ne 0][p_i > t], \quad FP_t = \sum_i w_i [y_i = 0][p_i > t],
    \quad FN_t = \sum_i w_i [y_i \ne 0][p_i \le t], \quad TN_t = \sum_i w_i [y_i = 0][p_i \le t]

As in Keras, ``top_k`` keeps only the ``k`` largest predictions of each row (the others count
as negative), ``class_id`` restricts predictions and labels to one column, and when the
thresholds are evenly spaced on :math:`[0, 1]` (``AUC``'s default grid) predictions are
clipped to :math:`[0, 1]` and binned by :math:`\lceil p (T - 1)\rceil - 1`, Keras's exact
rule at the grid points. All of it is NumPy on the metric's state: nothing here is
differentiated.

``AUC`` sums the curve's Riemann terms :math:`(x_{t} - x_{t+1})\,h_t` with ``interpolation``
(trapezoids), ``minoring`` or ``majoring`` heights; the PR curve with ``interpolation`` uses
Davis & Goadrich's (2006) interpolation of the counts, not of precision.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np

from nablanet import metrics as _metrics
from nablanet.functional.losses import squeeze_or_expand_to_same_rank
from nablanet.keras_ops.core import Variable
from nablanet.metrics import Metric

__all__ = [
    "AUC", "AUCCurve", "AUCSummationMethod", "F1Score", "FBetaScore", "FalseNegatives",
    "FalsePositives", "Precision", "PrecisionAtRecall", "Recall", "RecallAtPrecision",
    "SensitivityAtSpecificity", "SpecificityAtSensitivity", "TrueNegatives", "TruePositives",
]

#: Keras's ``backend.epsilon()``.
EPSILON = 1e-7
#: The threshold used with ``top_k`` and no thresholds: below every kept prediction.
NEG_INF = -1e10


class AUCCurve(Enum):
    """The curve whose area :class:`AUC` computes."""

    ROC = "ROC"
    PR = "PR"
    PRGAIN = "PRGAIN"

    @staticmethod
    def from_str(key: str) -> AUCCurve:
        for member in AUCCurve:
            if key in (member.value, member.value.lower()):
                return member
        raise ValueError(f'Invalid AUC curve value: "{key}". '
                         'Expected values are ["PR", "ROC", "PRGAIN"]')


class AUCSummationMethod(Enum):
    """How :class:`AUC` sums the area: trapezoids, or the lower / upper step."""

    INTERPOLATION = "interpolation"
    MAJORING = "majoring"
    MINORING = "minoring"

    @staticmethod
    def from_str(key: str) -> AUCSummationMethod:
        for member in AUCSummationMethod:
            if key in (member.value, member.value.upper()):
                return member
        raise ValueError(f'Invalid AUC summation method value: "{key}". '
                         'Expected values are ["interpolation", "majoring", "minoring"]')


# -- the counts ---------------------------------------------------------------------------------


def _array(x: Any, dtype: Any = np.float32) -> np.ndarray:
    return np.asarray(getattr(x, "data", x), dtype=dtype)


def _keep_top_k(y_pred: np.ndarray, k: int) -> np.ndarray:
    """``y_pred`` with all but the ``k`` largest values of each row set to ``NEG_INF``."""
    order = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    kept = np.zeros(y_pred.shape, dtype=bool)
    np.put_along_axis(kept, order, True, axis=-1)
    return np.where(kept, y_pred, np.float32(NEG_INF))


def evenly_spaced(thresholds: Any) -> bool:
    """Whether ``thresholds`` (3 or more) are :math:`j / (T - 1)` for :math:`j = 0..T-1`,
    up to ``EPSILON`` (the end points may be :math:`-\\epsilon` and :math:`1 + \\epsilon`)."""
    t = np.asarray(thresholds, dtype=np.float64)
    if t.size < 3:
        return False
    return bool(np.allclose(t, np.arange(t.size) / (t.size - 1), atol=EPSILON))


def confusion_counts(y_true: Any, y_pred: Any, thresholds: Any, *, top_k: int | None = None,
                     class_id: int | None = None, sample_weight: Any = None,
                     multi_label: bool = False, label_weights: Any = None,
                     thresholds_evenly_spaced: bool = False) -> dict[str, np.ndarray]:
    """The weighted counts ``tp``, ``fp``, ``tn``, ``fn`` at each threshold.

    Returns arrays of shape ``(T,)``, or ``(T, L)`` with ``multi_label`` (one column per
    label of a rank-2 ``y_pred``; otherwise every element is one prediction).
    """
    y_true = _array(y_true)
    y_pred = _array(y_pred)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    weights = None
    if sample_weight is not None:
        weights = _array(sample_weight)[..., None]
        _, weights = squeeze_or_expand_to_same_rank(y_true, weights, expand_rank_1=False)
    if top_k is not None:
        y_pred = _keep_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape. Received: "
                         f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}")
    w = np.ones(y_pred.shape, np.float32) if weights is None else \
        np.broadcast_to(weights, y_pred.shape)
    if label_weights is not None and not multi_label:
        w = w * np.broadcast_to(_array(label_weights), y_pred.shape)
    positive = y_true != 0
    if not multi_label:
        y_pred, positive, w = y_pred.reshape(-1), positive.reshape(-1), w.reshape(-1)
    t = np.asarray(thresholds, dtype=np.float32)
    grid = t.reshape((-1,) + (1,) * y_pred.ndim)
    if thresholds_evenly_spaced:
        # The prediction lies in bin b: above threshold j exactly when j <= b.
        p = np.clip(y_pred, 0.0, 1.0)
        bins = np.ceil(p * np.float32(t.size - 1)) - 1
        if t[0] < 0.0 or t[-1] > 1.0:  # end points moved out by epsilon: 0 passes the first
            bins = np.maximum(bins, 0)
        above = bins[None] >= np.arange(t.size, dtype=np.float32).reshape(grid.shape)
    else:
        above = y_pred[None] > grid
    w64 = w.astype(np.float64)
    pos_w, neg_w = np.where(positive, w64, 0.0), np.where(positive, 0.0, w64)
    tp = np.where(above, pos_w, 0.0).sum(axis=1)
    fp = np.where(above, neg_w, 0.0).sum(axis=1)
    fn = np.where(above, 0.0, pos_w).sum(axis=1)
    tn = np.where(above, 0.0, neg_w).sum(axis=1)
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


def _divide_no_nan(a: Any, b: Any) -> np.ndarray:
    """``a / b``, and 0 where ``b`` is 0."""
    b = np.asarray(b, dtype=np.float64)
    return np.where(b == 0, 0.0, np.asarray(a, np.float64) / np.where(b == 0, 1.0, b))


def _parse_thresholds(thresholds: Any, default: float) -> list[float]:
    if thresholds is not None:
        values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else \
            [thresholds]
        invalid = [t for t in values if t is None or t < 0 or t > 1]
        if invalid:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
        return values
    return [default]


def _result(values: np.ndarray, scalar: bool) -> Any:
    values = np.asarray(values, dtype=np.float32)
    return float(values[0]) if scalar else values


_COUNT_NAMES = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
                "fn": "false_negatives"}


class _CountsMetric(Metric):
    """A metric whose state is some of the four counts at ``self.thresholds``: one
    non-trainable :class:`~nablanet.keras_ops.Variable` per count, named as in Keras
    (``true_positives``, ...) and also an attribute of that name."""

    _counts: tuple[str, ...] = ("tp", "fp", "tn", "fn")
    thresholds: list[float]
    _evenly: bool

    def _init_state(self, shape: tuple[int, ...], names: dict[str, str] | None = None) -> None:
        names = names or _COUNT_NAMES
        self._state = {c: Variable(np.zeros(shape), dtype=self.dtype, trainable=False,
                                   name=names[c]) for c in self._counts}
        for c, variable in self._state.items():
            setattr(self, names[c], variable)

    def reset_state(self) -> None:
        for value in self._state.values():
            value.data[...] = 0

    @property
    def variables(self) -> list[Variable]:
        """The accumulators (one per count)."""
        return list(self._state.values())

    def _accumulate(self, y_true: Any, y_pred: Any, sample_weight: Any, **options: Any) -> None:
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight=sample_weight,
                                  thresholds_evenly_spaced=self._evenly, **options)
        for c in self._counts:
            self._state[c].assign_add(counts[c])

    def _count(self, c: str) -> np.ndarray:
        return self._state[c].data.astype(np.float64)


class _ConditionCount(_CountsMetric):
    """One of the four counts, at one or more thresholds (default 0.5)."""

    _condition = "tp"

    def __init__(self, thresholds: Any = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self._evenly = evenly_spaced(self.thresholds)
        self._counts = (self._condition,)
        self._init_state((len(self.thresholds),), {self._condition: "accumulator"})

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._accumulate(y_true, y_pred, sample_weight)

    def result(self) -> Any:
        return _result(self._count(self._condition), len(self.thresholds) == 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConditionCount):
    """The (weighted) number of positive labels predicted positive (``p > threshold``).

    Examples
    --------
    >>> m = TruePositives()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> m.result()
    2.0
    """

    _condition = "tp"


class FalsePositives(_ConditionCount):
    """The (weighted) number of negative labels predicted positive."""

    _condition = "fp"


class TrueNegatives(_ConditionCount):
    """The (weighted) number of negative labels predicted negative."""

    _condition = "tn"


class FalseNegatives(_ConditionCount):
    """The (weighted) number of positive labels predicted negative."""

    _condition = "fn"


class _PrecisionRecall(_CountsMetric):
    _direction = "up"  # higher is better (EarlyStopping mode="auto")

    def __init__(self, thresholds: Any = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = evenly_spaced(self.thresholds)
        self._init_state((len(self.thresholds),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._accumulate(y_true, y_pred, sample_weight, top_k=self.top_k,
                         class_id=self.class_id)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    r"""Precision :math:`TP / (TP + FP)` at each threshold (0 when nothing is predicted
    positive).

    Parameters
    ----------
    thresholds : float or list of float in [0, 1], optional
        0.5 by default (with ``top_k``: every kept prediction is positive).
    top_k : int, optional
        Only the ``k`` largest predictions of each row can be positive.
    class_id : int, optional
        Score one class (column) of multi-class predictions as a binary problem.

    Examples
    --------
    >>> m = Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(m.result(), 4)
    0.6667
    """

    _counts = ("tp", "fp")

    def result(self) -> Any:
        tp, fp = self._count("tp"), self._count("fp")
        return _result(_divide_no_nan(tp, tp + fp), len(self.thresholds) == 1)


class Recall(_PrecisionRecall):
    r"""Recall :math:`TP / (TP + FN)` at each threshold (0 when there are no positive labels).

    Arguments as :class:`Precision`.
    """

    _counts = ("tp", "fn")

    def result(self) -> Any:
        tp, fn = self._count("tp"), self._count("fn")
        return _result(_divide_no_nan(tp, tp + fn), len(self.thresholds) == 1)


class _AtConstraint(_CountsMetric):
    """Best value of one rate among the thresholds where another rate reaches ``value``."""

    _direction = "up"  # higher is better (EarlyStopping mode="auto")

    _constraint_name = "value"

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self._constraint_name}` must be in the range [0, 1]. "
                             f"Received: {self._constraint_name}={value}")
        if num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        super().__init__(name=name, dtype=dtype)
        self.value = value
        setattr(self, self._constraint_name, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            self.thresholds = [i / (num_thresholds - 1) for i in range(num_thresholds)]
        self._evenly = num_thresholds > 1
        self._init_state((len(self.thresholds),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._accumulate(y_true, y_pred, sample_weight, class_id=self.class_id)

    def _rates(self) -> dict[str, np.ndarray]:
        tp, fp, tn, fn = (self._count(c) for c in ("tp", "fp", "tn", "fn"))
        return {"recall": _divide_no_nan(tp, tp + fn),
                "specificity": _divide_no_nan(tn, tn + fp),
                "precision": _divide_no_nan(tp, tp + fp)}

    def _best(self, constrained: np.ndarray, dependent: np.ndarray) -> float:
        """The largest ``dependent`` where ``constrained >= value`` (0 when nowhere)."""
        feasible = constrained >= self.value
        return float(np.max(np.where(feasible, dependent, 0.0), initial=0.0))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                self._constraint_name: self.value, "class_id": self.class_id}


class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) among thresholds whose specificity
    :math:`TN / (TN + FP)` is at least ``specificity``."""

    _constraint_name = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        r = self._rates()
        return self._best(r["specificity"], r["recall"])


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity among thresholds whose sensitivity is at least ``sensitivity``."""

    _constraint_name = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        r = self._rates()
        return self._best(r["recall"], r["specificity"])


class PrecisionAtRecall(_AtConstraint):
    """The best precision among thresholds whose recall is at least ``recall``."""

    _constraint_name = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        r = self._rates()
        return self._best(r["recall"], r["precision"])


class RecallAtPrecision(_AtConstraint):
    """The best recall among thresholds whose precision is at least ``precision``."""

    _constraint_name = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        r = self._rates()
        return self._best(r["precision"], r["recall"])


class AUC(_CountsMetric):
    r"""Area under the ROC, precision-recall or PR-gain curve, from the counts at
    ``num_thresholds`` thresholds.

    Parameters
    ----------
    num_thresholds : int
        Thresholds :math:`-\epsilon, \tfrac1{T-1}, \dots, \tfrac{T-2}{T-1}, 1 + \epsilon`
        (200).
    curve : 'ROC', 'PR' or 'PRGAIN'
    summation_method : 'interpolation', 'minoring' or 'majoring'
    thresholds : list of float, optional
        Explicit thresholds in [0, 1] (``-ε`` and ``1 + ε`` are added; ``num_thresholds``
        is then ignored).
    multi_label : bool
        For rank-2 predictions: one curve per column, the AUCs averaged (weighted by
        ``label_weights`` when given). Otherwise every element is one prediction.
    num_labels : int, optional
        The number of columns, with ``multi_label`` (else read from the first batch).
    label_weights : list of float, optional
        Per-column weights (of the average with ``multi_label``, of the counts otherwise).
    from_logits : bool
        Apply the sigmoid to the predictions first.

    Examples
    --------
    >>> m = AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> round(m.result(), 4)
    0.75
    """

    _direction = "up"  # higher is better (EarlyStopping mode="auto")

    def __init__(self, num_thresholds: int = 200, curve: Any = "ROC",
                 summation_method: Any = "interpolation", name: str | None = None,
                 dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in _parse_thresholds(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_spaced([0.0, *inner, 1.0])
        else:
            if num_thresholds is None or num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - EPSILON, *inner, 1.0 + EPSILON]
        self.curve = curve if isinstance(curve, AUCCurve) else AUCCurve.from_str(curve)
        self.summation_method = summation_method if isinstance(
            summation_method, AUCSummationMethod) else AUCSummationMethod.from_str(
            summation_method)
        super().__init__(name=name or "auc", dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else \
            np.asarray(label_weights, dtype=np.float64)
        self._from_logits = from_logits
        self._state: dict[str, Variable] = {}
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        elif num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        else:
            self._build(None)

    @property
    def thresholds(self) -> list[float]:  # type: ignore[override]
        """The thresholds, end points included."""
        return list(self._thresholds)

    def _build(self, shape: Any) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError("`y_pred` must have rank 2 when `multi_label=True`. "
                                 f"Found rank {len(shape)}. Full shape received for "
                                 f"`y_pred`: {shape}")
            self._num_labels = shape[1]
            self._init_state((self.num_thresholds, shape[1]))
        else:
            self._init_state((self.num_thresholds,))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _array(y_pred)
        if not self._state:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = (1.0 / (1.0 + np.exp(-y_pred.astype(np.float64)))).astype(np.float32)
        self._accumulate(y_true, y_pred, sample_weight, multi_label=self.multi_label,
                         label_weights=None if self.multi_label else self.label_weights)

    def reset_state(self) -> None:
        if self._state:
            super().reset_state()

    def _average(self, by_threshold: np.ndarray) -> float:
        """Sum the area terms over thresholds; average the labels' areas (multi-label)."""
        if not self.multi_label:
            return float(by_threshold.sum())
        by_label = by_threshold.sum(axis=0)
        if self.label_weights is None:
            return float(by_label.mean())
        return float(_divide_no_nan(np.sum(by_label * self.label_weights),
                                    np.sum(self.label_weights)))

    def _interpolated_pr_area(self) -> float:
        r"""Davis & Goadrich's PR interpolation, in closed form.

        Between consecutive thresholds :math:`A, B`, TP and :math:`P = TP + FP` vary
        linearly, so precision is :math:`(TP_A + s (P - P_A)) / P` with slope
        :math:`s = \Delta TP / \Delta P`. Integrated over recall
        (:math:`dR = dTP / (TP + FN)`) the piece is

        .. math::

            \frac{s\,[\Delta TP + c \ln(P_A / P_B)]}{TP_B + FN_B}, \qquad c = TP_B - s P_B

        (with :math:`\ln` taken as 0 when either :math:`P` is 0).
        """
        tp, fp, fn = self._count("tp"), self._count("fp"), self._count("fn")
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        terms = _divide_no_nan(slope * (dtp + intercept * np.log(ratio)),
                               np.maximum(tp[1:] + fn[1:], 0))
        return self._average(terms)

    def result(self) -> float:
        if not self._state:
            return 0.0
        if self.curve is AUCCurve.PR and self.summation_method is \
                AUCSummationMethod.INTERPOLATION:
            return self._interpolated_pr_area()
        tp, fp, tn, fn = (self._count(c) for c in ("tp", "fp", "tn", "fn"))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve is AUCCurve.ROC:
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve is AUCCurve.PR:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:
            # Precision and recall gains (Flach & Kull, 2015), scaled by P/N; a threshold
            # with no true positive gets recall gain 0 and precision gain 1, and a negative
            # recall gain is raised to 0 (Keras's conventions).
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = np.where(tp == 0, 0.0, 1.0 - scale * _divide_no_nan(fn, tp))
            precision_gain = np.where(tp == 0, 1.0, 1.0 - scale * _divide_no_nan(fp, tp))
            x, y = np.maximum(recall_gain, 0.0), precision_gain
        if self.summation_method is AUCSummationMethod.INTERPOLATION:
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method is AUCSummationMethod.MINORING:
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(), "num_thresholds": self.num_thresholds,
            "curve": self.curve.value, "summation_method": self.summation_method.value,
            "multi_label": self.multi_label, "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else
            self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


class FBetaScore(Metric):
    r"""F-beta score :math:`(1 + \beta^2) \frac{P R}{\beta^2 P + R}` per class, or averaged.

    Predictions above ``threshold`` are positive; with ``threshold=None`` the largest
    prediction of each row is (ties included, values under 1e-9 excluded). ``average``:
    None (one score per class), ``'micro'`` (counts pooled over classes), ``'macro'`` (mean
    of the class scores) or ``'weighted'`` (mean weighted by each class's support). Inputs are
    ``(batch, classes)``.

    Examples
    --------
    >>> m = FBetaScore(beta=2.0, threshold=0.5)
    >>> m.update_state([[1, 1, 1], [1, 0, 0], [1, 1, 0]],
    ...                [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
    >>> np.round(m.result(), 4)
    array([0.3846, 0.9091, 0.8333], dtype=float32)
    """

    _direction = "up"  # higher is better (EarlyStopping mode="auto")

    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str = "fbeta_score",
                 dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: "
                             "{None, 'micro', 'macro', 'weighted'}. "
                             f"Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. "
                             f"Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python "
                                 f"float. Received: threshold={threshold} of type "
                                 f"'{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._state: dict[str, Variable] = {}

    def _build(self, true_shape: tuple[int, ...], pred_shape: tuple[int, ...]) -> None:
        if len(pred_shape) != 2 or len(true_shape) != 2:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={pred_shape} and "
                             f"y_true.shape={true_shape}.")
        if pred_shape[-1] is None or true_shape[-1] is None:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, output_dim), "
                             "with output_dim fully defined (not None). Received input shapes: "
                             f"y_pred.shape={pred_shape} and y_true.shape={true_shape}.")
        shape = () if self.average == "micro" else (pred_shape[-1],)
        self._state = {n: Variable(np.zeros(shape), dtype=self.dtype, trainable=False, name=n)
                       for n in ("true_positives", "false_positives", "false_negatives",
                                 "intermediate_weights")}
        for n, variable in self._state.items():
            setattr(self, n, variable)

    @property
    def variables(self) -> list[Variable]:
        """The accumulators, created at the first update (one value per class, or one)."""
        return list(self._state.values())

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = _array(y_true, np.float64)
        y_pred = _array(y_pred, np.float64)
        if not self._state:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            top = y_pred.max(axis=-1, keepdims=True)
            hard = (y_pred >= top) & (np.abs(y_pred) > 1e-9)
        else:
            hard = y_pred > self.threshold
        p = hard.astype(np.float64)
        w = None
        if sample_weight is not None:
            w = _array(sample_weight, np.float64)
            w = w.reshape(w.shape + (1,) * (y_true.ndim - w.ndim))

        def weighted_sum(values: np.ndarray) -> np.ndarray:
            return np.sum(values if w is None else values * w, axis=self.axis)

        self._state["true_positives"].assign_add(weighted_sum(p * y_true))
        self._state["false_positives"].assign_add(weighted_sum(p * (1 - y_true)))
        self._state["false_negatives"].assign_add(weighted_sum((1 - p) * y_true))
        self._state["intermediate_weights"].assign_add(weighted_sum(y_true))

    def result(self) -> Any:
        if not self._state:
            return 0.0
        s = {n: v.data.astype(np.float64) for n, v in self._state.items()}
        tp = s["true_positives"]
        precision = tp / (tp + s["false_positives"] + EPSILON)
        recall = tp / (tp + s["false_negatives"] + EPSILON)
        b2 = self.beta ** 2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            weights = s["intermediate_weights"] / (s["intermediate_weights"].sum() + EPSILON)
            return float(np.sum(score * weights))
        if self.average is not None:
            return float(np.mean(score))
        return np.asarray(score, dtype=np.float32)

    def reset_state(self) -> None:
        for value in self._state.values():
            value.data[...] = 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    r"""F1 score :math:`2 P R / (P + R)`: :class:`FBetaScore` with :math:`\beta = 1`."""

    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str = "f1_score", dtype: Any = None) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config


def _register() -> None:
    """Make these metrics part of :mod:`nablanet.metrics`: its namespace, ``__all__`` and the
    names ``metrics.get`` resolves (``'precision'``, ``'recall'``, ``'auc'``, ``'AUC'``, ...)."""
    classes = {name: globals()[name] for name in __all__}
    vars(_metrics).update(classes)
    _metrics.__all__ += [name for name in __all__ if name not in _metrics.__all__]
    metric_classes = {n: c for n, c in classes.items() if issubclass(c, Metric)}
    _metrics._CLASSES.update(metric_classes)
    _metrics._NAMES.update({
        "true_positives": TruePositives, "false_positives": FalsePositives,
        "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
        "precision": Precision, "recall": Recall, "auc": AUC, "f1_score": F1Score,
        "fbeta_score": FBetaScore,
    })


_register()
