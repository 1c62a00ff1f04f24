"""nablanet's own tests of the TensorLy-style interface: bad input, options, complex tensors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorly as tl
from tensorly.decomposition import parafac as tl_parafac
from tensorly.decomposition import partial_tucker as tl_partial_tucker

from nablanet.tensor_algebra import (
    CP,
    CPTensor,
    parafac,
    partial_tucker,
    random_cp,
    random_tucker,
    tensor_train,
    tensor_train_matrix,
    tucker,
)

T = random_cp((6, 7, 8), 3, random_state=0).to_dense() \
    + 0.01 * np.random.default_rng(0).standard_normal((6, 7, 8))


@pytest.mark.parametrize("call,match", [
    (lambda: parafac(T, 3, cvg_criterion="abs"), r"cvg_criterion='abs'"),
    (lambda: parafac(T, 3, svd="lapack"), r"svd='lapack'"),
    (lambda: parafac(T, 3, fixed_modes=[5]), r"fixed_modes=\[5\]"),
    (lambda: parafac(T, 3, n_iter_max=-1), r"n_iter_max=-1"),
    (lambda: parafac(T, 3, mask=np.ones((2, 2))), r"mask of shape \(2, 2\)"),
    (lambda: parafac(T, 3, init=CPTensor(np.ones(2), [np.ones((6, 2))] * 3)),
     r"shape \(6, 7, 8\) and rank 3"),
    (lambda: tucker(T, [2, 2, 2], fixed_factors=[1]), r"needs init to be a \(core, factors\)"),
    (lambda: tucker(T, [2, 2, 2], init="hosvd"), r"init='hosvd'"),
    (lambda: partial_tucker(T, [2], modes=[3]), r"modes=\[3\]"),
    (lambda: tensor_train_matrix(np.ones((2, 3, 4)), 2), r"even order"),
    (lambda: CP(3, bogus=1), r"bogus"),
])
def test_bad_input_is_named(call, match: str) -> None:  # noqa: ANN001
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_parafac_matches_tensorly_error_and_options() -> None:
    ours, errors = parafac(T, 3, return_errors=True, tol=1e-10)
    theirs = tl_parafac(tl.tensor(T), 3, tol=1e-10)
    reference = np.linalg.norm(tl.cp_to_tensor(theirs) - T) / np.linalg.norm(T)
    assert ours.relative_error(T) <= reference * (1 + 1e-6)
    assert errors[-1] == pytest.approx(ours.relative_error(T), rel=1e-6)
    # n_iter_max=0 returns the SVD start; a ridge penalty shrinks the factors
    start = parafac(T, 3, n_iter_max=0)
    assert start.errors == [] and start.relative_error(T) > ours.relative_error(T)
    ridge = parafac(T, 3, l2_reg=10.0, n_iter_max=20)
    assert sum(np.linalg.norm(f) for f in ridge.factors) < \
        sum(np.linalg.norm(f) for f in parafac(T, 3, n_iter_max=20).factors)
    # the three SVD methods give the same fit from their starts
    for svd in ("symeig_svd", "randomized_svd"):
        assert parafac(T, 3, svd=svd, random_state=0).relative_error(T) == \
            pytest.approx(ours.relative_error(T), rel=1e-4)
    # a callback returning True stops after the first sweep
    calls: list[float] = []
    parafac(T, 3, callback=lambda cp_tensor, error: calls.append(error) or len(calls) > 1)
    assert len(calls) == 2


def test_complex_tucker_and_tensor_train_are_exact_at_full_rank() -> None:
    rng = np.random.default_rng(3)
    t = rng.standard_normal((4, 5, 6)) + 1j * rng.standard_normal((4, 5, 6))
    result = tucker(t, [4, 5, 6])
    np.testing.assert_allclose(result.to_dense(), t, atol=1e-10)
    np.testing.assert_allclose(tensor_train(t, 100).to_dense(), t, atol=1e-10)
    small = tucker(t, [2, 2, 2], tol=1e-10)
    core, factors = tl.decomposition.tucker(t, [2, 2, 2], tol=1e-10)
    reference = np.linalg.norm(tl.tucker_to_tensor((core, factors)) - t) / np.linalg.norm(t)
    assert small.relative_error(t) <= reference * (1 + 1e-6)


def test_partial_tucker_matches_tensorly() -> None:
    t = random_tucker((8, 9, 10), (3, 4, 5), random_state=1).to_dense() \
        + 0.1 * np.random.default_rng(1).standard_normal((8, 9, 10))
    (core, factors), errors = partial_tucker(t, [4, 5], modes=[1, 2], tol=1e-10)
    (tl_core, tl_factors), _ = tl_partial_tucker(t, [4, 5], modes=[1, 2], tol=1e-10)
    assert core.shape == tl_core.shape == (8, 4, 5)
    assert np.linalg.norm(core) >= np.linalg.norm(tl_core) * (1 - 1e-8)
    assert errors[-1] == pytest.approx(
        np.sqrt(1 - np.linalg.norm(core) ** 2 / np.linalg.norm(t) ** 2), rel=1e-6)
