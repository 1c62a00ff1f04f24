"""``keras.ops.nn``: activations, ``one_hot`` and the cross-entropies as Keras's ops have them.

The activations are :mod:`nablanet.functional`'s composites and :mod:`nablanet.ops`'s
primitives under Keras's names and defaults (``gelu`` is the tanh approximation by default
here, as ``keras.ops.gelu``; the ``keras.activations.gelu`` default is the exact form). The
cross-entropies return one value per element (binary) or per sample (categorical), unreduced,
as ``keras.ops.binary_crossentropy`` etc. do; the losses in :mod:`nablanet.losses` reduce them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet import functional as _F
from nablanet import ops as _ops
from nablanet.autograd.tensor import Tensor
from nablanet.keras_ops.numpy import _float
from nablanet.ops.losses import sigmoid_cross_entropy_with_logits

__all__ = [
    "binary_crossentropy", "categorical_crossentropy", "elu", "gelu", "hard_sigmoid",
    "hard_silu", "hard_swish", "leaky_relu", "log_sigmoid", "log_softmax", "one_hot", "relu",
    "relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "softsign",
    "sparse_categorical_crossentropy", "swish",
]

#: Keras's ``backend.epsilon()``: probabilities are clipped to ``[ε, 1 − ε]`` before the log.
EPSILON = 1e-7


def relu(x: Any) -> Tensor:
    r""":math:`\max(x, 0)`."""
    return _ops.relu(_float(x))


def relu6(x: Any) -> Tensor:
    r""":math:`\min(\max(x, 0), 6)`."""
    return _F.relu6(_float(x))


def sigmoid(x: Any) -> Tensor:
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`."""
    return _ops.sigmoid(_float(x))


def softplus(x: Any) -> Tensor:
    r""":math:`\ln(1 + e^x)`, computed stably."""
    return _F.softplus(_float(x))


def softsign(x: Any) -> Tensor:
    r""":math:`x / (1 + |x|)`."""
    return _F.softsign(_float(x))


def silu(x: Any) -> Tensor:
    r""":math:`x\,\sigma(x)` (``swish`` is the same function)."""
    return _F.silu(_float(x))


swish = silu


def log_sigmoid(x: Any) -> Tensor:
    r""":math:`\ln\sigma(x) = -\operatorname{softplus}(-x)`."""
    return -_F.softplus(-_float(x))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    r""":math:`x` for :math:`x > 0`, :math:`\alpha x` otherwise."""
    return _F.leaky_relu(_float(x), negative_slope)


def hard_sigmoid(x: Any) -> Tensor:
    r""":math:`\operatorname{relu6}(x + 3) / 6`."""
    return _F.hard_sigmoid(_float(x))


def hard_silu(x: Any) -> Tensor:
    r""":math:`x \cdot \operatorname{hard\_sigmoid}(x)` (``hard_swish`` is the same)."""
    x = _float(x)
    return x * _F.hard_sigmoid(x)


hard_swish = hard_silu


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    r""":math:`x` for :math:`x > 0`, :math:`\alpha(e^x - 1)` otherwise."""
    return _F.elu(_float(x), alpha)


def selu(x: Any) -> Tensor:
    r""":math:`\lambda\,\operatorname{elu}(x, \alpha)` with Klambauer et al.'s constants."""
    return _F.selu(_float(x))


def gelu(x: Any, approximate: bool = True) -> Tensor:
    r"""GELU :math:`x\,\Phi(x)`; by default the tanh approximation, as ``keras.ops.gelu``."""
    return _F.gelu(_float(x), approximate=approximate)


def softmax(x: Any, axis: Any = -1) -> Tensor:
    r""":math:`e^{x_i} / \sum_j e^{x_j}` over ``axis`` (an int, a tuple, or None for all)."""
    return _ops.softmax(_float(x), axis)


def log_softmax(x: Any, axis: Any = -1) -> Tensor:
    r""":math:`x_i - \ln\sum_j e^{x_j}` over ``axis`` (an int, a tuple, or None for all)."""
    return _ops.log_softmax(_float(x), axis)


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None,
            sparse: bool = False) -> Tensor:
    """Integer labels as one-hot vectors along a new axis ``axis`` (float32 unless ``dtype``
    is given); a label outside ``[0, num_classes)`` (e.g. -1) gives an all-zero vector."""
    if sparse:
        raise ValueError("one_hot: nablanet has no sparse tensors. Received: sparse=True")
    labels = np.asarray(x.data if isinstance(x, Tensor) else x)
    hot = labels[..., None] == np.arange(int(num_classes))
    return Tensor(np.moveaxis(hot, -1, axis).astype(np.float32 if dtype is None else dtype))


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Tensor:
    r"""Element-wise :math:`-[t \ln p + (1 - t)\ln(1 - p)]`.

    From probabilities, :math:`p` is first clipped to :math:`[\epsilon, 1 - \epsilon]`; from
    logits, :math:`p = \sigma(z)` is never formed (the stable primitive is used).
    """
    output = _float(output)
    target = np.asarray(target.data if isinstance(target, Tensor) else target, output.dtype)
    if from_logits:
        return sigmoid_cross_entropy_with_logits(output, target)
    p = _ops.clip(output, EPSILON, 1.0 - EPSILON)
    return -(target * _ops.log(p) + (1.0 - target) * _ops.log(1.0 - p))


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                             axis: int = -1) -> Tensor:
    r"""Per-sample :math:`-\sum_k t_k \ln p_k` over ``axis``.

    From probabilities, :math:`p` is renormalised to sum to 1 along ``axis`` and clipped to
    :math:`[\epsilon, 1 - \epsilon]`; from logits, :math:`\ln p` is the log-softmax.
    """
    output = _float(output)
    target = np.asarray(target.data if isinstance(target, Tensor) else target, output.dtype)
    if target.shape != output.shape:
        raise ValueError("categorical_crossentropy: arguments `target` and `output` must have "
                         f"the same shape. Received: target.shape={target.shape}, "
                         f"output.shape={output.shape}")
    if from_logits:
        log_p = _ops.log_softmax(output, axis)
    else:
        p = output / _ops.sum(output, axis, keepdims=True)
        log_p = _ops.log(_ops.clip(p, EPSILON, 1.0 - EPSILON))
    return -_ops.sum(target * log_p, axis)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                                    axis: int = -1) -> Tensor:
    """:func:`categorical_crossentropy` with integer class labels ``target``."""
    output = _float(output)
    labels = np.asarray(target.data if isinstance(target, Tensor) else target)
    if labels.ndim == output.ndim and labels.shape[axis] == 1:
        labels = np.squeeze(labels, axis)
    hot = one_hot(labels.astype(np.int64), output.shape[axis], axis=axis, dtype=output.dtype)
    return categorical_crossentropy(hot, output, from_logits, axis)
