"""Adadelta (chapter §6.5; Zeiler, 2012)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.optimizers.base import (
    LearningRate,
    Optimizer,
    check_decay_rate,
    check_non_negative,
)

__all__ = ["Adadelta", "adadelta_update"]


def adadelta_update(
    param: np.ndarray,
    grad: np.ndarray,
    accumulated_grad: np.ndarray,
    accumulated_delta: np.ndarray,
    *,
    learning_rate: float,
    rho: float,
    epsilon: float,
) -> None:
    r"""One Adadelta step on arrays, in place.

    .. math::

        s_t &= \rho s_{t-1} + (1-\rho)\, g_t \odot g_t \\
        u_t &= \frac{\sqrt{\delta_{t-1} + \epsilon}}{\sqrt{s_t + \epsilon}} \odot g_t \\
        \delta_t &= \rho \delta_{t-1} + (1-\rho)\, u_t \odot u_t \\
        \theta_t &= \theta_{t-1} - \eta\, u_t
    """
    accumulated_grad *= rho
    accumulated_grad += (1.0 - rho) * (grad * grad)
    update = np.sqrt(accumulated_delta + epsilon) / np.sqrt(accumulated_grad + epsilon) * grad
    accumulated_delta *= rho
    accumulated_delta += (1.0 - rho) * (update * update)
    param -= learning_rate * update


class Adadelta(Optimizer):
    r"""Adadelta optimizer (Keras's ``keras.optimizers.Adadelta`` arguments and defaults).

    Zeiler's (2012) algorithm, the corrected form of docs/errata.md (the chapter's
    :math:`\delta_t` is defined by itself and its step divides by :math:`\epsilon + s_t`):

    .. math::

        s_t &= \rho\, s_{t-1} + (1-\rho)\, g_t \odot g_t \\
        u_t &= \frac{\sqrt{\delta_{t-1} + \epsilon}}{\sqrt{s_t + \epsilon}} \odot g_t \\
        \delta_t &= \rho\, \delta_{t-1} + (1-\rho)\, u_t \odot u_t \\
        \theta_t &= \theta_{t-1} - \eta\, u_t

    with :math:`s_0 = \delta_0 = 0`. At :math:`\eta = 1` (the paper) :math:`\Delta\theta_t =
    -u_t` and this is ERRATA's row exactly. For :math:`\eta \ne 1`, :math:`\delta` accumulates
    the *unscaled* update :math:`u_t`, as both Keras and ``torch.optim.Adadelta`` do (ERRATA's
    row, read literally, would accumulate :math:`\eta u_t`; no framework does that).

    **Mapping.** ``torch.optim.Adadelta(lr=η, rho=ρ, eps=ε)`` and Keras's ``Adadelta`` both
    compute exactly this (ε inside both roots). Defaults differ: Keras (and nablanet)
    :math:`\eta = 0.001,\ \rho = 0.95,\ \epsilon = 10^{-7}`; torch :math:`\eta = 1,\
    \rho = 0.9,\ \epsilon = 10^{-6}`.

    Parameters
    ----------
    learning_rate : float, LearningRateSchedule or callable
        Defaults to 0.001 (use 1.0 for the paper's algorithm).
    rho : float
        Decay rate in [0, 1). Defaults to 0.95.
    epsilon : float
        Defaults to 1e-7.
    **kwargs
        The arguments common to all optimizers (``weight_decay``, clipping, ``use_ema``,
        ``name``, ...): see :class:`~nablanet.optimizers.base.Optimizer`.

    Examples
    --------
    >>> import nablanet as nb
    >>> w = nb.tensor([1.0], requires_grad=True)
    >>> opt = Adadelta(learning_rate=1.0, rho=0.0, epsilon=1.0)
    >>> _ = opt.apply_gradients([(np.array([3.0]), w)])
    >>> w.data.round(6)  # 1 - u, u = sqrt(0 + 1) / sqrt(9 + 1) * 3
    array([0.051317], dtype=float32)
    """

    _hyperparameters = ("rho", "epsilon")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.rho = check_decay_rate("Adadelta", "rho", rho)
        self.epsilon = check_non_negative("Adadelta", "epsilon", epsilon)

    def _make_slots(self, array: np.ndarray) -> dict[str, np.ndarray]:
        return {"accumulated_grad": np.zeros_like(array),
                "accumulated_delta_var": np.zeros_like(array)}

    def _update_step(
        self, grad: np.ndarray, param: np.ndarray, slots: dict[str, np.ndarray], lr: float
    ) -> None:
        adadelta_update(param, grad, slots["accumulated_grad"], slots["accumulated_delta_var"],
                        learning_rate=lr, rho=self.rho, epsilon=self.epsilon)
