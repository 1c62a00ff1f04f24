"""Activation functions by name (Keras 3's ``keras.activations``), chapter §4.

Layers accept ``activation='relu'`` (a name), a function of this module, or any callable
mapping a Tensor to a Tensor. :func:`get` resolves those; :func:`serialize` gives the name
that a layer's config stores.

Names: ``relu``, ``leaky_relu``, ``abs_relu`` (the chapter's absolute-value rectification,
eq. 8 with α = −1), ``relu6``, ``sigmoid``, ``hard_sigmoid``, ``tanh``, ``softmax``,
``log_softmax``, ``linear``, ``elu``, ``selu``, ``gelu``, ``softplus``, ``softsign``,
``swish``/``silu``, ``exponential``, and the rest of Keras 3's: ``celu``, ``glu``,
``hard_silu``/``hard_swish``, ``hard_tanh``, ``hard_shrink``, ``soft_shrink``,
``tanh_shrink``, ``threshold``, ``squareplus``, ``sparse_plus``, ``sparse_sigmoid``,
``log_sigmoid``, ``mish``, ``sparsemax``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nablanet import ops
from nablanet.autograd.tensor import Tensor
from nablanet.functional import activations as F
from nablanet.ops.softmax import log_softmax as _log_softmax
from nablanet.ops.softmax import softmax as _softmax

__all__ = [
    "abs_relu", "celu", "deserialize", "elu", "exponential", "gelu", "get", "glu",
    "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "leaky_relu",
    "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu", "serialize",
    "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus",
    "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink", "threshold",
]


def relu(x: Any, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> Tensor:
    r"""Rectified linear unit :math:`\max(0, z)` (chapter eq. 7), with Keras's options.

    ``negative_slope`` gives :math:`\alpha z` below ``threshold``, ``max_value`` caps the
    output. With the defaults this is the single ``relu`` primitive.
    """
    x = F._tensor(x)
    if threshold != 0.0:
        below = F.mul(x - F._const(x, threshold), F._const(x, negative_slope))
        out = F.where(x.data > threshold, x, below)
    elif negative_slope:
        out = F.generalized_relu(x, negative_slope)
    else:
        out = F.relu(x)
    if max_value is not None:
        out = F.minimum(out, F._const(x, max_value))
    return out


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    r""":math:`\max(0, z) + \alpha\min(0, z)`, α = ``negative_slope`` (Keras default 0.2)."""
    return F.leaky_relu(x, negative_slope)


def abs_relu(x: Any) -> Tensor:
    r"""Absolute-value rectification :math:`\max(0,z) - \min(0,z) = |z|` (eq. 8, α = −1)."""
    return F.abs_relu(x)


def softmax(x: Any, axis: int | tuple[int, ...] = -1) -> Tensor:
    r""":math:`e^{z_i} / \sum_j e^{z_j}` along ``axis`` (one primitive); a tuple of axes
    normalises over all of them, :math:`\exp(z - \operatorname{logsumexp}_{axes} z)`."""
    x = F._tensor(x)
    if isinstance(axis, (tuple, list)):
        if len(axis) != 1:
            return ops.exp(x - ops.logsumexp(x, axis=tuple(axis), keepdims=True))
        axis = axis[0]
    return _softmax(x, axis=axis)


def log_softmax(x: Any, axis: int | tuple[int, ...] = -1) -> Tensor:
    r""":math:`z_i - \log\sum_j e^{z_j}` along ``axis`` (or a tuple of axes)."""
    x = F._tensor(x)
    if isinstance(axis, (tuple, list)):
        if len(axis) != 1:
            return x - ops.logsumexp(x, axis=tuple(axis), keepdims=True)
        axis = axis[0]
    return _log_softmax(x, axis=axis)


def sigmoid(x: Any) -> Tensor:
    r""":math:`\sigma(z) = 1 / (1 + e^{-z})` (chapter eq. 9)."""
    return F.sigmoid(F._tensor(x))


def tanh(x: Any) -> Tensor:
    r""":math:`\tanh z` (chapter eq. 10)."""
    return F.tanh(F._tensor(x))


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    r""":math:`z` if :math:`z>0` else :math:`\alpha(e^z - 1)`."""
    return F.elu(x, alpha)


def gelu(x: Any, approximate: bool = False) -> Tensor:
    r""":math:`z\,\Phi(z)` (exact by default; ``approximate=True`` for the tanh form)."""
    return F.gelu(x, approximate)


def swish(x: Any) -> Tensor:
    r""":math:`z\,\sigma(z)`."""
    return F.swish(x)


silu = swish
linear = F.linear
relu6 = F.relu6
selu = F.selu
softplus = F.softplus
softsign = F.softsign
hard_sigmoid = F.hard_sigmoid
exponential = F.exponential


def celu(x: Any, alpha: float = 1.0) -> Tensor:
    r"""CELU: :math:`z` for :math:`z \ge 0`, :math:`\alpha(e^{z/\alpha} - 1)` otherwise."""
    x = F._tensor(x)
    negative = (ops.exp(ops.minimum(x, F._const(x, 0.0)) / F._const(x, alpha))
                - F._const(x, 1.0)) * F._const(x, alpha)
    return ops.where(x.data >= 0, x, negative)


def glu(x: Any, axis: int = -1) -> Tensor:
    r"""Gated linear unit: split ``x`` in halves :math:`a, b` along ``axis``,
    :math:`a \odot \sigma(b)`."""
    x = F._tensor(x)
    if x.shape[axis] % 2:
        raise ValueError("glu: the size of the split axis must be even. "
                         f"Received: x.shape={x.shape}, axis={axis}")
    a, b = ops.split(x, 2, axis=axis)
    return a * sigmoid(b)


def hard_silu(x: Any) -> Tensor:
    r"""Hard SiLU / hard swish: :math:`z\,\mathrm{relu6}(z + 3) / 6`."""
    x = F._tensor(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x: Any) -> Tensor:
    r""":math:`\max(-1, \min(1, z))`."""
    x = F._tensor(x)
    return ops.maximum(ops.minimum(x, F._const(x, 1.0)), F._const(x, -1.0))


def hard_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    r""":math:`z` where :math:`|z| > t`, else 0."""
    x = F._tensor(x)
    return ops.where(np.abs(x.data) > threshold, x, F._const(x, 0.0))


def soft_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    r""":math:`z - t` above :math:`t`, :math:`z + t` below :math:`-t`, else 0."""
    x = F._tensor(x)
    t = F._const(x, threshold)
    return ops.where(x.data > threshold, x - t,
                     ops.where(x.data < -threshold, x + t, F._const(x, 0.0)))


def tanh_shrink(x: Any) -> Tensor:
    r""":math:`z - \tanh z`."""
    x = F._tensor(x)
    return x - tanh(x)


def threshold(x: Any, threshold: float, default_value: float) -> Tensor:
    r""":math:`z` where :math:`z > t`, else ``default_value``."""
    x = F._tensor(x)
    return ops.where(x.data > threshold, x, F._const(x, default_value))


def squareplus(x: Any, b: float = 4) -> Tensor:
    r"""Squareplus :math:`(z + \sqrt{z^2 + b}) / 2` (a smooth ReLU; ``b`` >= 0)."""
    if b < 0:
        raise ValueError(f"squareplus: b must be non-negative. Received: b={b}")
    x = F._tensor(x)
    return (x + ops.sqrt(x * x + F._const(x, b))) * F._const(x, 0.5)


def sparse_plus(x: Any) -> Tensor:
    r"""0 for :math:`z \le -1`, :math:`z` for :math:`z \ge 1`, :math:`(z+1)^2/4` between."""
    x = F._tensor(x)
    one = F._const(x, 1.0)
    middle = (x + one) * (x + one) * F._const(x, 0.25)
    return ops.where(x.data <= -1, F._const(x, 0.0), ops.where(x.data >= 1, x, middle))


def sparse_sigmoid(x: Any) -> Tensor:
    r"""0 for :math:`z \le -1`, 1 for :math:`z \ge 1`, :math:`(z+1)/2` between."""
    x = F._tensor(x)
    middle = (x + F._const(x, 1.0)) * F._const(x, 0.5)
    return ops.where(x.data <= -1, F._const(x, 0.0),
                     ops.where(x.data >= 1, F._const(x, 1.0), middle))


def log_sigmoid(x: Any) -> Tensor:
    r""":math:`\log\sigma(z) = -\mathrm{softplus}(-z)`."""
    x = F._tensor(x)
    return -softplus(-x)


def mish(x: Any) -> Tensor:
    r"""Mish (Misra, 2019): :math:`z \tanh(\mathrm{softplus}(z))`."""
    x = F._tensor(x)
    return x * tanh(softplus(x))


def sparsemax(x: Any, axis: int = -1) -> Tensor:
    r"""Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of ``x`` onto the
    probability simplex along ``axis``, :math:`\max(z - \tau(z), 0)`.

    With :math:`z_{(1)} \ge z_{(2)} \ge \dots` sorted, the support size is
    :math:`k = \max\{j : 1 + j z_{(j)} > \sum_{i \le j} z_{(i)}\}` and
    :math:`\tau = (\sum_{i \le k} z_{(i)} - 1) / k`. The support is found on the values;
    :math:`\tau` is then computed from ``x`` through it, so the gradient is exact.
    """
    x = F._tensor(x)
    values = x.data
    ranked = -np.sort(-values, axis=axis)
    shape = [1] * values.ndim
    shape[axis] = values.shape[axis]
    j = np.arange(1, values.shape[axis] + 1, dtype=values.dtype).reshape(shape)
    in_support = 1 + j * ranked > np.cumsum(ranked, axis=axis)
    k = np.sum(in_support, axis=axis, keepdims=True).astype(values.dtype)
    tau_threshold = np.take_along_axis(ranked, k.astype(np.int64) - 1, axis=axis)
    support = (values >= tau_threshold).astype(values.dtype)
    tau = (ops.sum(x * support, axis=axis, keepdims=True) - F._const(x, 1.0)) / k
    return ops.relu(x - tau)


_BY_NAME: dict[str, Callable[..., Tensor]] = {
    "relu": relu, "leaky_relu": leaky_relu, "abs_relu": abs_relu, "relu6": relu6,
    "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "linear": linear, "elu": elu, "selu": selu, "gelu": gelu,
    "softplus": softplus, "softsign": softsign, "swish": swish, "silu": silu,
    "exponential": exponential, "celu": celu, "glu": glu, "hard_silu": hard_silu,
    "hard_swish": hard_swish, "hard_tanh": hard_tanh, "hard_shrink": hard_shrink,
    "soft_shrink": soft_shrink, "tanh_shrink": tanh_shrink, "threshold": threshold,
    "squareplus": squareplus, "sparse_plus": sparse_plus, "sparse_sigmoid": sparse_sigmoid,
    "log_sigmoid": log_sigmoid, "mish": mish, "sparsemax": sparsemax,
}
_ALIASES = {"absolute": "abs_relu", "absolute_value": "abs_relu", "abs": "abs_relu",
            "leakyrelu": "leaky_relu", "identity": "linear"}


def get(identifier: Any) -> Callable[..., Tensor]:
    """Resolve ``identifier``: None (→ ``linear``), a name, or a callable.

    Examples
    --------
    >>> get('relu') is relu
    True
    >>> get(None) is linear
    True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        key = identifier.lower()
        key = _ALIASES.get(key, key)
        if key not in _BY_NAME:
            raise ValueError(f"Unknown activation function: {identifier!r}. Valid names: "
                             f"{sorted(_BY_NAME)}")
        return _BY_NAME[key]
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation: Callable[..., Any] | None) -> str:
    """The name of a built-in activation (as stored in layer configs)."""
    if activation is None:
        return "linear"
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    fn_name = getattr(activation, "__name__", None)
    if isinstance(fn_name, str) and fn_name in _BY_NAME:
        return fn_name  # e.g. nablanet.functional.relu
    raise ValueError(f"Cannot serialize activation {activation!r}: only the built-in "
                     f"activations ({sorted(_BY_NAME)}) can be saved by name.")


def deserialize(config: Any) -> Callable[..., Tensor]:
    """The activation named by ``config`` (a name, or ``{'class_name': name}``)."""
    if isinstance(config, dict):
        config = config.get("config", config.get("class_name"))
    return get(config)
