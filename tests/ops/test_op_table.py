"""Every case of the op table: gradient check of the reference in float64, PyTorch reference
in float32, and the fast kernels against the reference on every case (plus the large ones).

Also checks that the table covers every ``Function`` subclass defined in any module of
the ``nablanet.ops`` package (modules added later included) and every registered kernel.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from typing import Any

import numpy as np
import op_table  # tests/ops/op_table.py (on pytest's pythonpath)
import pytest
import torch

import nablanet as nb
import nablanet.ops
from nablanet.autograd import Function, Tensor
from nablanet.kernels import _numba, registry, threads
from nablanet.kernels.registry import use_kernels
from nablanet.testing import gradcheck

CASES = op_table.CASES
OPTIMIZER_KERNELS = {"adam_update"}  # tests/kernels/test_adam.py
ARRAY_KERNELS = {"cp_mttkrp_sweep", "hooi_projections", "hals_passes"}  # test_decompositions.py
GRADCHECK_KEYS = ("eps", "atol", "rtol")


def _case_id(case: Any) -> str:
    return f"{case.op}-{case.id}" if case.id else case.op


def _outputs(result: Any) -> list[Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _wrt(case: Any) -> tuple[int, ...]:
    if case.wrt is not None:
        return tuple(case.wrt)
    return tuple(i for i, a in enumerate(case.inputs) if np.asarray(a).dtype.kind == "f")


def _is_float(x: Any) -> bool:
    return np.dtype(x.dtype).kind in "fc"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_gradcheck_float64(case: Any) -> None:
    """Autograd gradients agree with central differences (float64, small inputs)."""
    probe = _outputs(case.fn(*[Tensor(np.asarray(a, dtype=np.float64), dtype=np.float64)
                               for a in case.inputs]))
    if not any(_is_float(o.data) for o in probe):
        # Comparisons and arg-reductions: no gradient is recorded, whatever the input.
        inputs = [Tensor(np.asarray(a, dtype=np.float64), dtype=np.float64, requires_grad=True)
                  for a in case.inputs]
        assert not any(o.requires_grad for o in _outputs(case.fn(*inputs)))
        return

    def flat(*tensors: Tensor) -> Tensor:
        outs = [o for o in _outputs(case.fn(*tensors)) if _is_float(o.data)]
        if len(outs) == 1:
            return outs[0]
        return nb.ops.concatenate([o.reshape(-1) for o in outs])

    options = {k: v for k, v in case.tolerance.items() if k in GRADCHECK_KEYS}
    with use_kernels("reference"):
        assert gradcheck(flat, *case.inputs, wrt=_wrt(case), **options)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_torch_float32(case: Any) -> None:
    """Forward values, dtypes and gradients agree with PyTorch in float32."""
    if case.torch_fn is None:
        assert case.note, f"{_case_id(case)}: a case without torch_fn must say why in note"
        return
    rtol = case.tolerance.get("torch_rtol", 1e-4)
    atol = case.tolerance.get("torch_atol", 1e-5)
    wrt = _wrt(case)
    arrays = [np.asarray(a).astype(np.float32) if np.asarray(a).dtype.kind == "f"
              else np.asarray(a) for a in case.inputs]  # astype keeps the memory layout
    ours = [Tensor(a, dtype=a.dtype, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(np.array(a, order="C"), requires_grad=i in wrt)
              for i, a in enumerate(arrays)]
    outs = _outputs(case.fn(*ours))
    refs = _outputs(case.torch_fn(*theirs))
    assert len(outs) == len(refs)
    for out, ref in zip(outs, refs):
        assert out.shape == tuple(ref.shape)
        assert out.dtype == torch.empty(0, dtype=ref.dtype).numpy().dtype, (out.dtype, ref.dtype)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=atol)
    float_pairs = [(o, r) for o, r in zip(outs, refs) if _is_float(o.data)]
    if not float_pairs:
        assert not any(o.requires_grad for o in outs)
        return
    rng = np.random.default_rng(0)
    total_ours: Any = 0.0
    total_theirs: Any = 0.0
    for out, ref in float_pairs:
        w = rng.standard_normal(out.shape).astype(out.dtype)
        total_ours = total_ours + (out * Tensor(w, dtype=w.dtype)).sum()
        total_theirs = total_theirs + (ref * torch.from_numpy(w)).sum()
    total_ours.backward()
    total_theirs.backward()
    for i in wrt:
        expected = theirs[i].grad
        expected = np.zeros(arrays[i].shape) if expected is None else expected.numpy()
        actual = ours[i].grad
        assert actual is not None, f"input {i} got no gradient"
        assert actual.shape == arrays[i].shape
        assert actual.dtype == np.float32
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")


def _ops_functions() -> dict[str, type]:
    """Every public Function subclass defined in a module of the nablanet.ops package."""
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(nablanet.ops.__path__, "nablanet.ops."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, Function)
                and obj.__module__ == module.__name__
                and not obj.__name__.startswith("_")
            ):
                found[obj.__name__] = obj
    return found


def test_every_function_in_ops_has_a_case() -> None:
    functions = _ops_functions()
    assert {"Add", "MatMul", "Sum", "GetItem", "Softmax", "Less"} <= set(functions)
    covered = {case.op for case in CASES}
    missing = sorted(set(functions) - covered)
    assert not missing, f"Function subclasses without a case in tests/ops/op_table.py: {missing}"


def test_case_ids_are_unique() -> None:
    ids = [_case_id(c) for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


# --- the fast kernels against the reference ---------------------------------------------------
def _run(case: Any, dtype: Any, mode: str) -> list[np.ndarray]:
    """Outputs and input gradients of ``case`` on one kernel path (the same random weights of
    the outputs on both paths)."""
    wrt = _wrt(case)
    arrays = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in case.inputs]
    with use_kernels(mode):
        ours = [Tensor(a, dtype=a.dtype, requires_grad=i in wrt) for i, a in enumerate(arrays)]
        outs = _outputs(case.fn(*ours))
        floats = [o for o in outs if _is_float(o.data)]
        rng = np.random.default_rng(0)
        if floats and any(o.requires_grad for o in floats):
            total: Any = 0.0
            for out in floats:
                total = total + (out * Tensor(rng.standard_normal(out.shape).astype(out.dtype),
                                              dtype=out.dtype)).sum()
            total.backward()
        return [o.data for o in outs] + [ours[i].grad for i in wrt if ours[i].grad is not None]


ALL_CASES = CASES + op_table.LARGE_CASES


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ALL_CASES, ids=[_case_id(c) for c in ALL_CASES])
def test_fast_equals_reference(case: Any, dtype: Any, monkeypatch: Any) -> None:
    """The fast path (kernels, threads, bands of rows) gives the reference's values and
    gradients to float tolerance. Two workers even where BLAS is limited to one thread, so
    that the large cases take the threaded code."""
    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    fast = _run(case, dtype, "fast")
    reference = _run(case, dtype, "reference")
    assert len(fast) == len(reference)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    for a, b in zip(fast, reference):
        assert a.shape == b.shape and a.dtype == b.dtype
        scale = max(1.0, float(np.max(np.abs(b)))) if b.size and b.dtype.kind == "f" else 1.0
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


def test_large_cases_reach_threads_and_bands(monkeypatch: Any) -> None:
    """The large cases do take the threaded split and the bands of rows."""
    from nablanet.kernels import conv as conv_kernels

    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    split_sizes: list[int] = []
    bands: list[bool] = []
    real_split, real_chunks = threads.split_batch, conv_kernels._sub_chunks

    def split(fn: Any, n: int, nbytes: int) -> None:
        split_sizes.append(nbytes)
        real_split(fn, n, nbytes)

    def chunks(*args: Any, **kwargs: Any) -> Any:
        runs = real_chunks(*args, **kwargs)
        bands.append(any(run.y0 > 0 for run in runs))
        return runs

    monkeypatch.setattr(conv_kernels, "split_batch", split)
    monkeypatch.setattr(conv_kernels, "_sub_chunks", chunks)
    for case in op_table.LARGE_CASES:
        if case.op.startswith("Conv2D"):
            _run(case, np.float32, "fast")
    assert any(size >= threads.SPLIT_MIN_BYTES for size in split_sizes)
    assert any(bands)


def test_large_lstm_cases_reach_the_threaded_split(monkeypatch: Any, record_calls: Any) -> None:
    """The large LSTM cases run the compiled loops on two batch slices, forward and backward."""
    from nablanet.kernels import recurrent as recurrent_kernels

    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    parts = record_calls(recurrent_kernels, "split_parts", lambda fn, n, count: count)
    large = [case for case in op_table.LARGE_CASES if case.op == "LSTMSequence"]
    for case in large:
        _run(case, np.float32, "fast")
    compiled = _numba.numba_module() is not None  # NABLANET_NUMBA=0: the kernel declines
    assert parts == ([2, 2] * len(large) if compiled else [])


def test_every_registered_kernel_is_exercised_by_the_table() -> None:
    """Each fast kernel runs (returns a Tensor) for at least one case of the table (the
    optimizer updates, in-place steps on arrays, and the decompositions' kernels, on arrays,
    have their tests in tests/kernels)."""
    hits: set[str] = set()
    kernels = {name: fn for name, fn in registry.registered().items()
               if name not in OPTIMIZER_KERNELS | ARRAY_KERNELS}
    original = dict(registry._FAST)

    def counting(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)
            if out is not None:
                hits.add(name)
            return out
        return wrapper

    try:
        registry._FAST.update({name: counting(name, fn) for name, fn in kernels.items()})
        with use_kernels("fast"):
            for case in CASES:
                case.fn(*[Tensor(np.asarray(a)) for a in case.inputs])
    finally:
        registry._FAST.clear()
        registry._FAST.update(original)
    if _numba.numba_module() is None:  # NABLANET_NUMBA=0: the compiled kernels decline
        assert hits and hits <= set(kernels)
    else:
        assert hits == set(kernels), sorted(set(kernels) - hits)


def test_fast_kernels_are_subclasses_of_reference_primitives() -> None:
    """A kernel's Function classes subclass the reference primitive they accelerate (the
    fused Conv2DMaxPool2D has its own cases in the table)."""
    import nablanet.kernels

    registry.registered()
    reference = set(_ops_functions().values())
    covered = {case.op for case in CASES}
    for info in pkgutil.walk_packages(nablanet.kernels.__path__, "nablanet.kernels."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, Function) and \
                    obj.__module__ == module.__name__:
                assert obj.__name__ in covered or any(
                    base in reference for base in obj.__mro__[1:]), obj
