"""Nadam: Adam with Nesterov momentum (Dozat, 2016), in Keras 3's form."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nablanet.optimizers.base import (
    LearningRate,
    Optimizer,
    check_decay_rate,
    check_non_negative,
)

__all__ = ["Nadam", "nadam_momentum", "nadam_update"]

_DECAY_BASE = 0.96  # Keras's (and torch's) momentum-schedule base


def nadam_momentum(beta_1: float, step: int) -> float:
    r""":math:`\mu_t = \beta_1 \left(1 - \tfrac12\, 0.96^{t}\right)` (Keras 3's schedule)."""
    return beta_1 * (1.0 - 0.5 * _DECAY_BASE**step)


def nadam_update(
    param: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    *,
    learning_rate: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    step: int,
    mu_product: float,
) -> None:
    r"""One Nadam step on arrays, in place; ``mu_product`` is :math:`\prod_{i \le t} \mu_i`.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t \odot g_t \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{\sqrt{v_t / (1-\beta_2^t)} + \epsilon}
        \left( \frac{(1-\mu_t)\, g_t}{1 - \prod_{i=1}^{t}\mu_i}
        + \frac{\mu_{t+1}\, m_t}{1 - \prod_{i=1}^{t+1}\mu_i} \right)
    """
    mu_t = nadam_momentum(beta_1, step)
    mu_next = nadam_momentum(beta_1, step + 1)
    m *= beta_1
    m += (1.0 - beta_1) * grad
    v *= beta_2
    v += (1.0 - beta_2) * (grad * grad)
    denominator = np.sqrt(v) * (1.0 / math.sqrt(1.0 - beta_2**step)) + epsilon
    param -= grad / denominator * (learning_rate * (1.0 - mu_t) / (1.0 - mu_product))
    param -= m / denominator * (learning_rate * mu_next / (1.0 - mu_product * mu_next))


class Nadam(Optimizer):
    r"""Nadam optimizer (Keras's ``keras.optimizers.Nadam`` arguments, defaults and update).

    Adam whose first moment takes a Nesterov look-ahead (Dozat, 2016), with Keras 3's momentum
    schedule :math:`\mu_t = \beta_1 (1 - \frac12 0.96^{t})`:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t \odot g_t \\
        \hat m_t &= \frac{\mu_{t+1}\, m_t}{1 - \prod_{i=1}^{t+1}\mu_i}
            + \frac{(1-\mu_t)\, g_t}{1 - \prod_{i=1}^{t}\mu_i}, \qquad
        \hat v_t = \frac{v_t}{1-\beta_2^t} \\
        \theta_t &= \theta_{t-1} - \frac{\eta\, \hat m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`t` = ``iterations + 1``. The product :math:`\prod_{i \le t}\mu_i` is
    optimizer state (``"u_product"`` in :meth:`get_state`).

    **Mapping.** ``torch.optim.NAdam(lr=η, betas=(β₁, β₂), eps=ε, momentum_decay=ψ)`` uses
    :math:`\mu_t = \beta_1 (1 - \frac12 0.96^{t\psi})` and otherwise the same update (ε outside
    the root, as here and in Keras). Keras 3 uses :math:`0.96^{t}`, i.e. ψ = 1; torch's
    default ψ = 0.004 (the paper's, and tf.keras 2's) warms the momentum up ~250× more
    slowly. So ``torch.optim.NAdam(..., momentum_decay=1.0)`` equals this optimizer. torch's
    ``weight_decay`` is L2 unless ``decoupled_weight_decay=True``; nablanet's is decoupled.

    Parameters
    ----------
    learning_rate : float, LearningRateSchedule or callable
        Defaults to 0.001.
    beta_1, beta_2 : float
        In [0, 1). Default 0.9 and 0.999.
    epsilon : float
        Defaults to 1e-7.
    **kwargs
        The arguments common to all optimizers (``weight_decay``, clipping, ``use_ema``,
        ``name``, ...): see :class:`~nablanet.optimizers.base.Optimizer`.

    Examples
    --------
    >>> import nablanet as nb
    >>> w = nb.tensor([1.0], requires_grad=True)
    >>> opt = Nadam(learning_rate=0.1)
    >>> _ = opt.apply_gradients([(np.array([2.0]), w)])
    >>> w.data.round(4)  # mu_1 = 0.468, mu_2 = 0.48528: step 0.1 * (1 + 0.1 * 0.48528 / 0.7729)
    array([0.8937], dtype=float32)
    """

    _hyperparameters = ("beta_1", "beta_2", "epsilon")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = check_decay_rate("Nadam", "beta_1", beta_1)
        self.beta_2 = check_decay_rate("Nadam", "beta_2", beta_2)
        self.epsilon = check_non_negative("Nadam", "epsilon", epsilon)
        # Keras keeps the product in the dtype of the first variable (floatx before any)
        from nablanet.config import floatx

        self._u_product = np.ones((), dtype=floatx())

    def _make_slots(self, array: np.ndarray) -> dict[str, np.ndarray]:
        if not self._variables and array.dtype.kind == "f":  # the first variable
            self._u_product = self._u_product.astype(array.dtype)
        return {"m": np.zeros_like(array), "v": np.zeros_like(array)}

    def _scalar_state(self) -> dict[str, float]:
        return {"u_product": float(self._u_product)}

    def _set_scalar_state(self, name: str, value: float) -> None:
        if name != "u_product":
            super()._set_scalar_state(name, value)
        self._u_product[...] = value

    def _before_update_steps(self, lr: float) -> None:
        self._u_product *= nadam_momentum(self.beta_1, self.iterations + 1)

    def _update_step(
        self, grad: np.ndarray, param: np.ndarray, slots: dict[str, np.ndarray], lr: float
    ) -> None:
        nadam_update(param, grad, slots["m"], slots["v"], learning_rate=lr, beta_1=self.beta_1,
                     beta_2=self.beta_2, epsilon=self.epsilon, step=self.iterations + 1,
                     mu_product=float(self._u_product))
