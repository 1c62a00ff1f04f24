"""Activation functions as composites of primitives (chapter §4.1, §4.2; no backward here).

Every function takes a Tensor (or array) and returns a Tensor; gradients come from the
primitives they are written with. ``relu``, ``sigmoid``, ``tanh`` and ``softmax`` are
primitives themselves (:mod:`nablanet.ops`) and are re-exported.

The chapter's generalised rectifier (eq. 8)

.. math::

    a(z, \\alpha)_i = \\max(0, z_i) + \\alpha_i \\min(0, z_i)

covers ReLU (α = 0), absolute-value rectification (α = −1), leaky ReLU (small fixed α > 0)
and PReLU (learned α): :func:`generalized_relu` takes α as a number, an array or a Tensor
(then α gets a gradient).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.ops.elementwise import abs as _abs
from nablanet.ops.elementwise import (
    exp,
    log,
    minimum,
    mul,
    relu,
    sigmoid,
    tanh,
    where,
)
from nablanet.ops.softmax import log_softmax, softmax

__all__ = [
    "abs_relu",
    "elu",
    "exponential",
    "gelu",
    "generalized_relu",
    "hard_sigmoid",
    "leaky_relu",
    "linear",
    "log_softmax",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _const(x: Tensor, value: float) -> np.ndarray:
    """A scalar of ``x``'s dtype (keeps float32 graphs in float32)."""
    return np.asarray(value, dtype=x.dtype)


def linear(x: Any) -> Tensor:
    """The identity :math:`a(z) = z`."""
    return _tensor(x)


def generalized_relu(x: Any, alpha: Any) -> Tensor:
    r"""The chapter's generalised rectifier :math:`\max(0, z) + \alpha \min(0, z)` (eq. 8).

    ``alpha`` may be a number, an array broadcasting against ``x``, or a Tensor (a learned
    slope, which then receives the gradient :math:`\sum \bar a \min(0, z)`). Computed as
    ``where(z > 0, z, α z)``: two primitives. The derivative at :math:`z = 0` is taken as α.

    Examples
    --------
    >>> generalized_relu(Tensor([-2.0, 3.0]), -1.0).tolist()   # |z|
    [2.0, 3.0]
    """
    x = _tensor(x)
    if not isinstance(alpha, Tensor):
        alpha = np.asarray(alpha, dtype=x.dtype)
    return where(x.data > 0, x, mul(x, alpha))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    r"""Leaky ReLU :math:`\max(0, z) + \alpha \min(0, z)` with fixed small :math:`\alpha > 0`.

    The default slope 0.2 is Keras's ``activations.leaky_relu``; the ``LeakyReLU`` layer's
    default is 0.3.
    """
    return generalized_relu(x, negative_slope)


def abs_relu(x: Any) -> Tensor:
    r"""Absolute-value rectification: eq. 8 with :math:`\alpha = -1`, i.e. :math:`|z|`."""
    return _abs(_tensor(x))


def relu6(x: Any) -> Tensor:
    r""":math:`\min(\max(0, z), 6)`."""
    x = _tensor(x)
    return minimum(relu(x), _const(x, 6.0))


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    r"""ELU: :math:`z` for :math:`z > 0`, :math:`\alpha (e^{z} - 1)` otherwise.

    The exponential is taken of :math:`\min(z, 0)` so large positive inputs cannot overflow
    (and turn the unused branch's gradient into NaN).
    """
    x = _tensor(x)
    negative = (exp(minimum(x, _const(x, 0.0))) - 1.0) * alpha
    return where(x.data > 0, x, negative)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x: Any) -> Tensor:
    r"""SELU: :math:`\lambda\,\mathrm{elu}(z, \alpha)` with Klambauer et al.'s constants."""
    x = _tensor(x)
    return elu(x, _SELU_ALPHA) * _SELU_SCALE


def softplus(x: Any) -> Tensor:
    r"""Softplus :math:`\log(1 + e^{z})`, computed stably as
    :math:`\max(z, 0) + \log(1 + e^{-|z|})`."""
    x = _tensor(x)
    return relu(x) + log(exp(-_abs(x)) + 1.0)


def softsign(x: Any) -> Tensor:
    r""":math:`z / (1 + |z|)`."""
    x = _tensor(x)
    return x / (_abs(x) + 1.0)


def swish(x: Any, beta: float = 1.0) -> Tensor:
    r"""Swish / SiLU: :math:`z\,\sigma(\beta z)` (Ramachandran et al., 2017)."""
    x = _tensor(x)
    if beta == 1.0:
        return x * sigmoid(x)
    return x * sigmoid(x * beta)


silu = swish


def hard_sigmoid(x: Any) -> Tensor:
    r"""Keras 3's hard sigmoid :math:`\mathrm{relu6}(z + 3) / 6`."""
    x = _tensor(x)
    return relu6(x + 3.0) * (1.0 / 6.0)


def exponential(x: Any) -> Tensor:
    r""":math:`e^{z}`."""
    return exp(_tensor(x))


# Abramowitz & Stegun 7.1.26: |erf error| < 1.5e-7, below float32 resolution near 1.
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: Tensor) -> Tensor:
    r""":math:`\operatorname{erf}(z)` as a composite (A&S 7.1.26, error < 1.5e-7)."""
    ax = _abs(x)
    t = 1.0 / (ax * _AS_P + 1.0)
    poly = t * _AS_A[4]
    for a in _AS_A[3::-1]:
        poly = (poly + a) * t
    y = 1.0 - poly * exp(-(x * x))
    return where(x.data >= 0, y, -y)


def gelu(x: Any, approximate: bool = False) -> Tensor:
    r"""GELU (Hendrycks & Gimpel):
    :math:`z\,\Phi(z) = \tfrac{z}{2}(1 + \operatorname{erf}(z/\sqrt2))`.

    ``approximate=True`` uses the tanh form
    :math:`\tfrac{z}{2}(1 + \tanh(\sqrt{2/\pi}(z + 0.044715 z^3)))`. The exact form's erf is
    a composite of primitives accurate to 1.5e-7 (Abramowitz & Stegun 7.1.26).
    Keras and PyTorch default to the exact form.
    """
    x = _tensor(x)
    half_x = x * 0.5
    if approximate:
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return half_x * (tanh(inner) + 1.0)
    return half_x * (_erf(x * (1.0 / math.sqrt(2.0))) + 1.0)


_ = log_softmax, softmax  # re-exported
