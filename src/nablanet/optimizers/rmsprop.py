"""RMSProp (chapter §6.4; Hinton, 2012), with momentum and the centred variant."""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.optimizers.base import (
    LearningRate,
    Optimizer,
    check_decay_rate,
    check_non_negative,
)

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(
    param: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray,
    momentum_buffer: np.ndarray | None,
    average_gradient: np.ndarray | None,
    *,
    learning_rate: float,
    rho: float,
    momentum: float,
    epsilon: float,
) -> None:
    r"""One RMSProp step on arrays, in place.

    .. math::

        s_t &= \rho s_{t-1} + (1-\rho)\, g_t \odot g_t \\
        \bar g_t &= \rho \bar g_{t-1} + (1-\rho)\, g_t \quad\text{(centred only)} \\
        d_t &= \sqrt{s_t} + \epsilon \quad\text{or, centred,}\quad
            \sqrt{\max(s_t - \bar g_t \odot \bar g_t,\ 0)} + \epsilon \\
        u_t &= \eta\, g_t / d_t \\
        \theta_t &= \theta_{t-1} - u_t \quad\text{or, with momentum } \mu,\quad
            b_t = \mu b_{t-1} + u_t,\ \ \theta_t = \theta_{t-1} - b_t

    ``momentum_buffer`` (:math:`b`) is used when ``momentum > 0``, ``average_gradient``
    (:math:`\bar g`) when it is not ``None`` (centred).
    """
    velocity *= rho
    velocity += (1.0 - rho) * (grad * grad)
    if average_gradient is not None:
        average_gradient *= rho
        average_gradient += (1.0 - rho) * grad
        # the variance estimate; rounding can make it < 0
        variance = np.maximum(velocity - average_gradient * average_gradient, 0.0)
        denominator = np.sqrt(variance) + epsilon
    else:
        denominator = np.sqrt(velocity) + epsilon
    increment = grad / denominator * learning_rate  # u_t
    if momentum > 0 and momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += increment
        param -= momentum_buffer
    else:
        param -= increment


class RMSprop(Optimizer):
    r"""RMSProp optimizer (Keras's ``keras.optimizers.RMSprop`` arguments and defaults).

    .. math::

        s_t &= \rho\, s_{t-1} + (1-\rho)\, g_t \odot g_t \\
        \Delta\theta_t &= -\frac{\eta}{\epsilon + \sqrt{s_t}} \odot g_t \\
        \theta_t &= \theta_{t-1} + \Delta\theta_t

    (the corrected form of docs/errata.md: the chapter divides by :math:`\epsilon + s_t`, without
    the square root; :math:`\rho` is the chapter's :math:`\beta`). ``centered=True``
    (Graves, 2013) divides by :math:`\sqrt{s_t - \bar g_t^2} + \epsilon` with
    :math:`\bar g_t = \rho \bar g_{t-1} + (1-\rho) g_t`, an estimate of the gradient's
    variance instead of its second moment. ``momentum`` :math:`\mu > 0` accumulates the
    steps: :math:`b_t = \mu b_{t-1} - \Delta\theta_t`, :math:`\theta_t = \theta_{t-1} - b_t`.

    **Mapping.** ``torch.optim.RMSprop(lr=η, alpha=ρ, eps=ε, momentum=μ, centered=...)``
    computes the same :math:`s_t`, :math:`\bar g_t` and denominator (ε outside the root);
    its momentum buffer holds :math:`g_t / d_t` and the step is :math:`-\eta b_t`, which
    equals this form (η inside the buffer, as Keras) while η is constant. Keras puts
    :math:`\epsilon` inside the root, :math:`\sqrt{s_t + \epsilon}`; the two differ by a
    relative :math:`O(\epsilon / s_t)` while :math:`s_t \gg \epsilon`. nablanet clamps the
    centred variance at 0 against rounding (torch would produce NaN there).

    Parameters
    ----------
    learning_rate : float, LearningRateSchedule or callable
        Defaults to 0.001.
    rho : float
        Decay of the squared-gradient average, in [0, 1). Defaults to 0.9.
    momentum : float
        In [0, 1]. Defaults to 0.
    epsilon : float
        Defaults to 1e-7.
    centered : bool
        Defaults to False.
    **kwargs
        The arguments common to all optimizers (``weight_decay``, clipping, ``use_ema``,
        ``name``, ...): see :class:`~nablanet.optimizers.base.Optimizer`.

    Examples
    --------
    >>> import nablanet as nb
    >>> w = nb.tensor([1.0], requires_grad=True)
    >>> opt = RMSprop(learning_rate=0.1, rho=0.75, epsilon=0.0)
    >>> _ = opt.apply_gradients([(np.array([2.0]), w)])
    >>> w.data  # s = 0.25 * 4 = 1, step = 0.1 * 2 / 1
    array([0.8], dtype=float32)
    """

    _hyperparameters = ("rho", "momentum", "epsilon", "centered")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.rho = check_decay_rate("RMSprop", "rho", rho)
        self.momentum = check_decay_rate("RMSprop", "momentum", momentum, allow_one=True)
        self.epsilon = check_non_negative("RMSprop", "epsilon", epsilon)
        self.centered = bool(centered)

    def _make_slots(self, array: np.ndarray) -> dict[str, np.ndarray]:
        slots = {"velocity": np.zeros_like(array)}
        if self.momentum > 0:
            slots["momentum"] = np.zeros_like(array)
        if self.centered:
            slots["average_gradient"] = np.zeros_like(array)
        return slots

    def _update_step(
        self, grad: np.ndarray, param: np.ndarray, slots: dict[str, np.ndarray], lr: float
    ) -> None:
        rmsprop_update(param, grad, slots["velocity"], slots.get("momentum"),
                       slots.get("average_gradient"), learning_rate=lr, rho=self.rho,
                       momentum=self.momentum, epsilon=self.epsilon)
