"""Translated from Keras 3's ``keras/src/optimizers/optimizer_test.py`` (keras-team/keras).

Same inputs, expected values and tolerances; ``backend.Variable`` is ``nb.Variable`` and
``backend.convert_to_tensor`` is ``nb.tensor``. Keras's TestCase clears the session before
each test (automatic names restart), so ``test_optimizer_auto_naming`` does too.

Left out:

- ``test_static_loss_scaling``: ``loss_scale_factor`` belongs to mixed-precision training
  (nablanet accepts only its default None and raises otherwise).
- ``test_tf_checkpointing``, ``test_mixed_with_tf_variables``: TensorFlow backend only
  (``tf.train.Checkpoint``, ``tf.Variable``).
- the ``adamax``, ``lion``, ``ftrl`` and ``adafactor`` cases of
  ``test_gradient_accumulation_with_weigth_decay`` and ``test_pickleable_optimizers``:
  optimizers nablanet does not have (the seven it has are all run).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from layer_test_helper import assert_all_close, assert_almost_equal

import nablanet as nb
from nablanet import constraints, layers, models, optimizers


def test_iterations_counter():
    v = nb.Variable([[1.0, 2.0], [3.0, 4.0]])
    grads = nb.tensor([[1.0, 1.0], [1.0, 1.0]])
    optimizer = optimizers.Adam(learning_rate=1.0)
    assert_all_close(optimizer.iterations, 0)
    optimizer.apply_gradients([(grads, v)])
    assert_all_close(optimizer.iterations, 1)
    optimizer.apply_gradients([(grads, v)])
    assert_all_close(optimizer.iterations, 2)


def test_empty_gradients():
    # Test no valid gradient
    v = nb.Variable([[3.0, 4.0], [5.0, 6.0]])
    grads = None
    optimizer = optimizers.SGD(learning_rate=1.0)
    with pytest.raises(ValueError, match="No gradients provided for any variable."):
        optimizer.apply_gradients([(grads, v)])

    # Test filtering of empty gradients
    v2 = nb.Variable([[3.0, 4.0], [5.0, 6.0]])
    grads2 = nb.tensor([[1.0, 1.0], [1.0, 1.0]])
    optimizer = optimizers.SGD(learning_rate=1.0)
    with pytest.warns(Warning):
        optimizer.apply_gradients([(grads, v), (grads2, v2)])
    assert_all_close(v, [[3.0, 4.0], [5.0, 6.0]])
    assert_all_close(v2, [[2.0, 3.0], [4.0, 5.0]])


def test_clip_args():
    optimizer = optimizers.SGD(learning_rate=1.0, clipnorm=0.1)
    assert optimizer.clipnorm == 0.1
    optimizer = optimizers.SGD(learning_rate=1.0, clipvalue=0.1)
    assert optimizer.clipvalue == 0.1
    optimizer = optimizers.SGD(learning_rate=1.0, global_clipnorm=0.1)
    assert optimizer.global_clipnorm == 0.1

    # Test invalid arguments
    with pytest.raises(ValueError,
                       match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can"):
        optimizers.SGD(learning_rate=1.0, clipnorm=0.1, clipvalue=0.1)
    with pytest.raises(ValueError,
                       match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can"):
        optimizers.SGD(learning_rate=1.0, clipnorm=0.1, global_clipnorm=0.1)


def test_clip_norm():
    optimizer = optimizers.SGD(clipnorm=1)
    grad = nb.tensor([100.0, 100.0])
    clipped_grad = optimizer._clip_gradients([grad])
    assert_all_close(clipped_grad[0], [2**0.5 / 2, 2**0.5 / 2])


def test_clip_value():
    optimizer = optimizers.SGD(clipvalue=1)
    grad = nb.tensor([100.0, 100.0])
    clipped_grad = optimizer._clip_gradients([grad])
    assert_all_close(clipped_grad[0], [1.0, 1.0])


def test_global_clip_norm():
    optimizer = optimizers.SGD(global_clipnorm=1)
    grad = np.array([50.0, 100.0], dtype="float32")
    global_norm = np.linalg.norm(grad)
    clipped_grad = optimizer._clip_gradients([nb.tensor(grad)])
    assert_all_close(clipped_grad[0], grad / global_norm)


def test_ema():
    v = nb.Variable([[3.0, 4.0], [5.0, 6.0]])
    grads = nb.tensor([[1.0, 1.0], [1.0, 1.0]])
    optimizer = optimizers.SGD(
        learning_rate=1.0,
        use_ema=True,
        ema_momentum=0.9,
        ema_overwrite_frequency=3,
    )
    optimizer.apply_gradients([(grads, v)])
    assert_all_close(v, [[2.0, 3.0], [4.0, 5.0]])
    assert_all_close(
        optimizer._model_variables_moving_average[0],
        [[2.0, 3.0], [4.0, 5.0]],  # initialized after first step
    )
    optimizer.apply_gradients([(grads, v)])
    assert_all_close(v, [[1.0, 2.0], [3.0, 4.0]])
    assert_all_close(
        optimizer._model_variables_moving_average[0],
        [[1.9, 2.9], [3.9, 4.9]],
    )
    optimizer.apply_gradients([(grads, v)])
    # Variables were overwritten with EMA
    assert_all_close(v, [[1.71, 2.71], [3.71, 4.71]])
    assert_all_close(
        optimizer._model_variables_moving_average[0],
        [[1.71, 2.71], [3.71, 4.71]],
    )


def test_ema_with_model_fit():
    x_train = np.ones((1, 1)).astype("float32")
    y_train = np.zeros((1, 1)).astype("float32")
    optimizer = optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9)
    model = models.Sequential(
        [layers.Dense(2, kernel_initializer="ones", use_bias=False)]
    )
    model.compile(loss="mse", optimizer=optimizer, run_eagerly=True)
    model.fit(x_train, y_train, batch_size=1, epochs=2, verbose=0)
    assert_all_close(
        optimizer._model_variables_moving_average[0],
        [[0.891, 0.891]],
        atol=1e-5,
    )
    assert_all_close(
        model.trainable_variables[0].numpy(),
        [[0.891, 0.891]],
        atol=1e-5,
    )


def test_constraints_are_applied():
    v = nb.Variable(np.random.random((2, 2)) - 1.0)
    v.constraint = constraints.NonNeg()
    optimizer = optimizers.SGD(learning_rate=0.0001)
    grad = np.zeros((2, 2))
    optimizer.apply_gradients([(grad, v)])
    assert_almost_equal(np.min(v.numpy()), 0.0)


def test_get_method():
    obj = optimizers.get("sgd")
    assert isinstance(obj, optimizers.SGD)
    obj = optimizers.get("adamw")
    assert isinstance(obj, optimizers.AdamW)

    obj = optimizers.get(None)
    assert obj is None

    with pytest.raises(ValueError):
        optimizers.get("typo")


def test_set_weights():
    x = nb.Variable([[1.0, 2.0], [3.0, 4.0]])
    optimizer_1 = optimizers.Adam()
    grads = nb.tensor([[1.0, 2.0], [3.0, 4.0]])
    optimizer_1.apply_gradients(zip([grads], [x]))
    optimizer_2 = optimizers.Adam()
    with pytest.raises(ValueError, match="You are calling*"):
        optimizer_2.set_weights(optimizer_1.variables)
    optimizer_2.build([x])
    optimizer_2.set_weights(optimizer_1.variables)
    for i in range(len(optimizer_1.variables)):
        assert_all_close(optimizer_1.variables[i], optimizer_2.variables[i])


def test_gradient_accumulation():
    v = nb.Variable([[1.0, 2.0], [3.0, 4.0]])
    grads = nb.tensor([[1.0, 1.0], [1.0, 1.0]])
    optimizer = optimizers.SGD(learning_rate=1.0, gradient_accumulation_steps=3)
    assert optimizer.gradient_accumulation_steps == 3

    # Iteration 1
    optimizer.apply_gradients([(grads, v)])
    assert_all_close(v, [[1.0, 2.0], [3.0, 4.0]])
    assert_all_close(optimizer._accumulated_gradients[0], [[1.0, 1.0], [1.0, 1.0]])
    assert_all_close(optimizer._iterations, 1)
    assert_all_close(optimizer.iterations, 0)

    # Iteration 2
    optimizer.apply_gradients([(grads, v)])
    assert_all_close(v, [[1.0, 2.0], [3.0, 4.0]])
    assert_all_close(optimizer._accumulated_gradients[0], [[2.0, 2.0], [2.0, 2.0]])
    assert_all_close(optimizer._iterations, 2)
    assert_all_close(optimizer.iterations, 0)

    # Iteration 3
    optimizer.apply_gradients([(grads, v)])
    assert_all_close(v, [[0.0, 1.0], [2.0, 3.0]])
    assert_all_close(optimizer._accumulated_gradients[0], [[0.0, 0.0], [0.0, 0.0]])
    assert_all_close(optimizer._iterations, 3)
    assert_all_close(optimizer.iterations, 1)

    # Iteration 4
    optimizer.apply_gradients([(grads, v)])
    assert_all_close(v, [[0.0, 1.0], [2.0, 3.0]])
    assert_all_close(optimizer._accumulated_gradients[0], [[1.0, 1.0], [1.0, 1.0]])
    assert_all_close(optimizer._iterations, 4)
    assert_all_close(optimizer.iterations, 1)


def test_callable_learning_rate():
    v = nb.Variable([[1.0, 2.0], [3.0, 4.0]])
    grads = nb.tensor([[1.0, 1.0], [1.0, 1.0]])
    optimizer = optimizers.SGD(learning_rate=lambda: 0.1)
    assert_all_close(optimizer.iterations, 0)
    optimizer.apply_gradients([(grads, v)])
    assert_all_close(v, [[0.9, 1.9], [2.9, 3.9]])
    assert_all_close(optimizer.iterations, 1)


def test_overwrite_with_gradient():
    v = nb.Variable([[1.0, 2.0], [3.0, 4.0]])
    v.overwrite_with_gradient = True
    v2 = nb.Variable([[1.0, 2.0], [3.0, 4.0]])
    grads = nb.tensor([[1.0, 1.0], [1.0, 1.0]])
    grads2 = nb.tensor([[1.0, 1.0], [1.0, 1.0]])

    optimizer = optimizers.SGD(learning_rate=1.0)
    optimizer.apply_gradients([(grads, v), (grads2, v2)])

    # `v` is overwritten by its gradient but `v2` is updated normally
    assert_all_close(v, [[1.0, 1.0], [1.0, 1.0]])
    assert_all_close(v2, [[0.0, 1.0], [2.0, 3.0]])


def test_overwrite_with_gradient_with_gradient_accumulation():
    v = nb.Variable([[1.0, 2.0], [3.0, 4.0]])
    v.overwrite_with_gradient = True
    v2 = nb.Variable([[1.0, 2.0], [3.0, 4.0]])
    grad_ones = nb.tensor([[1.0, 1.0], [1.0, 1.0]])
    grad_twos = nb.tensor([[2.0, 2.0], [2.0, 2.0]])
    optimizer = optimizers.SGD(learning_rate=1.0, gradient_accumulation_steps=2)

    # Iteration 1
    optimizer.apply_gradients([(grad_ones, v), (grad_ones, v2)])
    assert_all_close(optimizer._iterations, 1)
    assert_all_close(optimizer.iterations, 0)
    assert_all_close(v, [[1.0, 2.0], [3.0, 4.0]])
    assert_all_close(v2, [[1.0, 2.0], [3.0, 4.0]])
    assert_all_close(optimizer._accumulated_gradients[0], [[1.0, 1.0], [1.0, 1.0]])
    assert_all_close(optimizer._accumulated_gradients[1], [[1.0, 1.0], [1.0, 1.0]])

    # Iteration 2
    optimizer.apply_gradients([(grad_twos, v), (grad_twos, v2)])
    assert_all_close(optimizer._iterations, 2)
    assert_all_close(optimizer.iterations, 1)
    assert_all_close(v, [[2.0, 2.0], [2.0, 2.0]])
    assert_all_close(v2, [[-0.5, 0.5], [1.5, 2.5]])
    assert_all_close(optimizer._accumulated_gradients[0], [[0.0, 0.0], [0.0, 0.0]])
    assert_all_close(optimizer._accumulated_gradients[1], [[0.0, 0.0], [0.0, 0.0]])

    # Iteration 3
    optimizer.apply_gradients([(grad_ones, v), (grad_ones, v2)])
    assert_all_close(optimizer._iterations, 3)
    assert_all_close(optimizer.iterations, 1)
    assert_all_close(v, [[2.0, 2.0], [2.0, 2.0]])
    assert_all_close(v2, [[-0.5, 0.5], [1.5, 2.5]])
    assert_all_close(optimizer._accumulated_gradients[0], [[1.0, 1.0], [1.0, 1.0]])
    assert_all_close(optimizer._accumulated_gradients[1], [[1.0, 1.0], [1.0, 1.0]])


@pytest.mark.parametrize(
    "optimizer", ["adam", "sgd", "adamw", "adagrad", "rmsprop", "adadelta", "nadam"])
def test_gradient_accumulation_with_weigth_decay(optimizer):
    optimizer1 = optimizers.get({"class_name": optimizer, "config": {"weight_decay": 0.05}})
    optimizer3 = optimizers.get(
        {
            "class_name": optimizer,
            "config": {
                "weight_decay": 0.05,
                "gradient_accumulation_steps": 3,
            },
        }
    )
    variable1 = nb.Variable([[0.9], [0.5]])
    variable3 = nb.Variable([[0.9], [0.5]])

    for _epoch in range(8):
        grads3 = np.random.random([3, 2, 1]).astype("float32")

        grads1 = nb.tensor(grads3.mean(axis=0))
        optimizer1.apply_gradients([(grads1, variable1)])

        for batch in range(3):
            grads3_ = nb.tensor(grads3[batch])
            optimizer3.apply_gradients([(grads3_, variable3)])

    assert_all_close(variable1, variable3)


def test_setting_lr_to_callable_untracks_lr_var():
    adam = optimizers.Adam(learning_rate=0.001)
    assert len(adam.variables) == 2
    adam.learning_rate = optimizers.schedules.PolynomialDecay(adam.learning_rate, 4)
    assert len(adam.variables) == 1


@pytest.mark.parametrize(
    "optimizer", ["adam", "sgd", "adamw", "adagrad", "rmsprop", "adadelta", "nadam"])
def test_pickleable_optimizers(optimizer):
    optimizer = optimizers.get(optimizer)
    reloaded = pickle.loads(pickle.dumps(optimizer))

    assert optimizer.get_config() == reloaded.get_config()


def test_optimizer_auto_naming():
    nb.layers.clear_session()
    adam_1 = optimizers.Adam()
    adam_2 = optimizers.Adam()
    sgd_1 = optimizers.SGD()
    sgd_2 = optimizers.SGD()
    adamw_1 = optimizers.AdamW()
    adamw_2 = optimizers.AdamW()

    assert adam_1.name == "adam"
    assert adam_2.name == "adam_1"
    assert sgd_1.name == "sgd"
    assert sgd_2.name == "sgd_1"
    assert adamw_1.name == "adam_w"
    assert adamw_2.name == "adam_w_1"

    # Test explicit naming
    custom_adam = optimizers.Adam(name="my_adam")
    assert custom_adam.name == "my_adam"

    # Test serialization and deserialization preserves name
    config_adam_2 = optimizers.serialize(adam_2)
    reloaded_adam_2 = optimizers.deserialize(config_adam_2)
    assert reloaded_adam_2.name == "adam_1"

    config_custom = optimizers.serialize(custom_adam)
    reloaded_custom = optimizers.deserialize(config_custom)
    assert reloaded_custom.name == "my_adam"
