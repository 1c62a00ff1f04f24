"""Translated from TensorLy: tensorly/decomposition/tests/test_tucker.py (TensorLy 0.9/0.10).

Same inputs (TensorLy's ``check_random_state`` / ``random_tucker``), tolerances and assertions,
run against nablanet's ``tucker``, ``partial_tucker``, ``non_negative_tucker``,
``non_negative_tucker_hals`` and the estimator classes. ``tucker_to_tensor(t)`` becomes
``t.to_dense()`` (or :class:`TuckerTensor` ``(core, factors).to_dense()``), ``tl.norm(x, 2)``
``np.linalg.norm(x)`` and ``tl.index_update`` an in-place assignment.

Left out: nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorly as tl
from tensorly.random import random_tucker

from nablanet.tensor_algebra import (
    Tucker,
    Tucker_NN,
    Tucker_NN_HALS,
    TuckerTensor,
    multi_mode_dot,
    non_negative_tucker,
    non_negative_tucker_hals,
    partial_tucker,
    tucker,
)


def test_partial_tucker() -> None:
    """Test for the Partial Tucker decomposition"""
    rng = tl.check_random_state(1234)
    tol_norm_2 = 10e-3
    tol_max_abs = 10e-1
    tensor = rng.random_sample((3, 4, 3))
    modes = [1, 2]
    (core, factors), _ = partial_tucker(tensor, rank=None, modes=modes, n_iter_max=200,
                                        verbose=True)
    reconstructed_tensor = multi_mode_dot(core, factors, modes=modes)
    norm_rec = np.linalg.norm(reconstructed_tensor)
    norm_tensor = np.linalg.norm(tensor)
    assert (norm_rec - norm_tensor) / norm_rec < tol_norm_2
    assert np.max(np.abs(norm_rec - norm_tensor)) < tol_max_abs

    # Test the shape of the core and factors
    ranks = [3, 1]
    (core, factors), _ = partial_tucker(tensor, rank=ranks, modes=modes, n_iter_max=100,
                                        verbose=1)
    for i in range(len(ranks)):
        assert factors[i].shape == (tensor.shape[i + 1], ranks[i])
    assert list(core.shape) == [tensor.shape[0]] + ranks

    # Test random_state fixes the core and the factor matrices
    (core1, factors1), _ = partial_tucker(tensor, rank=ranks, modes=modes, random_state=0,
                                          init="random")
    (core2, factors2), _ = partial_tucker(tensor, rank=ranks, modes=modes, random_state=0,
                                          init="random")
    np.testing.assert_array_equal(core1, core2)
    for factor1, factor2 in zip(factors1, factors2):
        np.testing.assert_array_equal(factor1, factor2)


def test_tucker(class_wrapper_check) -> None:  # noqa: ANN001
    """Test for the Tucker decomposition"""
    rng = tl.check_random_state(1234)
    tol_norm_2 = 10e-3
    tol_max_abs = 10e-1
    tensor = rng.random_sample((3, 4, 3))
    with pytest.warns(UserWarning, match="no rank given"):
        core, factors = tucker(tensor, rank=None, n_iter_max=200, verbose=True)
    reconstructed_tensor = TuckerTensor(core, factors).to_dense()
    norm_rec = np.linalg.norm(reconstructed_tensor)
    norm_tensor = np.linalg.norm(tensor)
    assert (norm_rec - norm_tensor) / norm_rec < tol_norm_2
    assert np.max(np.abs(reconstructed_tensor - tensor)) < tol_max_abs

    # Test the shape of the core and factors
    ranks = [2, 3, 1]
    core, factors = tucker(tensor, rank=ranks, n_iter_max=100, verbose=1)
    for i, rank in enumerate(ranks):
        assert factors[i].shape == (tensor.shape[i], ranks[i]), \
            f"factors[i].shape = {factors[i].shape}, expected {(tensor.shape[i], ranks[i])}"
        assert core.shape[i] == rank, f"core.shape[i] = {core.shape[i]}, expected {rank}"

    # try fixing the core
    factors_init = [np.copy(f) for f in factors]
    _, factors = tucker(tensor, rank=ranks, init=(core, factors), fixed_factors=[1],
                        n_iter_max=100, verbose=1)
    np.testing.assert_array_equal(factors[1], factors_init[1])

    # Random and SVD init should converge to a similar solution
    tol_norm_2 = 10e-1
    tol_max_abs = 10e-1
    core_svd, factors_svd = tucker(tensor, rank=[3, 4, 3], n_iter_max=200, init="svd",
                                   verbose=1)
    core_random, factors_random = tucker(tensor, rank=[3, 4, 3], n_iter_max=200, init="random",
                                         random_state=1234)
    rec_svd = TuckerTensor(core_svd, factors_svd).to_dense()
    rec_random = TuckerTensor(core_random, factors_random).to_dense()
    error = np.linalg.norm(rec_svd - rec_random) / np.linalg.norm(rec_svd)
    assert error < tol_norm_2, "norm 2 of difference between svd and random init too high"
    assert np.max(np.abs(rec_svd - rec_random)) < tol_max_abs
    class_wrapper_check("tucker", Tucker, ignore_args=set(), rank=3)


def test_masked_tucker() -> None:
    """This checks that a mask of 1's is identical to the unmasked case."""
    rng = tl.check_random_state(1234)
    tensor = rng.random_sample((3, 3, 3))
    mask = np.ones((3, 3, 3))
    mask_fact = tucker(tensor, rank=(2, 2, 2), mask=mask)
    fact = tucker(tensor, rank=(2, 2, 2))
    diff = mask_fact.to_dense() - fact.to_dense()
    assert np.linalg.norm(diff) < 0.001, "norm 2 of reconstruction higher than 0.001"

    # Mask an outlier value, and check that the decomposition ignores it
    tensor = random_tucker((5, 5, 5), (1, 1, 1), full=True, random_state=1234)
    mask = np.ones((5, 5, 5))
    mask_tensor = np.array(tensor)
    mask_tensor[0, 0, 0] = 1.0
    mask[0, 0, 0] = 0

    # We won't use the SVD decomposition, but check that it at least runs successfully
    tucker(mask_tensor, rank=(1, 1, 1), mask=mask, init="svd")
    mask_fact = tucker(mask_tensor, rank=(1, 1, 1), mask=mask, init="random",
                       random_state=1234)
    mask_err = np.linalg.norm(mask_fact.to_dense() - tensor)
    assert mask_err < 0.001, "norm 2 of reconstruction higher than 0.001"


