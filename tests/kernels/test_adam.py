"""The fast Adam kernel (nablanet.kernels.adam, one compiled pass split over the threads)
equals the reference (nablanet.optimizers.adam.adam_reference), and the switch chooses it."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nablanet as nb
from nablanet.kernels import adam as adam_kernel
from nablanet.kernels import registry
from nablanet.kernels.registry import use_kernels
from nablanet.optimizers import Adam, AdamW
from nablanet.optimizers.adam import adam_reference, adam_update

THRESHOLD = adam_kernel.MIN_SIZE
_fast = adam_kernel.adam_update
HYPER = {"learning_rate": 3e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}


def _state(n: int, dtype: type, amsgrad: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(n).astype(dtype)
    m = (rng.standard_normal(n) * 1e-2).astype(dtype)
    v = (rng.random(n) * 1e-4).astype(dtype)
    v_max = (v * rng.random(n) * 2).astype(dtype) if amsgrad else None
    return param, m, v, v_max


def _grads(n: int, dtype: type, steps: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    # magnitudes from 1e-9 to 1e2 (ε matters at the small end), some exact zeros
    scale = 10.0 ** rng.uniform(-9, 2, size=(steps, n))
    grads = rng.standard_normal((steps, n)) * scale
    grads[:, ::97] = 0.0
    return grads.astype(dtype)


def _compare(fused: np.ndarray, ref: np.ndarray) -> None:
    if fused.dtype == np.float64:
        np.testing.assert_allclose(fused, ref, rtol=1e-12, atol=0)
    else:
        np.testing.assert_array_max_ulp(fused, ref, maxulp=4)


def _reference(*args, **kwargs) -> None:
    adam_reference(*args, **kwargs)


def test_registered_for_adam_update_and_chosen_by_the_switch():
    assert registry.registered()["adam_update"] is _fast
    calls = []

    def count(*args, **kwargs):
        calls.append(1)
        return _fast(*args, **kwargs)

    n = THRESHOLD
    param, m, v, _ = _state(n, np.float32, False)
    g = _grads(n, np.float32, steps=1)[0]
    try:
        registry._FAST["adam_update"] = count
        with use_kernels("reference"):
            adam_update(param, g, m, v, None, step=1, **HYPER)
        assert calls == []
        with use_kernels("fast"):
            adam_update(param, g, m, v, None, step=2, **HYPER)
        assert calls == [1]
    finally:
        registry._FAST["adam_update"] = _fast


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("n", [THRESHOLD - 1, THRESHOLD, THRESHOLD + 37])
def test_fused_equals_numpy(dtype, amsgrad, n):
    fused = _state(n, dtype, amsgrad)
    ref = tuple(None if a is None else a.copy() for a in fused)
    for step, g in enumerate(_grads(n, dtype, steps=3), start=1):
        used = _fast(*fused[:1], g, *fused[1:], step=step, **HYPER)
        assert used is (True if n >= THRESHOLD else None)
        if not used:  # below the threshold the kernel declines: adam_update runs the reference
            with use_kernels("fast"):
                adam_update(fused[0], g, *fused[1:], step=step, **HYPER)
        _reference(ref[0], g, *ref[1:], step=step, **HYPER)
    for a, b in zip(fused, ref):
        if a is not None:
            _compare(a, b)


@pytest.mark.parametrize("threads", [1, 2])
def test_fused_split_over_threads(monkeypatch, threads):
    """Big enough for split_batch to hand chunks to the worker threads (at 2 threads)."""
    splits = []
    real_split = adam_kernel.split_batch

    def split(fn, n, nbytes):
        splits.append(nbytes)
        real_split(fn, n, nbytes)

    monkeypatch.setattr(adam_kernel, "split_batch", split)
    n = adam_kernel.SPLIT_MIN_BYTES // 16 + 3  # (five float32 arrays with AMSGrad)
    fused = _state(n, np.float32, True)
    ref = tuple(a.copy() for a in fused)
    with threadpool_limits(threads), use_kernels("fast"):
        for step, g in enumerate(_grads(n, np.float32, steps=2), start=1):
            adam_update(fused[0], g, *fused[1:], step=step, **HYPER)
            _reference(ref[0], g, *ref[1:], step=step, **HYPER)
    assert splits and min(splits) >= adam_kernel.SPLIT_MIN_BYTES
    for a, b in zip(fused, ref):
        _compare(a, b)


def test_passes_under_the_split_size_stay_in_the_callers_thread(monkeypatch):
    """A hand-off costs more than it saves below ``adam.SPLIT_MIN_BYTES`` (~4 MB): such a
    pass (the LSTM's 128 x 512 recurrent kernel: 1 MB in all) never reaches split_batch."""
    monkeypatch.setattr(adam_kernel, "split_batch", lambda *args: pytest.fail("split"))
    n = 128 * 512
    assert 4 * n * 4 < adam_kernel.SPLIT_MIN_BYTES
    fused = _state(n, np.float32, False)
    ref = tuple(None if a is None else a.copy() for a in fused)
    g = _grads(n, np.float32, steps=1)[0]
    with threadpool_limits(2), use_kernels("fast"):
        assert _fast(fused[0], g, *fused[1:], step=1, **HYPER)
    _reference(ref[0], g, *ref[1:], step=1, **HYPER)
    for a, b in zip(fused, ref):
        if a is not None:
            _compare(a, b)


def test_fused_amsgrad_nan_propagates_as_np_maximum():
    n = THRESHOLD
    fused = _state(n, np.float64, True)
    fused[3][5] = np.nan  # a NaN already in v_max
    g = _grads(n, np.float64, steps=1)[0]
    g[7] = np.nan  # a NaN reaching v
    ref = tuple(a.copy() for a in fused)
    assert _fast(fused[0], g, *fused[1:], step=1, **HYPER)
    _reference(ref[0], g, *ref[1:], step=1, **HYPER)
    for a, b in zip(fused, ref):
        np.testing.assert_array_equal(a, b)  # NaNs at the same places
    assert np.isnan(fused[3][5]) and np.isnan(fused[3][7]) and np.isnan(fused[0][7])


def test_fused_falls_back_where_it_does_not_apply():
    n = THRESHOLD
    param, m, v, _ = _state(n, np.float32, False)
    g = _grads(n, np.float32, steps=1)[0]
    square = (256, n // 256)
    assert not _fast(param.reshape(square), g.reshape(square[::-1]).T,
                                  m.reshape(square), v.reshape(square), None, step=1, **HYPER)
    assert not _fast(param, g.astype(np.float64), m, v, None, step=1, **HYPER)
    half = (param.astype(np.float16), g.astype(np.float16))
    assert not _fast(*half, m.astype(np.float16), v.astype(np.float16), None,
                                  step=1, **HYPER)
    assert not _fast(param, param, m, v, None, step=1, **HYPER)  # overlapping
    assert not _fast(param, g, g, v, None, step=1, **HYPER)
    frozen = param.copy()
    frozen.flags.writeable = False
    assert not _fast(frozen, g, m, v, None, step=1, **HYPER)
    np.testing.assert_array_equal(frozen, param)  # nothing was written by the refusals
    np.testing.assert_array_equal(m, _state(n, np.float32, False)[1])


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("make", [lambda a: Adam(learning_rate=1e-2, amsgrad=a),
                                  lambda a: Adam(learning_rate=1e-2, amsgrad=a, weight_decay=0.1),
                                  lambda a: AdamW(learning_rate=1e-2, amsgrad=a)],
                         ids=["adam", "adam-decay", "adamw"])
def test_optimizers_fused_equal_numpy(make, amsgrad):
    rng = np.random.default_rng(3)
    init = rng.standard_normal((THRESHOLD // 64 + 1, 64)).astype(np.float32)  # >= threshold
    small = rng.standard_normal(10).astype(np.float32)  # stays on the NumPy path
    grads = _grads(init.size + small.size, np.float32, steps=4)

    def train() -> list[np.ndarray]:
        big_w, small_w = nb.tensor(init, requires_grad=True), nb.tensor(small, requires_grad=True)
        opt = make(amsgrad)
        for g in grads:
            opt.apply([g[:init.size].reshape(init.shape), g[init.size:]], [big_w, small_w])
        return [big_w.data, small_w.data, *opt.variables]

    with use_kernels("fast"):
        fused = train()
    with use_kernels("reference"):
        ref = train()
    assert not np.array_equal(fused[0], init)
    for a, b in zip(fused, ref):
        _compare(a, b)


def test_every_weight_is_c_ordered_so_the_kernel_takes_it():
    """An orthogonal initializer's value for a wide shape is a transposed QR factor
    (Fortran-ordered); the Variable keeps a C-ordered copy, so the LSTM's recurrent kernel and
    its Adam slots are C-contiguous and the compiled pass (which declines non-contiguous
    arrays) updates it."""
    assert not nb.initializers.Orthogonal(seed=0)((128, 512)).flags.c_contiguous
    variable = nb.Variable(np.asfortranarray(np.ones((3, 4), dtype=np.float32)))
    assert variable.data.flags.c_contiguous
    layer = nb.layers.LSTM(128)
    layer.build((None, 5, 8))
    rk = layer.cell.recurrent_kernel if hasattr(layer, "cell") else layer.recurrent_kernel
    assert rk.data.size >= THRESHOLD and rk.data.flags.c_contiguous
    calls = []

    def count(*args, **kwargs):
        used = _fast(*args, **kwargs)
        calls.append(args[0].shape if used else None)
        return used

    try:
        registry._FAST["adam_update"] = count
        with use_kernels("fast"):
            Adam().apply([np.ones(rk.data.shape, np.float32)], [rk])
    finally:
        registry._FAST["adam_update"] = _fast
    assert calls == [rk.data.shape]
