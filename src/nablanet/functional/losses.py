"""Per-sample loss functions (Keras 3's ``keras.losses.*`` function forms), as composites.

Each takes ``(y_true, y_pred)`` and returns the unreduced loss with the last axis reduced
(one value per sample, or per time step for sequences). ``y_true`` may be an array or a
Tensor; ``y_pred`` a Tensor. Reductions and sample weights live in :mod:`nablanet.losses`.

The logits paths use the fused primitives of :mod:`nablanet.ops.losses`; the probability
paths clip predictions to :math:`[\\epsilon, 1-\\epsilon]`, :math:`\\epsilon = 10^{-7}`, as
Keras does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.ops.elementwise import abs as _abs
from nablanet.ops.elementwise import add, clip, log, mul, sub, where
from nablanet.ops.losses import (
    check_class_labels,
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
)
from nablanet.ops.reduction import mean as _mean
from nablanet.ops.reduction import sum as _sum
from nablanet.ops.shape import gather, squeeze

__all__ = [
    "EPSILON",
    "binary_crossentropy",
    "categorical_crossentropy",
    "huber",
    "mean_absolute_error",
    "mean_squared_error",
    "sparse_categorical_crossentropy",
]

#: Keras's fuzz factor for clipping probabilities.
EPSILON = 1e-7


def _tensor(x: Any, dtype: Any = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x), dtype=dtype)


def _target(y_true: Any, y_pred: Tensor) -> Any:
    """``y_true`` as a Tensor (it may need a gradient) or an array of y_pred's dtype."""
    if isinstance(y_true, Tensor):
        return y_true if y_true.dtype == y_pred.dtype else y_true.astype(y_pred.dtype)
    return np.asarray(y_true, dtype=y_pred.dtype)


def _check_same_shape(name: str, y_true: Any, y_pred: Tensor) -> None:
    if tuple(np.shape(y_true)) != y_pred.shape:
        try:
            np.broadcast_shapes(np.shape(y_true), y_pred.shape)
        except ValueError:
            raise ValueError(f"{name}: y_true of shape {tuple(np.shape(y_true))} and y_pred "
                             f"of shape {y_pred.shape} are incompatible") from None


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Tensor:
    r"""Cross-entropy of integer labels: :math:`\ell = -\log p_{y}`.

    ``from_logits=True`` uses the fused, stable :class:`~nablanet.ops.losses.
    SparseSoftmaxCrossEntropy`. Otherwise ``y_pred`` holds probabilities, clipped to
    :math:`[10^{-7}, 1 - 10^{-7}]`. ``y_true`` of shape ``y_pred.shape[:-1]`` (or with a
    trailing axis of 1). A label outside ``[0, n_classes)`` raises ValueError.
    """
    y_pred = _tensor(y_pred)
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError("sparse_categorical_crossentropy: only axis=-1 is supported. "
                         f"Received: axis={axis}")
    labels = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse_categorical_crossentropy: y_true of shape {labels.shape} "
                         f"does not match y_pred of shape {y_pred.shape} (expected y_true of "
                         f"shape {y_pred.shape[:-1]})")
    if from_logits:
        return sparse_softmax_cross_entropy_with_logits(y_pred, labels, ignore_class)
    n = y_pred.shape[-1]
    labels = check_class_labels(labels, n, ignore_class)
    keep = None
    if ignore_class is not None:
        keep = labels != ignore_class
        labels = np.where(keep, labels, 0)
    picked = squeeze(gather(y_pred, labels[..., None], axis=-1), -1)
    loss = -log(clip(picked, EPSILON, 1.0 - EPSILON))
    if keep is not None:
        loss = mul(loss, keep.astype(y_pred.dtype))
    return loss


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    r"""Cross-entropy of one-hot (or soft) targets: :math:`\ell = -\sum_j t_j \log p_j`.

    ``label_smoothing`` :math:`s` replaces :math:`t` by :math:`t(1-s) + s/C`. With
    ``from_logits=False`` the predictions are renormalised to sum to one and clipped to
    :math:`[10^{-7}, 1-10^{-7}]` (Keras).
    """
    y_pred = _tensor(y_pred)
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError(f"categorical_crossentropy: only axis=-1 is supported. "
                         f"Received: axis={axis}")
    target = _target(y_true, y_pred)
    if tuple(np.shape(target)) != y_pred.shape:
        raise ValueError(f"categorical_crossentropy: y_true of shape {tuple(np.shape(target))} "
                         f"and y_pred of shape {y_pred.shape} must have the same shape "
                         f"(integer labels need sparse_categorical_crossentropy)")
    if label_smoothing:
        n = y_pred.shape[-1]
        target = target * (1.0 - label_smoothing) + label_smoothing / n
    if from_logits:
        return softmax_cross_entropy_with_logits(y_pred, target)
    probs = y_pred / _sum(y_pred, axis=-1, keepdims=True)
    return -_sum(mul(target, log(clip(probs, EPSILON, 1.0 - EPSILON))), axis=-1)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    r"""Binary cross-entropy averaged over the last axis.

    .. math::

        \ell = -\frac1K \sum_k t_k \log p_k + (1 - t_k)\log(1 - p_k)

    ``from_logits=True``: :math:`p = \sigma(z)` through the fused stable
    :class:`~nablanet.ops.losses.SigmoidCrossEntropy`; otherwise ``y_pred`` is clipped to
    :math:`[\epsilon, 1-\epsilon]` and :math:`\epsilon` is added inside the logs (Keras).
    ``label_smoothing`` :math:`s`: :math:`t \to t(1-s) + s/2`.
    """
    y_pred = _tensor(y_pred)
    target = _target(y_true, y_pred)
    _check_same_shape("binary_crossentropy", target, y_pred)
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        per_element = sigmoid_cross_entropy_with_logits(y_pred, target)
    else:
        p = clip(y_pred, EPSILON, 1.0 - EPSILON)
        one = np.asarray(1.0, dtype=y_pred.dtype)
        per_element = -add(mul(target, log(p + EPSILON)),
                           mul(sub(one, target), log(sub(one + EPSILON, p))))
    return _mean(per_element, axis=axis)


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac1K\sum_k (y_k - \hat y_k)^2` over the last axis."""
    y_pred = _tensor(y_pred)
    target = _target(y_true, y_pred)
    _check_same_shape("mean_squared_error", target, y_pred)
    diff = sub(y_pred, target)
    return _mean(mul(diff, diff), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    r""":math:`\ell = \frac1K\sum_k |y_k - \hat y_k|` over the last axis."""
    y_pred = _tensor(y_pred)
    target = _target(y_true, y_pred)
    _check_same_shape("mean_absolute_error", target, y_pred)
    return _mean(_abs(sub(y_pred, target)), axis=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    r"""Huber loss averaged over the last axis, :math:`e = \hat y - y`:

    .. math::

        \ell = \begin{cases} \tfrac12 e^2 & |e| \le \delta \\
        \delta |e| - \tfrac12 \delta^2 & |e| > \delta \end{cases}
    """
    y_pred = _tensor(y_pred)
    target = _target(y_true, y_pred)
    _check_same_shape("huber", target, y_pred)
    err = sub(y_pred, target)
    abs_err = _abs(err)
    dtype = y_pred.dtype
    quadratic = mul(mul(err, err), np.asarray(0.5, dtype))
    linear = sub(mul(abs_err, np.asarray(delta, dtype)), np.asarray(0.5 * delta * delta, dtype))
    return _mean(where(abs_err.data <= delta, quadratic, linear), axis=-1)
