"""Gradient clipping without float32 overflow; non-finite gradients never reach the weights.

Chosen behaviour (documented in :mod:`nablanet.optimizers.base`): an update whose gradients
hold NaN or inf is skipped as a whole -- weights, slots and ``iterations`` unchanged -- with a
``RuntimeWarning`` naming the variables.
"""

from __future__ import annotations

import numpy as np
import pytest

from nablanet import Tensor, layers, models, optimizers

HUGE = np.array([3e19, -3e19, 3e19, 0.0], np.float32)  # squares overflow float32


def _variable() -> Tensor:
    return Tensor(np.ones(4, np.float32), requires_grad=True)


@pytest.mark.parametrize("clipping", [{"clipnorm": 1.0}, {"global_clipnorm": 1.0}])
def test_norm_clipping_does_not_overflow(clipping):
    variable = _variable()
    optimizers.SGD(learning_rate=1.0, **clipping).apply([HUGE], [variable])
    step = 1.0 - variable.data
    # the clipped gradient has norm 1 and the direction of HUGE: (1, -1, 1, 0) / sqrt(3)
    np.testing.assert_allclose(step, np.array([1, -1, 1, 0]) / np.sqrt(3), rtol=1e-6)


def test_global_clipnorm_over_several_huge_gradients():
    a, b = _variable(), _variable()
    optimizers.SGD(learning_rate=1.0, global_clipnorm=2.0).apply(
        [HUGE, np.full(4, 3e19, np.float32)], [a, b])
    steps = np.concatenate([1.0 - a.data, 1.0 - b.data])
    assert np.isfinite(steps).all()
    np.testing.assert_allclose(np.linalg.norm(steps.astype(np.float64)), 2.0, rtol=1e-6)


def test_tiny_gradients_are_unchanged_by_clipping():
    variable = _variable()
    grad = np.array([1e-30, 0, 0, 0], np.float32)
    optimizers.SGD(learning_rate=1.0, clipnorm=1.0).apply([grad], [variable])
    np.testing.assert_array_equal(variable.data, np.ones(4, np.float32) - grad)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad", "nadam", "adamw"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_gradient_never_writes_into_the_weights(name, bad):
    optimizer = optimizers.get(name)
    variable = _variable()
    optimizer.apply([np.full(4, 0.5, np.float32)], [variable])
    weights, state = variable.data.copy(), optimizer.get_state()
    grad = np.full(4, 0.5, np.float32)
    grad[2] = bad
    with pytest.warns(RuntimeWarning, match="non-finite .* skipped"):
        optimizer.apply([grad], [variable])
    np.testing.assert_array_equal(variable.data, weights)
    for key, value in optimizer.get_state().items():
        np.testing.assert_array_equal(value, state[key])


def test_training_on_a_poisoned_batch_keeps_the_weights_finite():
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizers.SGD(0.1), "mse")
    x = np.ones((4, 2), np.float32)
    x[1, 0] = 1e30  # finite input whose squared error overflows to inf
    with pytest.warns(RuntimeWarning, match="skipped"), np.errstate(over="ignore",
                                                                     invalid="ignore"):
        model.fit(x, np.ones((4, 1), np.float32), batch_size=4, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
