"""Translated from TensorLy: tensorly/decomposition/tests/test_tt_decomposition.py (0.9/0.10).

Same inputs (TensorLy's ``check_random_state`` / ``random_tt``), tolerances and assertions,
run against nablanet's ``tensor_train``, ``tensor_train_matrix`` and the estimator classes.
``tl.tt_to_tensor(t)`` becomes ``t.to_dense()``, ``tt_matrix_to_tensor(t)`` ``t.to_dense()``.

Left out: nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorly as tl
from tensorly.random import random_tt

from nablanet.tensor_algebra import (
    TensorTrain,
    TensorTrainMatrix,
    tensor_train,
    tensor_train_matrix,
)


@pytest.mark.parametrize("random_state", [1, 1234])
@pytest.mark.parametrize("complex", [True, False])
def test_tensor_train(random_state, complex, class_wrapper_check) -> None:  # noqa: A002, ANN001
    """Test for tensor_train"""
    rng = tl.check_random_state(random_state)

    # Test 1
    tensor = rng.random_sample([3, 4, 5, 6, 2, 10])
    tensor_shape = tensor.shape
    rank = [1, 3, 3, 4, 2, 2, 1]
    factors = tensor_train(tensor, rank)
    assert len(factors) == 6
    r_prev_iteration = 1
    for k in range(6):
        (r_prev_k, n_k, r_k) = factors[k].shape
        assert tensor_shape[k] == n_k
        assert r_prev_k == r_prev_iteration, " Incorrect ranks of factors "
        r_prev_iteration = r_k

    # Test 2
    tensor = rng.random_sample([3, 4, 5, 6, 2, 10])
    rank = [1, 5, 4, 3, 8, 10, 1]
    factors = tensor_train(tensor, rank)
    for k in range(6):
        (r_prev, n_k, r_k) = factors[k].shape
        assert r_prev <= rank[k], f"TT rank {k} is greater than the maximum allowed"
        assert r_k <= rank[k + 1], f"TT rank {k + 1} is greater than the maximum allowed"

    # Test 3. Check error of reconstruction
    tol = 1e-9
    shape = (3, 3, 3)
    true_rank = (1, 2, 3, 1)
    rng = tl.check_random_state(random_state)
    factors = random_tt(shape=shape, full=False, rank=true_rank, random_state=rng,
                        dtype=tl.float64)
    if complex:
        factors_imag = random_tt(shape=shape, full=False, rank=true_rank, random_state=rng,
                                 dtype=tl.float64)
        factors.factors = [fm_re + (fm_im * 1.0j)
                           for fm_re, fm_im in zip(factors.factors, factors_imag.factors)]
    tensor = tl.tt_to_tensor(factors)
    rec_tensor = tensor_train(tensor, true_rank).to_dense()
    error = np.linalg.norm(rec_tensor - tensor) / np.linalg.norm(tensor)
    assert error < tol, "norm 2 of reconstruction higher than tol"

    class_wrapper_check("tensor_train", TensorTrain, ignore_args=set(), rank=3)


def test_tensor_train_matrix(class_wrapper_check) -> None:  # noqa: ANN001
    """Test for tensor_train_matrix decomposition"""
    tensor = random_tt((2, 2, 2, 3, 3, 3), rank=2, full=True)
    tt = tensor_train_matrix(tensor, 10)
    np.testing.assert_array_almost_equal(tensor, tt.to_dense(), decimal=4)
    class_wrapper_check("tensor_train_matrix", TensorTrainMatrix, ignore_args=set(), rank=3)
