"""The dense primitive (nablanet.ops.linalg.dense, kernel nablanet.kernels.linalg.FastDense)
equals matmul + add + relu one after the other, and the products of nablanet.kernels.linalg
keep OpenBLAS's own threads out of middle-sized products."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nablanet as nb
from nablanet.kernels import linalg as linalg_kernels
from nablanet.kernels import registry, threads
from nablanet.kernels.registry import use_kernels
from nablanet.ops.elementwise import add, relu
from nablanet.ops.linalg import Dense, dense, matmul


def _unfused(x: Any, w: Any, b: Any, activation: str | None) -> Any:
    y = matmul(x, w)
    if b is not None:
        y = add(y, b)
    return relu(y) if activation == "relu" else y


def _run(fn: Any, arrays: list[np.ndarray | None], grad: np.ndarray, activation: str | None
         ) -> list[np.ndarray]:
    tensors = [None if a is None else nb.tensor(a, dtype=a.dtype, requires_grad=True)
               for a in arrays]
    y = fn(*tensors, activation)
    y.backward(grad)
    return [y.data] + [t.grad for t in tensors if t is not None]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(7, 5, 3), (130, 70, 40), (128, 300, 200)])
def test_fast_and_reference_equal_the_unfused_ops(dtype: type, activation: str | None,
                                                  bias: bool, shape: tuple[int, int, int]
                                                  ) -> None:
    m, k, n = shape
    rng = np.random.default_rng(0)
    x, w, g = (rng.standard_normal(s).astype(dtype) for s in ((m, k), (k, n), (m, n)))
    b = rng.standard_normal(n).astype(dtype) if bias else None
    g[0, :] = 0.0  # exact zeros in the gradient
    with use_kernels("reference"):
        expected = _run(_unfused, [x, w, b], g, activation)
        reference = _run(dense, [x, w, b], g, activation)
    with use_kernels("fast"):
        fast = _run(dense, [x, w, b], g, activation)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for got_ref, got_fast, want in zip(reference, fast, expected, strict=True):
        assert got_ref.dtype == got_fast.dtype == want.dtype == dtype
        np.testing.assert_array_equal(got_ref, want)
        np.testing.assert_allclose(got_fast, want, rtol=tolerance, atol=tolerance)


def test_relu_gradient_keeps_numpy_special_values() -> None:
    """NaN or inf in the gradient where the ReLU is off: NumPy's multiply by the mask gives
    NaN, and so does the compiled pass; NaN outputs stay NaN."""
    x = np.array([[1.0, -1.0, np.nan], [-2.0, 3.0, 0.0]], np.float32)
    w = np.eye(3, dtype=np.float32)
    g = np.array([[np.inf, np.inf, 1.0], [np.nan, 2.0, -1.0]], np.float32)
    b = np.zeros(3, np.float32)
    results = {}
    for mode in ("reference", "fast"):
        with use_kernels(mode), np.errstate(invalid="ignore"):  # inf * 0
            results[mode] = _run(dense, [x, w, b], g, "relu")
    for got, want in zip(results["fast"], results["reference"], strict=True):
        np.testing.assert_array_equal(got, want)


def test_registered_and_used_by_the_dense_layer() -> None:
    assert registry.registered()["dense"] is linalg_kernels.dense
    layer = nb.layers.Dense(4, activation="relu")
    x = nb.tensor(np.ones((2, 3), np.float32))
    layer(x)  # build
    layer.kernel.requires_grad = True
    with use_kernels("fast"):
        assert type(layer(x)._ctx) is linalg_kernels.FastDense
    with use_kernels("reference"):
        assert type(layer(x)._ctx) is Dense  # one node: product, bias and ReLU


def test_dense_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="activation must be None, 'linear' or 'relu'"):
        dense(np.ones((2, 3)), np.ones((3, 4)), activation="tanh")
    with pytest.raises(ValueError, match=r"do not fit \(expected \(batch, n\) and \(n, units\)\)"):
        dense(np.ones((2, 3)), np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        dense(np.ones((2, 3)), np.ones((3, 4)), np.ones(3))


class _Controller:
    """Stands in for threadpoolctl's controller of NumPy's BLAS; records the limits set."""

    def __init__(self, threads: int) -> None:
        self.threads, self.calls = threads, []

    def get_num_threads(self) -> int:
        return self.threads

    def set_num_threads(self, n: int) -> None:
        self.calls.append(n)
        self.threads = n


@pytest.mark.parametrize("shape, limits", [((40, 100, 100), [1, 2]), ((10, 10, 10), [])])
def test_middle_sized_products_run_on_one_blas_thread(monkeypatch: Any, shape: tuple,
                                                      limits: list[int]) -> None:
    """Products OpenBLAS would thread itself (above 2^18 multiply-adds) but too small to split
    run with NumPy's BLAS at one thread, which is then restored; small ones are left alone."""
    controller = _Controller(2)
    monkeypatch.setattr(linalg_kernels, "numpy_blas", lambda: controller)
    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    m, k, n = shape
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    np.testing.assert_allclose(linalg_kernels.matmul2d(a, b), a @ b, rtol=1e-12)
    assert controller.calls == limits
    assert controller.threads == 2


