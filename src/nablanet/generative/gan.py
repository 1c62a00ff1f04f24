r"""Generative adversarial networks (§9.1): the losses and a ``GAN`` model.

A generator :math:`g(z; \theta_g)` maps noise :math:`z \sim \mathcal N(0, I)` to samples and a
discriminator :math:`d(x; \theta_d)` gives the probability that :math:`x` is real. The
chapter's value function (the discriminator's payoff) is

.. math::

    v(\theta_g, \theta_d) = \mathbb E_{x \sim p_\text{data}} \log d(x)
        + \mathbb E_{z} \log\bigl(1 - d(g(z))\bigr),
    \qquad g^* = \arg\min_g \max_d v(g, d).

Training alternates gradient steps (Goodfellow et al. 2014, Algorithm 1):

* the discriminator ascends :math:`v`, i.e. minimises the binary cross-entropy of real
  samples labelled 1 and generated samples labelled 0,
  :math:`L_D = -\frac1m\sum_i \log d(x_i) - \frac1m\sum_i \log(1 - d(g(z_i)))`
  (:func:`discriminator_loss`, equal to :math:`-v` on the batch);
* the generator descends :math:`v`. Its part of :math:`v` is the **minimax** loss
  :math:`L_G = \frac1m\sum_i \log(1 - d(g(z_i)))`, whose gradient vanishes when the
  discriminator confidently rejects the samples (early in training), so in practice the
  **non-saturating** loss :math:`L_G = -\frac1m\sum_i \log d(g(z_i))` is used: it has the same
  fixed point and strong gradients where :math:`d(g(z)) \approx 0`
  (:func:`generator_loss`, selectable with ``kind``).

The discriminator outputs *logits* :math:`a` by default (``from_logits=True``,
:math:`d = \sigma(a)`), and the logs are computed stably: :math:`-\log\sigma(a) =
\operatorname{softplus}(-a)`, :math:`-\log(1-\sigma(a)) = \operatorname{softplus}(a)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.function import no_grad
from nablanet.autograd.tensor import Tensor
from nablanet.models.data_adapter import unpack_x_y_sample_weight
from nablanet.models.model import Model
from nablanet.ops.elementwise import clip, log
from nablanet.ops.losses import sigmoid_cross_entropy_with_logits
from nablanet.ops.reduction import mean

__all__ = [
    "GAN",
    "GENERATOR_LOSSES",
    "discriminator_loss",
    "generator_loss",
    "value_function",
]

#: The generator objectives :func:`generator_loss` accepts.
GENERATOR_LOSSES = ("non_saturating", "minimax")

_EPS = 1e-7


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _neg_log_d(output: Tensor, from_logits: bool) -> Tensor:
    r"""Element-wise :math:`-\log d`."""
    if from_logits:
        return sigmoid_cross_entropy_with_logits(output, np.ones_like(output.data))
    return -log(clip(output, _EPS, 1.0 - _EPS))


def _neg_log_one_minus_d(output: Tensor, from_logits: bool) -> Tensor:
    r"""Element-wise :math:`-\log(1 - d)`."""
    if from_logits:
        return sigmoid_cross_entropy_with_logits(output, np.zeros_like(output.data))
    return -log(1.0 - clip(output, _EPS, 1.0 - _EPS))


def value_function(real_output: Any, fake_output: Any, from_logits: bool = True) -> Tensor:
    r"""The chapter's payoff of the discriminator on a batch (§9.1):

    .. math::

        v = \frac1m \sum_i \log d(x_i) + \frac1n \sum_j \log\bigl(1 - d(g(z_j))\bigr)

    Parameters
    ----------
    real_output, fake_output : Tensor or array
        The discriminator's outputs on real and on generated samples: logits
        (``from_logits=True``) or probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(value_function(np.zeros(4), np.zeros(4)).item()), 4)  # d = 1/2: 2 log 1/2
    -1.3863
    """
    real, fake = _as_tensor(real_output), _as_tensor(fake_output)
    return -(mean(_neg_log_d(real, from_logits)) + mean(_neg_log_one_minus_d(fake, from_logits)))


def discriminator_loss(real_output: Any, fake_output: Any, from_logits: bool = True) -> Tensor:
    r"""The discriminator's loss, :math:`-v` on a batch:

    .. math::

        L_D = -\frac1m \sum_i \log d(x_i) - \frac1n \sum_j \log\bigl(1 - d(g(z_j))\bigr)

    (binary cross-entropy with real samples labelled 1 and generated samples labelled 0).
    Minimising it is the discriminator's ascent step on :math:`v`.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(discriminator_loss(np.zeros(4), np.zeros(4)).item()), 4)  # 2 log 2
    1.3863
    """
    real, fake = _as_tensor(real_output), _as_tensor(fake_output)
    return mean(_neg_log_d(real, from_logits)) + mean(_neg_log_one_minus_d(fake, from_logits))


def generator_loss(fake_output: Any, kind: str = "non_saturating",
                   from_logits: bool = True) -> Tensor:
    r"""The generator's loss on the discriminator's outputs for generated samples.

    .. math::

        L_G^\text{minimax} = \frac1n \sum_j \log\bigl(1 - d(g(z_j))\bigr), \qquad
        L_G^\text{non-saturating} = -\frac1n \sum_j \log d(g(z_j))

    The minimax form is the generator's term of :math:`v` (so :math:`\min_g` of it is the
    chapter's :math:`\arg\min_g`); its gradient :math:`-d'/(1-d)` vanishes as
    :math:`d(g(z)) \to 0`. The non-saturating form (Goodfellow et al. 2014, §3) has gradient
    :math:`-d'/d`, large exactly there.

    Parameters
    ----------
    fake_output : Tensor or array
        Discriminator logits (``from_logits=True``) or probabilities for generated samples.
    kind : {'non_saturating', 'minimax'}

    Examples
    --------
    >>> import numpy as np
    >>> round(float(generator_loss(np.zeros(3)).item()), 4), round(float(
    ...     generator_loss(np.zeros(3), kind="minimax").item()), 4)
    (0.6931, -0.6931)
    """
    if kind not in GENERATOR_LOSSES:
        raise ValueError(f"generator_loss: kind must be one of {GENERATOR_LOSSES}. "
                         f"Received: kind={kind!r}")
    fake = _as_tensor(fake_output)
    if kind == "non_saturating":
        return mean(_neg_log_d(fake, from_logits))
    return -mean(_neg_log_one_minus_d(fake, from_logits))


def _probabilities(output: np.ndarray, from_logits: bool) -> np.ndarray:
    if not from_logits:
        return output
    from nablanet.ops.elementwise import sigmoid_array

    return sigmoid_array(output)


class GAN(Model):
    r"""A generator and a discriminator trained by alternating updates, each with its own
    optimizer (Keras's "GAN by overriding ``train_step``" pattern).

    Each ``train_step`` on a batch of :math:`m` real samples:

    1. ``d_steps`` times: draw :math:`z \sim \mathcal N(0, I)`, generate
       :math:`\tilde x = g(z)` *without* recording the graph (the samples are constants for
       this step, so the generator's weights are untouched), and take one
       ``d_optimizer`` step on :func:`discriminator_loss` over the discriminator's
       trainable weights;
    2. draw fresh :math:`z`, and take one ``g_optimizer`` step on :func:`generator_loss`
       through :math:`d(g(z))` over the generator's trainable weights; the
       discriminator's weights are frozen for this pass (no gradient is even computed for
       them).

    The logs shown in the progress line are running means over the epoch:
    ``d_loss``, ``g_loss``, ``D(x)`` (mean probability the discriminator gives real samples)
    and ``D(G(z))`` (the same for generated samples; both tend to 1/2 at equilibrium).

    Parameters
    ----------
    discriminator : Model or Layer
        Maps samples to one logit each (shape ``(batch, 1)``), or to a probability when
        compiled with ``from_logits=False``.
    generator : Model or Layer
        Maps ``(batch, latent_dim)`` noise to samples shaped like the real data.
    latent_dim : int
        Size of :math:`z`.

    Examples
    --------
    >>> import numpy as np
    >>> import nablanet as nb
    >>> from nablanet import layers, models, optimizers
    >>> nb.set_random_seed(0)
    >>> g = models.Sequential([layers.Dense(8, activation="relu"), layers.Dense(2)])
    >>> d = models.Sequential([layers.Dense(8, activation="relu"), layers.Dense(1)])
    >>> gan = GAN(discriminator=d, generator=g, latent_dim=4)
    >>> gan.compile(d_optimizer=optimizers.Adam(1e-3), g_optimizer=optimizers.Adam(1e-3))
    >>> history = gan.fit(np.random.randn(64, 2).astype("float32"), batch_size=32, verbose=0)
    >>> sorted(history.history)
    ['D(G(z))', 'D(x)', 'd_loss', 'g_loss']
    >>> gan.sample(5).shape
    (5, 2)
    """

    def __init__(self, discriminator: Any, generator: Any, latent_dim: int,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)) \
                or latent_dim <= 0:
            raise ValueError(f"GAN: latent_dim must be a positive integer. "
                             f"Received: latent_dim={latent_dim!r}")
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = int(latent_dim)
        self.d_optimizer: Any = None
        self.g_optimizer: Any = None
        self.generator_loss_kind = "non_saturating"
        self.from_logits = True
        self.d_steps = 1
        from nablanet.metrics import Mean

        self.d_loss_tracker = Mean(name="d_loss")
        self.g_loss_tracker = Mean(name="g_loss")
        self.real_score_tracker = Mean(name="D(x)")
        self.fake_score_tracker = Mean(name="D(G(z))")

    def compile(self, d_optimizer: Any = "adam", g_optimizer: Any = "adam",  # type: ignore[override]
                generator_loss: str = "non_saturating", from_logits: bool = True,
                d_steps: int = 1, **kwargs: Any) -> None:
        """Set the two optimizers and the generator's objective.

        Parameters
        ----------
        d_optimizer, g_optimizer : str or Optimizer
            Separate optimizers (and hence separate state) for the two networks.
        generator_loss : {'non_saturating', 'minimax'}
            See :func:`generator_loss`.
        from_logits : bool
            Whether the discriminator outputs logits (True) or probabilities.
        d_steps : int
            Discriminator updates per generator update (:math:`k` in Algorithm 1).
        """
        from nablanet import optimizers

        if generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"GAN.compile: generator_loss must be one of {GENERATOR_LOSSES}. "
                             f"Received: generator_loss={generator_loss!r}")
        if isinstance(d_steps, bool) or not isinstance(d_steps, (int, np.integer)) or d_steps < 1:
            raise ValueError(f"GAN.compile: d_steps must be a positive integer. "
                             f"Received: d_steps={d_steps!r}")
        if isinstance(d_optimizer, str) and isinstance(g_optimizer, str) \
                and d_optimizer == g_optimizer:
            g_optimizer = optimizers.get(g_optimizer)  # two names alike: two instances
        self.d_optimizer = optimizers.get(d_optimizer)
        self.g_optimizer = optimizers.get(g_optimizer)
        if self.d_optimizer is self.g_optimizer:
            raise ValueError("GAN.compile: d_optimizer and g_optimizer must be two different "
                             "optimizer instances (each keeps its own state).")
        super().compile(optimizer=self.d_optimizer, **kwargs)
        self.generator_loss_kind = generator_loss
        self.from_logits = bool(from_logits)
        self.d_steps = int(d_steps)

    @property
    def metrics(self) -> list[Any]:
        return [self.d_loss_tracker, self.g_loss_tracker, self.real_score_tracker,
                self.fake_score_tracker]

    def call(self, inputs: Any, training: bool = False) -> Any:
        """The discriminator's output on ``inputs`` (samples shaped like the data)."""
        return self.discriminator(inputs, training=training)

    def latent_noise(self, n: int) -> np.ndarray:
        r""":math:`n` draws of :math:`z \sim \mathcal N(0, I)` from nablanet's generator."""
        from nablanet.random import generator

        return generator().standard_normal((int(n), self.latent_dim)).astype(np.float32)

    def sample(self, n: int, z: Any = None) -> np.ndarray:
        """``n`` generated samples as an array (inference mode; ``z`` may be given)."""
        z = self.latent_noise(n) if z is None else np.asarray(z, dtype=np.float32)
        with no_grad():
            return self.generator(z, training=False).data

    def _discriminator_step(self, real: Tensor, batch: int) -> tuple[float, np.ndarray,
                                                                        np.ndarray]:
        with no_grad():  # the generated samples are constants here: G gets no update
            fake = self.generator(self.latent_noise(batch), training=True)
        real_out = self.discriminator(real, training=True)
        fake_out = self.discriminator(fake.data, training=True)
        loss = discriminator_loss(real_out, fake_out, self.from_logits)
        extra = self.discriminator.losses
        for penalty in extra:
            loss = loss + penalty
        weights = self.discriminator.trainable_weights
        _step(self.d_optimizer, loss, weights)
        return float(loss.item()), real_out.data, fake_out.data

    def _generator_step(self, batch: int) -> float:
        frozen = [w for w in self.discriminator.trainable_weights if w.requires_grad]
        for weight in frozen:
            weight.requires_grad = False
        try:
            fake = self.generator(self.latent_noise(batch), training=True)
            fake_out = self.discriminator(fake, training=True)
            loss = generator_loss(fake_out, self.generator_loss_kind, self.from_logits)
            for penalty in self.generator.losses:
                loss = loss + penalty
            _step(self.g_optimizer, loss, self.generator.trainable_weights)
        finally:
            for weight in frozen:
                weight.requires_grad = True
        return float(loss.item())

    def train_step(self, data: Any) -> dict[str, float]:
        """One discriminator update (``d_steps`` of them) then one generator update."""
        if self.d_optimizer is None or self.g_optimizer is None:
            raise ValueError("GAN: call `compile(d_optimizer=..., g_optimizer=...)` before "
                             "training.")
        x, _, _ = unpack_x_y_sample_weight(data)
        real = x if isinstance(x, Tensor) else Tensor(x)
        batch = real.shape[0]
        for _ in range(self.d_steps):
            d_loss, real_out, fake_out = self._discriminator_step(real, batch)
        g_loss = self._generator_step(batch)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.real_score_tracker.update_state(_probabilities(real_out, self.from_logits))
        self.fake_score_tracker.update_state(_probabilities(fake_out, self.from_logits))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data: Any) -> dict[str, float]:
        """Both losses and scores on a batch, without updates."""
        x, _, _ = unpack_x_y_sample_weight(data)
        with no_grad():
            batch = x.shape[0]
            real_out = self.discriminator(x, training=False)
            fake_out = self.discriminator(self.sample(batch), training=False)
            d_loss = discriminator_loss(real_out, fake_out, self.from_logits)
            g_loss = generator_loss(fake_out, self.generator_loss_kind, self.from_logits)
        self.d_loss_tracker.update_state(float(d_loss.item()))
        self.g_loss_tracker.update_state(float(g_loss.item()))
        self.real_score_tracker.update_state(_probabilities(real_out.data, self.from_logits))
        self.fake_score_tracker.update_state(_probabilities(fake_out.data, self.from_logits))
        return {m.name: m.result() for m in self.metrics}


def _step(optimizer: Any, loss: Tensor, weights: list[Tensor]) -> None:
    """``loss.backward()``, one optimizer update of ``weights``, gradients reset to None."""
    for weight in weights:
        weight.grad = None
    loss.backward()
    pairs = [(w.grad, w) for w in weights if w.grad is not None]
    if pairs:
        optimizer.apply_gradients(pairs)
    for weight in weights:
        weight.grad = None
