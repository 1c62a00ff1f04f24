"""BatchNormalization against PyTorch: training, inference, moving statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers
from nablanet.testing import check_layer


@pytest.mark.parametrize("kwargs, in_shape, n_weights", [
    ({}, (4, 3), 4),
    ({"axis": -1, "momentum": 0.9}, (2, 3, 3, 2), 4),
    ({"axis": 1, "center": False}, (3, 2, 5), 3),
    ({"scale": False, "epsilon": 1e-5}, (4, 3), 3),
])
def test_shared_layer_checks(kwargs, in_shape, n_weights) -> None:
    check_layer(layers.BatchNormalization, kwargs, in_shape, in_shape, n_weights)


def test_weight_order_is_keras_order() -> None:
    bn = layers.BatchNormalization()
    bn.build((None, 3))
    names = [n for n, _ in bn._named_weights()]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2
    assert bn.weights[2] is bn.moving_mean and bn.weights[3] is bn.moving_variance


def test_training_and_inference_match_torch_over_several_steps() -> None:
    rng = np.random.default_rng(0)
    bn = layers.BatchNormalization(momentum=0.9)
    bn.build((None, 4, 4, 3))
    gamma = rng.uniform(0.5, 1.5, 3).astype(np.float32)
    beta = rng.standard_normal(3).astype(np.float32)
    bn.set_weights([gamma, beta, np.zeros(3), np.ones(3)])
    ref = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.1)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(gamma))
        ref.bias.copy_(torch.from_numpy(beta))
    moving_mean, moving_var = np.zeros(3), np.ones(3)
    for step in range(4):
        x = (rng.standard_normal((5, 4, 4, 3)) * (step + 1) + step).astype(np.float32)
        g = rng.standard_normal(x.shape).astype(np.float32)
        xo = nb.tensor(x, requires_grad=True)
        out = bn(xo, training=True)
        (out * nb.tensor(g)).sum().backward()
        xr = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        ref.train()
        ref.zero_grad()
        out_ref = ref(xr)
        (out_ref * torch.from_numpy(g.transpose(0, 3, 1, 2).copy())).sum().backward()
        np.testing.assert_allclose(out.data, out_ref.detach().numpy().transpose(0, 2, 3, 1),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(xo.grad, xr.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-4,
                                   atol=1e-4)
        np.testing.assert_allclose(bn.gamma.grad, ref.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(bn.beta.grad, ref.bias.grad.numpy(), rtol=1e-4, atol=1e-4)
        bn.gamma.grad = bn.beta.grad = None
        # Keras: moving = moving * momentum + batch * (1 - momentum), biased batch variance.
        moving_mean = moving_mean * 0.9 + x.mean(axis=(0, 1, 2)) * 0.1
        moving_var = moving_var * 0.9 + x.var(axis=(0, 1, 2)) * 0.1
        np.testing.assert_allclose(bn.moving_mean.data, moving_mean, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(bn.moving_variance.data, moving_var, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(bn.moving_mean.data, ref.running_mean.numpy(), rtol=1e-5,
                                   atol=1e-5)

    # Inference uses the moving statistics (torch given the same ones) and leaves them alone.
    x = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    with torch.no_grad():
        ref.running_var.copy_(torch.from_numpy(moving_var.astype(np.float32)))
    ref.eval()
    before = bn.get_weights()
    xo = nb.tensor(x, requires_grad=True)
    out = bn(xo)  # training defaults to False
    xr = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    out_ref = ref(xr)
    np.testing.assert_allclose(out.data, out_ref.detach().numpy().transpose(0, 2, 3, 1),
                               rtol=1e-4, atol=1e-5)
    out.sum().backward()
    out_ref.sum().backward()
    np.testing.assert_allclose(xo.grad, xr.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-4,
                               atol=1e-5)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_frozen_layer_runs_in_inference_mode() -> None:
    bn = layers.BatchNormalization()
    x = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32) + 3.0
    bn.trainable = False
    out = bn(x, training=True)
    np.testing.assert_allclose(out.data, x / np.sqrt(1.0 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.data, 0.0)


def test_batchnorm_errors() -> None:
    with pytest.raises(ValueError, match="momentum"):
        layers.BatchNormalization(momentum=1.5)
    bn = layers.BatchNormalization()
    bn(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="expected \\(3,\\) channels"):
        bn(np.ones((2, 4), np.float32))
