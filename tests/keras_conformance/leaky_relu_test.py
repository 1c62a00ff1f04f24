"""Translated from Keras 3's ``keras/src/layers/activations/leaky_relu_test.py``
(keras-team/keras).

Left out: none.
"""

from __future__ import annotations

import numpy as np
import pytest
from layer_test_helper import assert_all_close, run_layer_test

from nablanet.layers import LeakyReLU


def test_leaky_relu():
    run_layer_test(
        LeakyReLU,
        init_kwargs={
            "negative_slope": 1,
        },
        input_shape=(2, 3, 4),
        supports_masking=True,
        assert_built_after_instantiation=True,
    )


def test_leaky_relu_correctness():
    leaky_relu_layer = LeakyReLU(negative_slope=0.5)
    input = np.array([-10, -5, 0.0, 5, 10])
    expected_output = np.array([-5.0, -2.5, 0.0, 5.0, 10.0])
    result = leaky_relu_layer(input)
    assert_all_close(result, expected_output)


def test_invalid_usage():
    with pytest.raises(
        ValueError, match="The negative_slope value of a Leaky ReLU layer cannot be None"
    ):
        run_layer_test(
            LeakyReLU,
            init_kwargs={"negative_slope": None},
            input_shape=(2, 3, 4),
            supports_masking=True,
        )
