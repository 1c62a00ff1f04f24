"""Fused loss primitives: softmax cross-entropy and sigmoid cross-entropy on logits.

Both return *per-sample* losses (no reduction), so reductions and sample weights are
composites on top (:mod:`nablanet.losses`). Fusing the normalisation with the log-likelihood
keeps them numerically stable for any logits and makes the backward pass one expression.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor
from nablanet.ops.softmax import log_softmax_array

__all__ = [
    "SigmoidCrossEntropy",
    "SoftmaxCrossEntropy",
    "SparseSoftmaxCrossEntropy",
    "check_class_labels",
    "sigmoid_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits",
]


def check_class_labels(labels: Any, num_classes: int, ignore_class: int | None = None,
                       where: str = "sparse_categorical_crossentropy") -> np.ndarray:
    """``labels`` as an int64 array, after checking each is an integer in [0, num_classes).

    Raises ValueError naming the offending label and the number of classes (never a silent
    NaN). ``ignore_class`` entries are allowed anywhere.
    """
    labels = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if labels.dtype.kind == "b" or labels.dtype.kind not in "iuf":
        raise ValueError(f"{where}: labels must be integer class indices; got dtype "
                         f"{labels.dtype}")
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.round(labels))
        if bad.any():
            raise ValueError(f"{where}: labels must be integer class indices; got "
                             f"{labels[bad].flat[0]!r}")
        labels = labels.astype(np.int64)
    else:
        labels = labels.astype(np.int64, copy=False)
    valid = labels if ignore_class is None else labels[labels != ignore_class]
    if valid.size:
        low, high = valid.min(), valid.max()
        if low < 0 or high >= num_classes:
            bad_label = int(low if low < 0 else high)
            raise ValueError(
                f"{where}: received a label value of {bad_label}, which is outside the valid "
                f"range [0, {num_classes}) for {num_classes} classes"
            )
    return labels


class SparseSoftmaxCrossEntropy(Function):
    r"""Cross-entropy of integer labels under softmax of logits, per sample.

    For logits :math:`z \in \mathbb R^{\dots \times C}` and labels :math:`y`:

    .. math::

        \ell = -\log \operatorname{softmax}(z)_y = \log\sum_j e^{z_j} - z_y,
        \qquad \frac{\partial \ell}{\partial z} = \operatorname{softmax}(z) - \mathrm{onehot}(y)

    Labels equal to ``ignore_class`` give loss 0 and gradient 0. Labels are checked by
    :func:`check_class_labels` (out-of-range raises ValueError).
    """

    __slots__ = ("probs", "labels", "keep")

    def forward(self, logits: np.ndarray, labels: Any = None,
                ignore_class: int | None = None) -> np.ndarray:
        n = logits.shape[-1]
        labels = check_class_labels(labels, n, ignore_class)
        if labels.shape != logits.shape[:-1]:
            raise ValueError(f"sparse_categorical_crossentropy: labels of shape {labels.shape} "
                             f"do not match logits of shape {logits.shape}")
        keep = None
        if ignore_class is not None:
            keep = labels != ignore_class
            labels = np.where(keep, labels, 0)
        logp = log_softmax_array(logits)
        loss = -np.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]
        if keep is not None:
            loss = loss * keep
        self.probs, self.labels, self.keep = np.exp(logp), labels, keep
        return loss

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        classes = self.probs.shape[-1]
        onehot = self.labels[..., None] == np.arange(classes)
        scale = grad if self.keep is None else grad * self.keep
        return (self.probs - onehot) * scale[..., None], None


class SoftmaxCrossEntropy(Function):
    r"""Cross-entropy of target distributions :math:`t` under softmax of logits, per sample.

    .. math::

        \ell = -\sum_j t_j \log \operatorname{softmax}(z)_j, \qquad
        \frac{\partial \ell}{\partial z} = \operatorname{softmax}(z) \textstyle\sum_j t_j - t,
        \qquad \frac{\partial \ell}{\partial t} = -\log\operatorname{softmax}(z)
    """

    __slots__ = ("probs", "logp", "target")

    def forward(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        target = np.asarray(target, dtype=logits.dtype)
        if target.shape != logits.shape:
            raise ValueError(f"categorical_crossentropy: targets of shape {target.shape} do "
                             f"not match predictions of shape {logits.shape}")
        logp = log_softmax_array(logits)
        self.probs, self.logp, self.target = np.exp(logp), logp, target
        return -(target * logp).sum(axis=-1)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        g = grad[..., None]
        gz = gt = None
        if self.needs_input_grad[0]:
            gz = (self.probs * self.target.sum(axis=-1, keepdims=True) - self.target) * g
        if self.needs_input_grad[1]:
            gt = -self.logp * g
        return gz, gt


class SigmoidCrossEntropy(Function):
    r"""Element-wise binary cross-entropy of targets :math:`t` under :math:`\sigma(z)`.

    .. math::

        \ell = \max(z, 0) - z t + \log(1 + e^{-|z|}), \qquad
        \frac{\partial \ell}{\partial z} = \sigma(z) - t, \qquad
        \frac{\partial \ell}{\partial t} = -z
    """

    __slots__ = ("z", "target")

    def forward(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        target = np.asarray(target, dtype=logits.dtype)
        self.z, self.target = logits, target
        return np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        gz = gt = None
        if self.needs_input_grad[0]:
            e = np.exp(-np.abs(self.z))
            sig = np.where(self.z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(self.z.dtype)
            gz = (sig - self.target) * grad
        if self.needs_input_grad[1]:
            gt = -self.z * grad
        return gz, gt


def sparse_softmax_cross_entropy_with_logits(logits: Any, labels: Any,
                                             ignore_class: int | None = None) -> Tensor:
    """Per-sample :class:`SparseSoftmaxCrossEntropy` (labels: integer array, not differentiated)."""
    if isinstance(labels, Tensor):
        labels = labels.data
    return SparseSoftmaxCrossEntropy.apply(logits, labels=labels, ignore_class=ignore_class)


def softmax_cross_entropy_with_logits(logits: Any, target: Any) -> Tensor:
    """Per-sample :class:`SoftmaxCrossEntropy` over the last axis."""
    return SoftmaxCrossEntropy.apply(logits, target)


def sigmoid_cross_entropy_with_logits(logits: Any, target: Any) -> Tensor:
    """Element-wise :class:`SigmoidCrossEntropy`."""
    return SigmoidCrossEntropy.apply(logits, target)
