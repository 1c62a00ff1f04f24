"""Translated from Keras 3's ``keras/src/layers/activations/activation_test.py``
(keras-team/keras).

Left out: none.
"""

from __future__ import annotations

from layer_test_helper import run_layer_test

from nablanet import activations, layers


def test_activation_basics():
    run_layer_test(
        layers.Activation,
        init_kwargs={
            "activation": "relu",
        },
        input_shape=(2, 3),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        expected_num_seed_generators=0,
        expected_num_losses=0,
        supports_masking=True,
        assert_built_after_instantiation=True,
    )
    run_layer_test(
        layers.Activation,
        init_kwargs={
            "activation": activations.gelu,
        },
        input_shape=(2, 2),
        expected_output_shape=(2, 2),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        expected_num_seed_generators=0,
        expected_num_losses=0,
        supports_masking=True,
        assert_built_after_instantiation=True,
    )
