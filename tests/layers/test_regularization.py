"""Dropout (inverted, training only), GaussianNoise, ActivityRegularization."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet import layers
from nablanet.testing import check_layer


@pytest.mark.parametrize("layer_cls, kwargs, in_shape", [
    (layers.Dropout, {"rate": 0.5}, (2, 5)),
    (layers.Dropout, {"rate": 0.2, "noise_shape": [None, 1, 4], "seed": 3}, (2, 3, 4)),
    (layers.GaussianNoise, {"stddev": 0.1}, (2, 5)),
    (layers.ActivityRegularization, {"l1": 0.1, "l2": 0.2}, (2, 5)),
])
def test_shared_layer_checks(layer_cls, kwargs, in_shape) -> None:
    check_layer(layer_cls, kwargs, in_shape, in_shape, 0)


def test_dropout_is_identity_at_inference() -> None:
    x = nb.tensor(np.random.default_rng(0).standard_normal((10, 10)).astype(np.float32))
    layer = layers.Dropout(0.5)
    assert layer(x) is x
    assert layer(x, training=False) is x


def test_dropout_rate_and_inverted_scaling_in_training() -> None:
    nb.set_random_seed(0)
    x = np.ones((200, 500), np.float32)
    out = layers.Dropout(0.3)(x, training=True).data
    values = np.unique(out)
    assert len(values) == 2 and values[0] == 0.0
    np.testing.assert_allclose(values[1], 1 / 0.7, rtol=1e-6)
    assert abs((out == 0).mean() - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.01  # expectation preserved


def test_dropout_gradient_uses_the_same_mask() -> None:
    nb.set_random_seed(1)
    x = nb.tensor(np.ones((4, 6), np.float32), requires_grad=True)
    out = layers.Dropout(0.5)(x, training=True)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)


def test_dropout_reproducible_under_set_random_seed() -> None:
    x = np.ones((8, 8), np.float32)
    nb.set_random_seed(42)
    a = layers.Dropout(0.5)(x, training=True).data
    nb.set_random_seed(42)
    b = layers.Dropout(0.5)(x, training=True).data
    np.testing.assert_array_equal(a, b)
    c = layers.Dropout(0.5, seed=7)
    d = layers.Dropout(0.5, seed=7)
    first = c(x, training=True).data
    np.testing.assert_array_equal(first, d(x, training=True).data)
    assert not np.array_equal(first, c(x, training=True).data)  # a fresh mask per call


def test_dropout_noise_shape_broadcasts_the_mask() -> None:
    nb.set_random_seed(0)
    out = layers.Dropout(0.5, noise_shape=(None, 1, 6))(np.ones((3, 5, 6), np.float32),
                                                         training=True).data
    assert np.all(out == out[:, :1, :])


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.5"])
def test_dropout_invalid_rate(rate) -> None:
    with pytest.raises(ValueError, match=f"Received: rate={rate!r}"):
        layers.Dropout(rate)


def test_dropout_rate_one_drops_everything_and_seeded_masks_follow_keras_numpy() -> None:
    x = np.ones((4, 6), np.float32)
    np.testing.assert_array_equal(layers.Dropout(1.0)(x, training=True).data, np.zeros((4, 6)))
    layer = layers.Dropout(0.5, seed=7)
    first, second = (layer(x, training=True).data for _ in range(2))
    for n, out in enumerate((first, second)):  # the n-th mask: default_rng([seed, n])
        keep = np.random.default_rng([7, n]).uniform(size=(4, 6)) < 0.5
        np.testing.assert_array_equal(out, np.where(keep, 2.0, 0.0))


def test_activity_regularization_adds_undivided_penalty() -> None:
    layer = layers.ActivityRegularization(l1=0.1, l2=0.5)
    x = np.array([[1.0, -2.0], [3.0, 0.0]], np.float32)
    layer(x)
    expected = 0.1 * 6.0 + 0.5 * 14.0  # Keras 3: not divided by the batch size
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-6)
