"""Translated from Keras 3's ``keras/src/layers/rnn/simple_rnn_test.py`` (keras-team/keras).

The TPU-only tolerances are dropped (the default ones apply). ``expected_num_non_trainable_
variables=1`` (the SeedGenerator state of a layer with dropout) is passed as in Keras and not
checked (see ``layer_test_helper.run_layer_test``).

Left out: none.
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import (
    assert_all_close,
    run_layer_test,
)

from nablanet import initializers, layers


def test_basics():
    run_layer_test(
        layers.SimpleRNN,
        init_kwargs={"units": 3, "dropout": 0.5, "recurrent_dropout": 0.5},
        input_shape=(3, 2, 4),
        call_kwargs={"training": True},
        expected_output_shape=(3, 3),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
        expected_num_non_trainable_variables=1,
        supports_masking=False,
    )
    run_layer_test(
        layers.SimpleRNN,
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


def test_correctness():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layers.SimpleRNN(
        4,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.405432, 0.405432, 0.405432, 0.405432],
                [0.73605347, 0.73605347, 0.73605347, 0.73605347],
            ]
        ),
    )
    layer = layers.SimpleRNN(
        4,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        unroll=True,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.405432, 0.405432, 0.405432, 0.405432],
                [0.73605347, 0.73605347, 0.73605347, 0.73605347],
            ]
        ),
    )

    layer = layers.SimpleRNN(
        4,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        go_backwards=True,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.11144729, 0.11144729, 0.11144729, 0.11144729],
                [0.5528889, 0.5528889, 0.5528889, 0.5528889],
            ]
        ),
    )
    layer = layers.SimpleRNN(
        4,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        go_backwards=True,
        unroll=True,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.11144729, 0.11144729, 0.11144729, 0.11144729],
                [0.5528889, 0.5528889, 0.5528889, 0.5528889],
            ]
        ),
    )


def test_statefulness():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layers.SimpleRNN(
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
                [0.40559256, 0.40559256, 0.40559256, 0.40559256],
                [0.7361247, 0.7361247, 0.7361247, 0.7361247],
            ]
        ),
    )
    layer.reset_state()
    layer(sequence)
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.40559256, 0.40559256, 0.40559256, 0.40559256],
                [0.7361247, 0.7361247, 0.7361247, 0.7361247],
            ]
        ),
    )


def test_pass_initial_state():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = np.arange(8).reshape((2, 4)).astype("float32")
    layer = layers.SimpleRNN(
        4,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
    )
    output = layer(sequence, initial_state=initial_state)
    assert_all_close(
        output,
        np.array(
            [
                [0.33621645, 0.33621645, 0.33621645, 0.33621645],
                [0.6262637, 0.6262637, 0.6262637, 0.6262637],
            ]
        ),
    )

    layer = layers.SimpleRNN(
        4,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        go_backwards=True,
    )
    output = layer(sequence, initial_state=initial_state)
    assert_all_close(
        output,
        np.array(
            [
                [0.07344437, 0.07344437, 0.07344437, 0.07344437],
                [0.43043602, 0.43043602, 0.43043602, 0.43043602],
            ]
        ),
    )


def test_masking():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    layer = layers.SimpleRNN(
        4,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        unroll=True,
    )
    output = layer(sequence, mask=mask)
    assert_all_close(
        output,
        np.array(
            [
                [0.32951632, 0.32951632, 0.32951632, 0.32951632],
                [0.61799484, 0.61799484, 0.61799484, 0.61799484],
            ]
        ),
    )

    layer = layers.SimpleRNN(
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
                [0.0599281, 0.0599281],
                [0.15122814, 0.15122814],
                [0.15122814, 0.15122814],
                [0.32394567, 0.32394567],
            ]
        ),
    )
    assert_all_close(
        output[1],
        np.array(
            [
                [0.3969304, 0.3969304],
                [0.3969304, 0.3969304],
                [0.3969304, 0.3969304],
                [0.608085, 0.608085],
            ]
        ),
    )

    layer = layers.SimpleRNN(
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
                [0.0599281, 0.0599281],
                [0.15122814, 0.15122814],
                [0.0, 0.0],
                [0.32394567, 0.32394567],
            ]
        ),
    )
    assert_all_close(
        output[1],
        np.array(
            [
                [0.3969304, 0.3969304],
                [0.0, 0.0],
                [0.0, 0.0],
                [0.608085, 0.608085],
            ]
        ),
    )

    layer = layers.SimpleRNN(
        4,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        go_backwards=True,
    )
    output = layer(sequence, mask=mask)
    assert_all_close(
        output,
        np.array(
            [
                [0.07376196, 0.07376196, 0.07376196, 0.07376196],
                [0.43645123, 0.43645123, 0.43645123, 0.43645123],
            ]
        ),
    )
