"""Translated from Keras 3's ``keras/src/layers/rnn/lstm_test.py`` (keras-team/keras).

The TPU-only tolerances are dropped (the default ones apply). ``expected_num_non_trainable_
variables=1`` (the SeedGenerator state of a layer with dropout) is passed as in Keras and not
checked (see ``layer_test_helper.run_layer_test``).

Left out: the ``xfail`` marker of ``test_masking`` (it marks a TensorFlow-on-GPU cuDNN bug)
is dropped; the test itself is translated.
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import (
    assert_all_close,
    parameters,
    run_layer_test,
)

from nablanet import initializers, layers


def test_basics():
    run_layer_test(
        layers.LSTM,
        init_kwargs={"units": 3, "dropout": 0.5},
        input_shape=(3, 2, 4),
        call_kwargs={"training": True},
        expected_output_shape=(3, 3),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
        supports_masking=False,
    )
    run_layer_test(
        layers.LSTM,
        init_kwargs={"units": 3, "dropout": 0.5, "recurrent_dropout": 0.5},
        input_shape=(3, 2, 4),
        call_kwargs={"training": True},
        expected_output_shape=(3, 3),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
        supports_masking=False,
    )
    run_layer_test(
        layers.LSTM,
        init_kwargs={
            "units": 3,
            "return_sequences": True,
            "bias_regularizer": "l1",
            "kernel_regularizer": "l2",
            "recurrent_regularizer": "l2",
        },
        input_shape=(3, 2, 4),
        expected_output_shape=(3, 2, 3),
        expected_num_losses=3,
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
        supports_masking=False,
    )


@parameters([1, 2])
def test_correctness(implementation):
    sequence = np.arange(72).reshape((3, 6, 4)).astype("float32")
    layer = layers.LSTM(
        3,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        implementation=implementation,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.6288687, 0.6288687, 0.6288687],
                [0.86899155, 0.86899155, 0.86899155],
                [0.9460773, 0.9460773, 0.9460773],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.LSTM(
        3,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        go_backwards=True,
        implementation=implementation,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.35622165, 0.35622165, 0.35622165],
                [0.74789524, 0.74789524, 0.74789524],
                [0.8872726, 0.8872726, 0.8872726],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.LSTM(
        3,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        unroll=True,
        implementation=implementation,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.6288687, 0.6288687, 0.6288687],
                [0.86899155, 0.86899155, 0.86899155],
                [0.9460773, 0.9460773, 0.9460773],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.LSTM(
        3,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        unit_forget_bias=False,
        implementation=implementation,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.57019705, 0.57019705, 0.57019705],
                [0.8661914, 0.8661914, 0.8661914],
                [0.9459622, 0.9459622, 0.9459622],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.LSTM(
        3,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        use_bias=False,
        implementation=implementation,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.54986924, 0.54986924, 0.54986924],
                [0.86226785, 0.86226785, 0.86226785],
                [0.9443936, 0.9443936, 0.9443936],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )


def test_statefulness():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layers.LSTM(
        4,
        stateful=True,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
    )
    layer(sequence)
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.3124785, 0.3124785, 0.3124785, 0.3124785],
                [0.6863672, 0.6863672, 0.6863672, 0.6863672],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )
    layer.reset_state()
    layer(sequence)
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.3124785, 0.3124785, 0.3124785, 0.3124785],
                [0.6863672, 0.6863672, 0.6863672, 0.6863672],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )


def test_pass_initial_state():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = [
        np.arange(4).reshape((2, 2)).astype("float32"),
        np.arange(4).reshape((2, 2)).astype("float32"),
    ]
    layer = layers.LSTM(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
    )
    output = layer(sequence, initial_state=initial_state)
    assert_all_close(
        output,
        np.array([[0.20574439, 0.3558822], [0.64930826, 0.66276]]),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.LSTM(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        go_backwards=True,
    )
    output = layer(sequence, initial_state=initial_state)
    assert_all_close(
        output,
        np.array([[0.13281618, 0.2790356], [0.5839337, 0.5992567]]),
        atol=1e-5,
        rtol=1e-5,
    )


def test_masking():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    layer = layers.LSTM(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        unroll=True,
    )
    output = layer(sequence, mask=mask)
    assert_all_close(
        output,
        np.array([[0.11755939, 0.11755939], [0.28556206, 0.28556206]]),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.LSTM(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        return_sequences=True,
    )
    output = layer(sequence, mask=mask)
    assert_all_close(
        output[0],
        np.array(
            [
                [0.01588910, 0.01588910],
                [0.05552048, 0.05552048],
                [0.11755939, 0.11755939],
                [0.11755939, 0.11755939],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )
    assert_all_close(
        output[1],
        np.array(
            [
                [0.14185596, 0.14185596],
                [0.28556206, 0.28556206],
                [0.28556206, 0.28556206],
                [0.28556206, 0.28556206],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.LSTM(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        return_sequences=True,
        zero_output_for_mask=True,
    )
    output = layer(sequence, mask=mask)
    assert_all_close(
        output[0],
        np.array(
            [
                [0.01588910, 0.01588910],
                [0.05552048, 0.05552048],
                [0.11755939, 0.11755939],
                [0.0, 0.0],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )
    assert_all_close(
        output[1],
        np.array(
            [
                [0.14185596, 0.14185596],
                [0.28556206, 0.28556206],
                [0.0, 0.0],
                [0.0, 0.0],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    backwards_mask = np.array(
        [[False, True, True, True], [False, False, True, True]]
    )
    layer = layers.LSTM(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        go_backwards=True,
    )
    output = layer(sequence, mask=backwards_mask)
    assert_all_close(
        output,
        np.array([[0.15341201, 0.15341201], [0.3844719, 0.3844719]]),
        atol=1e-5,
        rtol=1e-5,
    )
