"""Translated from Keras 3's ``keras/src/layers/core/dense_test.py`` (keras-team/keras).

``keras_tensor.KerasTensor(shape)`` is ``layers.KerasTensor(shape)``.

Left out:

- ``test_dense_sparse``: sparse tensors.
- ``test_dense_quantize_config``, ``test_enable_lora*``, ``test_lora_*``, ``test_quantize_*``
  (int8 / int4 / float8, GPTQ / AWQ, quantizers, block sizes, ``load_own_variables`` of
  quantized kernels), ``test_serialization_round_trip``, ``test_gptq_*``, ``test_awq_*``,
  ``test_int4_*``, ``test_dense_int8_*``, ``test_dense_int4_*``, ``test_legacy_load_own_variables``:
  quantized / LoRA kernels and dtype policies, a mixed-precision feature of Keras's backends
  (nablanet computes in float32 / float64 only).
"""

from __future__ import annotations

import numpy as np
import pytest
from layer_test_helper import (
    assert_all_close,
    assert_equal,
    assert_is_instance,
    assert_raises_regex,
    run_layer_test,
)

from nablanet import constraints, layers


def test_dense_basics():
    # 2D case, no bias.
    run_layer_test(
        layers.Dense,
        init_kwargs={
            "units": 4,
            "activation": "relu",
            "kernel_initializer": "random_uniform",
            "bias_initializer": "ones",
            "use_bias": False,
        },
        input_shape=(2, 3),
        expected_output_shape=(2, 4),
        expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=0,
        expected_num_seed_generators=0,
        expected_num_losses=0,
        supports_masking=True,
    )
    # 3D case, some regularizers.
    run_layer_test(
        layers.Dense,
        init_kwargs={
            "units": 5,
            "activation": "sigmoid",
            "kernel_regularizer": "l2",
            "bias_regularizer": "l2",
        },
        input_shape=(2, 3, 4),
        expected_output_shape=(2, 3, 5),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
        expected_num_seed_generators=0,
        expected_num_losses=2,  # we have 2 regularizers.
        supports_masking=True,
    )


@pytest.mark.parametrize(
    "units", [0, -3, 2.5, None, "64"], ids=["zero", "negative", "float", "none", "string"]
)
def test_dense_invalid_units_raises(units):
    with assert_raises_regex(ValueError, "positive integer"):
        layers.Dense(units)


def test_dense_correctness():
    # With bias and activation.
    layer = layers.Dense(units=2, activation="relu")
    layer.build((1, 2))
    layer.set_weights(
        [
            np.array([[1.0, -2.0], [3.0, -4.0]]),
            np.array([5.0, -6.0]),
        ]
    )
    inputs = np.array(
        [[-1.0, 2.0]],
    )
    assert_all_close(layer(inputs), [[10.0, 0.0]])

    # Just a kernel matmul.
    layer = layers.Dense(units=2, use_bias=False)
    layer.build((1, 2))
    layer.set_weights(
        [
            np.array([[1.0, -2.0], [3.0, -4.0]]),
        ]
    )
    inputs = np.array(
        [[-1.0, 2.0]],
    )
    assert_equal(layer.bias, None)
    assert_all_close(layer(inputs), [[5.0, -6.0]])


def test_dense_errors():
    with assert_raises_regex(ValueError, "incompatible with the layer"):
        layer = layers.Dense(units=2, activation="relu")
        layer(layers.KerasTensor((1, 2)))
        layer(layers.KerasTensor((1, 3)))


def test_dense_no_activation():
    layer = layers.Dense(units=2, use_bias=False, activation=None)
    layer.build((1, 2))
    layer.set_weights(
        [
            np.array([[1.0, -2.0], [3.0, -4.0]]),
        ]
    )
    inputs = np.array(
        [[-1.0, 2.0]],
    )
    assert_equal(layer.bias, None)
    assert_all_close(layer(inputs), [[5.0, -6.0]])


def test_dense_without_activation_set():
    layer = layers.Dense(units=2, use_bias=False)
    layer.build((1, 2))
    layer.set_weights(
        [
            np.array([[1.0, -2.0], [3.0, -4.0]]),
        ]
    )
    layer.activation = None
    inputs = np.array(
        [[-1.0, 2.0]],
    )
    assert_equal(layer.bias, None)
    assert_all_close(layer(inputs), [[5.0, -6.0]])


def test_dense_with_activation():
    layer = layers.Dense(units=2, use_bias=False, activation="relu")
    layer.build((1, 2))
    layer.set_weights(
        [
            np.array([[1.0, -2.0], [3.0, -4.0]]),
        ]
    )

    inputs = np.array(
        [[-1.0, 2.0]],
    )
    output = layer(inputs)
    expected_output = np.array([[5.0, 0.0]])
    assert_all_close(output, expected_output)


def test_dense_constraints():
    layer = layers.Dense(units=2, kernel_constraint="non_neg")
    layer.build((None, 2))
    assert_is_instance(layer.kernel.constraint, constraints.NonNeg)
    layer = layers.Dense(units=2, bias_constraint="non_neg")
    layer.build((None, 2))
    assert_is_instance(layer.bias.constraint, constraints.NonNeg)
