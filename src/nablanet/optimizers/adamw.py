"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019)."""

from __future__ import annotations

from typing import Any

from nablanet.optimizers.adam import Adam
from nablanet.optimizers.base import LearningRate

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW optimizer (Keras's ``keras.optimizers.AdamW`` arguments and defaults).

    Before each Adam step (see :class:`~nablanet.optimizers.Adam`) the weights decay,
    decoupled from the gradient:

    .. math::

        \theta_{t-1}' &= \theta_{t-1} - \eta\,\lambda\,\theta_{t-1} \\
        \theta_t &= \theta_{t-1}' - \frac{\eta\, \hat m_t}{\sqrt{\hat s_t} + \epsilon}

    with :math:`\lambda` = ``weight_decay`` and the moments computed from the gradient at
    :math:`\theta_{t-1}` only (no :math:`\lambda\theta` term in them, unlike L2
    regularisation).

    **Mapping.** ``torch.optim.AdamW(lr=η, betas=(β₁, β₂), eps=ε, weight_decay=λ,
    amsgrad=...)`` decays the same way (``p.mul_(1 - lr * wd)`` then the Adam step) and differs
    only in where ε sits (see ``Adam`` for the mapping); Keras's ``AdamW`` is exactly this. Note
    torch's default ``weight_decay`` is 0.01; Keras's and nablanet's is 0.004.

    Parameters
    ----------
    learning_rate : float, LearningRateSchedule or callable
        Defaults to 0.001.
    weight_decay : float
        :math:`\lambda \ge 0`. Defaults to 0.004.
    beta_1, beta_2, epsilon, amsgrad
        As :class:`~nablanet.optimizers.Adam`.
    **kwargs
        The other arguments common to all optimizers (clipping, ``use_ema``, ``name``,
        ...): see :class:`~nablanet.optimizers.base.Optimizer`.

    Examples
    --------
    >>> import numpy as np, nablanet as nb
    >>> w = nb.tensor([2.0], requires_grad=True)
    >>> opt = AdamW(learning_rate=0.1, weight_decay=0.5)
    >>> _ = opt.apply_gradients([(np.array([0.0]), w)])
    >>> w.data  # 2 - 0.1 * 0.5 * 2, and a zero Adam step
    array([1.9], dtype=float32)
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        if weight_decay is None:
            raise ValueError(
                "AdamW: Argument `weight_decay` must be a float. Received: weight_decay=None"
            )
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
