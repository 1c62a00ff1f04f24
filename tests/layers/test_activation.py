"""Rectifier layers (chapter eq. 8): ReLU, LeakyReLU, PReLU, GeneralizedReLU, ELU, Softmax."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers
from nablanet.testing import check_layer


@pytest.mark.parametrize("layer_cls, kwargs, in_shape, n_weights", [
    (layers.ReLU, {}, (2, 5), 0),
    (layers.ReLU, {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.2}, (2, 5), 0),
    (layers.LeakyReLU, {}, (2, 3, 4), 0),
    (layers.PReLU, {}, (2, 5), 1),
    (layers.PReLU, {"shared_axes": [1, 2], "alpha_initializer": "ones"}, (2, 3, 3, 4), 1),
    (layers.GeneralizedReLU, {}, (2, 5), 0),
    (layers.GeneralizedReLU, {"alpha": 0.05}, (2, 5), 0),
    (layers.GeneralizedReLU, {"alpha": 0.25, "learned": True, "shared_axes": [1]}, (2, 3, 4), 1),
    (layers.ELU, {"alpha": 0.5}, (2, 4), 0),
    (layers.Softmax, {"axis": 1}, (2, 3, 4), 0),
])
def test_shared_layer_checks(layer_cls, kwargs, in_shape, n_weights) -> None:
    check_layer(layer_cls, kwargs, in_shape, in_shape, n_weights)


def _compare(ours_out, x_ours, ref_out, x_ref, g):
    (ours_out * nb.tensor(g)).sum().backward()
    (ref_out * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(ours_out.data, ref_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x_ours.grad, x_ref.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer, torch_fn", [
    (lambda: layers.ReLU(), torch.relu),
    (lambda: layers.LeakyReLU(), lambda x: torch.nn.functional.leaky_relu(x, 0.3)),
    (lambda: layers.LeakyReLU(alpha=0.1), lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
    (lambda: layers.GeneralizedReLU(alpha=-1.0), torch.abs),
    (lambda: layers.GeneralizedReLU(alpha=0.2), lambda x: torch.nn.functional.leaky_relu(x, 0.2)),
    (lambda: layers.ReLU(max_value=0.5), lambda x: torch.clamp(x, 0.0, 0.5)),
    (lambda: layers.ELU(), torch.nn.functional.elu),
])
def test_fixed_rectifiers_match_torch(layer, torch_fn) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    g = rng.standard_normal((4, 6)).astype(np.float32)
    xo, xr = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    _compare(layer()(xo), xo, torch_fn(xr), xr, g)


def test_prelu_matches_torch_with_shared_axes() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 3, 4)).astype(np.float32)  # NHWC, one slope per channel
    g = rng.standard_normal(x.shape).astype(np.float32)
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build((None, 3, 3, 4))
    alpha = rng.uniform(0.05, 0.5, (1, 1, 4)).astype(np.float32)
    layer.set_weights([alpha])
    xo, xr = nb.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    weight = torch.tensor(alpha.reshape(4), requires_grad=True)
    ref = torch.nn.functional.prelu(xr.permute(0, 3, 1, 2), weight).permute(0, 2, 3, 1)
    _compare(layer(xo), xo, ref, xr, g)
    np.testing.assert_allclose(layer.alpha.grad.reshape(4), weight.grad.numpy(), rtol=1e-5,
                               atol=1e-5)


def test_learned_generalized_relu_is_prelu_started_at_alpha() -> None:
    layer = layers.GeneralizedReLU(alpha=-1.0, learned=True)
    x = nb.tensor([[-2.0, 3.0]], requires_grad=True)
    out = layer(x)
    np.testing.assert_allclose(out.data, [[2.0, 3.0]])
    out.sum().backward()
    np.testing.assert_allclose(layer.alpha.grad, [-2.0, 0.0])  # d/dα of α·min(0, z)
    assert len(layer.trainable_weights) == 1


def test_rectifier_argument_errors() -> None:
    with pytest.raises(ValueError, match="negative_slope"):
        layers.LeakyReLU(negative_slope=-0.1)
    with pytest.raises(ValueError, match="shared_axes"):
        layers.GeneralizedReLU(alpha=0.1, shared_axes=[1])
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU(shared_axes=[3])(np.ones((2, 3), np.float32))