@pytest.mark.parametrize("mode", ["fast", "reference"])
def test_leaf_gradients_taken_without_copy_accumulate_correctly(mode: str) -> None:
    """MatMul and Dense hand new arrays to the leaves (``fresh_grads``): ``a @ a`` adds both
    contributions into one leaf, a second backward accumulates, and no two leaves share a
    gradient array."""
    rng = np.random.default_rng(3)
    a0, w0 = rng.standard_normal((4, 4)), rng.standard_normal((4, 3))
    with use_kernels(mode):
        a = nb.tensor(a0, dtype=np.float64, requires_grad=True)
        w = nb.tensor(w0, dtype=np.float64, requires_grad=True)
        for _ in range(2):
            (dense(a @ a, w, activation="relu").sum() + (a @ w).sum()).backward()
    h = a0 @ a0
    gz = (h @ w0 > 0).astype(float)
    gh = gz @ w0.T
    want_a = 2 * (gh @ a0.T + a0.T @ gh + np.ones((4, 3)) @ w0.T)
    want_w = 2 * (h.T @ gz + a0.T @ np.ones((4, 3)))
    np.testing.assert_allclose(a.grad, want_a, rtol=1e-12)
    np.testing.assert_allclose(w.grad, want_w, rtol=1e-12)
    assert not np.shares_memory(a.grad, w.grad)


def test_backward_products_side_by_side_on_two_threads(monkeypatch: Any,
                                                        record_calls: Any) -> None:
    """With two workers, the input and weight gradients of a big enough layer are computed
    one on each thread, in one split, and equal the reference's."""
    monkeypatch.setattr(linalg_kernels, "_SPLIT_MIN_MULTS", 0)
    monkeypatch.setattr(linalg_kernels, "worker_count", lambda: 2)
    monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    splits = record_calls(linalg_kernels, "split_batch", lambda fn, n, nbytes: n)
    rng = np.random.default_rng(4)
    x, w, b, g = (rng.standard_normal(s) for s in ((24, 40), (40, 30), (30,), (24, 30)))
    with use_kernels("reference"):
        want = _run(dense, [x, w, b], g, "relu")
    with use_kernels("fast"):
        splits.clear()
        got = _run(dense, [x, w, b], g, "relu")
    assert 2 in splits  # the pair (the forward product is split into 24 or 30 rows)
    for a, e in zip(got, want, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [6, 32])
