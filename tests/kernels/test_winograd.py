"""Winograd F(2×2, 3×3) (nablanet.kernels.winograd) against im2col and the reference.

The op table (tests/ops/test_op_table.py) has large Winograd cases on both kernel paths; here:
the transforms' algebra, every edge of the tiling (odd heights and widths, 'same' and 'valid',
bands of rows, the threaded batch split, the fused max pool), channel counts 1, 3 and 64 (the
path forced on below its channel threshold), all three gradients, and float32's error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nablanet as nb
from nablanet.kernels import conv as conv_kernels
from nablanet.kernels import threads, winograd
from nablanet.kernels.registry import use_kernels
from nablanet.ops.conv import conv2d
from nablanet.ops.conv_pool import conv2d_max_pool2d


def _step(fn: Any, arrays: list[np.ndarray], dtype: Any = np.float64,
          **options: Any) -> list[np.ndarray]:
    """Output, then the gradients of x, w and b, for a fixed random output gradient."""
    tensors = [nb.Tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    y = fn(*tensors, **options)
    y.backward(np.random.default_rng(3).standard_normal(y.shape).astype(dtype))
    return [y.data] + [t.grad for t in tensors]


def _arrays(n: int, h: int, w: int, c: int, f: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, h, w, c)), rng.standard_normal((3, 3, c, f)) / np.sqrt(9 * c),
            rng.standard_normal(f)]


def _counting(record_calls: Any) -> list[Any]:
    """Count the runs that go through the Winograd input transform."""
    return record_calls(winograd, "_input_tiles")


def test_transforms_are_a_3x3_correlation() -> None:
    """Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A is the 'valid' correlation of a 4×4 patch with a 3×3 kernel,
    and filter_grad is filter_transform's adjoint."""
    rng = np.random.default_rng(0)
    d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
    at = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float)
    u = winograd.filter_transform(g.reshape(3, 3, 1, 1)).reshape(4, 4)
    y = at @ (u * (bt @ d @ bt.T)) @ at.T
    direct = np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(y, direct, rtol=1e-13, atol=1e-13)
    w, du = rng.standard_normal((3, 3, 2, 5)), rng.standard_normal((16, 2, 5))
    np.testing.assert_allclose(np.sum(winograd.filter_transform(w) * du),
                               np.sum(w * winograd.filter_grad(du)), rtol=1e-13)


@pytest.mark.parametrize("shape, padding, activation", [
    ((3, 9, 7, 8, 5), "valid", None),  # odd output height and width: half-empty tiles
    ((2, 10, 11, 16, 4), "same", "relu"),
    ((2, 6, 6, 64, 8), "valid", "relu"),  # even sizes, 64 channels
    ((4, 5, 4, 9, 3), "same", None),
    ((1, 3, 3, 8, 2), "valid", "relu"),  # a single output, one tile
])
def test_winograd_equals_im2col(monkeypatch: Any, shape: tuple, padding: str,
                                activation: Any, record_calls: Any) -> None:
    """The Winograd path's output and x, w, b gradients are im2col's (float64, 1e-12)."""
    arrays = _arrays(*shape)
    calls = _counting(record_calls)
    wino = _step(conv2d, arrays, padding=padding, activation=activation)
    assert calls, "the Winograd path was not taken"
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 1 << 30)
    calls.clear()
    im2col = _step(conv2d, arrays, padding=padding, activation=activation)
    assert not calls
    for a, b in zip(wino, im2col):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels", [1, 3, 64])
def test_any_channel_count_when_forced(monkeypatch: Any, channels: int, record_calls: Any) -> None:
    """Below MIN_CHANNELS the path is not taken by default, but it is right for any C."""
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 1)
    arrays = _arrays(3, 11, 8, channels, 6, seed=channels)
    calls = _counting(record_calls)
    wino = _step(conv2d, arrays, padding="same", activation="relu")
    assert calls
    with use_kernels("reference"):
        reference = _step(conv2d, arrays, padding="same", activation="relu")
    for a, b in zip(wino, reference):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_bands_threads_and_fused_pool(monkeypatch: Any, padding: str, record_calls: Any) -> None:
    """Bands of tile rows (a small RUN_BYTES), the two-thread batch split and the fused max
    pool give the reference's values and gradients."""
    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    arrays = _arrays(5, 23, 21, 16, 12, seed=5)
    with use_kernels("reference"):
        reference = _step(conv2d_max_pool2d, arrays, padding=padding)
        reference_conv = _step(conv2d, arrays, padding=padding, activation="relu")
    bands: list[bool] = []
    real_chunks = conv_kernels._sub_chunks

    def chunks(*args: Any, **kwargs: Any) -> Any:
        runs = real_chunks(*args, **kwargs)
        bands.append(any(run.y0 > 0 for run in runs))
        assert all(run.y0 % 2 == 0 for run in runs)  # whole tiles and whole pool windows
        return runs

    monkeypatch.setattr(conv_kernels, "_sub_chunks", chunks)
    calls = _counting(record_calls)
    for run_bytes in (1 << 30, 40_000, 1):  # whole chunks, bands of a few rows, of two rows
        monkeypatch.setattr(winograd, "RUN_BYTES", run_bytes)
        for a, b in zip(_step(conv2d_max_pool2d, arrays, padding=padding), reference):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)
        for a, b in zip(_step(conv2d, arrays, padding=padding, activation="relu"),
                        reference_conv):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)
    assert calls and any(bands)


