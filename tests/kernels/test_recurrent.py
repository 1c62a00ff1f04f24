"""The compiled LSTM (nablanet.kernels.recurrent) against the reference LSTM of
nablanet.ops.recurrent, and its building blocks (tanh approximation, the batch split);
the per-step products are tested in test_simd.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nablanet.autograd.tensor import Tensor
from nablanet.kernels import recurrent as kernels
from nablanet.kernels import registry, threads
from nablanet.kernels.registry import use_kernels
from nablanet.ops import recurrent
from nablanet.ops.recurrent import gru, lstm

RNG = np.random.default_rng(17)


def f32(*shape: int, scale: float = 0.5) -> np.ndarray:
    return (scale * RNG.standard_normal(shape)).astype(np.float32)


def close(actual: np.ndarray, expected: np.ndarray, atol: float = 2e-5) -> None:
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=1e-4)


def _both_paths(arrays: list, op: Any = lstm, **options: Any) -> list[list]:
    """Outputs and input gradients of one ``op`` call (``lstm`` or ``gru``), once per path
    (fast, then reference), with the same random weights of the outputs."""
    results = []
    for mode in ("fast", "reference"):
        rng = np.random.default_rng(0)
        with use_kernels(mode):
            ours = [None if a is None else Tensor(a, dtype=a.dtype, requires_grad=True)
                    for a in arrays]
            outs = op(*ours, **options)
            total = sum(((o * Tensor(rng.standard_normal(o.shape).astype(np.float32))).sum()
                         for o in outs), Tensor(np.float32(0)))
            total.backward()
        results.append([o.data for o in outs] + [None if a is None else a.grad for a in ours])
    return results


def test_numba_is_there_and_the_kernel_is_registered() -> None:
    assert kernels._lstm_forward is not None, "numba is not importable: the kernels are untested"
    assert registry.registered()["lstm"] is kernels.lstm
    assert registry.registered()["gru"] is kernels.gru
    x, k, rk = f32(4, 3, 2), f32(2, 8), f32(2, 8)
    assert isinstance(kernels.lstm(x, None, None, k, rk, None), Tensor)


@pytest.mark.parametrize("n,t,d,u", [(1, 1, 2, 3), (8, 5, 4, 4), (11, 9, 3, 6), (16, 4, 8, 9)])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("workers", [1, 2])
def test_compiled_lstm_matches_reference(monkeypatch: pytest.MonkeyPatch, n: int, t: int,
                                         d: int, u: int, go_backwards: bool, masked: bool,
                                         workers: int) -> None:
    """Sizes cover the kernels' 4-row and 8-index blocks and every remainder, on one batch
    slice and on two (threads)."""
    monkeypatch.setattr(threads, "worker_count", lambda: workers)
    arrays = [f32(n, t, d, scale=1.0), f32(n, u), f32(n, u), f32(d, 4 * u), f32(u, 4 * u),
              f32(4 * u)]
    mask = RNG.random((n, t)) > 0.3 if masked else None
    fast, reference = _both_paths(arrays, mask=mask, go_backwards=go_backwards)
    for a, b in zip(fast, reference):
        close(a, b)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("rows", [12, 24, 1000])
def test_weight_gradients_gathered_over_steps_have_the_per_step_bits(
        monkeypatch: pytest.MonkeyPatch, workers: int, rows: int) -> None:
    """Weight-gradient products over a few gathered steps (``WEIGHT_GRAD_ROWS`` 12 and 24: 3 or
    6 steps of a 4-row slice, and a shorter last chunk; or the whole sequence) add the same
    terms in the same order as one product per step: the same bits."""
    monkeypatch.setattr(threads, "worker_count", lambda: workers)
    n, t, d, u = 4 * workers, 8, 5, 16
    arrays = [f32(n, t, d, scale=1.0), f32(n, u), f32(n, u), f32(d, 4 * u), f32(u, 4 * u),
              f32(4 * u)]
    mask = RNG.random((n, t)) > 0.3
    monkeypatch.setattr(kernels, "WEIGHT_GRAD_ROWS", 1)  # one step per product
    per_step, reference = _both_paths(arrays, mask=mask)
    monkeypatch.setattr(kernels, "WEIGHT_GRAD_ROWS", rows)
    gathered, _ = _both_paths(arrays, mask=mask)
    for a, b, c in zip(gathered, per_step, reference):
        if c is not None:
            np.testing.assert_array_equal(a, b)
            close(a, c)


def test_the_batch_is_split_over_the_workers(monkeypatch: pytest.MonkeyPatch,
                                             record_calls: Any) -> None:
    """Two slices at two workers with >= 8 rows, one below; forward and backward both split."""
    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    calls = record_calls(kernels, "split_parts", lambda fn, n, parts: parts)
    for n in (8, 7):
        arrays = [f32(n, 3, 2), None, None, f32(2, 12), f32(3, 12), f32(12)]
        _both_paths(arrays)
    assert calls == [2, 2, 1, 1]


def test_other_dtypes_and_activations_run_the_reference() -> None:
    x, k, rk = f32(4, 3, 2), f32(2, 8), f32(2, 8)
    assert kernels.lstm(x.astype(np.float64), None, None, k, rk) is None
    assert kernels.lstm(x, None, None, k.astype(np.float64), rk) is None
    assert kernels.lstm(x, None, None, k, rk, activation="relu") is None
    assert kernels.lstm(x, None, None, k, rk, recurrent_activation="hard_sigmoid") is None
    assert kernels.lstm(Tensor(x), None, None, Tensor(k), rk) is not None


def test_compiled_lstm_optional_inputs_and_large_values() -> None:
    """No initial states or bias, saturating gates (|pre-activation| up to ~40) and a NaN."""
    n, t, d, u = 9, 6, 5, 7
    x = f32(n, t, d, scale=20.0)
    arrays = [x, None, None, f32(d, 4 * u, scale=1.0), f32(u, 4 * u, scale=1.0), None]
    fast, reference = _both_paths(arrays)
    for a, b in zip(fast, reference):  # float32 sums of large terms: scale the tolerance
        if b is not None:
            close(a, b, atol=2e-5 * max(1.0, float(np.abs(b).max())))
    x[3, 2, 1] = np.nan  # a NaN propagates (it must never turn into a silent finite value)
    fast, reference = _both_paths(arrays)
    np.testing.assert_array_equal(np.isnan(fast[0]), np.isnan(reference[0]))
    assert np.isnan(fast[0][3, 2:]).all() and not np.isnan(fast[0][:3]).any()


def test_compiled_tanh_approximation_is_accurate() -> None:
    x = np.linspace(-12.0, 12.0, 4001, dtype=np.float32)
    approx = np.array([kernels._tanh(v) for v in x], dtype=np.float32)
    np.testing.assert_allclose(approx, np.tanh(x.astype(np.float64)), rtol=0, atol=5e-7)
    assert np.isnan(kernels._tanh(np.float32(np.nan)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reset_after", [True, False])
def test_buffered_gru_matches_reference(dtype: Any, reset_after: bool) -> None:
    """The GRU kernel (every dtype) against the reference, with a mask and go_backwards."""
    n, t, d, u = 6, 7, 3, 5
    arrays = [f32(n, t, d, scale=1.0), f32(n, u), f32(d, 3 * u), f32(u, 3 * u),
              f32(2, 3 * u) if reset_after else f32(3 * u)]
    arrays = [a.astype(dtype) for a in arrays]
    mask = RNG.random((n, t)) > 0.3
    results = []
    for mode in ("fast", "reference"):
        with use_kernels(mode):
            ours = [Tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
            seq, h = gru(*ours, reset_after=reset_after, mask=mask, go_backwards=True)
            ((seq * seq).sum() + h.sum()).backward()
        results.append([seq.data, h.data] + [a.grad for a in ours])
    for a, b in zip(*results):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=1e-4 if dtype == np.float32 else 1e-12,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("n,t,d,u", [(1, 1, 2, 3), (8, 5, 4, 4), (11, 9, 3, 6), (16, 4, 8, 22)])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("workers", [1, 2])
def test_compiled_gru_matches_reference(monkeypatch: pytest.MonkeyPatch, n: int, t: int,
                                        d: int, u: int, go_backwards: bool, masked: bool,
                                        workers: int) -> None:
    """The compiled GRU loops (float32, tanh / sigmoid, ``reset_after``) against the
    reference, on one batch slice and on two, with every tile edge of the per-step product."""
    monkeypatch.setattr(threads, "worker_count", lambda: workers)
    calls = []
    real = kernels._gru_forward
    monkeypatch.setattr(kernels, "_gru_forward",
                        lambda *args: calls.append(args[-1] - args[-2]) or real(*args))
    arrays = [f32(n, t, d, scale=1.0), f32(n, u), f32(d, 3 * u), f32(u, 3 * u),
              f32(2, 3 * u)]
    mask = RNG.random((n, t)) > 0.3 if masked else None
    fast, reference = _both_paths(arrays, gru, mask=mask, go_backwards=go_backwards)
    for a, b in zip(fast, reference):
        close(a, b)
    assert sum(calls) == n and len(calls) == (workers if n >= 8 else 1)


def test_compiled_gru_optional_inputs_large_values_and_nan() -> None:
    """No initial state or bias, saturating gates and a NaN that must propagate."""
    n, t, d, u = 9, 6, 5, 7
    x = f32(n, t, d, scale=20.0)
    arrays = [x, None, f32(d, 3 * u, scale=1.0), f32(u, 3 * u, scale=1.0), None]
    fast, reference = _both_paths(arrays, gru)
    for a, b in zip(fast, reference):
        if b is not None:
            close(a, b, atol=2e-5 * max(1.0, float(np.abs(b).max())))
    x[3, 2, 1] = np.nan
    fast, reference = _both_paths(arrays, gru)
    np.testing.assert_array_equal(np.isnan(fast[0]), np.isnan(reference[0]))
    assert np.isnan(fast[0][3, 2:]).all() and not np.isnan(fast[0][:3]).any()


def test_gru_compiled_loops_only_where_they_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    """float64, other activations and ``reset_after=False`` keep the NumPy step loop."""
    used = []
    real = kernels._gru_forward
    monkeypatch.setattr(kernels, "_gru_forward", lambda *args: used.append(1) or real(*args))
    x, k, rk = f32(4, 3, 2), f32(2, 9), f32(3, 9)
    for options in ({"activation": "relu"}, {"recurrent_activation": "hard_sigmoid"},
                    {"reset_after": False}):
        gru(x, None, k, rk, None, **options)
    gru(x.astype(np.float64), None, k, rk, None)
    assert used == []
    gru(x, None, k, rk, None)
    assert used == [1]


def test_reference_module_has_no_compiled_code() -> None:
    """ops/recurrent.py is the maths only: no numba, no threads."""
    import inspect

    source = inspect.getsource(recurrent)
    for word in ("numba", "njit", "Thread", "split_", "_numba"):
        assert word not in source, word
