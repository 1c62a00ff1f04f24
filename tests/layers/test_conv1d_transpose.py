"""Conv1DTranspose against torch.nn.functional.conv_transpose1d (values and gradients)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers, models, optimizers


def _torch_reference(x, kernel, bias, stride, dilation, out_len):
    """torch's full transposed convolution, cropped to Keras's output length the TensorFlow
    way (the surplus split with the smaller half before)."""
    xt = torch.tensor(x, dtype=torch.float64).permute(0, 2, 1)          # (N, C, L)
    wt = torch.tensor(kernel, dtype=torch.float64).permute(2, 1, 0)     # (C, F, K)
    full = torch.nn.functional.conv_transpose1d(xt, wt, torch.tensor(bias, dtype=torch.float64),
                                                stride=stride, dilation=dilation)
    full_len = full.shape[-1]
    if out_len <= full_len:
        start = (full_len - out_len) // 2
        out = full[..., start:start + out_len]
    else:  # 'valid' with kernel < stride, or output_padding: zeros (plus bias) at the end
        pad = torch.zeros(full.shape[0], full.shape[1], out_len - full_len, dtype=torch.float64)
        out = torch.cat([full, pad + torch.tensor(bias, dtype=torch.float64)[:, None]], -1)
    return out.permute(0, 2, 1)


@pytest.mark.parametrize("kernel_size,strides,padding,dilation,out_pad,expected_len", [
    (3, 1, "valid", 1, None, 7 + 2),
    (3, 2, "valid", 1, None, 7 * 2 + 1),
    (4, 2, "same", 1, None, 14),
    (5, 3, "same", 1, None, 21),
    (2, 3, "valid", 1, None, 21),
    (3, 1, "valid", 2, None, 7 + 4),
    (3, 2, "valid", 1, 1, 6 * 2 + 3 + 1),
])
def test_matches_torch(kernel_size, strides, padding, dilation, out_pad, expected_len):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 3)).astype(np.float32)
    layer = layers.Conv1DTranspose(4, kernel_size, strides=strides, padding=padding,
                                   dilation_rate=dilation, output_padding=out_pad,
                                   bias_initializer="random_normal")
    xt = nb.tensor(x, requires_grad=True)
    y = layer(xt)
    assert y.shape == (2, expected_len, 4)
    assert layer.compute_output_shape((None, 7, 3)) == (None, expected_len, 4)
    assert layer.kernel.shape == (kernel_size, 4, 3)
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    ref = _torch_reference(x, kernel, bias, strides, dilation, expected_len)
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    # gradients with respect to input, kernel and bias
    g = rng.standard_normal(y.shape).astype(np.float32)
    (y * nb.tensor(g)).sum().backward()
    x64 = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    k64 = torch.tensor(kernel, dtype=torch.float64, requires_grad=True)
    b64 = torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    full = torch.nn.functional.conv_transpose1d(
        x64.permute(0, 2, 1), k64.permute(2, 1, 0), b64, stride=strides, dilation=dilation)
    full_len = full.shape[-1]
    gt = torch.tensor(g, dtype=torch.float64).permute(0, 2, 1)
    if expected_len <= full_len:
        start = (full_len - expected_len) // 2
        (full[..., start:start + expected_len] * gt).sum().backward()
        np.testing.assert_allclose(layer.bias.grad, b64.grad.numpy(), rtol=1e-5, atol=1e-5)
    else:
        (full * gt[..., :full_len]).sum().backward()
    np.testing.assert_allclose(xt.grad, x64.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.kernel.grad, k64.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_config_errors_and_training():
    layer = layers.Conv1DTranspose(2, 3, strides=2, padding="same", activation="relu")
    config = layer.get_config()
    assert config["kernel_size"] == [3] and config["strides"] == [2]
    clone = layers.Conv1DTranspose.from_config(config)
    assert clone.kernel_size == (3,) and clone.strides == (2,) and clone.padding == "same"
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv1DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="steps"):
        layers.Conv1DTranspose(2, 3)(np.zeros((2, 4, 4, 1), np.float32))
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input((4, 1)), layers.Conv1DTranspose(1, 2, strides=2)])
    model.compile(optimizer=optimizers.Adam(0.05), loss="mse")
    x = np.random.default_rng(0).standard_normal((16, 4, 1)).astype(np.float32)
    y = np.repeat(x, 2, axis=1)
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=60, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first / 100
