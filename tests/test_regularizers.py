"""Regularisers: penalties and gradients against hand computation (Keras: no ½ in L2)."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet import layers, regularizers

W = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)


@pytest.mark.parametrize("reg, value, grad", [
    (regularizers.L1(0.1), 0.1 * 6.5, 0.1 * np.sign(W)),
    (regularizers.L2(0.1), 0.1 * 14.25, 0.2 * W),
    (regularizers.L1L2(l1=0.1, l2=0.2), 0.1 * 6.5 + 0.2 * 14.25, 0.1 * np.sign(W) + 0.4 * W),
    (regularizers.L1L2(), 0.0, np.zeros_like(W)),
])
def test_penalty_and_gradient(reg, value, grad) -> None:
    w = nb.tensor(W, requires_grad=True)
    penalty = reg(w)
    assert penalty.shape == ()
    np.testing.assert_allclose(float(penalty), value, rtol=1e-6)
    if penalty.requires_grad:
        penalty.backward()
        np.testing.assert_allclose(w.grad, grad, rtol=1e-6)


def test_defaults_follow_keras() -> None:
    assert regularizers.L1().l1 == 0.01 and regularizers.L2().l2 == 0.01
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}


def test_chapter_half_lambda_form_is_l2_of_half_lambda() -> None:
    lam = 0.02
    w = nb.tensor(W)
    np.testing.assert_allclose(float(regularizers.L2(lam / 2)(w)),
                               lam / 2 * np.sum(W.astype(np.float64) ** 2), rtol=1e-6)


def test_get_serialize_roundtrip_and_errors() -> None:
    for reg in (regularizers.L1(0.3), regularizers.L2(0.2), regularizers.L1L2(0.1, 0.4)):
        assert regularizers.get(regularizers.serialize(reg)) == reg
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)
    assert regularizers.get(None) is None
    assert regularizers.serialize(None) is None
    with pytest.raises(ValueError, match="Unknown regularizer: 'l3'.*'l2'"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="l2 must be a non-negative"):
        regularizers.L2(-1.0)


def test_penalties_in_layer_losses_for_every_chapter_listing() -> None:
    x = np.ones((3, 2), np.float32)
    for reg in (regularizers.L2(l2=0.01), regularizers.L1(l1=0.01),
                regularizers.L1L2(l1=0.01, l2=0.01)):
        layer = layers.Dense(10, kernel_regularizer=reg)
        layer(x)
        assert len(layer.losses) == 1
        np.testing.assert_allclose(float(layer.losses[0]), float(reg(layer.kernel)), rtol=1e-6)
