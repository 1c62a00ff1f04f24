"""The direct convolution fused with ReLU + 2×2 max pool (nablanet.kernels.direct_conv)
against the reference (nablanet.ops), PyTorch and the im2col path.

Its forward computes the conv from shifted rows of the planar input and pools each band of
rows; backward is im2col's from that planar copy. Checked: channel counts 1, 2, 3 and 6, odd
image sizes, 'valid' and 'same', with and without bias, float32 and float64, batches split
unevenly over two threads, bands of rows (128×128 images, and small bands forced), the pooled
values and winner codes bit for bit against the im2col path on exactly representable inputs
(ties, non-positive windows, NaN), and that the chapter's first layer takes the path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet.kernels import direct_conv, threads
from nablanet.kernels.registry import use_kernels
from nablanet.ops.conv_pool import conv2d_max_pool2d


def _counting(record_calls: Any) -> list[Any]:
    """Count the batch chunks that run by the direct kernel."""
    return record_calls(direct_conv, "_forward_pool")


def _two_threads(monkeypatch: Any) -> None:
    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)


def _step(arrays: list[np.ndarray | None], dtype: Any, grad: np.ndarray | None = None,
          x_grad: bool = False, **options: Any) -> list[Any]:
    """Pooled output, then the gradients of x (None unless ``x_grad``), w and b, for the
    output gradient ``grad`` (a fixed random one by default)."""
    x, w, b = arrays
    tensors = [nb.Tensor(x, dtype=dtype, requires_grad=x_grad),
               nb.Tensor(w, dtype=dtype, requires_grad=True)]
    if b is not None:
        tensors.append(nb.Tensor(b, dtype=dtype, requires_grad=True))
    y = conv2d_max_pool2d(*tensors, **options)
    if grad is None:
        grad = np.random.default_rng(3).standard_normal(y.shape)
    y.backward(grad.astype(dtype))
    return [y.data, tensors[0].grad] + [t.grad for t in tensors[1:]]


def _torch_step(arrays: list[np.ndarray | None], grad: np.ndarray, padding: str
                ) -> list[Any]:
    """The same in PyTorch (float64, NCHW): conv2d, relu, max_pool2d(2), autograd."""
    x, w, b = arrays
    xt = torch.tensor(x.transpose(0, 3, 1, 2), dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w.transpose(3, 2, 0, 1), dtype=torch.float64, requires_grad=True)
    bt = None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.max_pool2d(torch.relu(
        torch.nn.functional.conv2d(xt, wt, bt, padding=padding)), 2)
    y.backward(torch.tensor(grad.transpose(0, 3, 1, 2)))
    out = [y.detach().numpy().transpose(0, 2, 3, 1), xt.grad.numpy().transpose(0, 2, 3, 1),
           wt.grad.numpy().transpose(2, 3, 1, 0)]
    return out + ([] if bt is None else [bt.grad.numpy()])


def _arrays(n: int, h: int, w: int, c: int, f: int, bias: bool, seed: int = 0
            ) -> list[np.ndarray | None]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, h, w, c)), rng.standard_normal((3, 3, c, f)) / np.sqrt(9 * c),
            rng.standard_normal(f) * 0.1 if bias else None]


def _relative_error(a: np.ndarray, e: np.ndarray) -> float:
    return float(np.max(np.abs(a - e)) / np.max(np.abs(e)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, padding, bias", [
    ((5, 7, 9, 3, 16), "valid", True),  # odd output (5×7): a row and a column no window covers
    ((3, 31, 29, 1, 5), "same", True),  # one channel, filters not a multiple of 4
    ((5, 12, 10, 2, 8), "same", False),
    ((3, 9, 11, 6, 7), "valid", False),
])
def test_direct_equals_reference_and_torch(monkeypatch: Any, dtype: Any, shape: tuple,
                                           padding: str, bias: bool, record_calls: Any) -> None:
    """Output and w, b gradients (the input a constant, as a first layer's) are the
    reference's and PyTorch's: float64 to 1e-12; float32 against float64 with the largest
    error relative to the largest value below 1e-6. Five or three images over two threads:
    uneven chunks."""
    _two_threads(monkeypatch)
    monkeypatch.setattr(direct_conv, "MIN_WIDTH", 1)
    arrays = _arrays(*shape, bias=bias, seed=shape[3])
    calls = _counting(record_calls)
    fast = _step(arrays, dtype, padding=padding)
    assert len(calls) == 2, "the direct path was not taken on both threads"
    assert fast[0].dtype == dtype and fast[1] is None
    with use_kernels("reference"):
        exact = _step(arrays, np.float64, padding=padding)
    grad = np.random.default_rng(3).standard_normal(exact[0].shape)
    peer = _torch_step(arrays, grad, padding)
    for a, e, p in zip(fast[:1] + fast[2:], exact[:1] + exact[2:], peer[:1] + peer[2:]):
        np.testing.assert_allclose(e, p, rtol=1e-12, atol=1e-12)
        if dtype == np.float64:
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)
        else:
            assert _relative_error(a, e) < 1e-6


def test_input_gradient_when_needed(monkeypatch: Any, record_calls: Any) -> None:
    """A few-channel conv whose input needs a gradient (not a first layer): the direct
    forward fills the planar copy that im2col's backward reads; all gradients are
    PyTorch's."""
    _two_threads(monkeypatch)
    monkeypatch.setattr(direct_conv, "MIN_WIDTH", 1)
    arrays = _arrays(3, 13, 15, 3, 8, bias=True, seed=4)
    calls = _counting(record_calls)
    fast = _step(arrays, np.float64, x_grad=True, padding="same")
    assert calls
    peer = _torch_step(arrays, np.random.default_rng(3).standard_normal(fast[0].shape), "same")
    for a, p in zip(fast, peer):
        np.testing.assert_allclose(a, p, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("band_bytes", [1, 1 << 12, 1 << 30])
def test_bands_of_rows(monkeypatch: Any, band_bytes: int) -> None:
    """Bands of two rows, of a few rows and whole images give the same results."""
    monkeypatch.setattr(direct_conv, "MIN_WIDTH", 1)
    monkeypatch.setattr(direct_conv, "BAND_BYTES", band_bytes)
    arrays = _arrays(2, 23, 19, 3, 4, bias=True, seed=9)
    fast = _step(arrays, np.float64)
    with use_kernels("reference"):
        exact = _step(arrays, np.float64)
    for a, e in zip(fast[:1] + fast[2:], exact[:1] + exact[2:]):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


def test_chapter_first_layer_in_float32(monkeypatch: Any, record_calls: Any) -> None:
    """The chapter's first layer (128×128×3 → 16 filters, 'valid'), by default (no forcing):
    the direct path runs in bands, and float32 is within 1e-6 (relative to the largest value)
    of the float64 reference for the output and the w gradient. The bias gradient (im2col's
    float32 column sums of ~24,000 random values, whose sum is far smaller than their
    magnitudes) is within 1e-5 (measured: 1.1e-6)."""
    _two_threads(monkeypatch)
    arrays = _arrays(3, 128, 128, 3, 16, bias=True, seed=1)
    assert direct_conv.band_rows(16, 128, 4) < 126  # several bands per image
    calls = _counting(record_calls)
    fast = _step(arrays, np.float32)
    assert len(calls) == 2
    with use_kernels("reference"):
        exact = _step(arrays, np.float64)
    for a, e, bound in zip(fast[:1] + fast[2:], exact[:1] + exact[2:], (1e-6, 1e-6, 1e-5)):
        assert a.dtype == np.float32
        assert _relative_error(a, e) < bound


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["ties", "not positive", "nan"])
def test_pooled_values_and_winners_bit_for_bit(monkeypatch: Any, dtype: Any, case: str,
                                               record_calls: Any) -> None:
    """On small integer inputs every conv sum is exact in any order, so the direct path and
    the im2col path see the same conv values: their pooled outputs and winner codes must be
    identical (ties everywhere: first winner; maxima not positive: flagged; a NaN input
    makes NaN windows), and so must the gradients (routed by the winners)."""
    _two_threads(monkeypatch)
    monkeypatch.setattr(direct_conv, "MIN_WIDTH", 1)
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, (3, 11, 14, 3)).astype(float)
    w = rng.integers(-1, 2, (3, 3, 3, 6)).astype(float)
    b = np.array([0.0, 1.0, -1.0, 2.0, -3.0, 0.0])
    if case == "not positive":
        b = b - 100.0
    if case == "nan":
        x[1, 4, 5, 2] = np.nan
        x[2, 0, 0, 0] = np.nan
    grad = rng.integers(-3, 4, (3, 4, 6, 6)).astype(float)
    results = {}
    for direct in (True, False):
        if not direct:
            monkeypatch.setattr(direct_conv, "MIN_WIDTH", 1 << 30)
        calls = _counting(record_calls)
        y = conv2d_max_pool2d(nb.Tensor(x, dtype=dtype), wt := nb.Tensor(w, dtype=dtype,
                              requires_grad=True), bt := nb.Tensor(b, dtype=dtype,
                                                                   requires_grad=True))
        assert bool(calls) == direct
        winner = y.grad_fn.winner.copy()
        y.backward(grad.astype(dtype))
        results[direct] = (y.data, winner, wt.grad, bt.grad)
    for a, e in zip(results[True], results[False]):
        np.testing.assert_array_equal(a, e)
    if case == "not positive":
        assert np.all(results[True][1] & 64) and not np.any(results[True][2])
    if case == "nan":
        assert np.isnan(results[True][0]).any()
    if case == "ties":
        assert len(np.unique(results[True][1] & 3)) == 4  # winners in every tap


