"""Conv1D and Conv2D layers: shared layer checks, Keras semantics, and torch references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import nablanet as nb
from nablanet import layers, regularizers
from nablanet.testing import check_layer


@pytest.mark.parametrize("layer_cls, kwargs, in_shape, out_shape, n_weights", [
    (layers.Conv2D, {"filters": 4, "kernel_size": 3}, (2, 8, 8, 3), (2, 6, 6, 4), 2),
    (layers.Conv2D, {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same",
                     "activation": "relu", "use_bias": False}, (2, 7, 8, 3), (2, 4, 4, 4), 1),
    (layers.Conv2D, {"filters": 6, "kernel_size": 3, "dilation_rate": 2, "groups": 2,
                     "kernel_regularizer": regularizers.L2(0.01)}, (1, 9, 9, 4),
     (1, 5, 5, 6), 2),
    (layers.Conv1D, {"filters": 5, "kernel_size": 3}, (2, 10, 3), (2, 8, 5), 2),
    (layers.Conv1D, {"filters": 5, "kernel_size": 4, "padding": "causal", "dilation_rate": 2},
     (2, 10, 3), (2, 10, 5), 2),
    (layers.Conv1D, {"filters": 2, "kernel_size": 3, "strides": 3, "padding": "same"},
     (2, 10, 3), (2, 4, 2), 2),
])
def test_shared_layer_checks(layer_cls, kwargs, in_shape, out_shape, n_weights) -> None:
    check_layer(layer_cls, kwargs, in_shape, out_shape, n_weights)


def _torch_conv2d(x, kernel, bias, strides, padding, dilation, groups):
    """torch reference with TensorFlow's 'same' rule applied by explicit padding."""
    xt = x.permute(0, 3, 1, 2)
    wt = kernel.permute(3, 2, 0, 1)
    if padding == "same":
        pads = []
        for n, k, s, d in zip(xt.shape[2:], wt.shape[2:], strides, dilation):
            out = -(-n // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        xt = tF.pad(xt, (*pads[1], *pads[0]))
    y = tF.conv2d(xt, wt, bias, stride=strides, dilation=dilation, groups=groups)
    return y.permute(0, 2, 3, 1)


@pytest.mark.parametrize("kwargs, in_shape", [
    ({"filters": 16, "kernel_size": (3, 3), "activation": "relu"}, (2, 12, 12, 3)),
    ({"filters": 4, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same",
      "activation": "tanh"}, (3, 7, 6, 2)),
    ({"filters": 6, "kernel_size": 3, "dilation_rate": 2, "groups": 3}, (2, 9, 10, 6)),
    ({"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same", "use_bias": False},
     (2, 9, 9, 3)),
])
def test_conv2d_matches_torch(kwargs, in_shape) -> None:
    rng = np.random.default_rng(0)
    nb.set_random_seed(0)
    layer = layers.Conv2D(**kwargs)
    x = rng.standard_normal(in_shape).astype(np.float32)
    layer.build((None, *in_shape[1:]))
    if layer.use_bias:  # a non-zero bias, so that its place in the sum is checked
        layer.bias.data[...] = rng.standard_normal(layer.bias.shape)
    xt = nb.tensor(x, requires_grad=True)
    out = layer(xt)
    g = rng.standard_normal(out.shape).astype(np.float32)
    (out * nb.tensor(g)).sum().backward()

    x_ref = torch.tensor(x, requires_grad=True)
    k_ref = torch.tensor(layer.kernel.data, requires_grad=True)
    b_ref = torch.tensor(layer.bias.data, requires_grad=True) if layer.use_bias else None
    ref = _torch_conv2d(x_ref, k_ref, b_ref, layer.strides, layer.padding, layer.dilation_rate,
                        layer.groups)
    ref = {"relu": torch.relu, "tanh": torch.tanh}.get(kwargs.get("activation"),
                                                       lambda t: t)(ref)
    (ref * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xt.grad, x_ref.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.kernel.grad, k_ref.grad.numpy(), rtol=1e-4, atol=1e-4)
    if layer.use_bias:
        np.testing.assert_allclose(layer.bias.grad, b_ref.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs", [
    {"filters": 5, "kernel_size": 3, "activation": "relu"},
    {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
    {"filters": 4, "kernel_size": 2, "strides": 2, "groups": 2},
])
def test_conv1d_matches_torch(kwargs) -> None:
    rng = np.random.default_rng(1)
    nb.set_random_seed(1)
    layer = layers.Conv1D(**kwargs)
    x = rng.standard_normal((3, 11, 4)).astype(np.float32)
    xt = nb.tensor(x, requires_grad=True)
    out = layer(xt)
    g = rng.standard_normal(out.shape).astype(np.float32)
    (out * nb.tensor(g)).sum().backward()

    x_ref = torch.tensor(x, requires_grad=True)
    k_ref = torch.tensor(layer.kernel.data, requires_grad=True)
    b_ref = torch.tensor(layer.bias.data, requires_grad=True)
    xin = x_ref.permute(0, 2, 1)
    if layer.padding == "causal":
        xin = tF.pad(xin, ((layer.kernel_size[0] - 1) * layer.dilation_rate[0], 0))
    ref = tF.conv1d(xin, k_ref.permute(2, 1, 0), b_ref, stride=layer.strides[0],
                    dilation=layer.dilation_rate[0], groups=layer.groups).permute(0, 2, 1)
    if kwargs.get("activation") == "relu":
        ref = torch.relu(ref)
    (ref * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xt.grad, x_ref.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.kernel.grad, k_ref.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.bias.grad, b_ref.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_glorot_uniform_uses_receptive_field_fans() -> None:
    nb.set_random_seed(0)
    layer = layers.Conv2D(64, (3, 3))
    layer.build((None, 32, 32, 32))
    limit = np.sqrt(6.0 / (9 * 32 + 9 * 64))
    kernel = layer.kernel.data
    assert kernel.shape == (3, 3, 32, 64) and kernel.dtype == np.float32
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    np.testing.assert_array_equal(layer.bias.data, 0.0)


def test_regularizer_losses_and_config() -> None:
    layer = layers.Conv2D(2, 3, kernel_regularizer=regularizers.L2(0.1),
                          bias_regularizer="l1", bias_initializer="ones")
    layer(np.zeros((1, 5, 5, 1), np.float32))
    expected = 0.1 * (layer.kernel.data ** 2).sum() + 0.01 * 2
    np.testing.assert_allclose(sum(float(t.data) for t in layer.losses), expected, rtol=1e-5)
    config = layer.get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (1, 1)
    assert config["padding"] == "valid" and config["data_format"] == "channels_last"
    assert layers.Conv2D.from_config(config).get_config() == config


@pytest.mark.parametrize("kwargs, message", [  # Keras's messages
    ({"filters": 0, "kernel_size": 3}, r"Conv2D: Invalid value for argument `filters`. "
                                       r"Expected a strictly positive value. Received "
                                       r"filters=0."),
    ({"filters": 2, "kernel_size": (3, 3, 3)}, "The `kernel_size` argument must be a tuple of "
                                               "2 integers"),
    ({"filters": 2, "kernel_size": 3, "padding": "causal"}, "padding must be one of 'valid', "
                                                           "'same'. Received: padding='causal'"),
    ({"filters": 3, "kernel_size": 3, "groups": 2}, "filters must be evenly divisible by the "
                                                    "number of groups"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "`strides > 1` not "
                                                                         "supported"),
    ({"filters": 2, "kernel_size": 3, "data_format": "NCHW"}, "data_format"),
])
def test_argument_errors(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        layers.Conv2D(**kwargs)


def test_input_errors_name_layer_and_shapes() -> None:
    layer = layers.Conv2D(2, 3, name="c")
    with pytest.raises(ValueError, match=r"Conv2D 'c': expected an input of rank 4"):
        layer(np.zeros((2, 5, 5), np.float32))
    layer(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected 3 input channels .* shape \(1, 5, 5, 4\)"):
        layer(np.zeros((1, 5, 5, 4), np.float32))
    with pytest.raises(ValueError, match="too small for the kernel"):
        layer(np.zeros((1, 2, 5, 3), np.float32))
    with pytest.raises(ValueError, match="channels must be divisible by the number of groups"):
        layers.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), np.float32))


def test_chapter_model_shapes_and_parameters() -> None:
    from nablanet import models

    model = models.Sequential([
        layers.Input(shape=(128, 128, 3)),
        layers.Conv2D(16, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(3),
    ])
    # Keras's summary of the chapter's second model: 448 + 4,640 + 3,686,528 + 387 parameters
    assert model.count_params() == 448 + 4_640 + 30 * 30 * 32 * 128 + 128 + 387
    assert model.layers[2].compute_output_shape((None, 63, 63, 16)) == (None, 61, 61, 32)
    assert model.output_shape == (None, 3)


def test_relu_activation_is_fused_into_the_conv_primitive() -> None:
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3)).astype(np.float32)
    fused = layers.Conv2D(4, 3, activation="relu")
    out = fused(nb.tensor(x))
    assert isinstance(out.grad_fn, nb.ops.conv.Conv2D)
    other = layers.Conv2D(4, 3, activation="relu6")  # other activations stay separate nodes
    other.build(x.shape)
    assert type(other(nb.tensor(x)).grad_fn).__name__ != "Conv2D"
    conv1 = layers.Conv1D(4, 3, activation="relu")
    assert isinstance(conv1(nb.tensor(x[:, 0])).grad_fn, nb.ops.conv.Conv1D)
    linear = layers.Conv2D(4, 3)
    linear.build(x.shape)
    linear.set_weights(fused.get_weights())
    np.testing.assert_array_equal(out.data, np.maximum(linear(nb.tensor(x)).data, 0))