def test_first_layer_needs_no_input_gradient() -> None:
    """With x a constant only w and b get gradients, and they are the reference's."""
    x, w, b = _arrays(2, 8, 9, 8, 4, seed=7)

    def run() -> list[Any]:
        wt = nb.Tensor(w, dtype=np.float64, requires_grad=True)
        bt = nb.Tensor(b, dtype=np.float64, requires_grad=True)
        y = conv2d(nb.Tensor(x, dtype=np.float64), wt, bt)
        y.backward(np.ones(y.shape))
        return [y.data, wt.grad, bt.grad]

    fast = run()
    with use_kernels("reference"):
        for a, r in zip(fast, run()):
            np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-11)


def test_float32_error_is_a_few_ulps_of_the_output_scale() -> None:
    """Float32 Winograd against a float64 reference: the largest error relative to the
    largest value of each result (output, dX, dW, db) is below 1e-6. Measured on these inputs
    (a 28×28×64 output of 32 images, 32 channels): 1.7e-7, 3.6e-7, 4.5e-7, 2.1e-7; float32
    im2col on the same: 6.1e-7, 2.1e-7, 4.1e-7, 3.4e-7."""
    arrays = _arrays(32, 30, 30, 32, 64, seed=11)
    fast = _step(conv2d, arrays, dtype=np.float32)
    with use_kernels("reference"):
        exact = _step(conv2d, arrays, dtype=np.float64)
    for a, e in zip(fast, exact):
        assert a.dtype == np.float32
        assert np.max(np.abs(a - e)) / np.max(np.abs(e)) < 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, bias", [
    ((5, 11, 13, 8), 0.1),  # odd conv output (9×11): a tile row and column no window covers
    ((3, 10, 10, 16), 0.1),
    ((2, 7, 7, 8), None),  # constant input and kernel below: every window a tie
    ((2, 7, 7, 8), -100.0),  # ... and with every maximum negative: no gradient at all
])
def test_pool_fused_into_the_output_transform(monkeypatch: Any, dtype: Any, shape: tuple,
                                              bias: Any, record_calls: Any) -> None:
    """Conv2D + 2×2 max pool with the pool taken inside Winograd's output transform (and its
    gradient built from the winner codes) gives the composition's values and winners exactly:
    the output and the x and w gradients bit for bit; the bias gradient, summed in another
    order, to rounding."""
    from nablanet.functional import max_pool2d

    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
    if bias is None or bias < 0:
        arrays = [np.ones(shape), np.ones((3, 3, shape[3], 4)), np.full(4, bias or 0.5)]
    else:
        arrays = _arrays(*shape, 6, seed=shape[3])
    calls = _counting(record_calls)
    fused = _step(conv2d_max_pool2d, arrays, dtype=dtype)
    composed = _step(lambda x, w, b: max_pool2d(conv2d(x, w, b, activation="relu"), 2),
                     arrays, dtype=dtype)
    assert calls  # both ran by Winograd
    for a, b in zip(fused[:3], composed[:3]):
        np.testing.assert_array_equal(a, b)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(fused[3], composed[3], rtol=tolerance, atol=tolerance)
    if bias is not None and bias < 0:
        assert not np.any(fused[2]) and not np.any(fused[3])


# --- the vectorised transforms against the scalar ones -----------------------------------------
def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    """Equal values, NaN where NaN, and the same sign on every number (zeros included)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)  # NaNs compare equal here
    numbers = ~np.isnan(a)
    np.testing.assert_array_equal(np.signbit(a[numbers]), np.signbit(b[numbers]))


def _both(name: str, *args: Any) -> None:
    """Run the scalar and the vectorised form of transform ``name`` on copies of ``args`` and
    compare every array argument afterwards (outputs, and inputs left untouched)."""
    scalar = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    vector = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    getattr(winograd, f"_{name}_scalar")(*scalar)
    getattr(winograd, f"_{name}_vector")(*vector)
    for s, v in zip(scalar, vector):
        if isinstance(s, np.ndarray):
            _same_bits(s, v)


def _spiked(rng: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Random values with a NaN, infinities and zeros of both signs sprinkled in."""
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    spots = rng.choice(flat.size, size=8, replace=False)
    flat[spots] = [np.nan, np.inf, -np.inf, 0.0, -0.0, np.inf, -0.0, 0.0]
    return a


