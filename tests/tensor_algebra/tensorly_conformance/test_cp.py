"""Translated from TensorLy: tensorly/decomposition/tests/test_cp.py (TensorLy 0.9/0.10).

Same inputs (generated with TensorLy's own ``random_cp`` and ``check_random_state``), the same
tolerances and assertions, run against nablanet's ``parafac``, ``initialize_cp``,
``non_negative_parafac``, ``non_negative_parafac_hals``, ``sample_khatri_rao``,
``randomised_parafac`` and the estimator classes. ``tl.cp_to_tensor(result)`` becomes
``result.to_dense()``; TensorLy's CPTensors passed as ``init`` are converted to nablanet's.

Left out: nothing. The parametrisations over TensorLy's backends (``complex`` is False only
for tensorflow / paddle) keep both values, as on NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorly as tl
from tensorly.metrics.factors import congruence_coefficient
from tensorly.random import random_cp

from nablanet.tensor_algebra import (
    CP,
    CP_NN,
    CP_NN_HALS,
    CPTensor,
    RandomizedCP,
    initialize_cp,
    khatri_rao,
    non_negative_parafac,
    non_negative_parafac_hals,
    parafac,
    randomised_parafac,
    sample_khatri_rao,
)


def ours(cp_tensor: object) -> CPTensor:
    """A TensorLy CPTensor as a nablanet CPTensor."""
    weights, factors = cp_tensor
    return CPTensor(np.array(weights), [np.array(f) for f in factors])


class ErrorTracker:
    def __init__(self) -> None:
        self.error: list[float] = []

    def __call__(self, cp_cur: object, rec_error: float) -> None:
        self.error.append(rec_error)


@pytest.mark.parametrize("linesearch", [True, False])
@pytest.mark.parametrize("orthogonalise", [True, False])
@pytest.mark.parametrize("true_rank,rank", [(1, 1), (3, 4)])
@pytest.mark.parametrize("init", ["svd", "random"])
@pytest.mark.parametrize("normalize_factors", [False, True])
@pytest.mark.parametrize("random_state", [1, 1234])
@pytest.mark.parametrize("complex", [True, False])
def test_parafac(linesearch, orthogonalise, true_rank, rank, init, normalize_factors,  # noqa: ANN001
                 random_state, complex, class_wrapper_check) -> None:  # noqa: A002, ANN001
    """Test for the CANDECOMP-PARAFAC decomposition"""
    rng = tl.check_random_state(random_state)
    tol_norm_2 = 0.01
    tol_max_abs = 0.05
    shape = (6, 8, 7)

    factors = random_cp(shape, rank=true_rank, orthogonal=orthogonalise, full=False,
                        random_state=rng, dtype=tl.float64)
    if complex:
        factors_imag = random_cp(shape, rank=true_rank, orthogonal=orthogonalise, full=False,
                                 random_state=rng, dtype=tl.float64)
        factors.factors = [fm_re + (fm_im * 1.0j)
                           for fm_re, fm_im in zip(factors.factors, factors_imag.factors)]
    tensor = tl.cp_to_tensor(factors)

    errors = ErrorTracker()
    rng = tl.check_random_state(random_state)
    fac = parafac(tensor, rank=rank, n_iter_max=70, init=init, tol=1e-6, random_state=rng,
                  normalize_factors=normalize_factors, orthogonalise=orthogonalise,
                  linesearch=linesearch, callback=errors)

    # Given all the random seed is set, this should provide the same answer for random init
    if init == "random":
        errors_two = ErrorTracker()
        rng = tl.check_random_state(random_state)
        fac_two = parafac(tensor, rank=rank, n_iter_max=70, init=init, tol=1e-6,
                          random_state=rng, normalize_factors=normalize_factors,
                          orthogonalise=orthogonalise, linesearch=linesearch,
                          callback=errors_two)
        np.testing.assert_array_almost_equal(errors.error, errors_two.error)
        for k in range(3):
            np.testing.assert_array_almost_equal(fac.factors[k], fac_two.factors[k])

    # Check that the error monotonically decreases
    if not orthogonalise:
        assert np.all(np.diff(errors.error) <= 1.0e-7)

    rec = fac.to_dense()
    error = np.linalg.norm(rec - tensor) / np.linalg.norm(tensor)
    assert error < tol_norm_2, \
        f"norm 2 of reconstruction higher = {error} than tolerance={tol_norm_2}"
    assert np.max(np.abs(rec - tensor)) < tol_max_abs

    # Test fixing mode 0 or 1 with given init
    fixed_tensor = ours(random_cp(shape, rank=true_rank, normalise_factors=False,
                                  **tl.context(tensor)))
    rec_svd_fixed_mode_0 = parafac(tensor, rank=true_rank, n_iter_max=2, init=fixed_tensor,
                                   fixed_modes=[0], linesearch=linesearch)
    rec_svd_fixed_mode_1 = parafac(tensor, rank=true_rank, n_iter_max=2, init=fixed_tensor,
                                   fixed_modes=[1], linesearch=linesearch)
    np.testing.assert_array_equal(rec_svd_fixed_mode_0.factors[0], fixed_tensor.factors[0],
                                  err_msg="Fixed mode 0 was modified in candecomp_parafac")
    np.testing.assert_array_equal(rec_svd_fixed_mode_1.factors[1], fixed_tensor.factors[1],
                                  err_msg="Fixed mode 1 was modified in candecomp_parafac")

    # Check that sparse component works
    rec_sparse, sparse_component = parafac(tensor, rank=rank, n_iter_max=70, init=init,
                                           tol=1.0e-6, sparsity=0.9,
                                           orthogonalise=orthogonalise, linesearch=linesearch)
    rec_sparse = rec_sparse.to_dense() + sparse_component
    error = np.linalg.norm(rec_sparse - tensor) / np.linalg.norm(tensor)
    assert error < tol_norm_2, "l2 Reconstruction error for sparsity!=None too high"
    assert np.max(np.abs(rec_sparse - tensor)) < tol_max_abs, \
        "abs Reconstruction error for sparsity!=None too high"

    with pytest.raises(ValueError):
        initialize_cp(tensor, rank, init="bogus init type")

    class_wrapper_check("parafac", CP, ignore_args={"return_errors"}, rank=3)


@pytest.mark.parametrize("linesearch", [True, False])
def test_masked_parafac(linesearch) -> None:  # noqa: ANN001
    """This checks that a mask of 1's is identical to the unmasked case."""
    tensor = random_cp((4, 4, 4), rank=1, full=True)
    mask = np.ones((4, 4, 4))
    mask[1, :, 3] = 0
    mask[:, 2, 3] = 0
    tensor_mask = tensor * mask - 10000.0 * (1 - mask)

    fac = parafac(tensor_mask, svd_mask_repeats=0, mask=mask, n_iter_max=0, rank=1,
                  init="svd")
    fac_resvd = parafac(tensor_mask, svd_mask_repeats=10, mask=mask, n_iter_max=0, rank=1,
                        init="svd")
    err = np.linalg.norm(fac.to_dense() - tensor)
    err_resvd = np.linalg.norm(fac_resvd.to_dense() - tensor)
    assert err_resvd < err, "restarting SVD did not help"

    # Check that we get roughly the same answer with the full tensor and masking
    mask_fact = parafac(tensor, rank=1, mask=mask, init="random", random_state=1234,
                        linesearch=linesearch)
    fact = parafac(tensor, rank=1)
    diff = mask_fact.to_dense() - fact.to_dense()
    assert np.linalg.norm(diff) < 0.001, "norm 2 of reconstruction higher than 0.001"


