"""Translated from Keras 3: ``keras/src/ops/numpy_test.py`` (the correctness tests of the
functions ``nablanet.keras_ops`` implements), run against ``nablanet.keras_ops``.

Same inputs, expected values (NumPy's) and tolerances (``assertAllClose``: atol = rtol = 1e-6).

Ported: from ``NumpyTwoInputOpsCorrectnessTest`` test_matmul, test_linspace, test_maximum,
test_minimum, test_where; from ``NumpyOneInputOpsCorrectnessTest`` test_mean, test_var,
test_sum, test_square, test_abs, test_absolute, test_squeeze, test_transpose,
test_transpose_rejects_invalid_axes, test_argmax, test_argmin, test_clip, test_concatenate,
test_exp, test_expand_dims, test_log, test_max, test_min, test_ones_like, test_repeat,
test_reshape, test_reshape_rejects_invalid_newshape, test_sqrt, test_stack, test_std,
test_tile; from ``NumpyArrayCreateOpsCorrectnessTest`` test_ones, test_zeros, test_arange.

Left out, in every ported test: the calls through Keras's ``Operation`` classes
(``knp.Mean()(x)``, ``knp.Tile([2, 3])(x)``, ...) -- symbolic-graph machinery with no meaning
outside Keras's backends; the same computations are checked through the functions.
Left out whole: the ``*DynamicShapeTest`` / ``*StaticShapeTest`` classes (shape inference on
symbolic ``KerasTensor``s), ``NumpyDtypeTest`` (backend dtype-promotion tables; nablanet keeps
NumPy's promotion, see docs/keras-ops.md), ``SparseTest`` and the ``*_sparse`` tests (no sparse
tensors) and the tests of functions nablanet does not implement.
test_transpose_rejects_invalid_axes uses an eager array where Keras uses a symbolic tensor
(same axes, same messages).
"""

from __future__ import annotations

import numpy as np
import pytest

from nablanet import keras_ops as knp


def assert_all_close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), atol=1e-6, rtol=1e-6)


def test_matmul():
    x = np.ones([2, 3, 4, 5])
    y = np.ones([2, 3, 5, 6])
    z = np.ones([5, 6])
    p = np.ones([4])
    assert_all_close(knp.matmul(x, y), np.matmul(x, y))
    assert_all_close(knp.matmul(x, z), np.matmul(x, z))
    assert_all_close(knp.matmul(p, x), np.matmul(p, x))


def test_linspace():
    assert_all_close(knp.linspace(0, 10, 5), np.linspace(0, 10, 5))
    assert_all_close(knp.linspace(0, 10, 5, endpoint=False),
                     np.linspace(0, 10, 5, endpoint=False))
    start = np.zeros([2, 3, 4])
    stop = np.ones([2, 3, 4])
    assert_all_close(knp.linspace(start, stop, 5, retstep=True)[0],
                     np.linspace(start, stop, 5, retstep=True)[0])
    assert_all_close(knp.linspace(start, stop, 5, endpoint=False, retstep=True)[0],
                     np.linspace(start, stop, 5, endpoint=False, retstep=True)[0])
    assert_all_close(
        knp.linspace(start, stop, 5, endpoint=False, retstep=True, dtype="int32")[0],
        np.linspace(start, stop, 5, endpoint=False, retstep=True, dtype="int32")[0])
    # `num` as a tensor (keras-team/keras#19772)
    assert_all_close(knp.linspace(0, 10, knp.convert_to_tensor(5)), np.linspace(0, 10, 5))
    assert_all_close(knp.linspace(0, 10, knp.convert_to_tensor(5), endpoint=False),
                     np.linspace(0, 10, 5, endpoint=False))


def test_maximum():
    x = np.array([[1, 2], [3, 4]])
    y = np.array([[5, 6], [7, 8]])
    assert_all_close(knp.maximum(x, y), np.maximum(x, y))
    assert_all_close(knp.maximum(x, 1), np.maximum(x, 1))
    assert_all_close(knp.maximum(1, x), np.maximum(1, x))


def test_minimum():
    x = np.array([[1, 2], [3, 4]])
    y = np.array([[5, 6], [7, 8]])
    assert_all_close(knp.minimum(x, y), np.minimum(x, y))
    assert_all_close(knp.minimum(x, 1), np.minimum(x, 1))
    assert_all_close(knp.minimum(1, x), np.minimum(1, x))


def test_where():
    x = np.array([1, 2, 3])
    y = np.array([4, 5, 6])
    assert_all_close(knp.where(x > 1, x, y), np.where(x > 1, x, y))
    assert_all_close(knp.where(x > 1), np.where(x > 1))
    with pytest.raises(ValueError, match="`x1` and `x2` either both should be `None`"):
        knp.where(x > 1, x, None)