@pytest.mark.parametrize("init", ["svd", "random"])
@pytest.mark.parametrize("hals", [False, True])
def test_non_negative_tucker(init, hals, class_wrapper_check) -> None:  # noqa: ANN001
    """Test for non-negative Tucker"""
    tol_norm_2 = 10e-1
    tol_max_abs = 10e-1
    core, factors = random_tucker((3, 4, 3), rank=[3, 4, 3], non_negative=True)
    tensor = TuckerTensor(core, factors).to_dense()
    nn_method = non_negative_tucker_hals if hals else non_negative_tucker

    nn_core, nn_factors = nn_method(tensor, rank=[3, 4, 3], init=init, n_iter_max=100)
    for factor in nn_factors:
        assert np.all(factor >= 0)
    assert np.all(nn_core >= 0)

    nn_reconstructed_tensor = TuckerTensor(nn_core, nn_factors).to_dense()
    error = np.linalg.norm(tensor - nn_reconstructed_tensor) / np.linalg.norm(tensor)
    assert error < tol_norm_2, "norm 2 of reconstruction error higher than tol"
    assert np.max(np.abs(tensor - nn_reconstructed_tensor)) < tol_max_abs, \
        "abs norm of reconstruction error higher than tol"

    # Test for a single rank passed (should be used for all modes)
    rank = 3
    target_shape = (rank,) * tensor.ndim
    core, factors = nn_method(tensor, rank=rank, n_iter_max=2)
    assert core.shape == target_shape
    for i, f in enumerate(factors):
        assert f.shape == (tensor.shape[i], rank)

    if hals:
        class_wrapper_check("non_negative_tucker_hals", Tucker_NN_HALS,
                            ignore_args={"return_errors"}, rank=3)
    else:
        class_wrapper_check("non_negative_tucker", Tucker_NN, ignore_args={"return_errors"},
                            rank=3)