@pytest.mark.parametrize("length", [8, 16, 31, 32, 33, 64, 96])
def test_vector_transforms_are_bit_identical(length: int) -> None:
    """Each vectorised tile transform (input, output gradient, input-gradient scatter,
    pooled gradient) gives the scalar one's bits, on both sides of the thresholds: odd and
    even output sizes (the masked last tile row and column), a band of tile rows inside a
    batch, NaN and infinities (also in the row and column read past the edge and multiplied
    by 0), signed zeros, and the pool's ties and non-positive maxima (the winner codes with
    the flag 64)."""
    rng = np.random.default_rng(length)
    dtype = np.float64 if length == 33 else np.float32  # (each dtype compiles them again)
    for (h, w) in [(9, 9), (8, 11), (7, 6)]:
        ho, wo = h - 2, w - 2
        th, tw = winograd.tiles(ho), winograd.tiles(wo)
        xp = _spiked(rng, (3, h, w, length), dtype)
        xp[1, h - 1, 2] = np.inf  # the last row: read past the edge of odd heights
        xp[2, 3, w - 1] = np.nan  # the last column
        count = 3 * th * tw
        # the whole batch, and a band of tile rows of the middle image
        _both("input_tiles", xp, 0, 3, 0, th, tw, np.zeros((16, count, length), dtype))
        _both("input_tiles", xp, 1, 2, 1, th - 1, tw,
              np.zeros((16, (th - 1) * tw, length), dtype))
        m = _spiked(rng, (16, count, length), dtype)
        _both("grad_tiles", _spiked(rng, (3, ho, wo, length), dtype),
              np.zeros((16, count, length), dtype), th, tw)
        dv = _spiked(rng, (16, count, length), dtype)
        _both("scatter_tiles", dv, rng.standard_normal(xp.shape).astype(dtype), 0, 3, 0, th, tw)
        _both("scatter_tiles", dv[:, : (th - 1) * tw], np.zeros(xp.shape, dtype), 1, 2, 1,
              th - 1, tw)
        # the pool: ties (small integers), every sign of maximum, and the uncovered tiles
        pooled = (3, ho // 2, wo // 2, length)
        ties = rng.integers(-2, 3, size=m.shape).astype(dtype)
        for mm, bias in [(m, np.empty(0, dtype)), (ties, np.full(length, -1.0, dtype)),
                         (ties, np.empty(0, dtype))]:
            out, winner = np.zeros(pooled, dtype), np.zeros(pooled, np.int8)
            winograd._output_pool_tiles(mm, out, winner, th, tw, bias)
            assert np.any(winner >= 64) and np.any(winner < 4)
            g = _spiked(rng, pooled, dtype)
            for gb in (np.empty(0, dtype), rng.standard_normal(length).astype(dtype)):
                _both("pool_grad_tiles", g, winner, np.full((16, count, length), 5, dtype),
                      th, tw, gb)


def test_vectorised_conv_equals_im2col_and_the_pool(monkeypatch: Any, record_calls: Any) -> None:
    """With 32 channels and 128 filters every transform that has a vectorised form runs it:
    the conv (output, x, w, b gradients) is im2col's, and the fused conv + pool the
    composition's (as test_pool_fused_into_the_output_transform: output, x and w gradients
    bit for bit)."""
    from nablanet.functional import max_pool2d

    dtype = np.float32
    assert 32 >= winograd.VECTOR_MIN and 128 >= winograd.VECTOR_MIN_FILTERS
    arrays = _arrays(2, 9, 10, 32, 128, seed=13)  # 7×8 output: an odd height
    calls = _counting(record_calls)
    wino = _step(conv2d, arrays, dtype=dtype, activation="relu")
    assert calls
    fused = _step(conv2d_max_pool2d, arrays, dtype=dtype)
    composed = _step(lambda x, w, b: max_pool2d(conv2d(x, w, b, activation="relu"), 2),
                     arrays, dtype=dtype)
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 1 << 30)
    calls.clear()
    im2col = _step(conv2d, arrays, dtype=dtype, activation="relu")
    assert not calls
    for a, b in zip(wino, im2col):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    for a, b in zip(fused[:3], composed[:3]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(fused[3], composed[3], rtol=1e-5, atol=1e-5)
