"""Per-sample loss functions (Keras 3's ``keras.losses.*`` function forms), as composites.

Each takes ``(y_true, y_pred)`` and returns the unreduced loss with the class/feature axis
reduced (one value per sample, or per time step for sequences). ``y_true`` may be an array
or a Tensor; ``y_pred`` a Tensor or an array (integer predictions are cast to float32).
Reductions and sample weights live in :mod:`nablanet.losses`.

Ranks are reconciled first, as Keras's ``squeeze_or_expand_to_same_rank`` does (see
:func:`squeeze_or_expand_to_same_rank`): targets of shape ``(N,)`` against predictions of
shape ``(N, 1)`` become ``(N, 1)``. After that the two shapes must be equal; nothing is
broadcast (``(N,)`` minus ``(N, 1)`` would otherwise silently give ``(N, N)``).

The logits paths use the fused primitives of :mod:`nablanet.ops.losses`; the probability
paths clip predictions to :math:`[\\epsilon, 1-\\epsilon]`, :math:`\\epsilon = 10^{-7}`, and
then take the logarithm, as Keras does.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.functional.activations import softplus
from nablanet.ops.elementwise import abs as _abs
from nablanet.ops.elementwise import clip, log, maximum, mul, sigmoid, sqrt, where
from nablanet.ops.losses import (
    check_class_labels,
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
)
from nablanet.ops.reduction import max as _max
from nablanet.ops.reduction import mean as _mean
from nablanet.ops.reduction import sum as _sum
from nablanet.ops.shape import expand_dims, gather, squeeze, transpose
from nablanet.ops.softmax import softmax

__all__ = [
    "EPSILON",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "dice",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "squeeze_or_expand_to_same_rank",
    "tversky",
]

#: Keras's fuzz factor for clipping probabilities.
EPSILON = 1e-7


def _tensor(x: Any) -> Tensor:
    """``x`` as a floating Tensor (float32 unless it already is a floating Tensor)."""
    if isinstance(x, Tensor):
        return x if x.dtype.kind == "f" else x.astype(np.float32)
    array = np.asarray(x)
    return Tensor(array if array.dtype.kind == "f" else array.astype(np.float32))


def _target(y_true: Any, y_pred: Tensor) -> Any:
    """``y_true`` as a Tensor (it may need a gradient) or an array of y_pred's dtype."""
    if isinstance(y_true, Tensor):
        return y_true if y_true.dtype == y_pred.dtype else y_true.astype(y_pred.dtype)
    return np.asarray(y_true, dtype=y_pred.dtype)


def _expand_last(x: Any) -> Any:
    return expand_dims(x, -1) if isinstance(x, Tensor) else np.expand_dims(x, -1)


def _squeeze_last(x: Any) -> Any:
    return squeeze(x, -1) if isinstance(x, Tensor) else np.squeeze(x, -1)


def squeeze_or_expand_to_same_rank(x1: Any, x2: Any, expand_rank_1: bool = True
                                   ) -> tuple[Any, Any]:
    """Make the ranks of ``x1`` and ``x2`` equal when they differ by one (Keras's rule).

    When one has one axis more and that last axis has size 1, it is squeezed away -- except
    that a rank-1 partner is given a trailing axis instead (``expand_rank_1``): ``(N,)``
    against ``(N, 1)`` gives ``(N, 1)`` and ``(N, 1)``. Any other pair is returned as is.
    Works on arrays and Tensors.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = squeeze_or_expand_to_same_rank(np.zeros(4), np.zeros((4, 1)))
    >>> a.shape, b.shape
    ((4, 1), (4, 1))
    >>> a, b = squeeze_or_expand_to_same_rank(np.zeros((2, 3)), np.zeros((2, 3, 1)))
    >>> a.shape, b.shape
    ((2, 3), (2, 3))
    """
    shape1, shape2 = tuple(np.shape(x1)), tuple(np.shape(x2))
    rank1, rank2 = len(shape1), len(shape2)
    if rank1 == rank2 + 1 and shape1[-1] == 1:
        if rank2 == 1 and expand_rank_1:
            x2 = _expand_last(x2)
        else:
            x1 = _squeeze_last(x1)
    if rank2 == rank1 + 1 and shape2[-1] == 1:
        if rank1 == 1 and expand_rank_1:
            x1 = _expand_last(x1)
        else:
            x2 = _squeeze_last(x2)
    return x1, x2


