"""Property tests: gradients through broadcasting have the input shapes and sum correctly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nablanet as nb
from nablanet.autograd import unbroadcast


def _unbroadcast_reference(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The definition: sum over every axis the input was broadcast along."""
    lead = grad.ndim - len(shape)
    summed = grad.sum(axis=tuple(range(lead))) if lead else grad
    for axis, n in enumerate(shape):
        if n == 1:
            summed = summed.sum(axis=axis, keepdims=True)
    return summed.reshape(shape)


shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3)


@settings(max_examples=40, deadline=None)
@given(shapes, st.integers(0, 2**32 - 1))
def test_grad_of_sum_of_sum_and_product(shape_pair: object, seed: int) -> None:
    (sa, sb), out_shape = shape_pair.input_shapes, shape_pair.result_shape  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    a0, b0 = rng.standard_normal(sa), rng.standard_normal(sb)
    a = nb.tensor(a0, dtype=np.float64, requires_grad=True)
    b = nb.tensor(b0, dtype=np.float64, requires_grad=True)
    (a + b).sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    ones = np.ones(out_shape)
    np.testing.assert_allclose(a.grad, _unbroadcast_reference(ones, sa))
    np.testing.assert_allclose(b.grad, _unbroadcast_reference(ones, sb))

    a.grad = b.grad = None
    (a * b).sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    np.testing.assert_allclose(a.grad, _unbroadcast_reference(np.broadcast_to(b0, out_shape), sa))
    np.testing.assert_allclose(b.grad, _unbroadcast_reference(np.broadcast_to(a0, out_shape), sb))


@settings(max_examples=40, deadline=None)
@given(shapes)
def test_unbroadcast_matches_definition(shape_pair: object) -> None:
    (sa, _), out_shape = shape_pair.input_shapes, shape_pair.result_shape  # type: ignore[attr-defined]
    grad = np.arange(int(np.prod(out_shape)), dtype=np.float64).reshape(out_shape)
    result = unbroadcast(grad, sa)
    assert result.shape == sa
    np.testing.assert_allclose(result, _unbroadcast_reference(grad, sa))
