"""Translated from Keras 3's ``keras/src/layers/activations/softmax_test.py``
(keras-team/keras).

Left out: none.
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import assert_all_close, assert_raises_regex, run_layer_test

from nablanet.layers import Softmax


def test_softmax():
    run_layer_test(
        Softmax,
        init_kwargs={},
        input_shape=(2, 3, 4),
        supports_masking=True,
        assert_built_after_instantiation=True,
    )


def test_softmax_correctness():
    softmax_layer = Softmax()
    input = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    expected_output = np.array(
        [
            [0.21194157, 0.5761169, 0.21194157],
            [0.21194157, 0.5761169, 0.21194157],
        ]
    )
    result = softmax_layer(input)
    assert_all_close(result, expected_output)


def test_softmax_correctness_with_mask():
    softmax_layer = Softmax(axis=(1, 0))
    input = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    expected_output = np.array(
        [[0.21194154, 0.0, 0.21194154], [0.0, 0.57611686, 0.0]]
    )
    result = softmax_layer(input, mask=mask)
    assert_all_close(result, expected_output)


def test_softmax_correctness_with_axis():
    softmax_layer = Softmax(axis=(1))
    input = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    expected_output = np.array(
        [
            [0.21194157, 0.5761169, 0.21194157],
            [0.21194157, 0.5761169, 0.21194157],
        ]
    )
    result = softmax_layer(input)
    assert_all_close(result, expected_output)


def test_softmax_masked_values_are_zero_including_fully_masked():
    """
    Tests softmax with mask on default axis (-1).
    Ensures output is 0 where mask is False.
    Includes a row where all elements are masked.
    """
    softmax_layer = Softmax()  # Default axis = -1

    input = np.array(
        [
            [1.0, 2.0, 5.0, 1.0],
            [1.0, 1.0, 1.0, 1.0],
            [3.0, 1.0, 2.0, 4.0],
        ],
        dtype=np.float32,
    )
    mask = np.array(
        [
            [True, True, False, False],  # Partially masked
            [False, False, False, False],  # Fully masked
            [True, True, True, True],  # Not masked
        ],
        dtype=bool,
    )

    expected_output = np.array(
        [
            [0.268941, 0.731059, 0.0, 0.0],  # last two masked
            [0.0, 0.0, 0.0, 0.0],  # Fully masked row should be all zeros
            [0.236883, 0.032059, 0.087144, 0.643914],
        ]
    )

    result = softmax_layer(input, mask=mask)

    assert_all_close(result, expected_output)


def test_softmax_mask_broadcastable():
    softmax_layer = Softmax()
    # mask (1, 3) broadcastable to inputs (2, 3) — should work
    inputs = np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 5.0]])
    mask = np.array([[1.0, 0.0, 1.0]])
    result = softmax_layer(inputs, mask=mask)
    # Masked position (column 1) should be 0
    assert_all_close(result[:, 1], [0.0, 0.0])


def test_softmax_mask_broadcastable_fewer_dims():
    softmax_layer = Softmax(axis=-1)
    # mask (3,) broadcastable to inputs (2, 3) — should work
    inputs = np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 5.0]])
    mask = np.array([1.0, 0.0, 1.0])
    result = softmax_layer(inputs, mask=mask)
    assert_all_close(result[:, 1], [0.0, 0.0])


def test_softmax_mask_shape_mismatch():
    softmax_layer = Softmax()
    # mask (2, 3) with inputs (1, 3) — mask is larger, not allowed
    inputs = np.array([[1.0, 2.0, 1.0]])
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    with assert_raises_regex(ValueError, "broadcastable"):
        softmax_layer(inputs, mask=mask)


def test_softmax_mask_too_many_dims():
    softmax_layer = Softmax()
    # mask has more dimensions than inputs — not allowed
    inputs = np.array([[1.0, 2.0, 1.0]])
    mask = np.array([[[1.0, 0.0, 1.0]]])
    with assert_raises_regex(
        ValueError, "must not have more dimensions"
    ):
        softmax_layer(inputs, mask=mask)