def _pair(name: str, y_true: Any, y_pred: Any, broadcast: bool = True
          ) -> tuple[Any, Tensor]:
    """Targets and predictions with reconciled ranks (Keras's rule), then equal shapes -- or,
    with ``broadcast`` (the regression losses, as in Keras), shapes of equal rank that NumPy
    broadcasts, such as ``(N, 1)`` targets against ``(N, 3)`` predictions. Anything else is a
    ValueError; a rank-1 target is never broadcast against a rank-2 prediction."""
    y_pred = _tensor(y_pred)
    target = _target(y_true, y_pred)
    target, y_pred = squeeze_or_expand_to_same_rank(target, y_pred)
    t_shape = tuple(np.shape(target))
    if t_shape != y_pred.shape:
        broadcastable = broadcast and len(t_shape) == len(y_pred.shape)
        if broadcastable:
            try:
                np.broadcast_shapes(t_shape, y_pred.shape)
            except ValueError:
                broadcastable = False
        if not broadcastable:
            raise ValueError(
                f"{name}: arguments `y_true` and `y_pred` must have the same shape (after a "
                f"trailing axis of size 1 is added or removed"
                f"{', or shapes of equal rank that broadcast' if broadcast else ''}). "
                f"Received: y_true.shape={tuple(np.shape(y_true))}, "
                f"y_pred.shape={y_pred.shape}"
            )
    return target, y_pred


def _axis(axis: int, ndim: int, name: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of range for y_pred of rank {ndim}. "
                         f"Received: axis={axis}")
    return axis % ndim


def _move_to_last(x: Any, axis: int) -> Any:
    """``x`` with ``axis`` moved to the end (a no-op for the last axis)."""
    ndim = len(np.shape(x))
    if axis == ndim - 1:
        return x
    order = [a for a in range(ndim) if a != axis] + [axis]
    return transpose(x, order) if isinstance(x, Tensor) else np.transpose(x, order)


