"""Generative models of §9: GANs, autoencoders and variational autoencoders.

* :mod:`~nablanet.generative.gan`: the value function, the discriminator and generator
  losses (minimax and non-saturating) and :class:`GAN`, a model with two optimizers;
* :mod:`~nablanet.generative.autoencoder`: :class:`Autoencoder` (:math:`r = g(f(x))`,
  optionally denoising) and dense / convolutional builders;
* :mod:`~nablanet.generative.vae`: :func:`kl_divergence`, :func:`reconstruction_loss`,
  the :class:`~nablanet.layers.Sampling` layer and :class:`VAE`.
"""

from nablanet.generative.autoencoder import (
    CORRUPTIONS,
    Autoencoder,
    conv_autoencoder,
    corrupt,
    dense_autoencoder,
)
from nablanet.generative.gan import (
    GAN,
    GENERATOR_LOSSES,
    discriminator_loss,
    generator_loss,
    value_function,
)
from nablanet.generative.vae import (
    RECONSTRUCTION_LOSSES,
    VAE,
    Sampling,
    dense_vae,
    kl_divergence,
    reconstruction_loss,
    reparameterize,
)

__all__ = [
    "CORRUPTIONS",
    "GAN",
    "GENERATOR_LOSSES",
    "RECONSTRUCTION_LOSSES",
    "VAE",
    "Autoencoder",
    "Sampling",
    "conv_autoencoder",
    "corrupt",
    "dense_autoencoder",
    "dense_vae",
    "discriminator_loss",
    "generator_loss",
    "kl_divergence",
    "reconstruction_loss",
    "reparameterize",
    "value_function",
]
