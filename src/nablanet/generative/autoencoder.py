r"""Autoencoders (§9.2): encoder :math:`f`, decoder :math:`g`, reconstruction :math:`r = g(f(x))`.

The encoder maps the input to a code :math:`h = f(x)` and the decoder maps the code back,
:math:`r = g(h) = g(f(x))` (ERRATA 9.2: the chapter writes :math:`r = g(x)`). Training
minimises a reconstruction loss :math:`L(x, g(f(x)))` (``model.fit(x, x)``). To keep the
network from learning the identity, the code is constrained:

* **undercomplete**: :math:`h` has fewer dimensions than :math:`x`, so the autoencoder
  must keep the most useful directions of variation (a linear one with squared error spans
  the principal subspace);
* **denoising** (Vincent et al. 2008): the input is corrupted, :math:`\tilde x \sim
  C(\tilde x \mid x)`, and the loss compares :math:`g(f(\tilde x))` with the *clean*
  :math:`x`, so the network must learn the structure of the data to undo the noise.
  Corruption happens only in training (``training=True``); at inference
  :math:`r = g(f(x))`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.function import no_grad
from nablanet.autograd.tensor import Tensor
from nablanet.models.model import Model

__all__ = ["CORRUPTIONS", "Autoencoder", "conv_autoencoder", "corrupt", "dense_autoencoder"]

#: The corruption processes of the denoising autoencoder.
CORRUPTIONS = ("gaussian", "masking")


def corrupt(x: np.ndarray, kind: str, level: float,
            rng: np.random.Generator | None = None) -> np.ndarray:
    r"""A corrupted copy :math:`\tilde x` of ``x``.

    ``'gaussian'``: :math:`\tilde x = x + \epsilon`, :math:`\epsilon \sim \mathcal N(0,
    \text{level}^2)`; ``'masking'``: each entry is set to 0 with probability ``level``
    (no rescaling: this is corruption, not dropout).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((2, 1000), np.float32)
    >>> round(float((corrupt(x, "masking", 0.25, np.random.default_rng(0)) == 0).mean()), 1)
    0.3
    """
    if kind not in CORRUPTIONS:
        raise ValueError(f"corrupt: kind must be one of {CORRUPTIONS}. Received: kind={kind!r}")
    if not level >= 0 or (kind == "masking" and level >= 1):
        raise ValueError(f"corrupt: level must be non-negative (and below 1 for masking). "
                         f"Received: level={level!r}")
    if rng is None:
        from nablanet.random import generator

        rng = generator()
    x = np.asarray(x)
    if kind == "gaussian":
        return (x + rng.standard_normal(x.shape) * level).astype(x.dtype)
    return (x * (rng.random(x.shape) >= level)).astype(x.dtype)


class Autoencoder(Model):
    r"""An autoencoder :math:`r = g(f(x))` from an encoder and a decoder model.

    Train it as any Keras model on ``(x, x)``: ``compile(optimizer, loss='mse')`` then
    ``fit(x, x)``. With ``corruption`` it is a denoising autoencoder: in training the
    encoder sees :math:`\tilde x` (:func:`corrupt`) while the loss still compares with the
    clean target.

    Parameters
    ----------
    encoder, decoder : Model or Layer
        :math:`f` and :math:`g`.
    corruption : {None, 'gaussian', 'masking'}
    noise_level : float
        Standard deviation ('gaussian') or masking probability ('masking').
    seed : int, optional
        Seed of the corruption noise (nablanet's generator by default).

    Examples
    --------
    >>> import numpy as np
    >>> import nablanet as nb
    >>> nb.set_random_seed(0)
    >>> ae = dense_autoencoder(input_dim=6, code_dim=2, hidden_units=(4,))
    >>> ae.compile(optimizer="adam", loss="mse")
    >>> _ = ae.fit(np.random.rand(16, 6).astype("float32"),
    ...            np.random.rand(16, 6).astype("float32"), verbose=0)
    >>> ae.encode(np.zeros((3, 6), np.float32)).shape
    (3, 2)
    """

    def __init__(self, encoder: Any, decoder: Any, corruption: str | None = None,
                 noise_level: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if corruption is not None and corruption not in CORRUPTIONS:
            raise ValueError(f"Autoencoder: corruption must be None or one of {CORRUPTIONS}. "
                             f"Received: corruption={corruption!r}")
        if not (isinstance(noise_level, (int, float, np.floating)) and noise_level >= 0) or (
                corruption == "masking" and noise_level >= 1):
            raise ValueError("Autoencoder: noise_level must be non-negative (below 1 for "
                             f"masking). Received: noise_level={noise_level!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.corruption = corruption
        self.noise_level = float(noise_level)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def call(self, inputs: Any, training: bool = False) -> Tensor:
        """:math:`g(f(x))`, or :math:`g(f(\\tilde x))` in training when denoising."""
        if training and self.corruption is not None and self.noise_level > 0:
            data = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
            inputs = Tensor(corrupt(data, self.corruption, self.noise_level, self._rng))
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def encode(self, x: Any) -> np.ndarray:
        """The code :math:`h = f(x)` as an array (inference mode)."""
        with no_grad():
            return self.encoder(np.asarray(getattr(x, "data", x), np.float32),
                                training=False).data

    def decode(self, h: Any) -> np.ndarray:
        """The decoder's output :math:`g(h)` as an array (inference mode)."""
        with no_grad():
            return self.decoder(np.asarray(getattr(h, "data", h), np.float32),
                                training=False).data

    def reconstruct(self, x: Any) -> np.ndarray:
        """:math:`r = g(f(x))` as an array (inference mode, no corruption)."""
        return self.decode(self.encode(x))


def _check_positive(where: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def dense_autoencoder(input_dim: int, code_dim: int, hidden_units: Sequence[int] = (32,),
                      activation: str = "relu", output_activation: str | None = "sigmoid",
                      corruption: str | None = None, noise_level: float = 0.0,
                      seed: int | None = None) -> Autoencoder:
    """An undercomplete autoencoder of Dense layers on flat inputs.

    Encoder ``Dense(hidden)``… → ``Dense(code_dim)`` (linear code); decoder the hidden
    sizes in reverse → ``Dense(input_dim, output_activation)`` (sigmoid for data in
    :math:`[0, 1]`). ``code_dim`` must be smaller than ``input_dim`` (the bottleneck).
    """
    from nablanet import layers
    from nablanet.models.sequential import Sequential

    where = "dense_autoencoder"
    input_dim = _check_positive(where, "input_dim", input_dim)
    code_dim = _check_positive(where, "code_dim", code_dim)
    if code_dim >= input_dim:
        raise ValueError(f"{where}: code_dim must be smaller than input_dim for an "
                         f"undercomplete autoencoder. Received: code_dim={code_dim}, "
                         f"input_dim={input_dim}")
    encoder = Sequential(
        [layers.Input(shape=(input_dim,))]
        + [layers.Dense(units, activation=activation) for units in hidden_units]
        + [layers.Dense(code_dim)], name="encoder")
    decoder = Sequential(
        [layers.Input(shape=(code_dim,))]
        + [layers.Dense(units, activation=activation) for units in reversed(hidden_units)]
        + [layers.Dense(input_dim, activation=output_activation)], name="decoder")
    return Autoencoder(encoder, decoder, corruption=corruption, noise_level=noise_level,
                       seed=seed)


def conv_autoencoder(input_shape: Sequence[int] = (8, 8, 1), code_dim: int = 8,
                     filters: Sequence[int] = (16, 8), activation: str = "relu",
                     output_activation: str | None = "sigmoid", corruption: str | None = None,
                     noise_level: float = 0.0, seed: int | None = None) -> Autoencoder:
    """An undercomplete convolutional autoencoder for ``(height, width, channels)`` images.

    Encoder: one ``Conv2D(f, 3, strides=2, padding='same')`` per entry of ``filters``
    (each halves the size), ``Flatten``, ``Dense(code_dim)``. Decoder: ``Dense`` back to
    the smallest feature map, ``Reshape``, then for the first halving an
    ``UpSampling2D(2)`` and for the others a ``Conv2DTranspose(f, 3, strides=2,
    padding='same')``, and a final ``Conv2DTranspose(channels, 3, padding='same',
    activation=output_activation)``. Height and width must be divisible by
    ``2 ** len(filters)``.
    """
    from nablanet import layers
    from nablanet.models.sequential import Sequential

    where = "conv_autoencoder"
    h, w, c = (_check_positive(where, "input_shape entries", int(n)) for n in input_shape)
    code_dim = _check_positive(where, "code_dim", code_dim)
    filters = [_check_positive(where, "filters entries", f) for f in filters]
    if not filters:
        raise ValueError(f"{where}: filters must name at least one convolution. "
                         f"Received: filters={filters}")
    factor = 2 ** len(filters)
    if h % factor or w % factor:
        raise ValueError(f"{where}: height and width must be divisible by 2**len(filters) = "
                         f"{factor}. Received: input_shape={tuple(input_shape)}")
    if code_dim >= h * w * c:
        raise ValueError(f"{where}: code_dim must be smaller than the input size {h * w * c} "
                         f"for an undercomplete autoencoder. Received: code_dim={code_dim}")
    conv = getattr(layers, "Conv2D", None)
    if conv is None:  # pragma: no cover - Conv2D ships with nablanet.layers.conv
        raise ImportError(f"{where}: nablanet.layers.Conv2D is not available")
    encoder_layers: list[Any] = [layers.Input(shape=(h, w, c))]
    encoder_layers += [conv(f, 3, strides=2, padding="same", activation=activation)
                       for f in filters]
    encoder_layers += [layers.Flatten(), layers.Dense(code_dim)]
    sh, sw = h // factor, w // factor
    decoder_layers: list[Any] = [layers.Input(shape=(code_dim,)),
                                 layers.Dense(sh * sw * filters[-1], activation=activation),
                                 layers.Reshape((sh, sw, filters[-1]))]
    for i, f in enumerate(reversed(filters)):
        if i == 0:
            decoder_layers += [layers.UpSampling2D(2)]
        else:
            decoder_layers += [layers.Conv2DTranspose(f, 3, strides=2, padding="same",
                                                      activation=activation)]
    decoder_layers += [layers.Conv2DTranspose(c, 3, padding="same",
                                              activation=output_activation)]
    return Autoencoder(Sequential(encoder_layers, name="encoder"),
                       Sequential(decoder_layers, name="decoder"),
                       corruption=corruption, noise_level=noise_level, seed=seed)