def _warn_one_class(name: str, y_pred: Tensor, axis: int) -> None:
    if y_pred.shape[axis] == 1:
        warnings.warn(
            f"In loss {name}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={y_pred.shape}. Consider using "
            "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=3)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Tensor:
    r"""Cross-entropy of integer labels: :math:`\ell = -\log p_{y}`.

    ``y_pred`` holds one score per class along ``axis``; ``y_true`` has ``y_pred``'s shape
    without that axis (or with it of size 1). ``from_logits=True`` uses the fused, stable
    :class:`~nablanet.ops.losses.SparseSoftmaxCrossEntropy`. Otherwise ``y_pred`` holds
    probabilities: they are renormalised to sum to one along ``axis``, clipped to
    :math:`[10^{-7}, 1 - 10^{-7}]` and then logged (Keras). A label outside
    ``[0, n_classes)`` raises ValueError; so does a one-hot ``y_true`` (use
    :func:`categorical_crossentropy`).
    """
    y_pred = _tensor(y_pred)
    axis = _axis(axis, y_pred.ndim, "sparse_categorical_crossentropy")
    labels = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
        labels = np.squeeze(labels, axis)
    expected = y_pred.shape[:axis] + y_pred.shape[axis + 1:]
    if labels.shape != expected:
        hint = ""
        if labels.shape == y_pred.shape:
            hint = (" y_true looks one-hot encoded (it has y_pred's shape): use "
                    "CategoricalCrossentropy / 'categorical_crossentropy' for one-hot "
                    "targets, or pass integer class indices.")
        raise ValueError(
            f"sparse_categorical_crossentropy: y_true must hold one integer class index per "
            f"sample, of shape {expected} (or with a trailing axis of 1). Received: "
            f"y_true.shape={labels.shape}, y_pred.shape={y_pred.shape}.{hint}"
        )
    y_pred = _move_to_last(y_pred, axis)
    if from_logits:
        return sparse_softmax_cross_entropy_with_logits(y_pred, labels, ignore_class)
    n = y_pred.shape[-1]
    labels = check_class_labels(labels, n, ignore_class)
    keep = None
    if ignore_class is not None:
        keep = labels != ignore_class
        labels = np.where(keep, labels, 0)
    probs = y_pred / _sum(y_pred, axis=-1, keepdims=True)
    picked = squeeze(gather(probs, labels[..., None], axis=-1), -1)
    loss = -log(clip(picked, EPSILON, 1.0 - EPSILON))
    if keep is not None:
        loss = mul(loss, keep.astype(y_pred.dtype))
    return loss


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    r"""Cross-entropy of one-hot (or soft) targets along ``axis``:
    :math:`\ell = -\sum_j t_j \log p_j`.

    ``label_smoothing`` :math:`s` replaces :math:`t` by :math:`t(1-s) + s/C`. With
    ``from_logits=False`` the predictions are renormalised to sum to one along ``axis``,
    clipped to :math:`[10^{-7}, 1-10^{-7}]` and then logged (Keras). A class axis of size 1
    warns (SyntaxWarning) as in Keras.
    """
    y_pred = _tensor(y_pred)
    target = _target(y_true, y_pred)
    if tuple(np.shape(target)) != y_pred.shape:
        raise ValueError(
            "categorical_crossentropy: arguments `y_true` and `y_pred` must have the same "
            f"shape. Received: y_true.shape={tuple(np.shape(target))}, "
            f"y_pred.shape={y_pred.shape} (integer labels need "
            "sparse_categorical_crossentropy)")
    axis = _axis(axis, y_pred.ndim, "categorical_crossentropy")
    _warn_one_class("categorical_crossentropy", y_pred, axis)
    if label_smoothing:
        n = y_pred.shape[axis]
        target = target * (1.0 - label_smoothing) + label_smoothing / n
    if from_logits:
        return softmax_cross_entropy_with_logits(_move_to_last(y_pred, axis),
                                                 _move_to_last(target, axis))
    probs = y_pred / _sum(y_pred, axis=axis, keepdims=True)
    return -_sum(mul(target, log(clip(probs, EPSILON, 1.0 - EPSILON))), axis=axis)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    r"""Binary cross-entropy averaged over ``axis``.

    .. math::

        \ell = -\frac1K \sum_k t_k \log p_k + (1 - t_k)\log(1 - p_k)

    ``from_logits=True``: :math:`p = \sigma(z)` through the fused stable
    :class:`~nablanet.ops.losses.SigmoidCrossEntropy`; otherwise ``y_pred`` is clipped to
    :math:`[\epsilon, 1-\epsilon]` and then logged (Keras).
    ``label_smoothing`` :math:`s`: :math:`t \to t(1-s) + s/2`.
    """
    target, y_pred = _pair("binary_crossentropy", y_true, y_pred, broadcast=False)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        per_element = sigmoid_cross_entropy_with_logits(y_pred, target)
    else:
        p = clip(y_pred, EPSILON, 1.0 - EPSILON)
        per_element = -(mul(target, log(p)) + mul(1.0 - target, log(1.0 - p)))
    return _mean(per_element, axis=axis)


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac1K\sum_k (y_k - \hat y_k)^2` over the last axis."""
    target, y_pred = _pair("mean_squared_error", y_true, y_pred)
    diff = y_pred - target
    return _mean(diff * diff, axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac1K\sum_k |y_k - \hat y_k|` over the last axis."""
    target, y_pred = _pair("mean_absolute_error", y_true, y_pred)
    return _mean(_abs(y_pred - target), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac{100}K\sum_k |y_k - \hat y_k| / \max(|y_k|, \epsilon)`."""
    target, y_pred = _pair("mean_absolute_percentage_error", y_true, y_pred)
    scale = np.maximum(np.abs(getattr(target, "data", target)), EPSILON).astype(y_pred.dtype)
    return _mean(_abs(y_pred - target) / scale, axis=-1) * 100.0


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac1K\sum_k (\log(1 + \max(\hat y_k, \epsilon)) -
    \log(1 + \max(y_k, \epsilon)))^2`."""
    target, y_pred = _pair("mean_squared_logarithmic_error", y_true, y_pred)
    diff = log(maximum(y_pred, EPSILON) + 1.0) - log(maximum(target, EPSILON) + 1.0)
    return _mean(diff * diff, axis=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    r"""Huber loss averaged over the last axis, :math:`e = \hat y - y`:

    .. math::

        \ell = \begin{cases} \tfrac12 e^2 & |e| \le \delta \\
        \delta |e| - \tfrac12 \delta^2 & |e| > \delta \end{cases}
    """
    target, y_pred = _pair("huber", y_true, y_pred)
    err = y_pred - target
    abs_err = _abs(err)
    quadratic = err * err * 0.5
    linear = abs_err * delta - 0.5 * delta * delta
    return _mean(where(abs_err.data <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac1K\sum_k \log\cosh(\hat y_k - y_k)`, computed stably as
    :math:`e + \operatorname{softplus}(-2e) - \log 2`."""
    target, y_pred = _pair("log_cosh", y_true, y_pred)
    err = y_pred - target
    return _mean(err + softplus(err * -2.0) - float(np.log(2.0)), axis=-1)


def _hinge_labels(target: Any) -> Any:
    """Labels in {0, 1} become {-1, 1} (Keras); other labels are used as given."""
    values = np.asarray(getattr(target, "data", target))
    if np.all((values == 0) | (values == 1)):
        return target * 2.0 - 1.0
    return target


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac1K\sum_k \max(1 - y_k \hat y_k, 0)`, labels in {-1, 1}
    (labels in {0, 1} are mapped to {-1, 1})."""
    target, y_pred = _pair("hinge", y_true, y_pred)
    return _mean(maximum(1.0 - mul(_hinge_labels(target), y_pred), 0.0), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac1K\sum_k \max(1 - y_k \hat y_k, 0)^2` (labels as in :func:`hinge`)."""
    target, y_pred = _pair("squared_hinge", y_true, y_pred)
    margin = maximum(1.0 - mul(_hinge_labels(target), y_pred), 0.0)
    return _mean(margin * margin, axis=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \max(\max_j (1 - t_j)\hat y_j - \sum_j t_j \hat y_j + 1, 0)` for
    one-hot targets :math:`t`."""
    target, y_pred = _pair("categorical_hinge", y_true, y_pred)
    positive = _sum(mul(target, y_pred), axis=-1)
    negative = _max(mul(1.0 - target, y_pred), axis=-1)
    return maximum(negative - positive + 1.0, 0.0)


def _l2_normalize(x: Any, axis: int) -> Any:
    if isinstance(x, Tensor):
        return x / sqrt(maximum(_sum(x * x, axis=axis, keepdims=True), 1e-12))
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), 1e-12))


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    r""":math:`\ell = -\sum_k \hat t_k \hat p_k` with both vectors L2-normalised along
    ``axis`` (so -1 for identical directions, 0 for orthogonal ones or a zero vector)."""
    target, y_pred = _pair("cosine_similarity", y_true, y_pred)
    return -_sum(mul(_l2_normalize(target, axis), _l2_normalize(y_pred, axis)), axis=axis)


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \sum_k t_k \log(t_k / p_k)`, both clipped to :math:`[\epsilon, 1]`."""
    target, y_pred = _pair("kl_divergence", y_true, y_pred)
    target = clip(target, EPSILON, 1.0) if isinstance(target, Tensor) else np.clip(
        target, EPSILON, 1.0)
    return _sum(mul(target, log(target / clip(y_pred, EPSILON, 1.0))), axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac1K\sum_k \hat y_k - y_k \log(\hat y_k + \epsilon)`."""
    target, y_pred = _pair("poisson", y_true, y_pred)
    return _mean(y_pred - mul(target, log(y_pred + EPSILON)), axis=-1)


def binary_focal_crossentropy(y_true: Any, y_pred: Any, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0,
                              from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> Tensor:
    r"""Binary cross-entropy down-weighting easy examples (Lin et al., 2017), mean over
    ``axis``:

    .. math::

        \ell = \frac1K \sum_k w_k (1 - p_{t,k})^\gamma \,\mathrm{bce}(t_k, p_k), \qquad
        p_t = t p + (1 - t)(1 - p)

    with :math:`w = \alpha t + (1 - \alpha)(1 - t)` when ``apply_class_balancing`` (else 1).
    Logits go through a sigmoid first; probabilities are clipped to
    :math:`[\epsilon, 1 - \epsilon]` inside the cross-entropy (Keras).
    """
    target, y_pred = _pair("binary_focal_crossentropy", y_true, y_pred,
                           broadcast=False)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = sigmoid(y_pred) if from_logits else y_pred
    clipped = clip(p, EPSILON, 1.0 - EPSILON)
    bce = -(mul(target, log(clipped)) + mul(1.0 - target, log(1.0 - clipped)))
    p_t = mul(target, p) + mul(1.0 - target, 1.0 - p)
    focal = mul((1.0 - p_t) ** gamma, bce)
    if apply_class_balancing:
        focal = mul(target * alpha + (1.0 - target) * (1.0 - alpha), focal)
    return _mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true: Any, y_pred: Any, alpha: float = 0.25,
                                   gamma: float = 2.0, from_logits: bool = False,
                                   label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    r"""Categorical cross-entropy with each class term scaled by
    :math:`\alpha (1 - p_j)^\gamma` (Lin et al., 2017):
    :math:`\ell = -\sum_j \alpha (1 - p_j)^\gamma t_j \log p_j`, the probabilities
    renormalised along ``axis`` and clipped as in :func:`categorical_crossentropy`.
    """
    y_pred = _tensor(y_pred)
    target = _target(y_true, y_pred)
    if tuple(np.shape(target)) != y_pred.shape:
        raise ValueError(
            "categorical_focal_crossentropy: arguments `y_true` and `y_pred` must have the "
            f"same shape. Received: y_true.shape={tuple(np.shape(target))}, "
            f"y_pred.shape={y_pred.shape}")
    axis = _axis(axis, y_pred.ndim, "categorical_focal_crossentropy")
    _warn_one_class("categorical_focal_crossentropy", y_pred, axis)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    probs = softmax(y_pred, axis=axis) if from_logits else y_pred
    probs = clip(probs / _sum(probs, axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    weight = ((1.0 - probs) ** gamma) * alpha
    return -_sum(mul(weight, mul(target, log(probs))), axis=axis)


def dice(y_true: Any, y_pred: Any, axis: Any = None) -> Tensor:
    r"""Dice loss :math:`1 - 2\sum t p / (\sum t + \sum p + \epsilon)`, the sums over
    ``axis`` (all axes when None: one value for the batch)."""
    y_pred = _tensor(y_pred)
    target = _target(y_true, y_pred)
    intersection = _sum(mul(target, y_pred), axis=axis)
    denominator = _sum(target, axis=axis) + _sum(y_pred, axis=axis) + EPSILON
    return 1.0 - (intersection * 2.0) / denominator


def tversky(y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5,
            axis: Any = None) -> Tensor:
    r"""Tversky loss :math:`1 - TP / (TP + \alpha FP + \beta FN + \epsilon)` with soft
    counts :math:`TP = \sum t p`, :math:`FP = \sum (1 - t) p`, :math:`FN = \sum t (1 - p)`
    over ``axis`` (Salehi et al., 2017); ``alpha = beta = 0.5`` is the Dice loss."""
    y_pred = _tensor(y_pred)
    target = _target(y_true, y_pred)
    true_pos = _sum(mul(target, y_pred), axis=axis)
    false_pos = _sum(mul(1.0 - target, y_pred), axis=axis)
    false_neg = _sum(mul(target, 1.0 - y_pred), axis=axis)
    return 1.0 - true_pos / (true_pos + false_pos * alpha + false_neg * beta + EPSILON)
