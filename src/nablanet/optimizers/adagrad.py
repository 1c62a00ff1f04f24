"""AdaGrad (chapter §6.3; Duchi, Hazan & Singer, 2011)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.optimizers.base import LearningRate, Optimizer, check_non_negative

__all__ = ["Adagrad", "adagrad_update"]


def adagrad_update(
    param: np.ndarray,
    grad: np.ndarray,
    accumulator: np.ndarray,
    *,
    learning_rate: float,
    epsilon: float,
) -> None:
    r"""One AdaGrad step on arrays, in place.

    .. math::

        s_t = s_{t-1} + g_t \odot g_t,\qquad
        \theta_t = \theta_{t-1} - \frac{\eta\, g_t}{\epsilon + \sqrt{s_t}}
    """
    accumulator += grad * grad
    param -= grad / (np.sqrt(accumulator) + epsilon) * learning_rate


class Adagrad(Optimizer):
    r"""AdaGrad optimizer (Keras's ``keras.optimizers.Adagrad`` arguments and defaults).

    .. math::

        s_t &= s_{t-1} + g_t \odot g_t, \qquad s_0 = s_{\text{init}} \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{\epsilon + \sqrt{s_t}} \odot g_t

    This is the corrected form of docs/errata.md (the chapter writes a Kronecker product and a
    square root inside the accumulator, and divides by :math:`\epsilon + s_t` without a
    root): an element-wise square is accumulated and its square root divides the step.

    **Mapping.** ``torch.optim.Adagrad(lr=η, eps=ε, initial_accumulator_value=s_init,
    lr_decay=0)`` computes exactly this (torch's defaults: :math:`s_{\text{init}} = 0`,
    :math:`\epsilon = 10^{-10}`). Keras puts :math:`\epsilon` inside the root,
    :math:`\eta g_t / \sqrt{s_t + \epsilon}`; with :math:`s_{\text{init}} = 0.1` the two differ
    by a relative :math:`O(\epsilon / \sqrt{s_t}) \approx 3\cdot 10^{-7}` or less.

    Parameters
    ----------
    learning_rate : float, LearningRateSchedule or callable
        Defaults to 0.001.
    initial_accumulator_value : float
        :math:`s_0`, >= 0. Defaults to 0.1 (Keras).
    epsilon : float
        Defaults to 1e-7.
    **kwargs
        The arguments common to all optimizers (``weight_decay``, clipping, ``use_ema``,
        ``name``, ...): see :class:`~nablanet.optimizers.base.Optimizer`.

    Examples
    --------
    >>> import nablanet as nb
    >>> w = nb.tensor([1.0], requires_grad=True)
    >>> opt = Adagrad(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=0.0)
    >>> _ = opt.apply_gradients([(np.array([3.0]), w)])
    >>> w.data  # 1 - 0.1 * 3 / 3
    array([0.9], dtype=float32)
    """

    _hyperparameters = ("initial_accumulator_value", "epsilon")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = check_non_negative(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value)
        self.epsilon = check_non_negative("Adagrad", "epsilon", epsilon)

    def _make_slots(self, array: np.ndarray) -> dict[str, np.ndarray]:
        return {"accumulator": np.full_like(array, self.initial_accumulator_value)}

    def _update_step(
        self, grad: np.ndarray, param: np.ndarray, slots: dict[str, np.ndarray], lr: float
    ) -> None:
        adagrad_update(param, grad, slots["accumulator"], learning_rate=lr,
                       epsilon=self.epsilon)