def test_parafac_linesearch() -> None:
    """Test that we more rapidly converge to a solution with line search."""
    rng = tl.check_random_state(1234)
    eps = 10e-2
    tensor = rng.random_sample((5, 5, 5))
    kt = parafac(tensor, rank=5, init="random", random_state=1234, n_iter_max=10, tol=10e-9)
    kt_ls = parafac(tensor, rank=5, init="random", random_state=1234, n_iter_max=10,
                    tol=10e-9, linesearch=True)
    rec_error = np.linalg.norm(tensor - kt.to_dense()) / np.linalg.norm(tensor)
    rec_error_ls = np.linalg.norm(tensor - kt_ls.to_dense()) / np.linalg.norm(tensor)
    assert rec_error_ls - rec_error < eps, \
        f"Relative reconstruction error with line-search={rec_error_ls} VS {rec_error} without."


@pytest.mark.parametrize("true_rank,rank", [(1, 1), (3, 3)])
@pytest.mark.parametrize("init", ["svd", "random"])
@pytest.mark.parametrize("normalize_factors", [False, True])
@pytest.mark.parametrize("random_state", [1, 2])
@pytest.mark.parametrize("hals", [True, False])
def test_non_negative_parafac(true_rank, rank, init, normalize_factors, random_state,  # noqa: ANN001
                              hals, class_wrapper_check) -> None:  # noqa: ANN001
    """Test for non-negative PARAFAC"""
    tol_norm_2 = 0.07
    tol_max_abs = 0.1
    shape = (6, 3, 12)
    rng = tl.check_random_state(random_state)
    cp_factors = random_cp(shape, rank=true_rank, full=False, random_state=rng,
                           normalise_factors=normalize_factors)
    cp_factors = CPTensor((np.array(cp_factors[0]), [np.abs(f) for f in cp_factors[1]]))
    tensor = cp_factors.to_dense()
    func = non_negative_parafac_hals if hals else non_negative_parafac

    nn_res, errors = func(tensor, rank=rank, n_iter_max=80, tol=1.0e-6, init=init,
                          normalize_factors=normalize_factors, random_state=rng,
                          return_errors=True)
    assert np.all(np.diff(errors) <= 1.0e-3)

    # Make sure all components are positive
    _, nn_factors = nn_res
    for factor in nn_factors:
        assert np.all(factor >= 0)
    assert errors[-1] < tol_norm_2, "norm 2 of reconstruction higher than tol"
    assert np.max(np.abs(tensor - nn_res.to_dense())) < tol_max_abs, \
        "abs norm of reconstruction error higher than tol"

    # Test fixing mode 0 or 1 with given init
    rec_svd_fixed_mode_0 = func(tensor, rank=true_rank, n_iter_max=1, init=cp_factors,
                                fixed_modes=[0])
    rec_svd_fixed_mode_1 = func(tensor, rank=true_rank, n_iter_max=1, init=cp_factors,
                                fixed_modes=[1])
    np.testing.assert_array_equal(rec_svd_fixed_mode_0.factors[0], cp_factors.factors[0],
                                  err_msg="Fixed mode 0 was modified in candecomp_parafac")
    np.testing.assert_array_equal(rec_svd_fixed_mode_1.factors[1], cp_factors.factors[1],
                                  err_msg="Fixed mode 1 was modified in candecomp_parafac")

    if hals:
        class_wrapper_check("non_negative_parafac_hals", CP_NN_HALS,
                            ignore_args={"return_errors"}, rank=3)
        # Regression test (TensorLy): used the wrong variable for convergence checking
        tensor = rng.random_sample((3, 3, 3)) + 1
        non_negative_parafac_hals(tensor, rank=2, n_iter_max=2, tol=1e-10, init="svd",
                                  nn_modes={0}, return_errors=True)
    else:
        class_wrapper_check("non_negative_parafac", CP_NN, ignore_args={"return_errors"},
                            rank=3)


