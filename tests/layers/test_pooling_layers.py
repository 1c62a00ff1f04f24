"""Pooling layers (local and global, 1-D and 2-D): shared checks, semantics, torch references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import nablanet as nb
from nablanet import layers
from nablanet.testing import check_layer


@pytest.mark.parametrize("layer_cls, kwargs, in_shape, out_shape", [
    (layers.MaxPooling2D, {}, (2, 8, 7, 3), (2, 4, 3, 3)),
    (layers.MaxPooling2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 8, 3),
     (2, 4, 4, 3)),
    (layers.AveragePooling2D, {"pool_size": (2, 3), "strides": 1}, (2, 5, 6, 2), (2, 4, 4, 2)),
    (layers.MaxPooling1D, {}, (2, 9, 3), (2, 4, 3)),
    (layers.AveragePooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 3),
     (2, 5, 3)),
    (layers.GlobalMaxPooling2D, {}, (2, 5, 4, 3), (2, 3)),
    (layers.GlobalAveragePooling2D, {"keepdims": True}, (2, 5, 4, 3), (2, 1, 1, 3)),
    (layers.GlobalMaxPooling1D, {"keepdims": True}, (2, 6, 3), (2, 1, 3)),
    (layers.GlobalAveragePooling1D, {}, (2, 6, 3), (2, 3)),
])
def test_shared_layer_checks(layer_cls, kwargs, in_shape, out_shape) -> None:
    check_layer(layer_cls, kwargs, in_shape, out_shape, 0)


def _tf_same_pad(x, pool, strides, value):
    """Pad an NCHW/NCL torch tensor as TensorFlow's 'same' rule does, with ``value``."""
    pads = []
    for n, k, s in zip(x.shape[2:], pool, strides):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    flat = [p for pair in reversed(pads) for p in pair]
    return tF.pad(x, flat, value=value)


def _run(layer, x, g):
    xt = nb.tensor(x, requires_grad=True)
    out = layer(xt)
    (out * nb.tensor(g)).sum().backward()
    return out.data, xt.grad


@pytest.mark.parametrize("kind, pool, strides, padding", [
    ("max", (2, 2), None, "valid"),
    ("max", (3, 3), (2, 2), "same"),
    ("avg", (2, 2), None, "valid"),
    ("avg", (3, 2), (2, 1), "same"),
])
def test_pooling2d_matches_torch(kind, pool, strides, padding) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 8, 3)).astype(np.float32)
    cls = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    layer = cls(pool, strides, padding)
    out_shape = layer.compute_output_shape(x.shape)
    g = rng.standard_normal(out_shape).astype(np.float32)
    out, grad = _run(layer, x, g)

    x_ref = torch.tensor(x, requires_grad=True)
    xin = x_ref.permute(0, 3, 1, 2)
    s = strides or pool
    if kind == "max":
        if padding == "same":
            xin = _tf_same_pad(xin, pool, s, float("-inf"))
        ref = tF.max_pool2d(xin, pool, s)
    else:
        if padding == "same":  # TF excludes the padding from each window's count
            ones = _tf_same_pad(torch.ones_like(xin), pool, s, 0.0)
            ref = tF.avg_pool2d(_tf_same_pad(xin, pool, s, 0.0), pool, s) / tF.avg_pool2d(
                ones, pool, s)
        else:
            ref = tF.avg_pool2d(xin, pool, s)
    ref = ref.permute(0, 2, 3, 1)
    (ref * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, x_ref.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling1d_matches_torch(kind) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 11, 4)).astype(np.float32)
    layer = (layers.MaxPooling1D if kind == "max" else layers.AveragePooling1D)(3, 2)
    g = rng.standard_normal(layer.compute_output_shape(x.shape)).astype(np.float32)
    out, grad = _run(layer, x, g)
    x_ref = torch.tensor(x, requires_grad=True)
    pool = tF.max_pool1d if kind == "max" else tF.avg_pool1d
    ref = pool(x_ref.permute(0, 2, 1), 3, 2).permute(0, 2, 1)
    (ref * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, x_ref.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer_cls, reduce, axes", [
    (layers.GlobalMaxPooling2D, "amax", (1, 2)),
    (layers.GlobalAveragePooling2D, "mean", (1, 2)),
    (layers.GlobalMaxPooling1D, "amax", (1,)),
    (layers.GlobalAveragePooling1D, "mean", (1,)),
])
def test_global_pooling_matches_torch(layer_cls, reduce, axes) -> None:
    rng = np.random.default_rng(2)
    shape = (3, 5, 6, 4) if len(axes) == 2 else (3, 7, 4)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal((3, 4)).astype(np.float32)
    out, grad = _run(layer_cls(), x, g)
    x_ref = torch.tensor(x, requires_grad=True)
    ref = getattr(torch, reduce)(x_ref, dim=axes)
    (ref * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, x_ref.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_global_average_pooling1d_respects_mask() -> None:
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[True, True, False], [False, False, False]])
    xt = nb.tensor(x, requires_grad=True)
    out = layers.GlobalAveragePooling1D()(xt, mask=mask)
    np.testing.assert_allclose(out.data, [[1.0, 2.0], [0.0, 0.0]])  # masked mean; empty -> 0
    out.sum().backward()
    np.testing.assert_allclose(xt.grad[0], [[0.5, 0.5], [0.5, 0.5], [0.0, 0.0]])
    with pytest.raises(ValueError, match="mask must have shape"):
        layers.GlobalAveragePooling1D()(x, mask=np.ones((2, 4), bool))


def test_defaults_config_and_aliases() -> None:
    layer = layers.MaxPooling2D()
    assert layer.pool_size == (2, 2) and layer.strides == (2, 2) and layer.padding == "valid"
    config = layers.MaxPooling2D((3, 3), strides=1, padding="same").get_config()
    assert config["pool_size"] == (3, 3) and config["strides"] == (1, 1)
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.AvgPool1D is layers.AveragePooling1D


def test_errors() -> None:
    with pytest.raises(ValueError,
                       match=r"MaxPooling2D: The `pool_size` argument must be a tuple of 2"):
        layers.MaxPooling2D(0)
    with pytest.raises(ValueError, match=r"padding must be 'valid' or 'same'. Received: "
                                         r"padding='full'"):
        layers.AveragePooling2D(padding="full")
    with pytest.raises(ValueError, match=r"MaxPooling2D 'p': expected an input of rank 4"):
        layers.MaxPooling2D(name="p")(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="smaller than the pooling window"):
        layers.MaxPooling2D(3)(np.zeros((1, 2, 5, 1), np.float32))
    with pytest.raises(ValueError, match="expected an input of rank 3"):
        layers.GlobalMaxPooling1D()(np.zeros((2, 4, 4, 1), np.float32))
