"""Translated from Keras 3's ``keras/src/optimizers/adam_test.py`` (keras-team/keras).

Same inputs, golden values and tolerances; ``backend.Variable`` is ``nb.Variable`` and
``ops.array`` / ``ops.arange`` / ``ops.full`` / ``ops.zeros`` are ``nb.tensor`` / ``nb.arange`` /
``nb.full`` / ``nb.zeros`` (float32, as Keras's floatx).

Left out:

- ``test_clipnorm_indexed_slices``: TensorFlow's IndexedSlices gradients (the Keras test
  runs only on the TF backend).
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import assert_all_close, assert_almost_equal, run_class_serialization_test

import nablanet as nb
from nablanet.optimizers import Adam


def test_config():
    optimizer = Adam(
        learning_rate=0.5,
        beta_1=0.5,
        beta_2=0.67,
        epsilon=1e-5,
        amsgrad=True,
    )
    run_class_serialization_test(optimizer)


def test_single_step():
    optimizer = Adam(learning_rate=0.5)
    grads = nb.tensor([1.0, 6.0, 7.0, 2.0])
    vars_ = nb.Variable([1.0, 2.0, 3.0, 4.0])
    optimizer.apply_gradients(zip([grads], [vars_]))
    assert_all_close(vars_, [0.5, 1.5, 2.5, 3.5], rtol=1e-4, atol=1e-4)


def test_weight_decay():
    grads, var1, var2, var3 = (
        nb.zeros(()),
        nb.Variable(2.0),
        nb.Variable(2.0, name="exclude"),
        nb.Variable(2.0),
    )
    optimizer_1 = Adam(learning_rate=1.0, weight_decay=0.004)
    optimizer_1.apply_gradients(zip([grads], [var1]))

    optimizer_2 = Adam(learning_rate=1.0, weight_decay=0.004)
    optimizer_2.exclude_from_weight_decay(var_names=["exclude"])
    optimizer_2.apply_gradients(zip([grads, grads], [var1, var2]))

    optimizer_3 = Adam(learning_rate=1.0, weight_decay=0.004)
    optimizer_3.exclude_from_weight_decay(var_list=[var3])
    optimizer_3.apply_gradients(zip([grads, grads], [var1, var3]))

    assert_almost_equal(var1.numpy(), 1.9760959, decimal=6)
    assert_almost_equal(var2.numpy(), 2.0, decimal=6)
    assert_almost_equal(var3.numpy(), 2.0, decimal=6)


def test_correctness_with_golden():
    optimizer = Adam(amsgrad=True)

    x = nb.Variable(np.ones([10], dtype="float32"))
    grads = nb.arange(0.1, 1.1, 0.1)
    first_grads = nb.full((10,), 0.01)

    golden = np.tile(
        [[0.999], [0.9982], [0.9974], [0.9965], [0.9955]], (1, 10)
    )

    optimizer.apply_gradients(zip([first_grads], [x]))
    for i in range(5):
        assert_all_close(x, golden[i], rtol=5e-4, atol=5e-4)
        optimizer.apply_gradients(zip([grads], [x]))


def test_clip_norm():
    optimizer = Adam(clipnorm=1)
    grad = [np.array([100.0, 100.0])]
    clipped_grad = optimizer._clip_gradients(grad)
    assert_all_close(clipped_grad[0], [2**0.5 / 2, 2**0.5 / 2])


def test_clip_value():
    optimizer = Adam(clipvalue=1)
    grad = [np.array([100.0, 100.0])]
    clipped_grad = optimizer._clip_gradients(grad)
    assert_all_close(clipped_grad[0], [1.0, 1.0])


def test_ema():
    optimizer = Adam(learning_rate=1.0, use_ema=True, ema_momentum=0.9)
    var = nb.Variable([1.0, 2.0], dtype="float32")
    grads = nb.tensor([0.1, 0.2], dtype="float32")

    # First step: EMA is initialized to the first updated variable value
    optimizer.apply_gradients([(grads, var)])
    v1 = var.numpy().copy()
    assert_all_close(optimizer._model_variables_moving_average[0], v1)

    # Second step: EMA is updated
    optimizer.apply_gradients([(grads, var)])
    v2 = var.numpy().copy()
    expected_ema = 0.9 * v1 + 0.1 * v2
    assert_all_close(optimizer._model_variables_moving_average[0], expected_ema)

    # Finalize: model variable is overwritten by EMA
    optimizer.finalize_variable_values([var])
    assert_all_close(var, expected_ema)

    # Test model.fit()
    model = nb.models.Sequential(
        [nb.layers.Dense(10, kernel_initializer="ones", use_bias=False)]
    )
    model.compile(optimizer=Adam(use_ema=True, ema_momentum=0.9), loss="mse")
    x = nb.ones((1, 5))
    y = nb.zeros((1, 10))
    model.fit(x, y, verbose=0)

    # Weights are finalized at the end of fit()
    # So model weights should match EMA weights
    optimizer = model.optimizer
    ema_weights = optimizer._model_variables_moving_average[0]
    model_weights = model.trainable_variables[0].numpy()
    assert_all_close(model_weights, ema_weights)


def test_ema_overwrite_frequency():
    optimizer = Adam(
        learning_rate=1.0,
        use_ema=True,
        ema_momentum=0.9,
        ema_overwrite_frequency=2,
    )
    optimizer_no_ema = Adam(learning_rate=1.0)
    var = nb.Variable([1.0, 2.0], dtype="float32")
    var_no_ema = nb.Variable([1.0, 2.0], dtype="float32")
    grads = nb.tensor([0.1, 0.2], dtype="float32")

    # First step: iterations = 0, EMA initialized to v1
    optimizer.apply_gradients([(grads, var)])
    optimizer_no_ema.apply_gradients([(grads, var_no_ema)])
    v1 = var_no_ema.numpy().copy()
    # Not overwritten yet (iterations became 1 after increment)
    assert_all_close(var, v1)

    # Second step: iterations = 1, (1 + 1) % 2 = 0. Overwrite!
    optimizer.apply_gradients([(grads, var)])
    optimizer_no_ema.apply_gradients([(grads, var_no_ema)])
    v2 = var_no_ema.numpy().copy()
    expected_ema = 0.9 * v1 + 0.1 * v2
    # var should have been updated to v2 and THEN overwritten by EMA
    assert_all_close(var, expected_ema)
    assert_all_close(optimizer._model_variables_moving_average[0], expected_ema)
