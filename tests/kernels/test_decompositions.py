"""The fast tensor-decomposition kernels (nablanet.kernels.decompositions: the mode-grouped
MTTKRP and HOOI projections, the compiled HALS passes) equal the reference code of
nablanet.tensor_algebra, and the switch chooses them.

The comparisons run a few sweeps (``tol=0``) of well-posed fits. Over-factored fits (a rank
above the tensor's, e.g. TensorLy's ``test_parafac`` with rank 4 on a rank-3 tensor, or a CP of
a full-rank conv kernel) start their extra components from rounding noise, so the two paths
take different (equally valid) trajectories there; those tests pass on both paths
(``NABLANET_KERNELS=reference``), and ``cp.mttkrp``'s column order is Kolda & Bader's, with
which they do (with TensorLy's C order, two of them landed just outside their tolerances).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from nablanet.kernels import decompositions as fast
from nablanet.kernels import registry
from nablanet.kernels.registry import use_kernels
from nablanet.tensor_algebra import (
    cp,
    khatri_rao,
    non_negative_parafac,
    non_negative_parafac_hals,
    non_negative_tucker_hals,
    parafac,
    partial_tucker,
    random_cp,
    randomised_parafac,
    tucker,
    unfold,
)
from nablanet.tensor_algebra.nn_cp import hals_nnls, hals_passes
from nablanet.tensor_algebra.unfolding import multi_mode_dot

cp_module = sys.modules["nablanet.tensor_algebra.cp"]
tucker_module = sys.modules["nablanet.tensor_algebra.tucker"]

SHAPES = [(7, 9), (6, 8, 7), (4, 5, 3, 6), (3, 4, 2, 5, 3)]


def _data(shape: tuple[int, ...], complex_: bool = False, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.standard_normal(shape)
    return t + 1j * rng.standard_normal(shape) if complex_ else t


def _factors(shape: tuple[int, ...], rank: int, complex_: bool, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((s, rank)) + (1j * rng.standard_normal((s, rank)) if complex_
                                              else 0) for s in shape]


def _both(run: Callable[[], Any]) -> tuple[Any, Any]:
    with use_kernels("fast"):
        result_fast = run()
    with use_kernels("reference"):
        result_reference = run()
    return result_fast, result_reference


def test_registered_and_chosen_by_the_switch() -> None:
    kernels = registry.registered()
    assert kernels["cp_mttkrp_sweep"] is fast.cp_mttkrp_sweep
    assert kernels["hooi_projections"] is fast.hooi_projections
    assert kernels["hals_passes"] is fast.hals_passes
    t = _data((4, 5, 6))
    with use_kernels("fast"):
        assert isinstance(cp_module.mttkrp_sweep(t), fast.GroupedMTTKRP)
        assert isinstance(tucker_module.hooi_projections(t, [0, 1, 2]), fast.GroupedProjections)
    with use_kernels("reference"):
        assert not isinstance(cp_module.mttkrp_sweep(t), fast.GroupedMTTKRP)
        assert not isinstance(tucker_module.hooi_projections(t, [0, 1, 2]),
                              fast.GroupedProjections)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("complex_", [False, True])
def test_grouped_mttkrp_equals_the_textbook_mttkrp_over_a_sweep(shape: tuple[int, ...],
                                                                  complex_: bool) -> None:
    """A sweep: each mode's MTTKRP, then that factor changes (as ALS updates it)."""
    t = _data(shape, complex_)
    factors = _factors(shape, 3, complex_, seed=1)
    new = _factors(shape, 3, complex_, seed=2)
    sweep = fast.GroupedMTTKRP(t)
    for n in range(len(shape)):
        expected = cp_module.mttkrp(t, factors, n)
        # the textbook definition, in TensorLy's unfolding order
        kr = khatri_rao(factors, skip_matrix=n)
        np.testing.assert_allclose(expected, unfold(t, n) @ (kr.conj() if complex_ else kr),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(sweep(n, factors), expected, rtol=1e-12, atol=1e-12)
        factors[n] = new[n]


@pytest.mark.parametrize("shape,modes", [((6, 8, 7), [0, 1, 2]), ((4, 5, 3, 6), [0, 1, 2, 3]),
                                         ((4, 5, 3, 6), [0, 2, 3]),
                                         ((3, 4, 2, 5, 3), [1, 2, 3, 4])])
@pytest.mark.parametrize("complex_", [False, True])
def test_grouped_projections_equal_the_textbook_projections_over_a_sweep(
        shape: tuple[int, ...], modes: list[int], complex_: bool) -> None:
    t = _data(shape, complex_)
    factors = [f[:, :2] for f in _factors(shape, 2, complex_, seed=3)]
    new = [f[:, :2] for f in _factors(shape, 2, complex_, seed=4)]
    sweep = fast.hooi_projections(t, modes)
    assert sweep is not None
    for n in modes:
        others = [k for k in modes if k != n]
        expected = multi_mode_dot(t, [factors[k].conj() for k in others], others,
                                  transpose=True)
        np.testing.assert_allclose(sweep(n, factors), expected, rtol=1e-12, atol=1e-12)
        factors[n] = new[n]


def test_grouped_projections_decline_under_three_modes() -> None:
    assert fast.hooi_projections(_data((4, 5, 6)), [1, 2]) is None


@pytest.mark.parametrize("sparsity", [0.0, 0.3])
def test_compiled_hals_passes_equal_the_numpy_passes(sparsity: float) -> None:
    rng = np.random.default_rng(5)
    u = rng.random((30, 4))
    m = rng.random((30, 9))
    utm, utu = u.T @ m, u.T @ u
    utu[2, :] = utu[:, 2] = 0.0  # a zero diagonal entry: that row is left as it is
    start = rng.random((4, 9))
    compiled = fast.hals_passes(utm, utu, start.copy(), 200, 1e-12, sparsity)
    if compiled is None:
        pytest.fail("numba is a dependency: the compiled HALS passes must be available")
    reference = hals_passes(utm, utu, start.copy(), 200, 1e-12, sparsity)
    np.testing.assert_allclose(compiled, reference, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(compiled[2], start[2])


def test_hals_without_numba_runs_the_numpy_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(6)
    u, m = rng.random((20, 3)), rng.random((20, 5))
    expected = hals_passes(u.T @ m, u.T @ u, np.ones((3, 5)), 100, 10e-8, 0.0)
    monkeypatch.setattr(fast, "_hals_kernel", None)
    assert fast.hals_passes(u.T @ m, u.T @ u, np.ones((3, 5)), 100, 10e-8, 0.0) is None
    np.testing.assert_allclose(hals_nnls(u.T @ m, u.T @ u, np.ones((3, 5)), n_iter_max=100),
                               expected, rtol=1e-12)


def _close_cp(a: Any, b: Any, rtol: float = 1e-8) -> None:
    np.testing.assert_allclose(a.to_dense(), b.to_dense(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(a.errors, b.errors, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rank", [1, 3])
@pytest.mark.parametrize("options", [
    {},
    {"init": "random", "normalize_factors": True},
    {"fixed_modes": [0]},
    {"l2_reg": 0.1, "linesearch": True},
    {"orthogonalise": 2},
    {"complex": True},
])
def test_parafac_fast_equals_reference(shape: tuple[int, ...], rank: int,
                                       options: dict[str, Any]) -> None:
    options = dict(options)
    t = random_cp(shape, rank, random_state=7).to_dense()
    t = t + 0.1 * _data(shape, options.pop("complex", False), seed=8)
    a, b = _both(lambda: parafac(t, rank, n_iter_max=12, tol=0, random_state=0, **options))
    _close_cp(a, b)


@pytest.mark.parametrize("shape", SHAPES[1:])
def test_parafac_with_a_mask_or_a_sparse_part_fast_equals_reference(
        shape: tuple[int, ...]) -> None:
    t = random_cp(shape, 2, random_state=9).to_dense() + 0.05 * _data(shape, seed=10)
    mask = np.random.default_rng(11).random(shape) > 0.2
    a, b = _both(lambda: parafac(t, 2, n_iter_max=10, tol=0, mask=mask, random_state=0))
    _close_cp(a, b)
    (a, sparse_a), (b, sparse_b) = _both(lambda: parafac(t, 2, n_iter_max=8, tol=0,
                                                         sparsity=0.05, random_state=0))
    _close_cp(a, b)
    np.testing.assert_allclose(sparse_a, sparse_b, rtol=1e-8, atol=1e-8)


def test_cp_and_randomised_parafac_fast_equal_reference() -> None:
    t = random_cp((8, 9, 10), 3, random_state=12).to_dense() + 0.05 * _data((8, 9, 10), seed=13)
    mask = np.random.default_rng(14).random(t.shape) > 0.1
    for kwargs in ({}, {"init": "svd"}, {"mask": mask}):
        a, b = _both(lambda kwargs=kwargs: cp(t, 3, n_iter_max=15, tol=0, random_state=0,
                                              **kwargs))
        _close_cp(a, b)
    a, b = _both(lambda: randomised_parafac(t, 3, 60, n_iter_max=6, tol=0, random_state=0))
    _close_cp(a, b)


@pytest.mark.parametrize("order", [3, 4])
def test_non_negative_parafac_fast_equals_reference(order: int) -> None:
    shape = (5, 6, 7, 4)[:order]
    t = np.abs(random_cp(shape, 3, random_state=15).to_dense()) + 0.1
    for run in (lambda: non_negative_parafac_hals(t, 3, n_iter_max=8, tol=0),
                lambda: non_negative_parafac_hals(t, 3, n_iter_max=6, tol=0,
                                                  sparsity_coefficients=0.01, fixed_modes=[0]),
                lambda: non_negative_parafac(t, 3, n_iter_max=8, tol=0)):
        a, b = _both(run)
        _close_cp(a, b, rtol=1e-7)


def _close_tucker(a: Any, b: Any) -> None:
    np.testing.assert_allclose(a.to_dense(), b.to_dense(), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(a.errors, b.errors, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("shape,ranks", [((6, 8, 7), (2, 3, 2)), ((4, 5, 3, 6), (2, 3, 2, 3)),
                                         ((3, 4, 2, 5, 3), 2), ((7, 9), (3, 2))])
@pytest.mark.parametrize("complex_", [False, True])
def test_tucker_fast_equals_reference(shape: tuple[int, ...], ranks: Any,
                                      complex_: bool) -> None:
    t = _data(shape, complex_, seed=16)
    a, b = _both(lambda: tucker(t, ranks, n_iter_max=10, tol=0))
    _close_tucker(a, b)
    mask = np.random.default_rng(17).random(shape) > 0.2
    a, b = _both(lambda: tucker(t, ranks, n_iter_max=6, tol=0, mask=mask))
    _close_tucker(a, b)


def test_tucker_with_fixed_factors_and_partial_tucker_fast_equal_reference() -> None:
    t = _data((5, 6, 4, 7), seed=18)
    start = tucker(t, (2, 3, 2, 3), n_iter_max=1)
    for fixed in ([1], [0, 3], [0, 1, 2, 3]):
        a, b = _both(lambda fixed=fixed: tucker(t, (2, 3, 2, 3), n_iter_max=5, tol=0,
                                                init=(start.core, start.factors),
                                                fixed_factors=fixed))
        _close_tucker(a, b)
    for modes in ([1, 2], [0, 2, 3], None):
        ((core_a, factors_a), errors_a), ((core_b, factors_b), errors_b) = _both(
            lambda modes=modes: partial_tucker(t, 2, modes=modes, n_iter_max=6, tol=0))
        decomposed = list(range(4)) if modes is None else modes
        np.testing.assert_allclose(multi_mode_dot(core_a, factors_a, decomposed),
                                   multi_mode_dot(core_b, factors_b, decomposed),
                                   rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(errors_a, errors_b, rtol=1e-8, atol=1e-12)


def test_non_negative_tucker_hals_fast_equals_reference() -> None:
    t = np.abs(_data((5, 6, 7), seed=19))
    a, b = _both(lambda: non_negative_tucker_hals(t, [2, 3, 2], n_iter_max=5, tol=0))
    _close_tucker(a, b)
