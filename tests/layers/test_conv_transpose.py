"""Conv2DTranspose and UpSampling2D layers: shapes, config, and values/gradients vs PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

import nablanet as nb
from nablanet import layers
from nablanet.ops.conv import conv2d
from nablanet.testing import check_layer


def _torch_conv_transpose(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None,
                          strides: tuple[int, int], out_hw: tuple[int, int],
                          offset: tuple[int, int], dilation: tuple[int, int]
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """PyTorch's full transposed convolution, cropped/zero-extended to Keras's window."""
    xt = torch.tensor(x.transpose(0, 3, 1, 2), dtype=torch.float64, requires_grad=True)
    # Keras (kh, kw, F, C) -> PyTorch (C_in, C_out, kh, kw)
    wt = torch.tensor(kernel.transpose(3, 2, 0, 1), dtype=torch.float64, requires_grad=True)
    bt = None if bias is None else torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    full = F.conv_transpose2d(xt, wt, None, stride=strides, dilation=dilation)
    (oy, ox), (ho, wo) = offset, out_hw
    pad_h = max(oy + ho - full.shape[2], 0)
    pad_w = max(ox + wo - full.shape[3], 0)
    full = F.pad(full, (0, pad_w, 0, pad_h))
    y = full[:, :, oy:oy + ho, ox:ox + wo]
    if bt is not None:
        y = y + bt[None, :, None, None]
    return y, xt, wt, bt


# (input hw, kernel, strides, padding, output_padding, dilation, expected output hw, offset of
# the window into the full transposed convolution (TensorFlow's rule))
CASES = [
    ((4, 5), (3, 3), (2, 2), "same", None, (1, 1), (8, 10), (0, 0)),
    ((4, 4), (4, 4), (2, 2), "same", None, (1, 1), (8, 8), (1, 1)),
    ((3, 4), (3, 2), (1, 1), "valid", None, (1, 1), (5, 5), (0, 0)),
    ((3, 3), (3, 3), (2, 2), "valid", None, (1, 1), (7, 7), (0, 0)),
    ((3, 3), (2, 2), (3, 3), "valid", None, (1, 1), (9, 9), (0, 0)),  # k < s: zero tail
    # TF's conv2d_transpose(padding='SAME') crops by the conv2d 'same' rule for the output
    # size: before = max((n - 1)s + k - out, 0) // 2 = (9 - 8) // 2 = 0 here.
    ((4, 4), (3, 3), (2, 2), "same", (1, 1), (1, 1), (8, 8), (0, 0)),
    ((4, 4), (4, 4), (2, 2), "same", (1, 1), (1, 1), (7, 7), (1, 1)),
    ((3, 3), (3, 3), (2, 2), "valid", (1, 0), (1, 1), (8, 7), (0, 0)),
    ((4, 4), (3, 3), (1, 1), "same", None, (2, 2), (4, 4), (2, 2)),
]


@pytest.mark.parametrize("hw,kernel,strides,padding,output_padding,dilation,out_hw,offset", CASES)
def test_conv2d_transpose_matches_torch(hw, kernel, strides, padding, output_padding, dilation,
                                        out_hw, offset):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, *hw, 3))
    layer = layers.Conv2DTranspose(4, kernel, strides=strides, padding=padding,
                                   output_padding=output_padding, dilation_rate=dilation,
                                   bias_initializer="random_normal", dtype="float64")
    xn = nb.tensor(x, dtype=np.float64, requires_grad=True)
    y = layer(xn)
    assert y.shape == (2, *out_hw, 4)
    assert layer.compute_output_shape((None, *hw, 3)) == (None, *out_hw, 4)
    upstream = rng.standard_normal(y.shape)
    (y * nb.tensor(upstream, dtype=np.float64)).sum().backward()

    yt, xt, wt, bt = _torch_conv_transpose(x, layer.kernel.data, layer.bias.data, strides,
                                           out_hw, offset, dilation)
    (yt * torch.tensor(upstream.transpose(0, 3, 1, 2))).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(xn.grad, xt.grad.numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(layer.kernel.grad, wt.grad.numpy().transpose(2, 3, 1, 0),
                               atol=1e-10)
    np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), atol=1e-10)


def test_conv2d_transpose_same_is_adjoint_of_conv2d_same():
    """<conv2d(u, w), v> == <u, conv2d_transpose(v, w)> for TF's 'same' padding."""
    rng = np.random.default_rng(1)
    for kernel, stride in [(3, 2), (4, 2), (5, 3), (2, 2)]:
        u = rng.standard_normal((1, 9, 9, 2))
        layer = layers.Conv2DTranspose(2, kernel, strides=stride, padding="same",
                                       use_bias=False)
        v_hw = -(-9 // stride)
        # output_padding chosen so that Keras's output size is the 9 of u
        pad = 9 - ((v_hw - 1) * stride + kernel - 2 * (kernel // 2))
        layer.output_padding = (pad, pad)
        layer.build((None, v_hw, v_hw, 3))
        # conv2d layout (kh, kw, C_in, C_out) = transposed-conv layout (kh, kw, F, C)
        w = layer.kernel.data.astype(np.float64)
        forward = conv2d(u, w, strides=stride, padding="same").numpy()
        assert forward.shape == (1, v_hw, v_hw, 3)
        v = rng.standard_normal(forward.shape)
        back = layer(nb.tensor(v, dtype=np.float64)).numpy()
        assert back.shape == u.shape
        assert float((forward * v).sum()) == pytest.approx(float((u * back).sum()), rel=1e-10)


def test_conv2d_transpose_layer_contract():
    check_layer(layers.Conv2DTranspose, {"filters": 5, "kernel_size": 3, "strides": 2,
                                         "padding": "same", "activation": "relu"},
                (2, 4, 3, 2), (2, 8, 6, 5), 2)
    check_layer(layers.Conv2DTranspose, {"filters": 2, "kernel_size": (2, 3),
                                         "use_bias": False}, (1, 3, 3, 4), (1, 4, 5, 2), 1)


def test_conv2d_transpose_kernel_layout_and_glorot_fans():
    nb.set_random_seed(0)
    layer = layers.Conv2DTranspose(64, 3)
    layer(np.zeros((1, 4, 4, 32), np.float32))
    assert layer.kernel.shape == (3, 3, 64, 32)
    # glorot_uniform with Keras's fans: fan_in = 9 * 64, fan_out = 9 * 32
    limit = np.sqrt(6.0 / (9 * 64 + 9 * 32))
    assert np.abs(layer.kernel.data).max() <= limit
    assert np.abs(layer.kernel.data).max() > 0.9 * limit


@pytest.mark.parametrize("kwargs,message", [
    ({"filters": 0, "kernel_size": 3}, "filters must be a positive integer"),
    ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding must be"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}, "output_padding"),
    ({"filters": 2, "kernel_size": 0}, "kernel_size"),
])
def test_conv2d_transpose_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.Conv2DTranspose(**kwargs)


def test_conv2d_transpose_rejects_wrong_channels():
    layer = layers.Conv2DTranspose(2, 3)
    layer(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="expected input of shape"):
        layer(np.zeros((1, 4, 4, 5), np.float32))


@pytest.mark.parametrize("size,interpolation", [((2, 2), "nearest"), ((3, 2), "nearest"),
                                                ((2, 2), "bilinear"), ((2, 3), "bilinear")])
def test_upsampling2d_matches_torch(size, interpolation):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4, 3))
    xn = nb.tensor(x, dtype=np.float64, requires_grad=True)
    layer = layers.UpSampling2D(size=size, interpolation=interpolation)
    y = layer(xn)
    assert y.shape == (2, 3 * size[0], 4 * size[1], 3)
    upstream = rng.standard_normal(y.shape)
    (y * nb.tensor(upstream, dtype=np.float64)).sum().backward()

    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    if interpolation == "nearest":
        yt = F.interpolate(xt, scale_factor=size, mode="nearest")
    else:
        yt = F.interpolate(xt, scale_factor=size, mode="bilinear", align_corners=False)
    (yt * torch.tensor(upstream.transpose(0, 3, 1, 2))).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(xn.grad, xt.grad.numpy().transpose(0, 2, 3, 1), atol=1e-10)


def test_upsampling2d_layer_contract_and_errors():
    check_layer(layers.UpSampling2D, {"size": (2, 3)}, (2, 3, 4, 5), (2, 6, 12, 5), 0)
    check_layer(layers.UpSampling2D, {"size": 2, "interpolation": "bilinear"}, (1, 2, 2, 1),
                (1, 4, 4, 1), 0)
    with pytest.raises(ValueError, match="interpolation must be"):
        layers.UpSampling2D(interpolation="cubic")
    with pytest.raises(ValueError, match="size"):
        layers.UpSampling2D(size=0)