def test_wide_input_gradient_by_blocks_of_weight_rows(monkeypatch: Any, record_calls: Any,
                                                      workers: int, dtype: type, m: int) -> None:
    """A small batch times the transpose of a tall weight (the input gradient of a dense layer
    on a wide input, as the 1-conv model's 63,504) goes by blocks of the weight's rows, the
    last block partial, and equals the plain product and the reference layer (a float32
    batch of 32 through the register tiles of kernels/simd.py, the others through BLAS)."""
    monkeypatch.setattr(threads, "worker_count", lambda: workers)
    monkeypatch.setattr(linalg_kernels, "worker_count", lambda: workers)
    taken = record_calls(linalg_kernels, "_wide_nt", lambda a, b, out, start, stop: (start, stop))
    tiles = record_calls(linalg_kernels, "gemm", lambda a, b, out, add: out.shape)
    rng = np.random.default_rng(5)
    k, n = 2 * linalg_kernels._WIDE_NT_BLOCK + 77, 40  # k >= 64 m: blocks of rows
    x, w, b, g = (rng.standard_normal(s).astype(dtype) for s in ((m, k), (k, n), (n,), (m, n)))
    got = linalg_kernels.matmul2d(g, w.T)
    assert taken and sum(stop - start for start, stop in taken) == k
    assert got.flags.c_contiguous
    if m == 32 and dtype == np.float32:  # every block of rows through the tiles
        assert sum(shape[0] for shape in tiles) == k
    else:
        assert tiles == []
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, g @ w.T, rtol=tolerance, atol=tolerance)
    taken.clear()
    if workers == 2:  # the layer's two products side by side, one on each thread
        monkeypatch.setattr(linalg_kernels, "_SPLIT_MIN_MULTS", 0)
        monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
    with use_kernels("reference"):
        want = _run(dense, [x, w, b], g, "relu")
    with use_kernels("fast"):
        fast = _run(dense, [x, w, b], g, "relu")
    assert (0, k) in taken  # through the layer too
    for a, e in zip(fast, want, strict=True):  # sums of k terms: error relative to the largest
        assert np.abs(a - e).max() <= tolerance * np.abs(e).max()
    square = rng.standard_normal((40, 40)).astype(dtype)  # not wide: the plain product
    taken.clear()
    linalg_kernels.matmul2d(rng.standard_normal((40, 40)).astype(dtype), square.T)
    assert taken == []


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("rows", [10, 64])
def test_float32_products_with_whole_column_tiles_use_the_register_tiles(
        monkeypatch: Any, record_calls: Any, workers: int, rows: int) -> None:
    """A float32 dense layer of 128 units: the forward product ``X W`` and the weight gradient
    ``X^T G`` go to ``simd.gemm`` (split over the workers in whole tiles: 4 rows or 64
    columns), and the layer equals the reference; float64, or 100 units, go to BLAS."""
    monkeypatch.setattr(threads, "worker_count", lambda: workers)
    monkeypatch.setattr(linalg_kernels, "worker_count", lambda: workers)
    monkeypatch.setattr(linalg_kernels, "_SPLIT_MIN_MULTS", 0)
    monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
    calls = record_calls(linalg_kernels, "gemm", lambda a, b, out, add: out.shape)
    rng = np.random.default_rng(7)
    k, n = 300, 128
    x, w, b, g = (rng.standard_normal(s).astype(np.float32)
                  for s in ((rows, k), (k, n), (n,), (rows, n)))
    with use_kernels("reference"):
        want = _run(dense, [x, w, b], g, "relu")
    with use_kernels("fast"):
        fast = _run(dense, [x, w, b], g, "relu")
    for a, e in zip(fast, want, strict=True):
        np.testing.assert_allclose(a, e, rtol=2e-5, atol=2e-5 * np.abs(e).max())
    outs = calls
    # forward (rows, 128): split into 64-column halves when it is split (rows < 128 columns)
    forward = [o for o in outs if o[0] == rows]
    assert sum(o[1] for o in forward) == n
    assert all(o[1] % 64 == 0 for o in forward)
    weight = [o for o in outs if o[0] != rows]  # (300, 128): split by whole 4-row tiles
    assert sum(o[0] for o in weight) == k and all(o[1] == n for o in weight)
    assert all(o[0] % 4 == 0 for o in weight[:-1])  # (one call: with two workers the
    # layer's two backward products run side by side, one on each thread)
    calls.clear()
    linalg_kernels.matmul2d(x.astype(np.float64), w.astype(np.float64))
    linalg_kernels.matmul2d(x, np.ascontiguousarray(w[:, :100]))
    assert calls == []


@pytest.mark.parametrize("shape", [(128, 512), (33, 7), (1, 5), (0, 3), (17, 16)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposed_is_a_c_ordered_transpose(shape: tuple, dtype: type) -> None:
    """``linalg_kernels.transposed`` (by slices of 16 rows) equals ``a.T`` bit for bit, as a
    new C-ordered array, also from a non-contiguous view."""
    rng = np.random.default_rng(11)
    a = rng.standard_normal(shape).astype(dtype)
    for source in (a, a[:, ::-1]):
        t = linalg_kernels.transposed(source)
        assert t.flags.c_contiguous and t.dtype == dtype and not np.shares_memory(t, a)
        np.testing.assert_array_equal(t, source.T)


def test_a_large_output_stays_with_openblas(monkeypatch: Any, record_calls: Any) -> None:
    """A float32 product with whole tiles but an output above ``_TILED_MAX_OUT_BYTES`` (the
    1-conv model's 32 MB weight gradient) goes to OpenBLAS."""
    monkeypatch.setattr(linalg_kernels, "_TILED_MAX_OUT_BYTES", 64 * 64 * 4)
    calls = record_calls(linalg_kernels, "gemm")
    rng = np.random.default_rng(3)
    x, g = (rng.standard_normal(s).astype(np.float32) for s in ((128, 65), (128, 64)))
    np.testing.assert_allclose(linalg_kernels.matmul2d(x.T, g), x.T @ g, rtol=1e-5, atol=1e-5)
    assert calls == []  # 65 x 64 outputs: one row too many
    np.testing.assert_allclose(linalg_kernels.matmul2d(x[:, :64].T, g), x[:, :64].T @ g,
                               rtol=1e-5, atol=1e-5)
    assert len(calls) == 1
