"""Translated from Keras 3's ``keras/src/optimizers/adadelta_test.py`` (keras-team/keras).

Same inputs, golden values and tolerances; ``backend.Variable`` is ``nb.Variable`` and
``ops.array`` / ``ops.arange`` / ``ops.full`` / ``ops.zeros`` are ``nb.tensor`` / ``nb.arange`` /
``nb.full`` / ``nb.zeros`` (float32, as Keras's floatx).

Left out: None: every test of the Keras file is translated.
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import assert_all_close, assert_almost_equal, run_class_serialization_test

import nablanet as nb
from nablanet.optimizers import Adadelta


def test_config():
    optimizer = Adadelta(
        learning_rate=0.5,
        rho=0.9,
        epsilon=1e-5,
    )
    run_class_serialization_test(optimizer)


def test_single_step():
    optimizer = Adadelta(learning_rate=0.5)
    grads = nb.tensor([1.0, 6.0, 7.0, 2.0])
    vars_ = nb.Variable([1.0, 2.0, 3.0, 4.0])
    optimizer.apply_gradients(zip([grads], [vars_]))
    assert_all_close(vars_, [0.9993, 1.9993, 2.9993, 3.9993], rtol=1e-4, atol=1e-4)


def test_weight_decay():
    grads, var1, var2, var3 = (
        nb.zeros(()),
        nb.Variable(2.0),
        nb.Variable(2.0, name="exclude"),
        nb.Variable(2.0),
    )
    optimizer_1 = Adadelta(learning_rate=1.0, weight_decay=0.004)
    optimizer_1.apply_gradients(zip([grads], [var1]))

    optimizer_2 = Adadelta(learning_rate=1.0, weight_decay=0.004)
    optimizer_2.exclude_from_weight_decay(var_names=["exclude"])
    optimizer_2.apply_gradients(zip([grads, grads], [var1, var2]))

    optimizer_3 = Adadelta(learning_rate=1.0, weight_decay=0.004)
    optimizer_3.exclude_from_weight_decay(var_list=[var3])
    optimizer_3.apply_gradients(zip([grads, grads], [var1, var3]))

    assert_almost_equal(var1.numpy(), 1.9760959, decimal=6)
    assert_almost_equal(var2.numpy(), 2.0, decimal=6)
    assert_almost_equal(var3.numpy(), 2.0, decimal=6)


def test_correctness_with_golden():
    optimizer = Adadelta(learning_rate=1.0, rho=0.8, epsilon=1e-6)

    x = nb.Variable(np.ones([10]))
    grads = nb.arange(0.1, 1.1, 0.1)
    first_grads = nb.full((10,), 0.01)

    golden = np.tile(
        [[0.9978], [0.9947], [0.9915], [0.9882], [0.9849]], (1, 10)
    )

    optimizer.apply_gradients(zip([first_grads], [x]))
    for i in range(5):
        assert_all_close(x, golden[i], rtol=5e-4, atol=5e-4)
        optimizer.apply_gradients(zip([grads], [x]))


def test_clip_norm():
    optimizer = Adadelta(clipnorm=1)
    grad = [np.array([100.0, 100.0])]
    clipped_grad = optimizer._clip_gradients(grad)
    assert_all_close(clipped_grad[0], [2**0.5 / 2, 2**0.5 / 2])


def test_clip_value():
    optimizer = Adadelta(clipvalue=1)
    grad = [np.array([100.0, 100.0])]
    clipped_grad = optimizer._clip_gradients(grad)
    assert_all_close(clipped_grad[0], [1.0, 1.0])
