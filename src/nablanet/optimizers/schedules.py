"""Learning-rate schedules: functions of the optimizer's step count, as in Keras.

An optimizer calls its schedule with ``optimizer.iterations`` (the number of updates
already applied, so the first update uses ``schedule(0)``). Any callable ``step -> lr``
is accepted as a learning rate too; the classes here add ``get_config``/``from_config``
so that the schedule can be saved with the optimizer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "CosineDecay",
    "ExponentialDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "serialize",
]


def _check_positive(owner: str, name: str, value: Any) -> None:
    if not (isinstance(value, (int, float)) and value > 0):
        raise ValueError(f"{owner}: {name} must be a positive number. Received: {name}={value}")


def _check_non_negative(owner: str, name: str, value: Any) -> None:
    if not (isinstance(value, (int, float)) and value >= 0):
        raise ValueError(
            f"{owner}: {name} must be a non-negative number. Received: {name}={value}"
        )


class LearningRateSchedule:
    """Base class of the learning-rate schedules.

    A subclass implements ``__call__(step) -> float`` and ``get_config() -> dict`` (the
    arguments of its ``__init__``); ``from_config`` rebuilds it from that dict.
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError(
            f"{type(self).__name__}: a LearningRateSchedule subclass must implement __call__"
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"{type(self).__name__}: a LearningRateSchedule subclass must implement get_config"
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    r"""Exponential decay of the learning rate.

    .. math::

        \eta(t) = \eta_0 \, r^{t / T} \quad\text{or, with ``staircase``,}\quad
        \eta(t) = \eta_0 \, r^{\lfloor t / T \rfloor}

    with :math:`\eta_0` = ``initial_learning_rate``, :math:`r` = ``decay_rate`` and
    :math:`T` = ``decay_steps`` (Keras's ``ExponentialDecay``).

    Parameters
    ----------
    initial_learning_rate : float
    decay_steps : int
        Positive.
    decay_rate : float
    staircase : bool
        Decay in discrete intervals of ``decay_steps`` steps.
    name : str
        Kept for Keras compatibility of the config.

    Examples
    --------
    >>> s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> round(s(10), 6), round(s(5), 6)
    (0.05, 0.070711)
    >>> ExponentialDecay(0.1, 10, 0.5, staircase=True)(19)
    0.05
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "ExponentialDecay",
    ) -> None:
        _check_non_negative("ExponentialDecay", "initial_learning_rate", initial_learning_rate)
        _check_positive("ExponentialDecay", "decay_steps", decay_steps)
        _check_non_negative("ExponentialDecay", "decay_rate", decay_rate)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: int) -> float:
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate * self.decay_rate**p)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PolynomialDecay(LearningRateSchedule):
    r"""Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate``.

    .. math::

        \eta(t) = (\eta_0 - \eta_{\text{end}})\,
            \Bigl(1 - \frac{\min(t, T)}{T}\Bigr)^{p} + \eta_{\text{end}}

    with :math:`T` = ``decay_steps`` and :math:`p` = ``power`` (Keras's
    ``PolynomialDecay``). With ``cycle=True``, :math:`T` is instead the first multiple of
    ``decay_steps`` at or above :math:`t` (at least ``decay_steps``), so the decay restarts.

    Examples
    --------
    >>> s = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0, power=2.0)
    >>> round(s(5), 6), s(20)
    (0.025, 0.0)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ) -> None:
        _check_non_negative("PolynomialDecay", "initial_learning_rate", initial_learning_rate)
        _check_positive("PolynomialDecay", "decay_steps", decay_steps)
        _check_non_negative("PolynomialDecay", "end_learning_rate", end_learning_rate)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: int) -> float:
        t = float(step)
        horizon = float(self.decay_steps)
        if self.cycle:
            horizon *= max(1.0, math.ceil(t / horizon))
        else:
            t = min(t, horizon)
        fraction = (1.0 - t / horizon) ** self.power
        return float((self.initial_learning_rate - self.end_learning_rate) * fraction
                     + self.end_learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    r"""A piecewise-constant learning rate.

    .. math::

        \eta(t) = v_0 \text{ for } t \le b_0,\quad
        v_i \text{ for } b_{i-1} < t \le b_i,\quad
        v_n \text{ for } t > b_{n-1}

    with boundaries :math:`b_0 < \dots < b_{n-1}` and ``values`` :math:`v_0, \dots, v_n`
    (one more value than boundaries), as Keras's ``PiecewiseConstantDecay``.

    Examples
    --------
    >>> s = PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    >>> s(100), s(101), s(500)
    (1.0, 0.5, 0.1)
    """

    def __init__(
        self,
        boundaries: Sequence[int],
        values: Sequence[float],
        name: str = "PiecewiseConstant",
    ) -> None:
        boundaries = list(boundaries)
        values = list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: the length of boundaries should be 1 less than the "
                f"length of values. Received: boundaries={boundaries} of length "
                f"{len(boundaries)}, and values={values} of length {len(values)}."
            )
        if any(b1 >= b2 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(
                "PiecewiseConstantDecay: boundaries must be strictly increasing. "
                f"Received: boundaries={boundaries}"
            )
        for v in values:
            _check_non_negative("PiecewiseConstantDecay", "values", v)
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.values),
                "name": self.name}


