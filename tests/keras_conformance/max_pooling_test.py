"""Translated from Keras 3's ``keras/src/layers/pooling/max_pooling_test.py``
(keras-team/keras).

The NumPy references are Keras's test code, translated as is; ``@parameterized.*`` is
``layer_test_helper``'s pytest version.

Left out: ``np_maxpool3d``, ``test_max_pooling3d``,
``test_max_pooling3d_max_pooling_correctness``: nablanet has no 3-D layers (MaxPooling3D; the
chapter's networks are 1-D and 2-D).
"""

from __future__ import annotations

import numpy as np
from layer_test_helper import (
    assert_all_close,
    parameters,
    run_layer_test,
)
from numpy.lib.stride_tricks import as_strided

from nablanet import layers


def _same_padding(input_size, pool_size, stride):
    if input_size % stride == 0:
        return max(pool_size - stride, 0)
    else:
        return max(pool_size - (input_size % stride), 0)


def np_maxpool1d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.swapaxes(1, 2)
    if isinstance(pool_size, (tuple, list)):
        pool_size = pool_size[0]
    if isinstance(strides, (tuple, list)):
        h_stride = strides[0]
    else:
        h_stride = strides

    if padding == "same":
        n_batch, h_x, ch_x = x.shape
        pad_value = _same_padding(h_x, pool_size, h_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, pad_value)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=-np.inf)

    n_batch, h_x, ch_x = x.shape
    out_h = int((h_x - pool_size) / h_stride) + 1

    stride_shape = (n_batch, out_h, ch_x, pool_size)
    strides = (
        x.strides[0],
        h_stride * x.strides[1],
        x.strides[2],
        x.strides[1],
    )
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.max(windows, axis=(3,))
    if data_format == "channels_first":
        out = out.swapaxes(1, 2)
    return out


def np_maxpool2d(x, pool_size, strides, padding, data_format):
    if data_format == "channels_first":
        x = x.transpose((0, 2, 3, 1))
    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size)
    if isinstance(strides, int):
        strides = (strides, strides)

    h_pool_size, w_pool_size = pool_size
    h_stride, w_stride = strides
    if padding == "same":
        n_batch, h_x, w_x, ch_x = x.shape
        h_padding = _same_padding(h_x, h_pool_size, h_stride)
        w_padding = _same_padding(w_x, w_pool_size, w_stride)
        npad = [(0, 0)] * x.ndim
        npad[1] = (0, h_padding)
        npad[2] = (0, w_padding)
        x = np.pad(x, pad_width=npad, mode="constant", constant_values=-np.inf)

    n_batch, h_x, w_x, ch_x = x.shape
    out_h = int((h_x - h_pool_size) / h_stride) + 1
    out_w = int((w_x - w_pool_size) / w_stride) + 1

    stride_shape = (n_batch, out_h, out_w, ch_x, *pool_size)
    strides = (
        x.strides[0],
        h_stride * x.strides[1],
        w_stride * x.strides[2],
        x.strides[3],
        x.strides[1],
        x.strides[2],
    )
    windows = as_strided(x, shape=stride_shape, strides=strides)
    out = np.max(windows, axis=(4, 5))
    if data_format == "channels_first":
        out = out.transpose((0, 3, 1, 2))
    return out


@parameters(
    (2, 1, "valid", "channels_last", (3, 5, 4), (3, 4, 4)),
    (2, 1, "same", "channels_first", (3, 5, 4), (3, 5, 4)),
    ((2,), (2,), "valid", "channels_last", (3, 5, 4), (3, 2, 4)),
)
def test_max_pooling1d(
    pool_size,
    strides,
    padding,
    data_format,
    input_shape,
    output_shape,
):
    run_layer_test(
        layers.MaxPooling1D,
        init_kwargs={
            "pool_size": pool_size,
            "strides": strides,
            "padding": padding,
            "data_format": data_format,
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
    (2, 1, "valid", "channels_last", (3, 5, 5, 4), (3, 4, 4, 4)),
    (2, 1, "same", "channels_first", (3, 5, 5, 4), (3, 5, 5, 4)),
    ((2, 3), (2, 2), "valid", "channels_last", (3, 5, 5, 4), (3, 2, 2, 4)),
)
def test_max_pooling2d(
    pool_size,
    strides,
    padding,
    data_format,
    input_shape,
    output_shape,
):
    run_layer_test(
        layers.MaxPooling2D,
        init_kwargs={
            "pool_size": pool_size,
            "strides": strides,
            "padding": padding,
            "data_format": data_format,
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
    (2, 1, "valid", "channels_last"),
    (2, 1, "valid", "channels_first"),
    (2, 1, "same", "channels_last"),
    (2, 1, "same", "channels_first"),
    ((2,), (2,), "valid", "channels_last"),
    ((2,), (2,), "valid", "channels_first"),
)
def test_max_pooling1d_max_pooling_correctness(
    pool_size, strides, padding, data_format
):
    inputs = np.arange(24, dtype="float32").reshape((2, 3, 4))

    layer = layers.MaxPooling1D(
        pool_size=pool_size,
        strides=strides,
        padding=padding,
        data_format=data_format,
    )
    outputs = layer(inputs)
    expected = np_maxpool1d(
        inputs, pool_size, strides, padding, data_format
    )
    assert_all_close(outputs, expected)


@parameters(
    (2, 1, "valid", "channels_last"),
    (2, 1, "valid", "channels_first"),
    ((2, 2), (2, 2), "same", "channels_last"),
    ((2, 2), (2, 2), "same", "channels_first"),
    ((2, 3), (3, 3), "same", "channels_last"),
)
def test_max_pooling2d_max_pooling_correctness(
    pool_size, strides, padding, data_format
):
    inputs = np.arange(100, dtype="float32").reshape((1, 5, 5, 4))

    layer = layers.MaxPooling2D(
        pool_size=pool_size,
        strides=strides,
        padding=padding,
        data_format=data_format,
    )
    outputs = layer(inputs)
    expected = np_maxpool2d(
        inputs, pool_size, strides, padding, data_format
    )
    assert_all_close(outputs, expected)
