"""Dense, Activation, Flatten, Reshape, Lambda and merging layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers, regularizers
from nablanet.testing import check_layer


@pytest.mark.parametrize("layer_cls, kwargs, in_shape, out_shape, n_weights", [
    (layers.Dense, {"units": 3}, (2, 4), (2, 3), 2),
    (layers.Dense, {"units": 5, "activation": "tanh", "use_bias": False}, (2, 7, 4), (2, 7, 5), 1),
    (layers.Dense, {"units": 2, "kernel_regularizer": regularizers.L1L2(0.1, 0.2),
                    "bias_initializer": "ones", "kernel_initializer": "he_normal"},
     (3, 4), (3, 2), 2),
    (layers.Activation, {"activation": "softmax"}, (2, 5), (2, 5), 0),
    (layers.Flatten, {}, (2, 3, 4, 5), (2, 60), 0),
    (layers.Reshape, {"target_shape": (3, -1)}, (2, 12), (2, 3, 4), 0),
    (layers.Reshape, {"target_shape": (4, 3)}, (2, 3, 4), (2, 4, 3), 0),
    (layers.Lambda, {"function": "relu"}, (2, 3), (2, 3), 0),
])
def test_shared_layer_checks(layer_cls, kwargs, in_shape, out_shape, n_weights) -> None:
    check_layer(layer_cls, kwargs, in_shape, out_shape, n_weights)


@pytest.mark.parametrize("layer_cls, kwargs, out_shape", [
    (layers.Add, {}, (2, 3)), (layers.Multiply, {}, (2, 3)),
    (layers.Concatenate, {"axis": -1}, (2, 6)),
])
def test_merging_layers(layer_cls, kwargs, out_shape) -> None:
    check_layer(layer_cls, kwargs, [(2, 3), (2, 3)], out_shape, 0)
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
    expected = {"Add": a + b, "Multiply": a * b, "Concatenate": np.concatenate([a, b], -1)}
    np.testing.assert_allclose(layer_cls(**kwargs)([a, b]).data, expected[layer_cls.__name__])


def test_dense_matches_torch_forward_and_gradients() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    layer = layers.Dense(4, activation="relu")
    layer.build((None, 5))
    xt = nb.tensor(x, requires_grad=True)
    out = layer(xt)
    g = rng.standard_normal(out.shape).astype(np.float32)
    (out * nb.tensor(g)).sum().backward()

    lin = torch.nn.Linear(5, 4)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(layer.kernel.data.T.copy()))
        lin.bias.copy_(torch.from_numpy(layer.bias.data))
    x_ref = torch.tensor(x, requires_grad=True)
    ref = torch.relu(lin(x_ref))
    (ref * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xt.grad, x_ref.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.kernel.grad, lin.weight.grad.numpy().T, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(layer.bias.grad, lin.bias.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_rank3_input_matches_torch() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    layer = layers.Dense(2)
    out = layer(x)
    ref = torch.from_numpy(x) @ torch.from_numpy(layer.kernel.data) + torch.from_numpy(
        layer.bias.data)
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_defaults_and_weights() -> None:
    layer = layers.Dense(3)
    layer(np.ones((2, 4), np.float32))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (4, 3) and kernel.dtype == np.float32
    assert np.all(bias == 0)
    limit = np.sqrt(6 / 7)
    assert np.abs(kernel).max() <= limit
    assert [w.requires_grad for w in layer.weights] == [True, True]
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert not layer.kernel.requires_grad


def test_dense_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"Dense: units must be a positive integer\. "
                                         r"Received: units=0"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="units=-2"):
        layers.Dense(-2)
    with pytest.raises(TypeError, match="did you mean 'kernel_regularizer'"):
        layers.Dense(10, regularizer=regularizers.L2(0.01))  # the chapter's §5.1 listing
    with pytest.raises(TypeError, match="did you mean 'units'"):
        layers.Dense(units=3, unit=4)
    with pytest.raises(ValueError, match="Unknown activation function: 'relux'.*'relu'"):
        layers.Dense(3, activation="relux")


def test_dense_input_dimension_mismatch_after_build() -> None:
    nb.layers.clear_session()
    names = [layers.Dense(2).name for _ in range(4)]
    assert names == ["dense", "dense_1", "dense_2", "dense_3"]
    nb.layers.clear_session()
    for _ in range(3):
        layers.Dense(2)
    layer = layers.Dense(3)
    assert layer.name == "dense_3"
    layer(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError) as err:
        layer(np.ones((2, 5), np.float32))
    assert str(err.value) == (  # Keras's message
        'Input 0 of layer "dense_3" is incompatible with the layer: expected axis -1 of input '
        "shape to have value 4, but received input with shape (2, 5)")


def test_set_weights_checks_shapes_and_count() -> None:
    layer = layers.Dense(3)
    layer(np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="expecting 2 weights"):
        layer.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
    layer.set_weights([np.ones((2, 3)), np.arange(3.0)])
    np.testing.assert_allclose(layer(np.ones((1, 2), np.float32)).data, [[2.0, 3.0, 4.0]])


def test_regularization_penalties_reach_layer_losses() -> None:
    layer = layers.Dense(3, kernel_regularizer=regularizers.L2(0.1),
                         bias_regularizer=regularizers.L1(0.5), bias_initializer="ones",
                         activity_regularizer=regularizers.L1(0.01))
    x = np.full((4, 2), 0.5, np.float32)
    out = layer(x)
    kernel = layer.kernel.data
    # Keras 3 adds the activity penalty undivided by the batch size.
    expected = [0.1 * np.sum(kernel ** 2), 0.5 * 3.0, 0.01 * np.abs(out.data).sum()]
    np.testing.assert_allclose([float(v) for v in layer.losses], expected, rtol=1e-5)
    total = layer.losses[0] + layer.losses[1]
    total.backward()
    np.testing.assert_allclose(layer.kernel.grad, 0.2 * kernel, rtol=1e-5)
    np.testing.assert_allclose(layer.bias.grad, 0.5 * np.ones(3), rtol=1e-5)
    layer(x)
    assert len(layer.losses) == 3  # recomputed per call, not accumulated


def test_input_and_symbolic_shapes() -> None:
    inputs = layers.Input(shape=(4,))
    out = layers.Dense(3)(layers.Flatten()(inputs))
    assert out.shape == (None, 3)


def test_flatten_and_reshape_errors() -> None:
    with pytest.raises(ValueError, match="target_shape"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((5,))(np.ones((2, 4), np.float32))


def test_lambda_refuses_to_serialize_python_functions() -> None:
    layer = layers.Lambda(lambda x: x * 2)
    np.testing.assert_allclose(layer(np.ones((1, 2), np.float32)).data, [[2.0, 2.0]])
    with pytest.raises(ValueError, match="cannot be saved"):
        layer.get_config()
