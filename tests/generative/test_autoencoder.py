"""Autoencoders: r = g(f(x)), the bottleneck, denoising, and the reconstruction error."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet import layers, optimizers
from nablanet.data.digits import load_digit_images
from nablanet.experiments.autoencoder import reconstruction_mse
from nablanet.generative import Autoencoder, conv_autoencoder, corrupt, dense_autoencoder


def _digits(n: int) -> np.ndarray:
    images, _ = load_digit_images(n)
    return images


def test_reconstruction_is_decoder_of_encoder():
    nb.set_random_seed(0)
    ae = dense_autoencoder(64, 4, hidden_units=(16,))
    x = _digits(10).reshape(10, 64)
    h = ae.encode(x)
    assert h.shape == (10, 4)
    np.testing.assert_allclose(ae.reconstruct(x), ae.decode(h), rtol=1e-6)
    np.testing.assert_allclose(ae.predict(x, verbose=0), ae.decode(h), rtol=1e-6)


def test_dense_autoencoder_error_falls_below_threshold():
    """8-D code of the 64-pixel digits: test MSE under 0.025 (the mean image gives ~0.07)."""
    x = _digits(600).reshape(600, 64)
    train, test = x[:500], x[500:]
    nb.set_random_seed(0)
    ae = dense_autoencoder(64, 8, hidden_units=(64,))
    baseline = float(np.mean((test - train.mean(axis=0)) ** 2))
    ae.compile(optimizer=optimizers.Adam(3e-3), loss="mse")
    history = ae.fit(train, train, batch_size=32, epochs=60, verbose=0)
    error = reconstruction_mse(ae, test)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert baseline > 0.06
    assert error < 0.025, error


def test_conv_autoencoder_shapes_and_training():
    nb.set_random_seed(0)
    ae = conv_autoencoder((8, 8, 1), code_dim=6, filters=(8, 4))
    x = _digits(256)
    assert ae.encode(x).shape == (256, 6)
    assert ae.reconstruct(x).shape == (256, 8, 8, 1)
    kinds = [type(layer).__name__ for layer in ae.decoder.layers]
    assert "UpSampling2D" in kinds and "Conv2DTranspose" in kinds
    ae.compile(optimizer=optimizers.Adam(1e-2), loss="mse")
    before = reconstruction_mse(ae, x)
    ae.fit(x, x, batch_size=32, epochs=10, verbose=0)
    assert reconstruction_mse(ae, x) < 0.6 * before


def test_denoising_corrupts_only_in_training():
    nb.set_random_seed(0)
    ae = dense_autoencoder(64, 4, hidden_units=(8,), corruption="masking", noise_level=0.5,
                           seed=1)
    x = _digits(20).reshape(20, 64)
    clean = ae(x, training=False).numpy()
    np.testing.assert_allclose(ae(x, training=False).numpy(), clean)
    assert not np.allclose(ae(x, training=True).numpy(), clean)


def test_denoising_autoencoder_removes_noise():
    x = _digits(600).reshape(600, 64)
    train, test = x[:500], x[500:]
    nb.set_random_seed(0)
    ae = dense_autoencoder(64, 16, hidden_units=(64,), corruption="gaussian", noise_level=0.3,
                           seed=0)
    ae.compile(optimizer=optimizers.Adam(3e-3), loss="mse")
    ae.fit(train, train, batch_size=32, epochs=25, verbose=0)
    noisy = corrupt(test, "gaussian", 0.3, np.random.default_rng(1))
    noise_error = float(np.mean((noisy - test) ** 2))
    denoised_error = float(np.mean((ae.reconstruct(noisy) - test) ** 2))
    assert denoised_error < 0.5 * noise_error, (noise_error, denoised_error)


def test_corrupt_statistics_and_errors():
    rng = np.random.default_rng(0)
    x = np.zeros((200, 100), np.float32)
    assert abs(float(corrupt(x, "gaussian", 0.3, rng).std()) - 0.3) < 0.01
    assert abs(float((corrupt(x + 1, "masking", 0.25, rng) == 0).mean()) - 0.25) < 0.01
    with pytest.raises(ValueError, match="kind must be"):
        corrupt(x, "salt", 0.1)
    with pytest.raises(ValueError, match="level"):
        corrupt(x, "masking", 1.0)


def test_builders_enforce_an_undercomplete_code():
    with pytest.raises(ValueError, match="code_dim must be smaller than input_dim"):
        dense_autoencoder(8, 8)
    with pytest.raises(ValueError, match="divisible"):
        conv_autoencoder((6, 6, 1), filters=(4, 4))
    with pytest.raises(ValueError, match="corruption must be"):
        Autoencoder(layers.Dense(2), layers.Dense(4), corruption="blur")
