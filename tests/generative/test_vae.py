"""The KL term, the reparameterised sample and the VAE model (PyTorch as reference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers
from nablanet.generative import (
    VAE,
    dense_vae,
    kl_divergence,
    reconstruction_loss,
    reparameterize,
)


def _inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 3)), rng.standard_normal((5, 3)) * 0.7


def test_kl_divergence_matches_torch_distributions_and_its_gradients():
    mu, log_var = _inputs()
    m = nb.tensor(mu, dtype=np.float64, requires_grad=True)
    lv = nb.tensor(log_var, dtype=np.float64, requires_grad=True)
    kl = kl_divergence(m, lv)
    kl.backward()

    mt = torch.tensor(mu, requires_grad=True)
    lvt = torch.tensor(log_var, requires_grad=True)
    q = torch.distributions.Normal(mt, torch.exp(0.5 * lvt))
    p = torch.distributions.Normal(torch.zeros_like(mt), torch.ones_like(mt))
    reference = torch.distributions.kl_divergence(q, p).sum(dim=1).mean()
    reference.backward()
    assert kl.shape == ()
    assert float(kl.item()) == pytest.approx(reference.item(), rel=1e-12)
    np.testing.assert_allclose(m.grad, mt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lv.grad, lvt.grad.numpy(), rtol=1e-12)


def test_kl_divergence_formula_and_reductions():
    mu, log_var = _inputs(1)
    per_sample = -0.5 * (1 + log_var - mu**2 - np.exp(log_var)).sum(axis=1)
    none = kl_divergence(nb.tensor(mu, dtype=np.float64), nb.tensor(log_var, dtype=np.float64),
                         reduction="none")
    np.testing.assert_allclose(none.numpy(), per_sample, rtol=1e-12)
    total = kl_divergence(nb.tensor(mu, dtype=np.float64),
                          nb.tensor(log_var, dtype=np.float64), reduction="sum")
    assert float(total.item()) == pytest.approx(per_sample.sum(), rel=1e-12)
    assert float(kl_divergence(np.zeros((2, 4)), np.zeros((2, 4))).item()) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        kl_divergence(np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="reduction must be"):
        kl_divergence(np.zeros((2, 4)), np.zeros((2, 4)), reduction="mean")


def test_reparameterised_sample_and_gradients_match_torch():
    mu, log_var = _inputs(2)
    eps = np.random.default_rng(3).standard_normal(mu.shape)
    upstream = np.random.default_rng(4).standard_normal(mu.shape)
    m = nb.tensor(mu, dtype=np.float64, requires_grad=True)
    lv = nb.tensor(log_var, dtype=np.float64, requires_grad=True)
    z = reparameterize(m, lv, eps)
    (z * nb.tensor(upstream, dtype=np.float64)).sum().backward()

    mt = torch.tensor(mu, requires_grad=True)
    lvt = torch.tensor(log_var, requires_grad=True)
    zt = mt + torch.exp(0.5 * lvt) * torch.tensor(eps)
    (zt * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(z.numpy(), zt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.grad, mt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lv.grad, lvt.grad.numpy(), rtol=1e-12)
    # and torch's own rsample (same noise through the same reparameterisation)
    q = torch.distributions.Normal(torch.tensor(mu), torch.exp(0.5 * torch.tensor(log_var)))
    np.testing.assert_allclose(z.numpy(), (q.loc + q.scale * torch.tensor(eps)).numpy())


def test_sampling_layer_draws_from_the_posterior_and_passes_gradients():
    nb.set_random_seed(0)
    mu = nb.tensor(np.full((20000, 2), [1.0, -2.0]), requires_grad=True)
    log_var = nb.tensor(np.full((20000, 2), np.log([0.25, 4.0])), requires_grad=True)
    z = layers.Sampling()([mu, log_var])
    np.testing.assert_allclose(z.numpy().mean(axis=0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.numpy().std(axis=0), [0.5, 2.0], rtol=0.03)
    z.sum().backward()
    np.testing.assert_allclose(mu.grad, 1.0)
    # d z / d log_var = 0.5 sigma eps = 0.5 (z - mu)
    np.testing.assert_allclose(log_var.grad, 0.5 * (z.numpy() - mu.numpy()), rtol=1e-5,
                               atol=1e-6)
    a = layers.Sampling(seed=3)([np.zeros((2, 2), np.float32)] * 2).numpy()
    b = layers.Sampling(seed=3)([np.zeros((2, 2), np.float32)] * 2).numpy()
    np.testing.assert_array_equal(a, b)
    assert layers.Sampling.from_config(layers.Sampling(seed=3).get_config()).seed == 3
    with pytest.raises(ValueError, match="same shape"):
        layers.Sampling()([np.zeros((2, 2), np.float32), np.zeros((2, 3), np.float32)])


def test_reconstruction_loss_matches_torch_bce_and_squared_error():
    rng = np.random.default_rng(5)
    x = rng.random((4, 6))
    p = rng.uniform(0.05, 0.95, (4, 6))
    bce = reconstruction_loss(x, nb.tensor(p, dtype=np.float64))
    ref = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(x),
                                                   reduction="sum") / 4
    assert float(bce.item()) == pytest.approx(ref.item(), rel=1e-6)
    mse = reconstruction_loss(x, nb.tensor(p, dtype=np.float64), "mse")
    assert float(mse.item()) == pytest.approx(((x - p) ** 2).sum() / 4, rel=1e-12)
    with pytest.raises(ValueError, match="kind must be"):
        reconstruction_loss(x, p, "l1")


def test_vae_trains_and_exposes_encode_decode_sample():
    from sklearn.datasets import load_digits

    x = (load_digits().images[:300] / 16.0).reshape(300, 64).astype(np.float32)
    nb.set_random_seed(0)
    vae = dense_vae(64, latent_dim=2, hidden_units=(32,))
    vae.compile(optimizer="adam")
    history = vae.fit(x, batch_size=32, epochs=8, verbose=0)
    logs = history.history
    assert set(logs) == {"loss", "reconstruction_loss", "kl_loss"}
    assert logs["loss"][-1] < 0.8 * logs["loss"][0]
    np.testing.assert_allclose(np.array(logs["loss"]),
                               np.array(logs["reconstruction_loss"]) + np.array(logs["kl_loss"]),
                               rtol=1e-5)
    z_mean, z_log_var = vae.encode(x[:7])
    assert z_mean.shape == z_log_var.shape == (7, 2)
    assert vae.decode(z_mean).shape == (7, 64)
    assert vae.reconstruct(x[:7]).shape == (7, 64)
    samples = vae.sample(9)
    assert samples.shape == (9, 64) and samples.min() >= 0 and samples.max() <= 1


def test_vae_gradients_reach_encoder_through_sampling():
    nb.set_random_seed(1)
    vae = dense_vae(6, latent_dim=2, hidden_units=(4,))
    vae.compile(optimizer="sgd")
    x = np.random.default_rng(0).random((8, 6)).astype(np.float32)
    vae(x)
    before = [w.data.copy() for w in vae.encoder.trainable_weights]
    vae.train_on_batch(x)
    changed = [not np.array_equal(b, w.data) for b, w in zip(before,
                                                            vae.encoder.trainable_weights)]
    assert all(changed)


def test_vae_argument_errors():
    enc = layers.Dense(2)
    with pytest.raises(ValueError, match="beta must be"):
        VAE(enc, layers.Dense(2), beta=-1)
    with pytest.raises(ValueError, match="reconstruction must be"):
        VAE(enc, layers.Dense(2), reconstruction="l1")
    vae = VAE(enc, layers.Dense(2))
    with pytest.raises(ValueError, match="own loss"):
        vae.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="encoder must return"):
        vae(np.zeros((2, 3), np.float32))
