"""Translated from Keras 3's ``keras/src/layers/activations/prelu_test.py`` (keras-team/keras).

Left out: none.
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import assert_all_close, run_layer_test

from nablanet.layers import PReLU


def test_prelu():
    run_layer_test(
        PReLU,
        init_kwargs={
            "alpha_initializer": "zeros",
            "alpha_regularizer": "L1",
            "alpha_constraint": "MaxNorm",
            "shared_axes": 1,
        },
        input_shape=(2, 3, 4),
        supports_masking=True,
    )


def test_prelu_correctness():
    def np_prelu(x, alpha):
        return (x > 0) * x + (x <= 0) * alpha * x

    inputs = np.random.randn(2, 10, 5, 3)
    prelu_layer = PReLU(
        alpha_initializer="glorot_uniform",
        alpha_regularizer="l1",
        alpha_constraint="non_neg",
        shared_axes=(1, 2),
    )
    prelu_layer.build(inputs.shape)

    weights = np.random.random((1, 1, 3))
    prelu_layer.alpha.assign(weights)
    ref_out = np_prelu(inputs, weights)
    assert_all_close(prelu_layer(inputs), ref_out)
