"""Translated from Keras 3's ``keras/src/layers/pooling/global_max_pooling_test.py``
(keras-team/keras).

The NumPy references are Keras's test code, translated as is; ``@parameterized.*`` is
``layer_test_helper``'s pytest version.

Left out: ``test_global_max_pooling3d``,
``test_global_max_pooling3d_global_max_pooling_correctness``: nablanet has no 3-D layers
(GlobalMaxPooling3D; the chapter's networks are 1-D and 2-D).
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import (
    assert_all_close,
    parameters,
    run_layer_test,
)

from nablanet import layers


@parameters(
    ("channels_last", False, (3, 5, 4), (3, 4)),
    ("channels_last", True, (3, 5, 4), (3, 1, 4)),
    ("channels_first", False, (3, 5, 4), (3, 5)),
)
def test_global_max_pooling1d(
    data_format,
    keepdims,
    input_shape,
    output_shape,
):
    run_layer_test(
        layers.GlobalMaxPooling1D,
        init_kwargs={
            "data_format": data_format,
            "keepdims": keepdims,
        },
        input_shape=input_shape,
        expected_output_shape=output_shape,
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        expected_num_losses=0,
        supports_masking=False,
        assert_built_after_instantiation=True,
    )


@parameters(
    ("channels_last", False, (3, 5, 6, 4), (3, 4)),
    ("channels_last", True, (3, 5, 6, 4), (3, 1, 1, 4)),
    ("channels_first", False, (3, 5, 6, 4), (3, 5)),
)
def test_global_max_pooling2d(
    data_format,
    keepdims,
    input_shape,
    output_shape,
):
    run_layer_test(
        layers.GlobalMaxPooling2D,
        init_kwargs={
            "data_format": data_format,
            "keepdims": keepdims,
        },
        input_shape=input_shape,
        expected_output_shape=output_shape,
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        expected_num_losses=0,
        supports_masking=False,
        assert_built_after_instantiation=True,
    )


@parameters(
    ("channels_last", False),
    ("channels_last", True),
    ("channels_first", False),
    ("channels_first", True),
)
def test_global_max_pooling1d_global_max_pooling_correctness(data_format, keepdims):
    def np_global_max_pool1d(x, data_format, keepdims):
        steps_axis = [1] if data_format == "channels_last" else [2]
        res = np.apply_over_axes(np.max, x, steps_axis)
        if not keepdims:
            res = res.squeeze()
        return res

    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))
    layer = layers.GlobalMaxPooling1D(
        data_format=data_format,
        keepdims=keepdims,
    )
    outputs = layer(inputs)
    expected = np_global_max_pool1d(inputs, data_format, keepdims)
    assert_all_close(outputs, expected)


@parameters(
    ("channels_last", False),
    ("channels_last", True),
    ("channels_first", False),
    ("channels_first", True),
)
def test_global_max_pooling2d_global_max_pooling_correctness(data_format, keepdims):
    def np_global_max_pool2d(x, data_format, keepdims):
        steps_axis = [1, 2] if data_format == "channels_last" else [2, 3]
        res = np.apply_over_axes(np.max, x, steps_axis)
        if not keepdims:
            res = res.squeeze()
        return res

    inputs = np.arange(96, dtype="float32").reshape((2, 3, 4, 4))
    layer = layers.GlobalMaxPooling2D(
        data_format=data_format,
        keepdims=keepdims,
    )
    outputs = layer(inputs)
    expected = np_global_max_pool2d(inputs, data_format, keepdims)
    assert_all_close(outputs, expected)
