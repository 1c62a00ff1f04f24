"""Adam and its AMSGrad variant (chapter §6.6; Kingma & Ba, 2015; Reddi et al., 2018)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nablanet.kernels.registry import dispatch
from nablanet.optimizers.base import (
    LearningRate,
    Optimizer,
    check_decay_rate,
    check_non_negative,
)

__all__ = ["Adam", "adam_reference", "adam_update"]


def adam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray,
                v_max: np.ndarray | None, **hyperparameters: float) -> None:
    r"""One Adam step on arrays, in place: the one entry point.

    Takes :func:`adam_reference`'s arguments (the hyperparameters ``learning_rate``,
    ``beta_1``, ``beta_2``, ``epsilon`` and ``step`` by keyword) and runs it, or the
    registered fast kernel ``"adam_update"`` (:mod:`nablanet.kernels.adam`: one compiled pass
    over the arrays, split over the worker threads) when the switch (``NABLANET_KERNELS``)
    says ``fast`` and the arrays suit it. Both give the same numbers (no fast-math, no FMA).
    """
    dispatch("adam_update", adam_reference, param, grad, m, v, v_max, **hyperparameters)


def adam_reference(
    param: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    v_max: np.ndarray | None,
    *,
    learning_rate: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    step: int,
) -> None:
    r"""One Adam step on arrays, in place, in plain NumPy (the reference); ``step`` is
    :math:`t \ge 1`.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t \odot g_t \\
        v^{\max}_t &= \max(v^{\max}_{t-1}, v_t) \quad\text{(AMSGrad, when ``v_max`` is
            given; it then replaces } v_t \text{ below)} \\
        \alpha_t &= \eta\, \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}, \qquad
        \theta_t = \theta_{t-1} - \frac{m_t}{\sqrt{v_t} + \epsilon}\, \alpha_t

    (Keras's form: the bias corrections folded into the step size, ε added to
    :math:`\sqrt{v_t}`; see :class:`Adam` for the mapping to ``torch.optim.Adam``.)
    """
    m *= beta_1
    m += (1.0 - beta_1) * grad
    v *= beta_2
    v += (1.0 - beta_2) * (grad * grad)
    second_moment = v if v_max is None else np.maximum(v_max, v, out=v_max)
    alpha = adam_step_size(learning_rate, beta_1, beta_2, step)
    param -= m / (np.sqrt(second_moment) + epsilon) * alpha


def adam_step_size(learning_rate: float, beta_1: float, beta_2: float, step: int) -> float:
    r""":math:`\alpha_t = \eta \sqrt{1-\beta_2^t} / (1-\beta_1^t)`, Adam's bias-corrected step."""
    return learning_rate * math.sqrt(1.0 - beta_2**step) / (1.0 - beta_1**step)


class Adam(Optimizer):
    r"""Adam optimizer (Keras's ``keras.optimizers.Adam`` arguments and defaults).

    The corrected form of docs/errata.md (the chapter feeds :math:`g_{t-1}` to :math:`m_t`,
    computes the bias-corrected moments and then steps with the uncorrected ones, without a
    square root), written as Keras computes it:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        s_t &= \beta_2 s_{t-1} + (1-\beta_2)\, g_t \odot g_t \\
        \alpha_t &= \eta\, \frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t} \\
        \theta_t &= \theta_{t-1} - \alpha_t\, \frac{m_t}{\sqrt{s_t} + \epsilon}

    with :math:`m_0 = s_0 = 0` and :math:`t` = ``iterations + 1``: the bias corrections
    :math:`\hat m_t = m_t/(1-\beta_1^t)`, :math:`\hat s_t = s_t/(1-\beta_2^t)` are folded into
    the step size :math:`\alpha_t`, and ε is added to :math:`\sqrt{s_t}` (the paper's
    :math:`\hat\epsilon`, the form just before its §2.1). ``amsgrad=True`` (Reddi et al.,
    2018) divides by the running maximum :math:`s^{\max}_t = \max(s^{\max}_{t-1}, s_t)`
    instead of :math:`s_t`.

    **Mapping.** ``torch.optim.Adam(lr=η, betas=(β₁, β₂), eps=ε', amsgrad=...)`` computes
    Algorithm 1 of the paper, :math:`\theta_t = \theta_{t-1} - \eta\,\hat m_t /
    (\sqrt{\hat s_t} + \epsilon')`, i.e. ε added to the bias-corrected root. Multiplying
    numerator and denominator by :math:`\sqrt{1-\beta_2^t}` shows it is this update with
    :math:`\epsilon = \epsilon' \sqrt{1-\beta_2^t}`: a constant ε here equals torch's
    :math:`\epsilon' = \epsilon / \sqrt{1-\beta_2^t}` (about :math:`31.6\,\epsilon` at
    :math:`t = 1` with :math:`\beta_2 = 0.999`, tending to ε). The two agree to float
    rounding where :math:`\sqrt{\hat s_t} \gg \epsilon'`, and exactly when ε = 0. torch's
    ``weight_decay`` on ``Adam`` is an L2 term in the gradient; nablanet's (Keras's) is
    decoupled, i.e. ``torch.optim.AdamW``.

    Parameters
    ----------
    learning_rate : float, LearningRateSchedule or callable
        Defaults to 0.001.
    beta_1, beta_2 : float
        Decay rates of the moment estimates, in [0, 1). Default 0.9 and 0.999.
    epsilon : float
        Defaults to 1e-7.
    amsgrad : bool
        Defaults to False.
    **kwargs
        The arguments common to all optimizers (``weight_decay``, clipping, ``use_ema``,
        ``name``, ...): see :class:`~nablanet.optimizers.base.Optimizer`.

    Examples
    --------
    >>> import nablanet as nb
    >>> w = nb.tensor([1.0, 1.0], requires_grad=True)
    >>> opt = Adam(learning_rate=0.1)
    >>> _ = opt.apply_gradients([(np.array([0.5, -2.0]), w)])
    >>> w.data.round(5)  # the first step is -η sign(g) (up to ε)
    array([0.9, 1.1], dtype=float32)
    """

    _hyperparameters = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1 = check_decay_rate(owner, "beta_1", beta_1)
        self.beta_2 = check_decay_rate(owner, "beta_2", beta_2)
        self.epsilon = check_non_negative(owner, "epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def _make_slots(self, array: np.ndarray) -> dict[str, np.ndarray]:
        slots = {"m": np.zeros_like(array), "v": np.zeros_like(array)}
        if self.amsgrad:
            slots["vhat"] = np.zeros_like(array)
        return slots

    def _update_step(
        self, grad: np.ndarray, param: np.ndarray, slots: dict[str, np.ndarray], lr: float
    ) -> None:
        adam_update(param, grad, slots["m"], slots["v"], slots.get("vhat"), learning_rate=lr,
                    beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                    step=self.iterations + 1)
