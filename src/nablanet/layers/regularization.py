"""Regularisation layers: Dropout (chapter §5.3, corrected by ERRATA 5.3), GaussianNoise,
ActivityRegularization."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.functional.regularization import dropout, gaussian_noise, l1_l2_penalty
from nablanet.layers.base import Layer
from nablanet.random import SeedStream

__all__ = ["ActivityRegularization", "Dropout", "GaussianNoise"]


class Dropout(Layer):
    r"""Inverted dropout on the layer's *inputs* (units), active only in training.

    .. math::

        y = \frac{m \odot x}{1 - \mathrm{rate}}, \qquad m_i \sim \mathrm{Bernoulli}(1-\mathrm{rate})

    a fresh mask on every training forward pass; the identity at inference. (The chapter's
    §5.3 says dropout zeroes *weights* after each gradient step: a misprint, see ERRATA 5.3.)

    Parameters
    ----------
    rate : float
        Fraction of units to drop, in [0, 1] (1 drops everything).
    noise_shape : tuple, optional
        Shape of the mask, broadcast over axes of size 1 (None entries take the input's
        size), e.g. ``(None, 1, features)`` drops whole features of a sequence.
    seed : int, optional
        Seeds this layer's own stream of masks (:class:`nablanet.random.SeedStream`: they
        still differ between calls, and are the masks Keras's NumPy backend draws); without
        it masks come from :func:`nablanet.random.generator` (``nb.set_random_seed``).

    Input shape: any. Output shape: the input's.
    """

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
                or not 0.0 <= float(rate) <= 1.0:
            raise ValueError("Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = _validate_noise_shape(noise_shape)
        self.seed = seed
        self._seeds = None if seed is None else SeedStream(seed)
        self.supports_masking = True

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if not training or self.rate == 0.0:
            return inputs
        return dropout(inputs, self.rate, training=training, noise_shape=self.noise_shape,
                       seed=None if self._seeds is None else self._seeds.next())

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


def _validate_noise_shape(noise_shape: Any) -> tuple[int | None, ...] | None:
    """``noise_shape`` as a tuple of positive ints / None, with Keras's errors."""
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not isinstance(noise_shape, (list, tuple)):
        raise ValueError("Invalid value received for argument `noise_shape`. Expected a tuple "
                         f"or list of integers. Received: noise_shape={noise_shape!r}")
    shape = tuple(noise_shape)
    for n in shape:
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))):
            raise ValueError("Invalid value received for argument `noise_shape`. Expected all "
                             f"elements to be integers or None. Received: noise_shape={shape}")
        if n is not None and n <= 0:
            raise ValueError("Invalid value received for argument `noise_shape`. Expected all "
                             "dimensions to be positive integers or None. Received: "
                             f"noise_shape={shape}")
    return tuple(None if n is None else int(n) for n in shape)


class GaussianNoise(Layer):
    r"""Adds :math:`\mathcal N(0, \mathrm{stddev}^2)` noise in training; identity at inference."""

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not stddev >= 0:
            raise ValueError(f"GaussianNoise: stddev must be non-negative. "
                             f"Received: stddev={stddev}")
        self.stddev, self.seed = float(stddev), seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.supports_masking = True

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return gaussian_noise(inputs, self.stddev, training=training, seed=self._rng)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class ActivityRegularization(Layer):
    r"""Identity that adds :math:`\lambda_1 \sum|x| + \lambda_2 \sum x^2` of its input to
    :attr:`losses` (undivided by the batch size, as Keras 3 does for activity
    regularisers)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if l1 < 0 or l2 < 0:
            raise ValueError(f"ActivityRegularization: l1 and l2 must be non-negative. "
                             f"Received: l1={l1}, l2={l2}")
        self.l1, self.l2 = float(l1), float(l2)
        self.supports_masking = True

    def call(self, inputs: Tensor) -> Tensor:
        penalty = l1_l2_penalty(inputs, self.l1, self.l2)
        self.add_loss(penalty)
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
