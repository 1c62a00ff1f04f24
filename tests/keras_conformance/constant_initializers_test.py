"""Translated from Keras 3's ``keras/src/initializers/constant_initializers_test.py``
(keras-team/keras).

Left out:

- ``test_stft_initializer``: the STFT initializer belongs to Keras's audio layers
  (``STFTSpectrogram``), which nablanet does not have.
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import (
    assert_all_close,
    assert_equal,
    assert_is_instance,
    run_class_serialization_test,
    to_numpy,
)

from nablanet import initializers


def test_zeros_initializer():
    shape = (3, 3)

    initializer = initializers.Zeros()
    values = initializer(shape=shape)
    assert_equal(values.shape, shape)
    np_values = to_numpy(values)
    assert_all_close(np_values, np.zeros(shape=shape))

    run_class_serialization_test(initializer)


def test_ones_initializer():
    shape = (3, 3)

    initializer = initializers.Ones()
    values = initializer(shape=shape)
    assert_equal(values.shape, shape)
    np_values = to_numpy(values)
    assert_all_close(np_values, np.ones(shape=shape))

    run_class_serialization_test(initializer)


def test_constant_initializer():
    shape = (3, 3)
    constant_value = 6.0

    initializer = initializers.Constant(value=constant_value)
    values = initializer(shape=shape)
    assert_equal(values.shape, shape)
    np_values = to_numpy(values)
    assert_all_close(
        np_values, np.full(shape=shape, fill_value=constant_value)
    )

    run_class_serialization_test(initializer)


def test_constant_initializer_array_value():
    shape = (3, 3)
    constant_value = np.random.random((3, 3))

    initializer = initializers.Constant(value=constant_value)
    values = initializer(shape=shape)
    assert_equal(values.shape, shape)
    np_values = to_numpy(values)
    assert_all_close(
        np_values, np.full(shape=shape, fill_value=constant_value)
    )

    run_class_serialization_test(initializer)


def test_identity_initializer():
    shape = (3, 3)
    gain = 2

    initializer = initializers.Identity(gain=gain)
    values = initializer(shape=shape)
    assert_equal(values.shape, shape)
    np_values = to_numpy(values)
    assert_all_close(np_values, np.eye(*shape) * gain)

    run_class_serialization_test(initializer)

    # Test compatible class_name
    initializer = initializers.get("IdentityInitializer")
    assert_is_instance(initializer, initializers.Identity)