def test_mean():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.mean(x), np.mean(x))
    assert_all_close(knp.mean(x, axis=()), np.mean(x, axis=()))
    assert_all_close(knp.mean(x, axis=1), np.mean(x, axis=1))
    assert_all_close(knp.mean(x, axis=(1,)), np.mean(x, axis=(1,)))
    assert_all_close(knp.mean(x, axis=1, keepdims=True), np.mean(x, axis=1, keepdims=True))
    # overflow
    x = np.array([65504, 65504, 65504], dtype="float16")
    assert_all_close(knp.mean(x), np.mean(x))


def test_var():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.var(x), np.var(x))
    assert_all_close(knp.var(x, axis=()), np.var(x, axis=()))
    assert_all_close(knp.var(x, axis=1), np.var(x, axis=1))
    assert_all_close(knp.var(x, axis=(1,)), np.var(x, axis=(1,)))
    assert_all_close(knp.var(x, axis=1, keepdims=True), np.var(x, axis=1, keepdims=True))


def test_sum():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.sum(x), np.sum(x))
    assert_all_close(knp.sum(x, axis=()), np.sum(x, axis=()))
    assert_all_close(knp.sum(x, axis=1), np.sum(x, axis=1))
    assert_all_close(knp.sum(x, axis=(1,)), np.sum(x, axis=(1,)))
    assert_all_close(knp.sum(x, axis=1, keepdims=True), np.sum(x, axis=1, keepdims=True))


def test_square():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.square(x), np.square(x))


def test_abs():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.abs(x), np.abs(x))


def test_absolute():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.absolute(x), np.absolute(x))


def test_squeeze():
    x = np.ones([1, 3, 1, 5])
    assert_all_close(knp.squeeze(x), np.squeeze(x))
    assert_all_close(knp.squeeze(x, axis=0), np.squeeze(x, axis=0))
    # Multiple axes
    x = np.ones([2, 1, 1, 1])
    assert_all_close(knp.squeeze(x, (1, 2)), np.squeeze(x, (1, 2)))
    assert_all_close(knp.squeeze(x, (-1, -2)), np.squeeze(x, (-1, -2)))
    assert_all_close(knp.squeeze(x, (1, 2, 3)), np.squeeze(x, (1, 2, 3)))
    assert_all_close(knp.squeeze(x, (-1, 1)), np.squeeze(x, (-1, 1)))


def test_transpose():
    x = np.ones([1, 2, 3, 4, 5])
    assert_all_close(knp.transpose(x), np.transpose(x))
    assert_all_close(knp.transpose(x, axes=(1, 0, 3, 2, 4)),
                     np.transpose(x, axes=(1, 0, 3, 2, 4)))
    assert_all_close(knp.transpose(x, axes=(-4, -5, -2, -3, -1)),
                     np.transpose(x, axes=(-4, -5, -2, -3, -1)))


def test_transpose_rejects_invalid_axes():
    # Keras uses a symbolic input; nablanet validates eager tensors with the same messages.
    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="valid permutation.*axes=\\[0, 0, 0\\]"):
        knp.transpose(x, axes=[0, 0, 0])
    with pytest.raises(ValueError,
                       match="Each axis in `axes` must be an integer in \\[-3, 3\\)"):
        knp.transpose(x, axes=[0, 1, 5])
    with pytest.raises(ValueError, match="must be a list of the same length as the input shape"):
        knp.transpose(x, axes=[0, 1])


def test_argmax():
    x = np.array([[1, 2, 3], [3, 2, 1], [4, 5, 6]])
    assert_all_close(knp.argmax(x), np.argmax(x))
    assert_all_close(knp.argmax(x, axis=1), np.argmax(x, axis=1))
    assert_all_close(knp.argmax(x, axis=1, keepdims=True), np.argmax(x, axis=1, keepdims=True))
    assert_all_close(knp.argmax(x, keepdims=True), np.argmax(x, keepdims=True))


def test_argmin():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.argmin(x), np.argmin(x))
    assert_all_close(knp.argmin(x, axis=1), np.argmin(x, axis=1))
    assert_all_close(knp.argmin(x, keepdims=True), np.argmin(x, keepdims=True))


def test_clip():
    x = np.array([[1.2, 2.1, 0.5], [2.4, 11.9, 0.5]])
    assert_all_close(knp.clip(x, 1, 2), np.clip(x, 1, 2))
    assert_all_close(knp.clip(x, 1, 2), np.clip(x, 1, 2))


def test_concatenate():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    y = np.array([[4, 5, 6], [6, 5, 4]])
    z = np.array([[7, 8, 9], [9, 8, 7]])
    assert_all_close(knp.concatenate([x, y], axis=0), np.concatenate([x, y], axis=0))
    assert_all_close(knp.concatenate([x, y, z], axis=0), np.concatenate([x, y, z], axis=0))
    assert_all_close(knp.concatenate([x, y], axis=1), np.concatenate([x, y], axis=1))


def test_exp():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.exp(x), np.exp(x))


