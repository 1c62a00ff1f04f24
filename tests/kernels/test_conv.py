"""The fast convolution kernels (nablanet.kernels.conv, threads, linalg) against the reference.

The op table (tests/ops/test_op_table.py) compares every primitive's fast and reference paths;
here: the kernels' own machinery (runs of images and bands of rows, the planar im2col, the
batch split over threads, the split matmul) changes nothing but rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nablanet as nb
from nablanet.functional import conv2d
from nablanet.kernels import conv as conv_ops
from nablanet.kernels import linalg as linalg_kernels
from nablanet.kernels import threads
from nablanet.kernels.registry import use_kernels


def rand(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape)).standard_normal(shape)


@pytest.mark.parametrize("strides,dilation,padding", [((1, 1), (1, 1), "same"),
                                                      ((2, 3), (1, 1), "valid"),
                                                      ((1, 1), (2, 2), "same")])
def test_reference_col2im_matches_compiled(strides: tuple, dilation: tuple,
                                       padding: str) -> None:
    """The reference col2im (a loop over the taps) gives the compiled one's input gradient."""

    x, k = rand(2, 8, 9, 3), rand(3, 2, 3, 4)
    g = rand(*conv2d(x, k, strides=strides, padding=padding, dilation_rate=dilation).shape)

    def run() -> np.ndarray:
        t = nb.Tensor(x, dtype=np.float64, requires_grad=True)
        conv2d(t, k, strides=strides, padding=padding, dilation_rate=dilation).backward(g)
        return t.grad

    compiled = run()
    with use_kernels("reference"):
        np.testing.assert_allclose(run(), compiled, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("strides, dilation, padding, activation", [
    ((1, 1), (1, 1), "valid", "relu"), ((2, 1), (1, 1), "same", None),
    ((1, 1), (2, 2), "same", "relu"),
])
def test_runs_of_images_match_the_whole_batch(monkeypatch: Any, strides: tuple, dilation: tuple,
                                               padding: str, activation: Any) -> None:
    """Building im2col rows and column gradients a few images at a time, or a band of one
    image's rows at a time (the runs of ``_SUB_BYTES``), gives what one pass over the whole
    batch gives."""
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((5, 9, 8, 3)), rng.standard_normal((3, 3, 3, 4)),
              rng.standard_normal(4)]

    def step() -> list[np.ndarray]:
        tensors = [nb.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
        y = conv2d(*tensors, strides=strides, padding=padding, dilation_rate=dilation,
                   activation=activation)
        y.backward(np.random.default_rng(3).standard_normal(y.shape))
        return [y.data] + [t.grad for t in tensors]

    monkeypatch.setattr(conv_ops, "_SUB_BYTES", 1 << 40)
    whole = step()
    for sub_bytes in (9 * 8 * 27 * 8, 3 * 8 * 27 * 8, 1):  # about an image, a few rows, a row
        monkeypatch.setattr(conv_ops, "_SUB_BYTES", sub_bytes)
        for a, b in zip(step(), whole):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_sub_chunks_are_images_or_aligned_bands_of_rows(monkeypatch: Any) -> None:
    from nablanet.kernels.conv import Run, _sub_chunks

    monkeypatch.setattr(conv_ops, "_SUB_BYTES", 1000)
    assert _sub_chunks(2, 9, 300, 10) == [Run(2, 5, 0, 10), Run(5, 8, 0, 10), Run(8, 9, 0, 10)]
    assert _sub_chunks(0, 2, 3000, 11) == [Run(k, k + 1, y, min(y + 3, 11))
                                           for k in range(2) for y in (0, 3, 6, 9)]
    assert _sub_chunks(0, 1, 3000, 11, align=2) == [Run(0, 1, 0, 2), Run(0, 1, 2, 4),
                                                    Run(0, 1, 4, 6), Run(0, 1, 6, 8),
                                                    Run(0, 1, 8, 10), Run(0, 1, 10, 11)]
    assert _sub_chunks(0, 1, 10**6, 11, align=4) == [Run(0, 1, y, min(y + 4, 11))
                                                    for y in (0, 4, 8)]
    assert _sub_chunks(0, 2, 10**6, 3, align=4) == [Run(0, 1, 0, 3), Run(1, 2, 0, 3)]
    assert Run(1, 2, 3, 7).out_rows(10, 5) == slice(65, 85)
    assert Run(1, 3, 0, 10).out_rows(10, 5) == slice(50, 150)


@pytest.mark.parametrize("channels", [1, 3, 6, 8])
@pytest.mark.parametrize("strides, dilation, padding, activation", [
    ((1, 1), (1, 1), "valid", "relu"), ((2, 1), (1, 1), "same", None),
    ((1, 1), (2, 3), "same", "relu"),
])
def test_planar_im2col_matches_channels_last(monkeypatch: Any, channels: int, strides: tuple,
                                             dilation: tuple, padding: str,
                                             activation: Any) -> None:
    """The transposed im2col built from an NCHW copy (few channels, _PLANAR_MAX_RUN) gives
    the values and gradients of the channels-last im2col, over runs of images and threads."""
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((6, 10, 9, channels)), rng.standard_normal((3, 3, channels, 5)),
              rng.standard_normal(5)]

    def step() -> list[np.ndarray]:
        tensors = [nb.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
        y = conv2d(*tensors, strides=strides, padding=padding, dilation_rate=dilation,
                   activation=activation)
        node = y._ctx
        y.backward(np.random.default_rng(5).standard_normal(y.shape))
        return [y.data] + [t.grad for t in tensors], node.x_planar is not None

    monkeypatch.setattr(conv_ops, "_PLANAR_MAX_RUN", 0)
    channels_last, planar = step()
    assert not planar
    monkeypatch.setattr(conv_ops, "_PLANAR_MAX_RUN", 1 << 20)
    monkeypatch.setattr(conv_ops, "_SUB_BYTES", 1)  # one image per run
    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
    values, planar = step()
    assert planar
    for a, b in zip(values, channels_last):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_planar_im2col_only_for_few_channels_at_width_stride_one() -> None:
    def uses_planar(channels: int, strides: tuple) -> bool:
        x = nb.tensor(rand(2, 8, 8, channels), requires_grad=True)
        y = conv2d(x, nb.tensor(rand(3, 3, channels, 4)), strides=strides)
        return y._ctx.x_planar is not None

    assert uses_planar(3, (1, 1)) and uses_planar(6, (2, 1))
    assert not uses_planar(8, (1, 1)) and not uses_planar(3, (1, 2))


# --- batch split over worker threads ------------------------------------------------------------
def _conv_step(dtype: Any, activation: Any, use_bias: bool) -> list[np.ndarray]:
    """Output and gradients of a conv2d (stride 2, 'same') on fixed data."""
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal((5, 9, 8, 3)), rng.standard_normal((3, 3, 3, 4))]
    if use_bias:
        arrays.append(rng.standard_normal(4))
    tensors = [nb.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    y = conv2d(*tensors, strides=(2, 1), padding="same", activation=activation)
    y.backward(rng.standard_normal(y.shape).astype(dtype))
    return [y.data] + [t.grad for t in tensors]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation,use_bias", [("relu", True), (None, False)])
def test_split_batch_conv_matches_serial(monkeypatch: Any, record_calls: Any, dtype: Any,
                                         activation: Any,
                                         use_bias: bool) -> None:
    """Splitting im2col/GEMM/bias+relu and the backward over 3 threads changes nothing but
    the order of the partial weight- and bias-gradient sums."""
    monkeypatch.setattr(threads, "worker_count", lambda: 1)
    serial = _conv_step(dtype, activation, use_bias)
    monkeypatch.setattr(threads, "worker_count", lambda: 3)
    monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
    calls = record_calls(conv_ops, "split_batch")
    split = _conv_step(dtype, activation, use_bias)
    assert len(calls) >= 2  # forward and backward went through the split
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_array_equal(serial[0], split[0])
    np.testing.assert_array_equal(serial[1], split[1])  # input gradient: disjoint chunks
    for a, b in zip(serial[2:], split[2:]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_split_batch_covers_range_and_restores_blas_threads(monkeypatch: Any) -> None:
    before = threads.worker_count()
    monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
    seen: list[tuple[int, int]] = []
    threads.split_batch(lambda a, z: seen.append((a, z)), 7, 1)
    assert len(seen) == min(before, 7)
    covered = sorted(i for a, z in seen for i in range(a, z))
    assert covered == list(range(7))
    assert threads.worker_count() == before

    def boom(a: int, z: int) -> None:
        raise RuntimeError("chunk failed")

    with pytest.raises(RuntimeError, match="chunk failed"):
        threads.split_batch(boom, 4, 1)
    assert threads.worker_count() == before


def test_small_pass_runs_on_one_blas_thread_and_restores_the_limit() -> None:
    from nablanet.utils import limit_threads

    with limit_threads(2):
        before = threads.worker_count()
        seen: list[tuple[int, int, int]] = []
        threads.split_batch(lambda a, z: seen.append((a, z, threads.worker_count())), 5,
                            threads.SPLIT_MIN_BYTES - 1)
        assert seen == [(0, 5, 1)]  # one call, its GEMMs on the caller's thread
        assert threads.worker_count() == before

        def boom(a: int, z: int) -> None:
            raise RuntimeError("pass failed")

        with pytest.raises(RuntimeError, match="pass failed"):
            threads.split_batch(boom, 4, 1)
        assert threads.worker_count() == before


@pytest.mark.parametrize("shape", [(40, 300, 7), (3, 200, 90)])
def test_split_matmul_matches_numpy(monkeypatch: Any, shape: tuple) -> None:
    """Dense-sized products split over rows or columns equal np.matmul, forward and backward."""

    monkeypatch.setattr(linalg_kernels, "_SPLIT_MIN_MULTS", 0)
    monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    m, k, n = shape
    rng = np.random.default_rng(2)
    a, b, g = rng.standard_normal((m, k)), rng.standard_normal((k, n)), rng.standard_normal((m, n))
    at, bt = nb.tensor(a, dtype=np.float64, requires_grad=True), \
        nb.tensor(b, dtype=np.float64, requires_grad=True)
    y = at @ bt
    y.backward(g)
    np.testing.assert_allclose(y.data, a @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(at.grad, g @ b.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bt.grad, a.T @ g, rtol=1e-12, atol=1e-12)


def test_matmul_gradients_become_grad_without_a_copy() -> None:
    """FastMatMul's gradients are new products (``fresh_grads``): a leaf's first gradient is
    taken as its ``.grad`` without a copy, yet owned by it alone; later ones are added; a leaf
    used twice gets the sum; the reference path still copies."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 4))
    seen: list[Any] = []
    real = linalg_kernels.FastMatMul.backward

    def spy(self: Any, grad: np.ndarray) -> Any:
        out = real(self, grad)
        seen.extend(out)
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(linalg_kernels.FastMatMul, "backward", spy)
        at = nb.tensor(a, dtype=np.float64, requires_grad=True)
        bt = nb.tensor(b, dtype=np.float64, requires_grad=True)
        (at @ bt).sum().backward()
    assert any(bt.grad is s for s in seen) and bt.grad.flags.writeable
    np.testing.assert_allclose(bt.grad, a.T @ np.ones((5, 4)), rtol=1e-12)
    first = bt.grad.copy()
    (at @ bt).sum().backward()  # accumulates into the same array
    np.testing.assert_allclose(bt.grad, 2 * first, rtol=1e-12)
    np.testing.assert_allclose(at.grad, 2 * np.ones((5, 4)) @ b.T, rtol=1e-12)
    ct = nb.tensor(b, dtype=np.float64, requires_grad=True)
    (ct @ ct).sum().backward()  # the same leaf on both sides: both gradients summed
    ones = np.ones((4, 4))
    np.testing.assert_allclose(ct.grad, ones @ b.T + b.T @ ones, rtol=1e-12)