def test_initialize_nn_cp() -> None:
    """Test that if we initialise with an existing init, then it isn't modified."""
    init = CPTensor([None, [-np.ones((30, 3)), -np.ones((20, 3)), -np.ones((10, 3))]])
    tensor = init.to_dense()
    initialised_tensor = initialize_cp(tensor, 3, init=init, non_negative=True)
    for factor_matrix, init_factor_matrix in zip(init[1], initialised_tensor[1]):
        np.testing.assert_array_equal(factor_matrix, init_factor_matrix)
    np.testing.assert_array_equal(tensor, initialised_tensor.to_dense())


def test_non_negative_parafac_hals_one_unconstrained() -> None:
    """Test for non-negative PARAFAC HALS"""
    rng = tl.check_random_state(1234)
    t_shape = (8, 9, 10)
    rank = 3
    weights = rng.uniform(size=rank)
    a = rng.uniform(size=(t_shape[0], rank))
    b = rng.standard_normal(size=(t_shape[1], rank))
    c = rng.uniform(0.1, 1.1, size=(t_shape[2], rank))
    x = CPTensor(weights, [a, b, c]).to_dense()

    nn_estimate, _ = non_negative_parafac_hals(x, rank=3, n_iter_max=100, tol=0, init="svd",
                                               nn_modes={0, 2}, return_errors=True)
    x_hat = nn_estimate.to_dense()
    assert np.linalg.norm(x - x_hat) < 1e-3, "Error was too high"
    for true, estimate in zip((a, b, c), nn_estimate[1]):
        assert congruence_coefficient(true, estimate, absolute_value=True)[0] > 0.99, \
            "Factor recovery not high enough"
    assert np.all(nn_estimate[1][0] > -1e-10)
    assert np.all(nn_estimate[1][2] > -1e-10)


def test_sample_khatri_rao() -> None:
    """Test for sample_khatri_rao"""
    rng = tl.check_random_state(1234)
    t_shape = (8, 9, 10)
    rank = 3
    _, factors = random_cp(t_shape, rank, full=False)
    num_samples = 4
    skip_matrix = 1
    sampled_kr, _, sampled_rows = sample_khatri_rao(factors, num_samples,
                                                    skip_matrix=skip_matrix,
                                                    return_sampled_rows=True, random_state=rng)
    assert sampled_kr.shape == (num_samples, rank), \
        "Sampled shape of khatri-rao product is inconsistent"
    assert np.max(sampled_rows) < (t_shape[0] * t_shape[2])
    assert np.min(sampled_rows) >= 0
    true_kr = khatri_rao(factors, skip_matrix=skip_matrix)
    for ix, j in enumerate(sampled_rows):
        np.testing.assert_array_equal(true_kr[j], sampled_kr[int(ix)],
                                      err_msg="Sampled khatri_rao product doesnt correspond")


def test_randomised_parafac(class_wrapper_check) -> None:  # noqa: ANN001
    """Test for randomised_parafac"""
    rng = tl.check_random_state(1234)
    t_shape = (10, 10, 10)
    rank = 4
    tolerance = 0.05
    tensor = random_cp(shape=(10, 10, 10), rank=rank, full=True, random_state=rng)
    cp_tensor = randomised_parafac(tensor, rank=rank, n_samples=100, max_stagnation=20,
                                   n_iter_max=60, tol=0, verbose=0, random_state=rng)
    for i, f in enumerate(cp_tensor[1]):
        assert f.shape == (t_shape[i], rank), "Factors are of incorrect size"
    error = float(np.linalg.norm(cp_tensor.to_dense() - tensor) / np.linalg.norm(tensor))
    assert error < tolerance, f"reconstruction of {error} (higher than tolerance of {tolerance})"

    class_wrapper_check("randomised_parafac", RandomizedCP, ignore_args={"return_errors"},
                        rank=3, n_samples=100)