def test_the_chapter_models_first_layer_takes_the_direct_path(monkeypatch: Any,
                                                              record_calls: Any) -> None:
    """In the chapter's model (benchmarks/cnn.py rps-1conv: Conv2D(16, 3×3, relu) +
    MaxPooling2D on 128×128×3), training runs its first block by the direct path; MNIST's
    first block (26 output columns) keeps im2col."""
    calls = _counting(record_calls)
    for shape, taken in (((128, 128, 3), True), ((28, 28, 1), False)):
        calls.clear()
        model = nb.models.Sequential([
            nb.layers.Input(shape=shape), nb.layers.Conv2D(16, (3, 3), activation="relu"),
            nb.layers.MaxPooling2D((2, 2)), nb.layers.Flatten(), nb.layers.Dense(3)])
        model.compile(optimizer="adam",
                      loss=nb.losses.SparseCategoricalCrossentropy(from_logits=True))
        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, *shape)).astype(np.float32)
        model.train_on_batch(x, np.array([0, 2]))
        assert bool(calls) == taken


@pytest.mark.parametrize("kernel, channels", [((1, 1), 3), ((2, 2), 2), ((5, 5), 3), ((3, 2), 1)])
def test_other_kernel_sizes(monkeypatch: Any, kernel: tuple, channels: int,
                            record_calls: Any) -> None:
    """Kernels whose tap count is not a multiple of 9 (the product's remainder taps, and no
    9-tap block at all) match PyTorch."""
    monkeypatch.setattr(direct_conv, "MIN_WIDTH", 1)
    rng = np.random.default_rng(channels)
    arrays: list[np.ndarray | None] = [rng.standard_normal((2, 12, 13, channels)),
                                       rng.standard_normal((*kernel, channels, 6)),
                                       rng.standard_normal(6)]
    calls = _counting(record_calls)
    fast = _step(arrays, np.float64)
    assert calls
    peer = _torch_step(arrays, np.random.default_rng(3).standard_normal(fast[0].shape), "valid")
    for a, p in zip(fast[:1] + fast[2:], peer[:1] + peer[2:]):
        np.testing.assert_allclose(a, p, rtol=1e-12, atol=1e-12)
