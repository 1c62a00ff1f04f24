r"""Variational autoencoders (§9.2): the KL term, the reconstruction loss and a ``VAE`` model.

The encoder maps :math:`x` to the parameters of a diagonal Gaussian posterior
:math:`q(z \mid x) = \mathcal N(z \mid \mu, \operatorname{diag}\sigma^2)` (it outputs
:math:`\mu` and :math:`\log\sigma^2`); a sample is drawn with the reparameterisation
:math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)`
(:class:`~nablanet.layers.Sampling`), and the decoder (generator) maps the *sample* to the
reconstruction, :math:`\hat x = g(z)` (ERRATA 9.2: the chapter writes :math:`g(x)`).

Training minimises the negative evidence lower bound per sample, averaged over the batch:

.. math::

    \mathcal L(x) = \underbrace{-\log p(x \mid z)}_{\text{reconstruction}}
      + \beta\, \underbrace{\mathrm{KL}\bigl(q(z\mid x)\,\|\,\mathcal N(0, I)\bigr)}_{
        -\frac12 \sum_j (1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2)}

with a Bernoulli decoder (binary cross-entropy summed over the features, data in
:math:`[0, 1]`) or a Gaussian one (squared error summed over the features). :math:`\beta = 1`
is the VAE of Kingma & Welling (2014).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.function import no_grad
from nablanet.autograd.tensor import Tensor
from nablanet.layers.sampling import Sampling, reparameterize
from nablanet.models.data_adapter import unpack_x_y_sample_weight
from nablanet.models.model import Model
from nablanet.ops.elementwise import clip, exp, log
from nablanet.ops.reduction import mean
from nablanet.ops.reduction import sum as reduce_sum

__all__ = [
    "RECONSTRUCTION_LOSSES",
    "VAE",
    "Sampling",
    "dense_vae",
    "kl_divergence",
    "reconstruction_loss",
    "reparameterize",
]

#: The reconstruction losses :func:`reconstruction_loss` accepts.
RECONSTRUCTION_LOSSES = ("binary_crossentropy", "mse")

_REDUCTIONS = ("sum_over_batch_size", "sum", "none")
_EPS = 1e-7


def _reduce(per_sample: Tensor, reduction: str, where: str) -> Tensor:
    if reduction == "sum_over_batch_size":
        return mean(per_sample)
    if reduction == "sum":
        return reduce_sum(per_sample)
    if reduction == "none":
        return per_sample
    raise ValueError(f"{where}: reduction must be one of {_REDUCTIONS}. "
                     f"Received: reduction={reduction!r}")


def kl_divergence(z_mean: Any, z_log_var: Any, reduction: str = "sum_over_batch_size") -> Tensor:
    r"""KL divergence of :math:`\mathcal N(\mu, \operatorname{diag}\sigma^2)` from
    :math:`\mathcal N(0, I)`, per sample, then reduced over the batch:

    .. math::

        \mathrm{KL}_i = -\frac12 \sum_j \bigl(1 + \log\sigma_{ij}^2 - \mu_{ij}^2
                                             - \sigma_{ij}^2\bigr)

    Parameters
    ----------
    z_mean, z_log_var : Tensor or array, shape ``(batch, latent_dim)``
        :math:`\mu` and :math:`\log\sigma^2` (gradients flow to both).
    reduction : {'sum_over_batch_size', 'sum', 'none'}
        The default is the batch mean: one scalar per batch, as added to the VAE's loss.

    Examples
    --------
    >>> import numpy as np
    >>> float(kl_divergence(np.zeros((3, 2)), np.zeros((3, 2))).item())  # q = prior
    0.0
    >>> float(kl_divergence(np.array([[1.0, 0.0]]), np.zeros((1, 2))).item())  # mu^2 / 2
    0.5
    """
    mu = z_mean if isinstance(z_mean, Tensor) else Tensor(z_mean)
    log_var = z_log_var if isinstance(z_log_var, Tensor) else Tensor(z_log_var, dtype=mu.dtype)
    if mu.shape != log_var.shape:
        raise ValueError(f"kl_divergence: z_mean and z_log_var must have the same shape. "
                         f"Received: {mu.shape} and {log_var.shape}")
    inner = log_var + 1.0 - mu * mu - exp(log_var)  # (Python floats take the tensor's dtype)
    axes = tuple(range(1, mu.ndim)) if mu.ndim > 1 else None
    per_sample = reduce_sum(inner, axis=axes) * -0.5
    return _reduce(per_sample, reduction, "kl_divergence")


def reconstruction_loss(x: Any, reconstruction: Any, kind: str = "binary_crossentropy",
                        reduction: str = "sum_over_batch_size") -> Tensor:
    r"""Negative log-likelihood of ``x`` under the decoder, summed over the features:

    .. math::

        \text{binary\_crossentropy}:\; -\sum_k x_k \log\hat x_k + (1 - x_k)\log(1-\hat x_k),
        \qquad \text{mse}:\; \sum_k (x_k - \hat x_k)^2

    (``binary_crossentropy`` expects data and reconstructions in :math:`[0, 1]`; the
    reconstruction is clipped to :math:`[10^{-7}, 1 - 10^{-7}]`.) Per sample, then reduced.

    Examples
    --------
    >>> import numpy as np
    >>> float(reconstruction_loss(np.ones((2, 3)), np.full((2, 3), 0.5), "mse").item())
    0.75
    """
    if kind not in RECONSTRUCTION_LOSSES:
        raise ValueError(f"reconstruction_loss: kind must be one of {RECONSTRUCTION_LOSSES}. "
                         f"Received: kind={kind!r}")
    rec = reconstruction if isinstance(reconstruction, Tensor) else Tensor(reconstruction)
    target = np.asarray(getattr(x, "data", x), dtype=rec.dtype)
    if target.shape != rec.shape:
        raise ValueError(f"reconstruction_loss: x of shape {target.shape} and reconstruction "
                         f"of shape {rec.shape} must have the same shape")
    if kind == "mse":
        diff = rec - target
        per_element = diff * diff
    else:
        p = clip(rec, _EPS, 1.0 - _EPS)
        one = np.asarray(1.0, dtype=rec.dtype)
        per_element = -(target * log(p) + (one - target) * log(one - p))
    axes = tuple(range(1, rec.ndim)) if rec.ndim > 1 else None
    return _reduce(reduce_sum(per_element, axis=axes), reduction, "reconstruction_loss")


def _split_encoder_outputs(outputs: Any) -> tuple[Tensor, Tensor]:
    if not isinstance(outputs, (list, tuple)) or len(outputs) not in (2, 3):
        raise ValueError(
            "VAE: the encoder must return [z_mean, z_log_var] (or [z_mean, z_log_var, z] as in "
            f"the Keras example). Received: {type(outputs).__name__}"
            + (f" of length {len(outputs)}" if isinstance(outputs, (list, tuple)) else "")
        )
    return outputs[0], outputs[1]


class VAE(Model):
    r"""A variational autoencoder: encoder :math:`x \mapsto (\mu, \log\sigma^2)`,
    :math:`z = \mu + \sigma\odot\varepsilon`, decoder :math:`z \mapsto \hat x`.

    ``train_step`` minimises ``reconstruction_loss + beta * kl_loss`` (both per-sample sums
    averaged over the batch, see the module docstring) and logs ``loss``,
    ``reconstruction_loss`` and ``kl_loss`` (running means over the epoch). Compile with an
    optimizer only: ``vae.compile(optimizer="adam")``; train with ``vae.fit(x)``.

    Parameters
    ----------
    encoder : Model or Layer
        Returns ``[z_mean, z_log_var]`` (a third output ``z`` is ignored: the VAE samples
        with its own :class:`~nablanet.layers.Sampling` layer).
    decoder : Model or Layer
        Maps ``(batch, latent_dim)`` codes to reconstructions shaped like the data
        (probabilities in :math:`[0, 1]` for ``'binary_crossentropy'``).
    beta : float
        Weight of the KL term (1 for the VAE, > 1 for a :math:`\beta`-VAE).
    reconstruction : {'binary_crossentropy', 'mse'}
    latent_dim : int, optional
        Size of :math:`z`; found from the encoder on the first call when not given.
    seed : int, optional
        Seed of the sampling noise (nablanet's generator by default).

    Examples
    --------
    >>> import numpy as np
    >>> import nablanet as nb
    >>> nb.set_random_seed(0)
    >>> vae = dense_vae(input_dim=6, latent_dim=2, hidden_units=(8,))
    >>> vae.compile(optimizer="adam")
    >>> history = vae.fit(np.random.rand(32, 6).astype("float32"), batch_size=16, verbose=0)
    >>> sorted(history.history)
    ['kl_loss', 'loss', 'reconstruction_loss']
    >>> vae.sample(3).shape, vae.encode(np.zeros((5, 6), np.float32))[0].shape
    ((3, 6), (5, 2))
    """

    def __init__(self, encoder: Any, decoder: Any, beta: float = 1.0,
                 reconstruction: str = "binary_crossentropy", latent_dim: int | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not (isinstance(beta, (int, float, np.floating)) and beta >= 0):
            raise ValueError(f"VAE: beta must be a non-negative number. Received: beta={beta!r}")
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ValueError(f"VAE: reconstruction must be one of {RECONSTRUCTION_LOSSES}. "
                             f"Received: reconstruction={reconstruction!r}")
        if latent_dim is not None and (isinstance(latent_dim, bool) or latent_dim <= 0):
            raise ValueError(f"VAE: latent_dim must be a positive integer. "
                             f"Received: latent_dim={latent_dim!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.sampling = Sampling(seed=seed)
        self.beta = float(beta)
        self.reconstruction = reconstruction
        self.latent_dim = None if latent_dim is None else int(latent_dim)
        from nablanet.metrics import Mean

        self.total_loss_tracker = Mean(name="loss")
        self.reconstruction_loss_tracker = Mean(name="reconstruction_loss")
        self.kl_loss_tracker = Mean(name="kl_loss")

    def compile(self, optimizer: Any = "adam", **kwargs: Any) -> None:  # type: ignore[override]
        """Set the optimizer (the loss is the VAE's own: no ``loss`` argument)."""
        if kwargs.get("loss") is not None:
            raise ValueError("VAE.compile: the VAE defines its own loss (reconstruction + "
                             "beta * KL); do not pass `loss`.")
        super().compile(optimizer=optimizer, **kwargs)

    @property
    def metrics(self) -> list[Any]:
        return [self.total_loss_tracker, self.reconstruction_loss_tracker,
                self.kl_loss_tracker]

    # -- the three maps -----------------------------------------------------------------------
    def _encode(self, x: Any, training: bool) -> tuple[Tensor, Tensor]:
        z_mean, z_log_var = _split_encoder_outputs(self.encoder(x, training=training))
        if self.latent_dim is None:
            self.latent_dim = int(z_mean.shape[-1])
        return z_mean, z_log_var

    def call(self, inputs: Any, training: bool = False) -> Tensor:
        """The reconstruction :math:`g(\\mu + \\sigma \\odot \\varepsilon)` of ``inputs``."""
        z_mean, z_log_var = self._encode(inputs, training)
        return self.decoder(self.sampling([z_mean, z_log_var]), training=training)

    def encode(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        r"""``(z_mean, z_log_var)`` of ``x`` as arrays (inference mode)."""
        with no_grad():
            z_mean, z_log_var = self._encode(np.asarray(getattr(x, "data", x), np.float32),
                                             False)
        return z_mean.data, z_log_var.data

    def decode(self, z: Any) -> np.ndarray:
        r"""The decoder's output :math:`g(z)` as an array (inference mode)."""
        with no_grad():
            return self.decoder(np.asarray(getattr(z, "data", z), np.float32),
                                training=False).data

    def reconstruct(self, x: Any, sample: bool = False) -> np.ndarray:
        r""":math:`g(\mu)` (or :math:`g(z)` with a sampled :math:`z` when ``sample``)."""
        z_mean, z_log_var = self.encode(x)
        if sample:
            with no_grad():
                z_mean = self.sampling([z_mean, z_log_var]).data
        return self.decode(z_mean)

    def sample(self, n: int) -> np.ndarray:
        r""":math:`n` samples :math:`g(z)`, :math:`z \sim \mathcal N(0, I)` (the prior)."""
        if self.latent_dim is None:
            raise ValueError("VAE.sample: latent_dim is unknown until the model has been called "
                             "once (or pass latent_dim to the constructor).")
        from nablanet.random import generator

        z = generator().standard_normal((int(n), self.latent_dim)).astype(np.float32)
        return self.decode(z)

    # -- training -----------------------------------------------------------------------------
    def _vae_losses(self, x: Any, training: bool) -> tuple[Tensor, Tensor, Tensor]:
        z_mean, z_log_var = self._encode(x, training)
        z = self.sampling([z_mean, z_log_var])
        rec = self.decoder(z, training=training)
        rec_loss = reconstruction_loss(x, rec, self.reconstruction)
        kl = kl_divergence(z_mean, z_log_var)
        total = rec_loss + kl * float(self.beta)
        for penalty in self.losses:
            total = total + penalty
        return total, rec_loss, kl

    def _track(self, total: Tensor, rec: Tensor, kl: Tensor, batch: int) -> dict[str, float]:
        self.total_loss_tracker.update_state(float(total.item()), sample_weight=batch)
        self.reconstruction_loss_tracker.update_state(float(rec.item()), sample_weight=batch)
        self.kl_loss_tracker.update_state(float(kl.item()), sample_weight=batch)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data: Any) -> dict[str, float]:
        """One step on ``reconstruction + beta * KL``; the data are their own targets."""
        x, _, _ = unpack_x_y_sample_weight(data)
        total, rec, kl = self._vae_losses(x, training=True)
        weights = self._trainable_for_step()
        for weight in weights:
            weight.grad = None
        total.backward()
        self.optimizer.apply_gradients([(w.grad, w) for w in weights if w.grad is not None])
        for weight in weights:
            weight.grad = None
        return self._track(total, rec, kl, int(np.shape(getattr(x, "data", x))[0]))

    def test_step(self, data: Any) -> dict[str, float]:
        """The same losses on a batch, without updates."""
        x, _, _ = unpack_x_y_sample_weight(data)
        with no_grad():
            total, rec, kl = self._vae_losses(x, training=False)
        return self._track(total, rec, kl, int(np.shape(getattr(x, "data", x))[0]))


def dense_vae(input_dim: int, latent_dim: int = 2, hidden_units: Sequence[int] = (64,),
              activation: str = "relu", beta: float = 1.0,
              reconstruction: str = "binary_crossentropy", seed: int | None = None) -> VAE:
    """A VAE of Dense layers on flat inputs in :math:`[0, 1]`.

    Encoder: ``Input(input_dim)`` → ``Dense(hidden, activation)``… → two heads
    ``Dense(latent_dim)`` for :math:`\\mu` and :math:`\\log\\sigma^2` (a functional model).
    Decoder: ``Dense(hidden)`` in reverse order → ``Dense(input_dim, 'sigmoid')`` (linear
    for ``reconstruction='mse'``).
    """
    from nablanet import layers
    from nablanet.models.functional import Functional
    from nablanet.models.sequential import Sequential

    for name, value in (("input_dim", input_dim), ("latent_dim", latent_dim)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"dense_vae: {name} must be a positive integer. "
                             f"Received: {name}={value!r}")
    inputs = layers.Input(shape=(input_dim,))
    h = inputs
    for units in hidden_units:
        h = layers.Dense(units, activation=activation)(h)
    z_mean = layers.Dense(latent_dim, name=None)(h)
    z_log_var = layers.Dense(latent_dim, kernel_initializer="zeros")(h)
    encoder = Functional(inputs, [z_mean, z_log_var], name="encoder")
    out_activation = "sigmoid" if reconstruction == "binary_crossentropy" else None
    decoder = Sequential(
        [layers.Input(shape=(latent_dim,))]
        + [layers.Dense(units, activation=activation) for units in reversed(hidden_units)]
        + [layers.Dense(input_dim, activation=out_activation)],
        name="decoder",
    )
    return VAE(encoder, decoder, beta=beta, reconstruction=reconstruction,
               latent_dim=latent_dim, seed=seed)
