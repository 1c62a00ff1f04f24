"""Translated from Keras 3's ``keras/src/layers/regularization/dropout_test.py``
(keras-team/keras).

``expected_num_seed_generators=1`` is passed as in Keras and not checked (see
``layer_test_helper.run_layer_test``): a nablanet Dropout draws from a NumPy generator, not
a SeedGenerator variable.

Left out: none.
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import (
    assert_all_close,
    assert_equal,
    assert_is_instance,
    assert_is_none,
    assert_raises_regex,
    run_layer_test,
    to_numpy,
)

from nablanet import layers


def test_dropout_basics():
    run_layer_test(
        layers.Dropout,
        init_kwargs={
            "rate": 0.2,
        },
        input_shape=(2, 3),
        call_kwargs={"training": True},
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        expected_num_seed_generators=1,
        expected_num_losses=0,
        supports_masking=True,
        assert_built_after_instantiation=True,
    )


def test_dropout_rescaling():
    inputs = np.ones((20, 500))
    layer = layers.Dropout(0.5, seed=1337)
    outputs = layer(inputs, training=True)
    outputs = to_numpy(outputs)
    assert_all_close(np.mean(outputs), 1.0, atol=0.02)
    assert_all_close(np.max(outputs), 2.0)


def test_dropout_partial_noise_shape_dynamic():
    inputs = np.ones((20, 5, 10))
    layer = layers.Dropout(0.5, noise_shape=(None, 1, None))
    outputs = layer(inputs, training=True)
    assert_all_close(outputs[:, 0, :], outputs[:, 1, :])


def test_dropout_partial_noise_shape_static():
    inputs = np.ones((20, 5, 10))
    layer = layers.Dropout(0.5, noise_shape=(20, 1, 10))
    outputs = layer(inputs, training=True)
    assert_all_close(outputs[:, 0, :], outputs[:, 1, :])


def test_dropout_negative_rate():
    with assert_raises_regex(
        ValueError,
        "Invalid value received for argument `rate`. "
        "Expected a float value between 0 and 1.",
    ):
        _ = layers.Dropout(rate=-0.5)


def test_dropout_rate_greater_than_one():
    with assert_raises_regex(
        ValueError,
        "Invalid value received for argument `rate`. "
        "Expected a float value between 0 and 1.",
    ):
        _ = layers.Dropout(rate=1.5)


def test_validate_noise_shape_none():
    layer = layers.Dropout(0.5, noise_shape=None)
    assert_is_none(layer.noise_shape)


def test_validate_noise_shape_integer_tuple():
    layer = layers.Dropout(0.5, noise_shape=(20, 1, 10))
    assert_equal(layer.noise_shape, (20, 1, 10))


def test_validate_noise_shape_none_values():
    layer = layers.Dropout(0.5, noise_shape=(None, 1, None))
    assert_equal(layer.noise_shape, (None, 1, None))


def test_validate_noise_shape_cast_to_a_tuple():
    layer = layers.Dropout(0.5, noise_shape=[20, 1, 10])
    assert_equal(layer.noise_shape, (20, 1, 10))
    assert_is_instance(layer.noise_shape, tuple)


def test_validate_noise_shape_non_iterable():
    with assert_raises_regex(
        ValueError,
        "Invalid value received for argument `noise_shape`. "
        "Expected a tuple or list of integers.",
    ):
        layers.Dropout(0.5, noise_shape="Invalid")


def test_validate_noise_shape_invalid_type():
    with assert_raises_regex(
        ValueError,
        "Invalid value received for argument `noise_shape`. "
        "Expected all elements to be integers or None.",
    ):
        layers.Dropout(0.5, noise_shape=(20, 1.5, 10))


def test_validate_noise_shape_negative_value():
    with assert_raises_regex(
        ValueError,
        "Invalid value received for argument `noise_shape`. "
        "Expected all dimensions to be positive integers or None.",
    ):
        layers.Dropout(0.5, noise_shape=(20, -1, 10))


def test_validate_noise_shape_zero_value():
    with assert_raises_regex(
        ValueError,
        "Invalid value received for argument `noise_shape`. "
        "Expected all dimensions to be positive integers or None.",
    ):
        layers.Dropout(0.5, noise_shape=(20, 0, 10))
