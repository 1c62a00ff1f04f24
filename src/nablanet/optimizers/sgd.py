"""Stochastic gradient descent with momentum and Nesterov momentum (chapter §6, §6.1, §6.2)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.optimizers.base import LearningRate, Optimizer, check_decay_rate

__all__ = ["SGD", "sgd_update"]


def sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray | None,
    *,
    learning_rate: float,
    momentum: float = 0.0,
    nesterov: bool = False,
) -> None:
    r"""One SGD step on arrays, in place (Sutskever/Keras form of momentum).

    .. math::

        \text{plain:}\quad & \theta_t = \theta_{t-1} - \eta g_t \\
        \text{momentum:}\quad & m_t = \beta m_{t-1} - \eta g_t,\qquad
            \theta_t = \theta_{t-1} + m_t \\
        \text{Nesterov:}\quad & m_t = \beta m_{t-1} - \eta g_t,\qquad
            \theta_t = \theta_{t-1} + \beta m_t - \eta g_t

    ``velocity`` is :math:`m` (ignored, may be ``None``, when ``momentum == 0``).
    """
    scaled_grad = learning_rate * grad  # η g_t
    if momentum == 0.0 or velocity is None:
        param -= scaled_grad
        return
    velocity *= momentum
    velocity -= scaled_grad  # m_t = β m_{t-1} - η g_t
    if nesterov:
        param -= scaled_grad
        param += momentum * velocity
    else:
        param += velocity


class SGD(Optimizer):
    r"""Gradient descent (with momentum) optimizer, Keras's ``keras.optimizers.SGD``.

    With :math:`g_t` the gradient at :math:`\theta_{t-1}`, :math:`\eta` the learning rate and
    :math:`\beta` the momentum:

    .. math::

        \text{plain:}\quad & \theta_t = \theta_{t-1} - \eta g_t \\
        \text{momentum (§6.1):}\quad & m_t = \beta m_{t-1} - \eta g_t,\qquad
            \theta_t = \theta_{t-1} + m_t \\
        \text{Nesterov (§6.2):}\quad & m_t = \beta m_{t-1} - \eta g_t,\qquad
            \theta_t = \theta_{t-1} + \beta m_t - \eta g_t

    with :math:`m_0 = 0`. These are the corrected forms of docs/errata.md: the chapter's first
    momentum form uses :math:`g_{t-1}` where the gradient at :math:`\theta_{t-1}` (here
    :math:`g_t`) is meant, and its Nesterov form (gradient at the look-ahead point
    :math:`\theta + \beta m`) is rewritten in the equivalent form every framework uses, which
    needs only the gradient at the current parameters.

    **Mapping.** Keras's ``SGD`` computes exactly this (Sutskever et al., 2013, with the
    learning rate inside the velocity). ``torch.optim.SGD(lr=η, momentum=β, nesterov=...,
    dampening=0)`` keeps :math:`b_t = \beta b_{t-1} + g_t` and steps
    :math:`\theta_t = \theta_{t-1} - \eta b_t` (Nesterov: :math:`-\eta(g_t + \beta b_t)`); with a
    constant :math:`\eta`, :math:`m_t = -\eta b_t` and the trajectories are identical. When
    :math:`\eta` changes during training they differ: here a new :math:`\eta` scales only new
    gradients, in torch it rescales the whole accumulated velocity. torch's ``weight_decay``
    is an L2 term added to the gradient; nablanet's (Keras's) is decoupled.

    Parameters
    ----------
    learning_rate : float, LearningRateSchedule or callable
        Defaults to 0.01.
    momentum : float
        :math:`\beta \in [0, 1]`; 0 (the default) is plain SGD.
    nesterov : bool
        Use Nesterov momentum.
    **kwargs
        ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``: see
        :class:`~nablanet.optimizers.base.Optimizer`.

    Examples
    --------
    >>> import nablanet as nb
    >>> w = nb.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    >>> _ = opt.apply_gradients([(np.array([1.0, 1.0]), w)])
    >>> _ = opt.apply_gradients([(np.array([1.0, 1.0]), w)])
    >>> w.data  # m_1 = -0.1, m_2 = 0.9 * m_1 - 0.1 = -0.19
    array([ 0.71, -2.29], dtype=float32)
    """

    _hyperparameters = ("momentum", "nesterov")

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.momentum = check_decay_rate("SGD", "momentum", momentum, allow_one=True)
        self.nesterov = bool(nesterov)

    def _make_slots(self, array: np.ndarray) -> dict[str, np.ndarray]:
        return {"momentum": np.zeros_like(array)} if self.momentum != 0 else {}

    def _update_step(
        self, grad: np.ndarray, param: np.ndarray, slots: dict[str, np.ndarray], lr: float
    ) -> None:
        sgd_update(param, grad, slots.get("momentum"), learning_rate=lr,
                   momentum=self.momentum, nesterov=self.nesterov)
