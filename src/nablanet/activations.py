"""Activation functions by name (Keras 3's ``keras.activations``), chapter §4.

Layers accept ``activation='relu'`` (a name), a function of this module, or any callable
mapping a Tensor to a Tensor. :func:`get` resolves those; :func:`serialize` gives the name
that a layer's config stores.

Names: ``relu``, ``leaky_relu``, ``abs_relu`` (the chapter's absolute-value rectification,
eq. 8 with α = −1), ``relu6``, ``sigmoid``, ``hard_sigmoid``, ``tanh``, ``softmax``,
``log_softmax``, ``linear``, ``elu``, ``selu``, ``gelu``, ``softplus``, ``softsign``,
``swish``/``silu``, ``exponential``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nablanet.autograd.tensor import Tensor
from nablanet.functional import activations as F
from nablanet.ops.softmax import log_softmax as _log_softmax
from nablanet.ops.softmax import softmax as _softmax

__all__ = [
    "abs_relu", "deserialize", "elu", "exponential", "gelu", "get", "hard_sigmoid",
    "leaky_relu", "linear", "log_softmax", "relu", "relu6", "selu", "serialize", "sigmoid",
    "silu", "softmax", "softplus", "softsign", "swish", "tanh",
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


def softmax(x: Any, axis: int = -1) -> Tensor:
    r""":math:`e^{z_i} / \sum_j e^{z_j}` along ``axis`` (one primitive)."""
    return _softmax(F._tensor(x), axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    r""":math:`z_i - \log\sum_j e^{z_j}` along ``axis``."""
    return _log_softmax(F._tensor(x), axis=axis)


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

_BY_NAME: dict[str, Callable[..., Tensor]] = {
    "relu": relu, "leaky_relu": leaky_relu, "abs_relu": abs_relu, "relu6": relu6,
    "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid, "tanh": tanh, "softmax": softmax,
    "log_softmax": log_softmax, "linear": linear, "elu": elu, "selu": selu, "gelu": gelu,
    "softplus": softplus, "softsign": softsign, "swish": swish, "silu": silu,
    "exponential": exponential,
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