def test_expand_dims():
    x = np.ones([2, 3, 4])
    assert_all_close(knp.expand_dims(x, 0), np.expand_dims(x, 0))
    assert_all_close(knp.expand_dims(x, 1), np.expand_dims(x, 1))
    assert_all_close(knp.expand_dims(x, -2), np.expand_dims(x, -2))
    # Multiple axes
    assert_all_close(knp.expand_dims(x, (1, 2)), np.expand_dims(x, (1, 2)))
    assert_all_close(knp.expand_dims(x, (-1, -2)), np.expand_dims(x, (-1, -2)))
    assert_all_close(knp.expand_dims(x, (-1, 1)), np.expand_dims(x, (-1, 1)))


def test_log():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.log(x), np.log(x))


def test_max():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.max(x), np.max(x))
    assert_all_close(knp.max(x, 0), np.max(x, 0))
    assert_all_close(knp.max(x, 1), np.max(x, 1))
    # max with initial
    assert_all_close(knp.max(x, initial=4), 4)
    # empty tensor
    x = np.array([[]])
    assert_all_close(knp.max(x, initial=1), np.max(x, initial=1))
    assert_all_close(knp.max(x, initial=1, keepdims=True), np.max(x, initial=1, keepdims=True))


def test_min():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.min(x), np.min(x))
    assert_all_close(knp.min(x, axis=(0, 1)), np.min(x, (0, 1)))
    assert_all_close(knp.min(x, axis=()), np.min(x, axis=()))
    assert_all_close(knp.min(x, 0), np.min(x, 0))
    assert_all_close(knp.min(x, 1), np.min(x, 1))
    # min with initial
    assert_all_close(knp.min(x, initial=0), 0)
    # empty tensor
    x = np.array([[]])
    assert_all_close(knp.min(x, initial=1), np.min(x, initial=1))
    assert_all_close(knp.min(x, initial=1, keepdims=True), np.min(x, initial=1, keepdims=True))


def test_ones_like():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.ones_like(x), np.ones_like(x))


def test_repeat():
    x = np.array([[1, 2], [3, 4]])
    assert_all_close(knp.repeat(x, 2), np.repeat(x, 2))
    assert_all_close(knp.repeat(x, np.array([2])), np.repeat(x, np.array([2])))
    assert_all_close(knp.repeat(x, 3, axis=1), np.repeat(x, 3, axis=1))
    assert_all_close(knp.repeat(x, np.array([1, 2]), axis=-1),
                     np.repeat(x, np.array([1, 2]), axis=-1))
    assert_all_close(knp.repeat(x, np.array([1, 2]), axis=0),
                     np.repeat(x, np.array([1, 2]), axis=0))


def test_reshape():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.reshape(x, [3, 2]), np.reshape(x, [3, 2]))
    assert_all_close(knp.reshape(x, -1), np.reshape(x, -1))
    assert_all_close(knp.reshape(x, 6), np.reshape(x, 6))
    assert_all_close(knp.reshape(knp.convert_to_tensor(x), -1), np.reshape(x, -1))


def test_reshape_rejects_invalid_newshape():
    x = np.zeros(20, dtype="float32")
    with pytest.raises(ValueError, match="non-negative integer.*-1.*newshape=\\(-2, 5\\)"):
        knp.reshape(x, (-2, 5))
    with pytest.raises(ValueError,
                       match="at most one unknown dimension.*newshape=\\(-1, -1, 5\\)"):
        knp.reshape(x, (-1, -1, 5))


def test_sqrt():
    x = np.array([[1, 4, 9], [16, 25, 36]], dtype="float32")
    ref_y = np.sqrt(x)
    y = knp.sqrt(x)
    assert y.dtype == np.float32
    assert_all_close(y, ref_y)


def test_stack():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    y = np.array([[4, 5, 6], [6, 5, 4]])
    assert_all_close(knp.stack([x, y]), np.stack([x, y]))
    assert_all_close(knp.stack([x, y], axis=1), np.stack([x, y], axis=1))


def test_std():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.std(x), np.std(x))
    assert_all_close(knp.std(x, axis=1), np.std(x, axis=1))
    assert_all_close(knp.std(x, axis=1, keepdims=True), np.std(x, axis=1, keepdims=True))


def test_tile():
    x = np.array([[1, 2, 3], [3, 2, 1]])
    assert_all_close(knp.tile(x, 2), np.tile(x, 2))
    assert_all_close(knp.tile(x, [2, 3]), np.tile(x, [2, 3]))
    # repeats.ndim > x.ndim
    assert_all_close(knp.tile(x, [2, 3, 4]), np.tile(x, [2, 3, 4]))
    # repeats.ndim < x.ndim
    assert_all_close(knp.tile(x, [2]), np.tile(x, [2]))


def test_ones():
    assert_all_close(knp.ones([2, 3]), np.ones([2, 3]))


def test_zeros():
    assert_all_close(knp.zeros([2, 3]), np.zeros([2, 3]))


def test_arange():
    assert_all_close(knp.arange(3), np.arange(3))
    assert_all_close(knp.arange(3, 7), np.arange(3, 7))
    assert_all_close(knp.arange(3, 7, 2), np.arange(3, 7, 2))
    assert knp.arange(3).dtype == np.int32
    import warnings

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        knp.arange(3, dtype="int")
    assert len(record) == 0
