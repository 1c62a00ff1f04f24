"""Translated from Keras 3's ``keras/src/layers/rnn/gru_test.py`` (keras-team/keras).

The TPU-only tolerances are dropped (the default ones apply). ``expected_num_non_trainable_
variables=1`` (the SeedGenerator state of a layer with dropout) is passed as in Keras and not
checked (see ``layer_test_helper.run_layer_test``).

Left out:

- ``test_stateful_with_symbolic_batch_size``: TensorFlow backend only (``tf.function``
  with a symbolic batch size).
- ``test_torch_cudnn_dispatch_fires``: torch backend on CUDA only (cuDNN dispatch).
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
        layers.GRU,
        init_kwargs={"units": 3, "dropout": 0.5},
        input_shape=(3, 2, 4),
        call_kwargs={"training": True},
        expected_output_shape=(3, 3),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
        supports_masking=False,
    )
    run_layer_test(
        layers.GRU,
        init_kwargs={"units": 3, "dropout": 0.5, "recurrent_dropout": 0.5},
        input_shape=(3, 2, 4),
        call_kwargs={"training": True},
        expected_output_shape=(3, 3),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=0,
        supports_masking=False,
    )
    run_layer_test(
        layers.GRU,
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
    layer = layers.GRU(
        3,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.5217289, 0.5217289, 0.5217289],
                [0.6371659, 0.6371659, 0.6371659],
                [0.39384964, 0.39384964, 0.3938496],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.GRU(
        3,
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
                [0.24406259, 0.24406259, 0.24406259],
                [0.611516, 0.611516, 0.611516],
                [0.3928808, 0.3928808, 0.3928808],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.GRU(
        3,
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
                [0.5217289, 0.5217289, 0.5217289],
                [0.6371659, 0.6371659, 0.6371659],
                [0.39384964, 0.39384964, 0.3938496],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.GRU(
        3,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        reset_after=False,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.51447755, 0.51447755, 0.51447755],
                [0.6426879, 0.6426879, 0.6426879],
                [0.40208298, 0.40208298, 0.40208298],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )

    layer = layers.GRU(
        3,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        use_bias=False,
    )
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.49988455, 0.49988455, 0.49988455],
                [0.64701194, 0.64701194, 0.64701194],
                [0.4103359, 0.4103359, 0.4103359],
            ]
        ),
        atol=1e-5,
        rtol=1e-5,
    )


def test_statefulness():
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layers.GRU(
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
                [0.29542392, 0.29542392, 0.29542392, 0.29542392],
                [0.5885018, 0.5885018, 0.5885018, 0.5885018],
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
                [0.29542392, 0.29542392, 0.29542392, 0.29542392],
                [0.5885018, 0.5885018, 0.5885018, 0.5885018],
            ]
        ),
    )


def test_pass_initial_state():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = np.arange(4).reshape((2, 2)).astype("float32")
    layer = layers.GRU(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
    )
    output = layer(sequence, initial_state=initial_state)
    assert_all_close(
        output,
        np.array([[0.23774096, 0.33508456], [0.83659905, 1.0227708]]),
    )

    layer = layers.GRU(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        go_backwards=True,
    )
    output = layer(sequence, initial_state=initial_state)
    assert_all_close(
        output,
        np.array([[0.13486053, 0.23261218], [0.78257304, 0.9691353]]),
    )


def test_pass_return_state():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    initial_state = np.arange(4).reshape((2, 2)).astype("float32")

    # Test with go_backwards=False
    layer = layers.GRU(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        return_state=True,
    )
    output, state = layer(sequence, initial_state=initial_state)
    assert_all_close(
        output,
        np.array([[0.23774096, 0.33508456], [0.83659905, 1.0227708]]),
    )
    assert_all_close(
        output,
        state,
    )

    # Test with go_backwards=True
    layer = layers.GRU(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        return_state=True,
        go_backwards=True,
    )
    output, state = layer(sequence, initial_state=initial_state)
    assert_all_close(
        output,
        np.array([[0.13486053, 0.23261218], [0.78257304, 0.9691353]]),
    )
    assert_all_close(
        output,
        state,
    )


def test_masking():
    sequence = np.arange(24).reshape((2, 4, 3)).astype("float32")
    mask = np.array([[True, True, False, True], [True, False, False, True]])
    layer = layers.GRU(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        unroll=True,
    )
    output = layer(sequence, mask=mask)
    assert_all_close(
        output,
        np.array([[0.19393763, 0.19393763], [0.30818558, 0.30818558]]),
    )

    layer = layers.GRU(
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
                [0.03606692, 0.03606692],
                [0.09497581, 0.09497581],
                [0.09497581, 0.09497581],
                [0.19393763, 0.19393763],
            ]
        ),
    )
    assert_all_close(
        output[1],
        np.array(
            [
                [0.16051409, 0.16051409],
                [0.16051409, 0.16051409],
                [0.16051409, 0.16051409],
                [0.30818558, 0.30818558],
            ]
        ),
    )

    layer = layers.GRU(
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
                [0.03606692, 0.03606692],
                [0.09497581, 0.09497581],
                [0.0, 0.0],
                [0.19393763, 0.19393763],
            ]
        ),
    )
    assert_all_close(
        output[1],
        np.array(
            [
                [0.16051409, 0.16051409],
                [0.0, 0.0],
                [0.0, 0.0],
                [0.30818558, 0.30818558],
            ]
        ),
    )

    layer = layers.GRU(
        2,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
        go_backwards=True,
    )
    output = layer(sequence, mask=mask)
    assert_all_close(
        output,
        np.array([[0.11669192, 0.11669192], [0.28380975, 0.28380975]]),
    )


def test_legacy_implementation_argument():
    sequence = np.arange(72).reshape((3, 6, 4)).astype("float32")
    layer = layers.GRU(
        3,
        kernel_initializer=initializers.Constant(0.01),
        recurrent_initializer=initializers.Constant(0.02),
        bias_initializer=initializers.Constant(0.03),
    )
    config = layer.get_config()
    config["implementation"] = 0  # Add legacy argument
    layer = layers.GRU.from_config(config)
    output = layer(sequence)
    assert_all_close(
        output,
        np.array(
            [
                [0.5217289, 0.5217289, 0.5217289],
                [0.6371659, 0.6371659, 0.6371659],
                [0.39384964, 0.39384964, 0.3938496],
            ]
        ),
    )
