"""Translated from Keras 3: ``keras/src/ops/nn_test.py``, class ``NNOpsCorrectnessTest``, the
tests of the functions ``nablanet.keras_ops.nn`` implements. Same inputs, expected values and
tolerances (``assertAllClose``: atol = rtol = 1e-6).

Ported: test_relu, test_relu6, test_sigmoid, test_softplus, test_softsign, test_silu,
test_log_sigmoid, test_leaky_relu, test_hard_sigmoid, test_hard_silu, test_elu, test_selu,
test_gelu, test_softmax, test_softmax_correctness_with_axis_tuple, test_log_softmax,
test_log_softmax_correctness_with_axis_tuple, test_one_hot (dense case), test_binary_crossentropy,
test_categorical_crossentropy, test_sparse_categorical_crossentropy.

Left out: test_one_hot's ``sparse=True`` case (no sparse tensors); the other tests of the class
are of functions nablanet's keras_ops does not implement (sparse_sigmoid, celu, glu, the
shrink/threshold family, pooling and convolution ops -- nablanet has them as layers -- ctc,
moments, attention, normalization ops, ...); ``NNOpsDynamicShapeTest`` /
``NNOpsStaticShapeTest`` (symbolic shape inference), ``NNOpsDtypeTest`` (backend dtype tables)
and ``NNOpsBehaviorTest`` (errors of the functions not implemented).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from nablanet import keras_ops
from nablanet.keras_ops import nn as knn


def assert_all_close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), atol=1e-6, rtol=1e-6)


X = np.array([-1, 0, 1, 2, 3], dtype=np.float32)


def test_relu():
    assert_all_close(knn.relu(X), [0, 0, 1, 2, 3])


def test_relu6():
    x = np.array([-1, 0, 1, 2, 3, 4, 5, 6, 7], dtype=np.float32)
    assert_all_close(knn.relu6(x), [0, 0, 1, 2, 3, 4, 5, 6, 6])


def test_sigmoid():
    assert_all_close(knn.sigmoid(X), [0.26894143, 0.5, 0.7310586, 0.880797, 0.95257413])


def test_softplus():
    assert_all_close(knn.softplus(X), [0.31326166, 0.6931472, 1.3132616, 2.126928, 3.0485873])


def test_softsign():
    assert_all_close(knn.softsign(X), [-0.5, 0, 0.5, 0.6666667, 0.75])


def test_silu():
    assert_all_close(knn.silu(X), [-0.26894143, 0, 0.7310586, 1.7615942, 2.8577223])


def test_log_sigmoid():
    assert_all_close(knn.log_sigmoid(X),
                     [-1.3132616, -0.6931472, -0.31326166, -0.126928, -0.04858732])


def test_leaky_relu():
    assert_all_close(knn.leaky_relu(X), [-0.2, 0, 1, 2, 3])


def test_hard_sigmoid():
    assert_all_close(knn.hard_sigmoid(X), [0.33333334, 0.5, 0.6666667, 0.8333334, 1.0])


def test_hard_silu():
    x = np.array([-3, -2, -1, 0, 1, 2, 3], dtype=np.float32)
    assert_all_close(knn.hard_silu(x),
                     [-0.0, -0.333333, -0.333333, 0.0, 0.6666667, 1.6666667, 3.0])


def test_elu():
    assert_all_close(knn.elu(X), [-0.63212055, 0, 1, 2, 3])
    assert_all_close(knn.elu(X, alpha=0.5), [-0.31606027, 0, 1, 2, 3])


def test_selu():
    assert_all_close(knn.selu(X), [-1.1113307, 0.0, 1.050701, 2.101402, 3.152103])


def test_gelu():
    assert_all_close(knn.gelu(X), [-0.15880796, 0.0, 0.841192, 1.9545977, 2.9963627])


def test_softmax():
    x = np.array([[1, 2, 3], [1, 2, 3]], dtype=np.float32)
    assert_all_close(knn.softmax(x, axis=None),  # over all axes
                     [[0.045015, 0.122364, 0.33262], [0.045015, 0.122364, 0.33262]])
    assert_all_close(knn.softmax(x, axis=0), [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]])
    expected = [[0.09003057, 0.24472848, 0.66524094], [0.09003057, 0.24472848, 0.66524094]]
    assert_all_close(knn.softmax(x, axis=-1), expected)
    assert_all_close(knn.softmax(x), expected)  # default axis -1


def test_softmax_correctness_with_axis_tuple():
    x = np.array([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]])
    for axis in combinations(range(3), 2):
        result = keras_ops.nn.softmax(x, axis=axis)
        assert_all_close(np.sum(keras_ops.convert_to_numpy(result), axis=axis), 1.0)


def test_log_softmax():
    x = np.array([[1, 2, 3], [1, 2, 3]], dtype=np.float32)
    assert_all_close(knn.log_softmax(x, axis=None),
                     [[-3.100753, -2.100753, -1.100753], [-3.100753, -2.100753, -1.100753]])
    assert_all_close(knn.log_softmax(x, axis=0),
                     [[-0.693147, -0.693147, -0.693147], [-0.693147, -0.693147, -0.693147]])
    expected = [[-2.407606, -1.407606, -0.407606], [-2.407606, -1.407606, -0.407606]]
    assert_all_close(knn.log_softmax(x, axis=-1), expected)
    assert_all_close(knn.log_softmax(x), expected)


def test_log_softmax_correctness_with_axis_tuple():
    x = np.array([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]])
    for axis in combinations(range(3), 2):
        result = keras_ops.nn.log_softmax(x, axis=axis)
        assert_all_close(np.sum(np.exp(keras_ops.convert_to_numpy(result)), axis=axis), 1.0)


def test_one_hot():
    # 1D
    indices_1d = np.array([0, 1, 2, 3])
    assert_all_close(knn.one_hot(indices_1d, 4), np.eye(4)[indices_1d])
    assert_all_close(knn.one_hot(indices_1d, 4, axis=0), np.eye(4)[indices_1d])
    # 1D list
    indices_1d = [0, 1, 2, 3]
    assert_all_close(knn.one_hot(indices_1d, 4), np.eye(4)[indices_1d])
    assert_all_close(knn.one_hot(indices_1d, 4, axis=0), np.eye(4)[indices_1d])
    # 2D
    indices_2d = np.array([[0, 1], [2, 3]])
    assert_all_close(knn.one_hot(indices_2d, 4), np.eye(4)[indices_2d])
    assert_all_close(knn.one_hot(indices_2d, 4, axis=2), np.eye(4)[indices_2d])
    assert_all_close(knn.one_hot(indices_2d, 4, axis=1),
                     np.transpose(np.eye(4)[indices_2d], (0, 2, 1)))
    # 1D with 1 extra dimension
    indices_1d = np.array([[0], [1], [2], [3]])
    assert_all_close(knn.one_hot(indices_1d, 4), np.eye(4)[indices_1d])
    assert_all_close(knn.one_hot(indices_1d, 4, axis=0), np.eye(4)[indices_1d].swapaxes(1, 2))
    # negative inputs
    indices_1d = np.array([0, -1, -1, 3])
    assert_all_close(knn.one_hot(indices_1d, 4),
                     np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]],
                              dtype=np.float32))


def test_binary_crossentropy():
    target = np.array([[0.1], [0.9], [0.2], [1.0]])
    output = np.array([[0.1], [0.2], [0.3], [0.4]])
    result = knn.binary_crossentropy(target, output, from_logits=False)
    assert_all_close(result, np.array([[0.32508277], [1.47080801], [0.52613434], [0.91629048]]))
    result = knn.binary_crossentropy(target, output, from_logits=True)
    assert_all_close(result, np.array([[0.73439666], [0.61813887], [0.79435524], [0.51301525]]))
    # output clipping
    output = np.array([[0.99], [-0.2], [0.9], [-0.4]])
    result = knn.binary_crossentropy(target, output, from_logits=True)
    assert_all_close(result, np.array([[1.206961], [0.778139], [1.061154], [0.913015]]))


def test_categorical_crossentropy():
    target = np.array([[0.33008796, 0.0391289, 0.9503603],
                       [0.80376694, 0.92363342, 0.19147756]])
    output = np.array([[0.23446431, 0.35822914, 0.06683268],
                       [0.3413979, 0.05420256, 0.81619654]])
    result = knn.categorical_crossentropy(target, output, from_logits=False, axis=-1)
    assert_all_close(result, np.array([2.54095299, 3.96374412]))
    result = knn.categorical_crossentropy(target, output, from_logits=False, axis=0)
    assert_all_close(result, np.array([0.71683073, 1.87988172, 2.46810762]))
    result = knn.categorical_crossentropy(target, output, from_logits=True, axis=-1)
    assert_all_close(result, np.array([1.59419954, 2.49880593]))
    output = np.array([[1.23446431, -0.35822914, 1.06683268],
                       [0.3413979, -0.05420256, 0.81619654]])
    result = knn.categorical_crossentropy(target, output, from_logits=True, axis=-1)
    assert_all_close(result, np.array([1.16825923, 2.55436813]))


def test_sparse_categorical_crossentropy():
    target = np.array([0, 1, 2])
    output = np.array([[0.9, 0.05, 0.05], [0.05, 0.89, 0.06], [0.05, 0.01, 0.94]])
    result = knn.sparse_categorical_crossentropy(target, output)
    assert_all_close(result, [0.105361, 0.116534, 0.061875])
    output = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
    result = knn.sparse_categorical_crossentropy(target, output, from_logits=True)
    assert_all_close(result, [0.001822, 0.000459, 0.169846])
