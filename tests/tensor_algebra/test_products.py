"""Tensor products, unfolding and n-mode products: definitions, TensorLy, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorly as tl
from tensorly import tenalg

import nablanet as nb
from nablanet.tensor_algebra import (
    batched_outer,
    fold,
    hadamard,
    khatri_rao,
    kronecker,
    mode_dot,
    multi_mode_dot,
    outer,
    unfold,
)
from nablanet.testing import gradcheck

RNG = np.random.default_rng(7)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


# --- products against their definitions -------------------------------------------------------
def test_outer_matches_definition() -> None:
    u, v, w = randn(3), randn(4), randn(5)
    t = outer(u, v, w)
    assert t.shape == (3, 4, 5)
    for i, j, k in [(0, 0, 0), (2, 3, 4), (1, 2, 0)]:
        assert t[i, j, k] == pytest.approx(u[i] * v[j] * w[k])
    np.testing.assert_allclose(t, np.einsum("i,j,k->ijk", u, v, w))
    np.testing.assert_allclose(outer(u, v), np.outer(u, v))
    np.testing.assert_allclose(outer(u), u)


@pytest.mark.parametrize("shapes", [((2, 3), (4, 5)), ((3,), (4,)), ((3,), (2, 4)),
                                    ((2, 1, 3), (2, 2, 2))])
def test_kronecker_matches_numpy(shapes: tuple[tuple[int, ...], ...]) -> None:
    a, b = randn(*shapes[0]), randn(*shapes[1])
    np.testing.assert_allclose(kronecker(a, b), np.kron(a, b))


def test_kronecker_of_three_and_block_definition() -> None:
    a, b, c = randn(2, 2), randn(3, 2), randn(2, 3)
    np.testing.assert_allclose(kronecker(a, b, c), np.kron(np.kron(a, b), c))
    k = kronecker(a, b)
    np.testing.assert_allclose(k[3:6, 2:4], a[1, 1] * b)  # block (i, j) is a_ij B


def test_khatri_rao_is_columnwise_kronecker() -> None:
    a, b, c = randn(3, 4), randn(5, 4), randn(2, 4)
    kr = khatri_rao(a, b)
    assert kr.shape == (15, 4)
    for r in range(4):
        np.testing.assert_allclose(kr[:, r], np.kron(a[:, r], b[:, r]))
    np.testing.assert_allclose(khatri_rao(a, b, c), tenalg.khatri_rao([a, b, c]))


def test_hadamard_is_elementwise() -> None:
    a, b, c = randn(3, 4), randn(3, 4), randn(3, 4)
    np.testing.assert_allclose(hadamard(a, b), a * b)
    np.testing.assert_allclose(hadamard(a, b, c), a * b * c)
    t = randn(2, 3, 4)
    np.testing.assert_allclose(hadamard(t, t), t ** 2)


def test_mismatched_shapes_raise_naming_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 3\)"):
        khatri_rao(randn(3, 4), randn(5, 3))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(4, 3\)"):
        hadamard(randn(3, 4), randn(4, 3))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        batched_outer(randn(2, 3), randn(3, 2))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        khatri_rao(randn(3), randn(3, 1))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5, 4\)"):
        mode_dot(randn(2, 3, 4), randn(5, 4), 1)
    with pytest.raises(ValueError, match=r"\(3, 8\)"):
        fold(randn(3, 7), 1, (2, 3, 4))
    with pytest.raises(ValueError, match="mode=3"):
        unfold(randn(2, 3, 4), 3)
    with pytest.raises(ValueError, match="at least 1"):
        outer()


# --- unfolding, folding, n-mode products --------------------------------------------------------
@pytest.mark.parametrize("mode", [0, 1, 2, 3, -1])
def test_unfold_matches_tensorly_and_fold_inverts(mode: int) -> None:
    t = randn(2, 3, 4, 5)
    m = unfold(t, mode)
    np.testing.assert_array_equal(m, tl.unfold(t, mode % 4))
    np.testing.assert_array_equal(fold(m, mode, t.shape), t)
    np.testing.assert_array_equal(unfold(fold(m, mode, t.shape), mode), m)


def test_unfold_columns_are_the_mode_fibres() -> None:
    t = np.arange(24.0).reshape(2, 3, 4)
    m = unfold(t, 1)
    np.testing.assert_array_equal(m[:, 0], t[0, :, 0])  # first column: fibre t[0, :, 0]
    np.testing.assert_array_equal(m[:, 5], t[1, :, 1])


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_mode_dot_definition_and_tensorly(mode: int) -> None:
    t = randn(2, 3, 4, 5)
    m = randn(6, t.shape[mode])
    result = mode_dot(t, m, mode)
    np.testing.assert_allclose(result, tenalg.mode_dot(t, m, mode), atol=1e-12)
    # (T x_n M)_(n) = M T_(n)
    np.testing.assert_allclose(unfold(result, mode), m @ unfold(t, mode), atol=1e-12)
    v = randn(t.shape[mode])
    np.testing.assert_allclose(mode_dot(t, v, mode), tenalg.mode_dot(t, v, mode), atol=1e-12)
    np.testing.assert_allclose(mode_dot(t, m.T, mode, transpose=True), result, atol=1e-12)


def test_multi_mode_dot_matches_tensorly() -> None:
    core = randn(2, 3, 4)
    factors = [randn(5, 2), randn(6, 3), randn(7, 4)]
    np.testing.assert_allclose(multi_mode_dot(core, factors),
                               tenalg.multi_mode_dot(core, factors), atol=1e-12)
    np.testing.assert_allclose(
        multi_mode_dot(core, factors, skip=1),
        tenalg.multi_mode_dot(core, factors, skip=1), atol=1e-12)
    t = randn(5, 6, 7)
    np.testing.assert_allclose(multi_mode_dot(t, factors, transpose=True),
                               tenalg.multi_mode_dot(t, factors, transpose=True), atol=1e-12)
    vectors = [randn(5), randn(6)]
    np.testing.assert_allclose(multi_mode_dot(t, vectors, modes=[0, 1]),
                               tenalg.multi_mode_dot(t, vectors, modes=[0, 1]), atol=1e-12)


# --- the differentiable (Tensor) path ----------------------------------------------------------
def test_tensor_inputs_give_tensors_with_the_same_values() -> None:
    a, b = randn(3, 2), randn(4, 2)
    ta, tb = nb.Tensor(a, dtype=np.float64), nb.Tensor(b, dtype=np.float64)
    for fn, args in ((khatri_rao, (a, b)), (kronecker, (a, b)), (hadamard, (a, a)),
                     (outer, (a[:, 0], b[:, 1]))):
        tensors = [nb.Tensor(x, dtype=np.float64) for x in args]
        out = fn(*tensors)
        assert isinstance(out, nb.Tensor)
        np.testing.assert_allclose(out.data, fn(*args))
    mixed = khatri_rao(ta, b)  # one Tensor operand is enough
    assert isinstance(mixed, nb.Tensor)
    np.testing.assert_allclose(mixed.data, khatri_rao(a, b))
    assert isinstance(unfold(ta, 1), nb.Tensor) and isinstance(mode_dot(ta, tb, 1), nb.Tensor)


def test_gradcheck_products() -> None:
    assert gradcheck(lambda u, v, w: outer(u, v, w), randn(3), randn(4), randn(2))
    assert gradcheck(lambda a, b: kronecker(a, b), randn(2, 3), randn(3, 2))
    assert gradcheck(lambda a, b: kronecker(a, b), randn(3), randn(2, 2))
    assert gradcheck(lambda a, b, c: khatri_rao(a, b, c), randn(2, 3), randn(3, 3), randn(2, 3))
    assert gradcheck(lambda a, b: hadamard(a, b, a), randn(3, 4), randn(3, 4))
    # non-contiguous input
    assert gradcheck(lambda a, b: khatri_rao(a, b), randn(3, 4).T, randn(2, 3))


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_gradcheck_unfolding_and_mode_dot(mode: int) -> None:
    t = randn(2, 3, 4)
    assert gradcheck(lambda x: unfold(x, mode), t)
    assert gradcheck(lambda m: fold(m, mode, t.shape), unfold(t, mode))
    assert gradcheck(lambda x, m: mode_dot(x, m, mode), t, randn(3, t.shape[mode]))
    assert gradcheck(lambda x, v: mode_dot(x, v, mode), t, randn(t.shape[mode]))


def test_gradcheck_tucker_reconstruction() -> None:
    """The products compose: gradient of a Tucker reconstruction w.r.t. core and factors."""
    factors = [randn(3, 2), randn(4, 2), randn(2, 2)]
    assert gradcheck(lambda g, a, b, c: multi_mode_dot(g, [a, b, c]), randn(2, 2, 2), *factors)