class CosineDecay(LearningRateSchedule):
    r"""Cosine decay (Loshchilov & Hutter, 2017) with an optional linear warm-up.

    Without warm-up (``warmup_target=None``), with :math:`\tau = \min(t, T)`:

    .. math::

        \eta(t) = \eta_0 \left((1 - \alpha)\,\tfrac12\bigl(1 + \cos(\pi \tau / T)\bigr)
        + \alpha\right)

    With warm-up over :math:`W` = ``warmup_steps`` steps to :math:`\eta_w` =
    ``warmup_target``, and :math:`\tau = \min(t, T + W)`: for :math:`\tau < W`,
    :math:`\eta(t) = \eta_0 + (\eta_w - \eta_0)\,\tau / W`; afterwards the cosine formula
    above with :math:`\eta_w` in place of :math:`\eta_0` and :math:`\tau - W` in place of
    :math:`\tau`. This is Keras's ``CosineDecay``.

    Examples
    --------
    >>> s = CosineDecay(1.0, decay_steps=10, alpha=0.1)
    >>> s(0), round(s(5), 6), round(s(10), 6), round(s(50), 6)
    (1.0, 0.55, 0.1, 0.1)
    >>> CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)(2)
    0.5
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ) -> None:
        _check_non_negative("CosineDecay", "initial_learning_rate", initial_learning_rate)
        _check_positive("CosineDecay", "decay_steps", decay_steps)
        if not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
            raise ValueError(
                f"CosineDecay: alpha must be a number in [0, 1]. Received: alpha={alpha}"
            )
        if warmup_target is not None:
            _check_non_negative("CosineDecay", "warmup_target", warmup_target)
            _check_positive("CosineDecay", "warmup_steps", warmup_steps)
        else:
            _check_non_negative("CosineDecay", "warmup_steps", warmup_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step: float, start_lr: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start_lr * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        t = float(step)
        if self.warmup_target is None:
            return float(self._decay(min(t, self.decay_steps), self.initial_learning_rate))
        t = min(t, self.decay_steps + self.warmup_steps)
        if t < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return float(self.initial_learning_rate + delta * t / self.warmup_steps)
        return float(self._decay(t - self.warmup_steps, self.warmup_target))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


_SCHEDULES: dict[str, type[LearningRateSchedule]] = {
    "ExponentialDecay": ExponentialDecay,
    "PiecewiseConstantDecay": PiecewiseConstantDecay,
    "PolynomialDecay": PolynomialDecay,
    "CosineDecay": CosineDecay,
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras-style dict ``{"module", "class_name", "config", "registered_name"}``."""
    if not isinstance(schedule, LearningRateSchedule):
        raise ValueError(
            "serialize: expected a LearningRateSchedule. "
            f"Received: schedule={schedule!r} of type {type(schedule).__name__}"
        )
    return {
        "module": "keras.optimizers.schedules",
        "class_name": type(schedule).__name__,
        "config": schedule.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any] | LearningRateSchedule) -> LearningRateSchedule:
    """Rebuild a schedule from :func:`serialize`'s dict (only the classes of this module)."""
    if isinstance(config, LearningRateSchedule):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "deserialize: expected a dict with 'class_name' and 'config'. "
            f"Received: config={config!r}"
        )
    cls = _SCHEDULES.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"deserialize: unknown learning-rate schedule {config['class_name']!r}; "
            f"valid names are {sorted(_SCHEDULES)}. Received: config={config!r}"
        )
    return cls.from_config(dict(config.get("config", {})))
