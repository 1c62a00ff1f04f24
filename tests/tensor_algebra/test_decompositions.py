"""CP, Tucker and TT decompositions: against TensorLy, exact recovery, result types, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import tensorly as tl
from tensorly.decomposition import parafac
from tensorly.decomposition import tensor_train as tl_tensor_train
from tensorly.decomposition import tucker as tl_tucker

import nablanet as nb
from nablanet.tensor_algebra import (
    CPTensor,
    TTTensor,
    TuckerTensor,
    cp,
    random_cp,
    random_tt,
    random_tucker,
    tensor_train,
    tucker,
    unfold,
)

# nablanet's error may exceed TensorLy's by at most this (relative) amount.
TOLERANCE = 1e-6


def noisy(tensor: np.ndarray, level: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(tensor.shape)
    return tensor + level * noise * np.linalg.norm(tensor) / np.linalg.norm(noise)


def relative(tensor: np.ndarray, approximation: np.ndarray) -> float:
    return float(np.linalg.norm(tensor - approximation) / np.linalg.norm(tensor))


CP_CASES = [((12, 13, 14), 3, 0), ((6, 7, 8, 9), 4, 1), ((15, 10), 3, 2)]


# --- CP ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,rank,seed", CP_CASES)
def test_cp_svd_init_no_worse_than_tensorly(shape: tuple[int, ...], rank: int, seed: int) -> None:
    t = noisy(random_cp(shape, rank, random_state=seed).to_dense(), 0.05, seed)
    ours = cp(t, rank, init="svd", n_iter_max=100, tol=1e-8, random_state=seed)
    theirs = relative(t, tl.cp_to_tensor(parafac(t, rank, init="svd", n_iter_max=100, tol=1e-8)))
    assert ours.relative_error(t) <= theirs * (1 + TOLERANCE)
    # the error tracked without rebuilding the tensor is the true error
    assert ours.errors[-1] == pytest.approx(ours.relative_error(t), rel=1e-6)


@pytest.mark.parametrize("shape,rank,seed", CP_CASES)
def test_cp_random_init_no_worse_than_tensorly(shape: tuple[int, ...], rank: int,
                                               seed: int) -> None:
    t = noisy(random_cp(shape, rank, random_state=seed + 100).to_dense(), 0.05, seed)
    ours = cp(t, rank, random_state=seed).relative_error(t)
    theirs = relative(t, tl.cp_to_tensor(parafac(t, rank, init="random", random_state=seed)))
    assert ours <= theirs * (1 + TOLERANCE)


def test_cp_recovers_an_exactly_low_rank_tensor() -> None:
    model = random_cp((9, 10, 11), 3, random_state=3)
    t = model.to_dense()
    result = cp(t, 3, init="svd", tol=1e-14, n_iter_max=500, random_state=0)
    assert result.relative_error(t) < 1e-12
    # near an exact fit the reported error is the measured residual, not rounding noise
    for seed in range(5):
        found = cp(t, 3, tol=1e-14, n_iter_max=500, random_state=seed)
        assert found.relative_error(t) < 1e-12
        assert found.errors[-1] == pytest.approx(found.relative_error(t), rel=1e-2)
    # the components are the original ones (up to order and scaling)
    for f_true, f_found in zip(model.factors, result.factors):
        cosines = np.abs((f_true / np.linalg.norm(f_true, axis=0)).T @ f_found)
        assert np.allclose(np.sort(cosines.max(axis=1)), 1.0, atol=1e-6)


def test_cp_result_layout_and_normalisation() -> None:
    t = random_cp((5, 6, 7), 2, random_state=4).to_dense()
    result = cp(t, 2, random_state=0)
    weights, factors = result
    assert isinstance(result, CPTensor) and result.rank == 2 and result.shape == (5, 6, 7)
    assert [f.shape for f in factors] == [(5, 2), (6, 2), (7, 2)]
    np.testing.assert_allclose([np.linalg.norm(f, axis=0) for f in factors], 1.0)
    assert weights[0] >= weights[1] > 0
    plain = cp(t, 2, random_state=0, normalize=False)
    np.testing.assert_array_equal(plain.weights, 1.0)
    np.testing.assert_allclose(plain.to_dense(), result.to_dense(), atol=1e-10)
    np.testing.assert_allclose(result.to_dense(), tl.cp_to_tensor((weights, factors)))
    assert result.n_parameters == 2 * (1 + 5 + 6 + 7)
    assert result.compression_ratio() == pytest.approx(210 / result.n_parameters)


def test_cp_with_missing_entries() -> None:
    t = random_cp((10, 11, 12), 2, random_state=5).to_dense()
    mask = np.random.default_rng(0).random(t.shape) > 0.2
    corrupted = np.where(mask, t, 1e3)  # missing entries hold garbage; the mask hides it
    result = cp(corrupted, 2, mask=mask, init="svd", n_iter_max=300, tol=1e-12, random_state=0)
    missing = ~mask
    assert relative(t[missing], result.to_dense()[missing]) < 1e-4
    assert result.errors[-1] < 1e-5


def test_cp_progress_reporting(capsys: pytest.CaptureFixture[str]) -> None:
    t = noisy(random_cp((5, 6, 7), 2, random_state=6).to_dense(), 0.1, 6)
    calls: list[tuple[int, float]] = []
    result = cp(t, 2, n_iter_max=5, tol=0, verbose=True, random_state=0,
                callback=lambda i, e: calls.append((i, e)))
    assert [i for i, _ in calls] == [1, 2, 3, 4, 5]
    assert [e for _, e in calls] == result.errors
    assert capsys.readouterr().out.count("cp: iteration") == 5


def test_cp_accepts_float32_and_tensors() -> None:
    t = random_cp((5, 6, 7), 2, random_state=7).to_dense()
    r32 = cp(t.astype(np.float32), 2, init="svd", random_state=0)
    assert r32.factors[0].dtype == np.float64
    assert r32.relative_error(t) < 1e-5
    rt = cp(nb.Tensor(t, dtype=np.float64), 2, init="svd", random_state=0)
    assert rt.relative_error(t) < 1e-6


def test_cp_is_reproducible_with_a_seed() -> None:
    t = noisy(random_cp((5, 6, 7), 3, random_state=8).to_dense(), 0.1, 8)
    a, b = cp(t, 3, random_state=11), cp(t, 3, random_state=11)
    np.testing.assert_array_equal(a.to_dense(), b.to_dense())


# --- Tucker ------------------------------------------------------------------------------------
TUCKER_CASES = [((12, 13, 14), (3, 4, 2), 0), ((6, 7, 8, 5), (2, 3, 3, 2), 1)]


@pytest.mark.parametrize("shape,ranks,seed", TUCKER_CASES)
def test_tucker_hooi_no_worse_than_tensorly(shape: tuple[int, ...], ranks: tuple[int, ...],
                                            seed: int) -> None:
    t = noisy(random_tucker(shape, ranks, random_state=seed).to_dense(), 0.1, seed)
    ours = tucker(t, ranks, n_iter_max=100, tol=1e-8)
    theirs = relative(t, tl.tucker_to_tensor(tl_tucker(t, ranks, n_iter_max=100, tol=1e-8)))
    assert ours.relative_error(t) <= theirs * (1 + TOLERANCE)
    assert ours.errors[-1] == pytest.approx(ours.relative_error(t), rel=1e-6)
    for f in ours.factors:
        np.testing.assert_allclose(f.T @ f, np.eye(f.shape[1]), atol=1e-10)


def test_tucker_hosvd_matches_the_definition() -> None:
    t = noisy(random_tucker((8, 9, 10), (2, 3, 4), random_state=2).to_dense(), 0.2, 2)
    ranks = (2, 3, 4)
    result = tucker(t, ranks, method="hosvd")
    reference = [np.linalg.svd(unfold(t, n))[0][:, :r] for n, r in enumerate(ranks)]
    for ours, ref in zip(result.factors, reference):  # same subspaces
        np.testing.assert_allclose(ours @ ours.T, ref @ ref.T, atol=1e-8)
    core = tl.tenalg.multi_mode_dot(t, reference, transpose=True)
    assert result.relative_error(t) == pytest.approx(
        relative(t, tl.tucker_to_tensor((core, reference))), rel=1e-8)
    hooi = tucker(t, ranks)
    assert hooi.relative_error(t) <= result.relative_error(t) + 1e-12


def test_tucker_exact_recovery_and_result_type() -> None:
    model = random_tucker((7, 8, 9), (2, 3, 4), random_state=3)
    t = model.to_dense()
    result = tucker(t, (2, 3, 4))
    assert isinstance(result, TuckerTensor) and result.ranks == (2, 3, 4)
    assert result.relative_error(t) < 1e-12
    core, factors = result
    np.testing.assert_allclose(tl.tucker_to_tensor((core, factors)), result.to_dense())
    assert result.n_parameters == 2 * 3 * 4 + 7 * 2 + 8 * 3 + 9 * 4
    # ranks larger than a mode are clamped; an int is used for every mode
    assert tucker(t, 50).ranks == (7, 8, 9)
    assert tucker(t, 50).relative_error(t) < 1e-12


def test_tucker_hooi_keeps_a_rank_larger_than_the_projected_unfolding() -> None:
    # Regression (issue 25): with ranks (2, 3, 1) the projected mode-2 unfolding is 4 x 2, and
    # HOOI used to return a (4, 2) factor and a (2, 2, 1) core without saying so.
    t = np.random.default_rng(1234).random((3, 4, 3))
    for method in ("hooi", "hosvd"):
        result = tucker(t, [2, 3, 1], method=method)
        assert [f.shape for f in result.factors] == [(3, 2), (4, 3), (3, 1)]
        assert result.core.shape == (2, 3, 1)
        for factor in result.factors:
            np.testing.assert_allclose(factor.T @ factor, np.eye(factor.shape[1]), atol=1e-12)
    core, factors = tl_tucker(tl.tensor(t), rank=[2, 3, 1], tol=1e-8)
    reference = relative(t, tl.tucker_to_tensor((core, factors)))
    assert tucker(t, [2, 3, 1], tol=1e-8).relative_error(t) <= reference + TOLERANCE


# --- tensor train ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,rank,seed", [((4, 5, 6, 7), 3, 0), ((3, 4, 3, 4, 3), 4, 1)])
def test_tt_no_worse_than_tensorly(shape: tuple[int, ...], rank: int, seed: int) -> None:
    t = noisy(random_tt(shape, rank, random_state=seed).to_dense(), 0.05, seed)
    ours = tensor_train(t, rank)
    theirs = tl_tensor_train(t, rank)
    assert ours.ranks == tuple(theirs.rank)
    assert ours.relative_error(t) <= relative(t, tl.tt_to_tensor(theirs)) * (1 + TOLERANCE)
    assert ours.errors[0] == pytest.approx(ours.relative_error(t), rel=1e-6)


def test_tt_exact_at_full_rank() -> None:
    t = np.random.default_rng(0).standard_normal((3, 4, 5, 2))
    result = tensor_train(t, 1000)
    assert isinstance(result, TTTensor)
    assert result.ranks == (1, 3, 10, 2, 1)  # clamped to what the shape allows
    assert result.relative_error(t) < 1e-13
    np.testing.assert_allclose(tl.tt_to_tensor(result.cores), result.to_dense())
    assert result.n_parameters == sum(c.size for c in result.cores)


def test_tt_eps_chooses_the_ranks() -> None:
    exact = random_tt((4, 5, 6, 5), (2, 3, 2), random_state=1).to_dense()
    found = tensor_train(exact, eps=1e-9)
    assert found.ranks == (1, 2, 3, 2, 1)
    assert found.relative_error(exact) < 1e-9
    t = noisy(exact, 0.05, 1)
    for eps in (0.3, 0.1, 0.06):
        result = tensor_train(t, eps=eps)
        assert result.relative_error(t) <= eps
    capped = tensor_train(t, ranks=2, eps=1e-12)  # ranks bound what eps chooses
    assert max(capped.ranks) == 2
    assert tensor_train(t, [2, 3, 2]).ranks == tensor_train(t, [1, 2, 3, 2, 1]).ranks


# --- generators --------------------------------------------------------------------------------
def test_random_generators() -> None:
    c = random_cp((3, 4, 5), 2, normalize=True, random_state=0)
    np.testing.assert_allclose([np.linalg.norm(f, axis=0) for f in c.factors], 1.0)
    np.testing.assert_array_equal(c.to_dense(), random_cp((3, 4, 5), 2, normalize=True,
                                                          random_state=0).to_dense())
    k = random_tucker((3, 4, 5), (5, 2, 2), random_state=0)
    assert k.ranks == (3, 2, 2)
    assert random_tt((3, 4, 5), 10, random_state=0).ranks == (1, 3, 5, 1)
    nb.set_random_seed(3)
    first = random_cp((3, 4), 2).to_dense()
    nb.set_random_seed(3)
    np.testing.assert_array_equal(first, random_cp((3, 4), 2).to_dense())


# --- bad input ---------------------------------------------------------------------------------
GOOD = np.ones((3, 4, 5))


@pytest.mark.parametrize("call,match", [
    (lambda: cp(GOOD, 0), r"rank must be a positive integer. Received: rank=0"),
    (lambda: cp(GOOD, -2), r"Received: rank=-2"),
    (lambda: cp(GOOD, 2.5), r"Received: rank=2.5"),
    (lambda: cp(GOOD, 2, init="magic"), r"init='magic'"),
    (lambda: cp(GOOD, 2, mask=np.ones((3, 4))), r"mask of shape \(3, 4\)"),
    (lambda: cp(np.ones(5), 1), r"order >= 2. Received: a tensor of shape \(5,\)"),
    (lambda: cp(np.array(3.0), 1), r"shape \(\) \(order 0\)"),
    (lambda: cp(np.where(np.eye(3)[:, :, None] > 0, np.nan, GOOD[:, :3]), 1),
     r"NaN or inf. Received: a tensor of shape \(3, 3, 5\) with 15 NaN and 0 inf"),
    (lambda: tucker(GOOD, (2, 2)), r"one entry per mode \(3\). Received: rank=\(2, 2\)"),
    (lambda: tucker(GOOD, (2, 0, 2)), r"Received: rank=\(2, 0, 2\)"),
    (lambda: tucker(GOOD, 0), r"Received: rank=0"),
    (lambda: tucker(GOOD, 2, method="svd"), r"method='svd'"),
    (lambda: tucker(np.full((3, 3), np.inf), 2), r"0 NaN and 9 inf"),
    (lambda: tucker(np.ones(4), 2), r"order >= 2"),
    (lambda: tensor_train(GOOD, 0), r"Received: rank=0"),
    (lambda: tensor_train(GOOD, [2, 2, 2]), r"Received: rank=\[2, 2, 2\]"),
    (lambda: tensor_train(GOOD, [2, 2, 2, 2]), r"first and last TT ranks must be 1"),
    (lambda: tensor_train(GOOD), r"give rank, eps or both"),
    (lambda: tensor_train(GOOD, eps=1.5), r"eps=1.5"),
    (lambda: tensor_train(np.ones(3), 2), r"order >= 2"),
    (lambda: random_cp((3,), 2), r"shape=\(3,\)"),
])
def test_bad_input_raises_value_error_echoing_it(call, match: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=match):
        call()
