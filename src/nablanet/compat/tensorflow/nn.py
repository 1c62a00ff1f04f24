"""``tf.nn``: activations and the cross-entropies with TensorFlow's argument names.

A table over :mod:`nablanet.keras_ops.nn`; the cross-entropies take ``labels=`` and
``logits=`` (TensorFlow's order and names) and call the same primitives.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from nablanet import keras_ops as _k
from nablanet.autograd.tensor import Tensor as _Tensor
from nablanet.ops.losses import sigmoid_cross_entropy_with_logits as _sigmoid_xent

relu = _k.nn.relu
relu6 = _k.nn.relu6
sigmoid = _k.nn.sigmoid
tanh = _k.tanh
elu = _k.nn.elu
selu = _k.nn.selu
softplus = _k.nn.softplus
softsign = _k.nn.softsign
silu = _k.nn.silu
swish = _k.nn.silu
log_softmax = _k.nn.log_softmax
dropout = _k.random.dropout


def softmax(logits: Any, axis: int | None = None) -> _Tensor:
    """Softmax over ``axis`` (the last one when None, as in TensorFlow)."""
    return _k.nn.softmax(logits, -1 if axis is None else axis)


def leaky_relu(features: Any, alpha: float = 0.2) -> _Tensor:
    """:math:`x` for :math:`x > 0`, ``alpha`` :math:`x` otherwise."""
    return _k.nn.leaky_relu(features, alpha)


def gelu(features: Any, approximate: bool = False) -> _Tensor:
    """GELU; the exact form by default, as ``tf.nn.gelu``."""
    return _k.nn.gelu(features, approximate)


def sigmoid_cross_entropy_with_logits(labels: Any = None, logits: Any = None) -> _Tensor:
    """Element-wise binary cross-entropy of ``labels`` under :math:`\\sigma(\\text{logits})`."""
    logits = _k.convert_to_tensor(logits)
    target = _np.asarray(getattr(labels, "data", labels), dtype=logits.dtype)
    if target.shape != logits.shape:
        raise ValueError("sigmoid_cross_entropy_with_logits: logits and labels must have the "
                         f"same shape ({logits.shape} vs {target.shape})")
    return _sigmoid_xent(logits, labels if isinstance(labels, _Tensor) else target)


def softmax_cross_entropy_with_logits(labels: Any, logits: Any, axis: int = -1) -> _Tensor:
    """Per-sample cross-entropy of probability vectors ``labels`` under softmax(``logits``)."""
    return _k.nn.categorical_crossentropy(labels, logits, from_logits=True, axis=axis)


def sparse_softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None) -> _Tensor:
    """Per-sample cross-entropy of integer ``labels`` under softmax(``logits``)."""
    return _k.nn.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def l2_loss(t: Any) -> _Tensor:
    """:math:`\\tfrac12 \\sum t^2`."""
    return _k.sum(_k.square(t)) / 2.0


__all__ = [
    "dropout", "elu", "gelu", "l2_loss", "leaky_relu", "log_softmax", "relu", "relu6", "selu",
    "sigmoid", "sigmoid_cross_entropy_with_logits", "silu", "softmax",
    "softmax_cross_entropy_with_logits", "softplus", "softsign",
    "sparse_softmax_cross_entropy_with_logits", "swish", "tanh",
]
