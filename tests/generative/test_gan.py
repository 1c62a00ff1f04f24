"""GAN losses against their formulas, the alternating updates, and the 2-D GAN's progress."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet import layers, optimizers
from nablanet.experiments.gan import gaussian_mixture, mixture_gan, mode_distance
from nablanet.generative import GAN, discriminator_loss, generator_loss, value_function
from nablanet.models.sequential import Sequential

LOGITS_REAL = np.array([[2.0], [-0.5], [0.3], [1.2]])
LOGITS_FAKE = np.array([[-1.5], [0.2], [-3.0]])


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def test_losses_match_the_formulas_of_section_9_1():
    d_real, d_fake = _sigmoid(LOGITS_REAL), _sigmoid(LOGITS_FAKE)
    v = np.log(d_real).mean() + np.log(1 - d_fake).mean()
    real = nb.tensor(LOGITS_REAL, dtype=np.float64)
    fake = nb.tensor(LOGITS_FAKE, dtype=np.float64)
    assert float(value_function(real, fake).item()) == pytest.approx(v, rel=1e-12)
    assert float(discriminator_loss(real, fake).item()) == pytest.approx(-v, rel=1e-12)
    assert float(generator_loss(fake, "minimax").item()) == pytest.approx(
        np.log(1 - d_fake).mean(), rel=1e-12)
    assert float(generator_loss(fake).item()) == pytest.approx(-np.log(d_fake).mean(),
                                                               rel=1e-12)
    # the same values from probabilities
    pr = nb.tensor(d_real, dtype=np.float64)
    pf = nb.tensor(d_fake, dtype=np.float64)
    assert float(discriminator_loss(pr, pf, from_logits=False).item()) == pytest.approx(
        -v, rel=1e-6)
    assert float(generator_loss(pf, "minimax", from_logits=False).item()) == pytest.approx(
        np.log(1 - d_fake).mean(), rel=1e-6)
    assert float(generator_loss(pf, from_logits=False).item()) == pytest.approx(
        -np.log(d_fake).mean(), rel=1e-6)
    with pytest.raises(ValueError, match="kind must be one of"):
        generator_loss(fake, "wasserstein")


def test_generator_loss_gradients_saturate_only_for_minimax():
    """d/da of the two generator losses: minimax -sigma(a)/n, non-saturating -(1-sigma(a))/n."""
    a = nb.tensor(LOGITS_FAKE, dtype=np.float64, requires_grad=True)
    generator_loss(a, "minimax").backward()
    np.testing.assert_allclose(a.grad, -_sigmoid(LOGITS_FAKE) / 3, rtol=1e-12)
    minimax_grad = np.abs(a.grad[2, 0])
    a = nb.tensor(LOGITS_FAKE, dtype=np.float64, requires_grad=True)
    generator_loss(a).backward()
    np.testing.assert_allclose(a.grad, -(1 - _sigmoid(LOGITS_FAKE)) / 3, rtol=1e-12)
    # where D confidently rejects the sample (logit -3), the minimax gradient is ~20x smaller
    assert np.abs(a.grad[2, 0]) > 15 * minimax_grad


def _tiny_gan(kind: str = "non_saturating") -> GAN:
    g = Sequential([layers.Input(shape=(3,)), layers.Dense(8, activation="relu"),
                    layers.Dense(2)])
    d = Sequential([layers.Input(shape=(2,)), layers.Dense(8, activation="relu"),
                    layers.Dense(1)])
    gan = GAN(d, g, latent_dim=3)
    gan.compile(d_optimizer=optimizers.SGD(0.1), g_optimizer=optimizers.SGD(0.1),
                generator_loss=kind)
    return gan


def test_discriminator_step_leaves_generator_alone_and_vice_versa():
    nb.set_random_seed(0)
    gan = _tiny_gan()
    x = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)
    gan(x)
    gan.generator(gan.latent_noise(2))
    g_before = [w.data.copy() for w in gan.generator.trainable_weights]
    d_before = [w.data.copy() for w in gan.discriminator.trainable_weights]
    gan._discriminator_step(nb.tensor(x), 16)
    assert all(np.array_equal(b, w.data) for b, w in zip(g_before,
                                                         gan.generator.trainable_weights))
    assert any(not np.array_equal(b, w.data)
               for b, w in zip(d_before, gan.discriminator.trainable_weights))
    d_mid = [w.data.copy() for w in gan.discriminator.trainable_weights]
    gan._generator_step(16)
    assert all(np.array_equal(b, w.data)
               for b, w in zip(d_mid, gan.discriminator.trainable_weights))
    assert any(not np.array_equal(b, w.data)
               for b, w in zip(g_before, gan.generator.trainable_weights))
    weights = gan.generator.trainable_weights + gan.discriminator.trainable_weights
    assert all(w.grad is None and w.requires_grad for w in weights)


def test_generator_step_follows_the_generator_loss_gradient():
    """One G step with SGD equals theta - lr * dL_G/dtheta computed by hand with the same z."""
    nb.set_random_seed(0)
    gan = _tiny_gan("minimax")
    gan(np.zeros((2, 2), np.float32))
    nb.set_random_seed(5)
    z = gan.latent_noise(4)
    fake_out = gan.discriminator(gan.generator(z))
    generator_loss(fake_out, "minimax").backward()
    expected = [w.data - 0.1 * w.grad for w in gan.generator.trainable_weights]
    for w in gan.generator.trainable_weights + gan.discriminator.trainable_weights:
        w.grad = None
    nb.set_random_seed(5)
    gan._generator_step(4)
    for e, w in zip(expected, gan.generator.trainable_weights):
        np.testing.assert_allclose(w.data, e, rtol=1e-6, atol=1e-7)


def test_fit_logs_both_losses_and_scores_in_the_progress_line(capsys):
    nb.set_random_seed(0)
    gan = _tiny_gan()
    x = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32)
    history = gan.fit(x, batch_size=32, epochs=2, verbose=2)
    line = capsys.readouterr().out
    for name in ("d_loss:", "g_loss:", "D(x):", "D(G(z)):"):
        assert name in line
    assert set(history.history) == {"d_loss", "g_loss", "D(x)", "D(G(z))"}
    assert all(0 < v < 1 for v in history.history["D(x)"] + history.history["D(G(z))"])
    assert gan.sample(5).shape == (5, 2)


def test_compile_checks_its_arguments():
    gan = _tiny_gan()
    with pytest.raises(ValueError, match="generator_loss must be one of"):
        gan.compile(generator_loss="hinge")
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="two different"):
        gan.compile(d_optimizer=opt, g_optimizer=opt)
    with pytest.raises(ValueError, match="d_steps"):
        gan.compile(d_steps=0)
    gan.compile()  # 'adam' twice -> two instances
    assert gan.d_optimizer is not gan.g_optimizer
    with pytest.raises(ValueError, match="latent_dim"):
        GAN(gan.discriminator, gan.generator, latent_dim=0)


def test_2d_gan_samples_move_toward_the_modes():
    x, centres = gaussian_mixture(1024, modes=4, std=0.05, seed=0)
    nb.set_random_seed(0)
    gan = mixture_gan(latent_dim=4, learning_rate=2e-3)
    z = gan.latent_noise(500)
    start = mode_distance(gan.sample(500, z=z), centres)
    gan.fit(x, batch_size=64, epochs=25, verbose=0)
    end = mode_distance(gan.sample(500, z=z), centres)
    assert start > 1.0
    assert end < 0.5 * start, (start, end)
