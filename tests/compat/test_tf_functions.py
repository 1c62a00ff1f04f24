"""The TensorFlow / Keras tensor functions in compat are nablanet.keras_ops's objects."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet import keras_ops


def test_tables_point_at_keras_ops():
    import nablanet.compat.keras as keras
    import nablanet.compat.tensorflow as tf

    assert tf.keras.ops is keras.ops and keras.ops.mean is keras_ops.mean
    assert keras.ops.nn.relu is keras_ops.nn.relu and keras.random.normal is keras_ops.random.normal
    assert tf.reduce_mean is keras_ops.mean and tf.math.reduce_sum is keras_ops.sum
    assert tf.concat is keras_ops.concatenate and tf.square is keras_ops.square
    assert tf.random.normal is keras_ops.random.normal
    assert tf.keras.backend.random_normal is keras_ops.random.normal
    assert tf.GradientTape is nb.autograd.GradientTape and tf.Variable is keras_ops.Variable
    assert keras.Variable is keras_ops.Variable
    from nablanet.compat.keras.ops import mean
    from nablanet.compat.keras.random import SeedGenerator

    assert mean is keras_ops.mean and SeedGenerator is keras_ops.random.SeedGenerator


def test_tensorflow_signatures():
    import nablanet.compat.tensorflow as tf

    x = tf.constant([[1.0, 5.0], [3.0, 2.0]])
    s = tf.shape(x)
    assert s.dtype == np.int32 and int(s[0]) == 2
    assert tf.random.normal((s[0], 3)).shape == (2, 3)
    np.testing.assert_array_equal(tf.argmax(x).numpy(), [1, 0])  # axis 0 by default
    np.testing.assert_allclose(tf.matmul(x, x, transpose_a=True).numpy(), x.numpy().T @ x.numpy())
    np.testing.assert_allclose(tf.one_hot([1, 0], 2, on_value=5.0, off_value=-1.0).numpy(),
                               [[-1.0, 5.0], [5.0, -1.0]])
    np.testing.assert_array_equal(tf.range(3).numpy(), [0, 1, 2])
    u = tf.random.uniform((100,), seed=1)
    assert u.dtype == np.float32 and 0.0 <= u.numpy().min() and u.numpy().max() < 1.0
    assert tf.random.uniform((5,), maxval=4, dtype=tf.int32).dtype == np.int32
    np.testing.assert_allclose(tf.nn.softmax(x).numpy().sum(-1), [1.0, 1.0], rtol=1e-6)
    labels = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    xent = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=x)
    ref = np.maximum(x.numpy(), 0) - x.numpy() * labels + np.log1p(np.exp(-np.abs(x.numpy())))
    np.testing.assert_allclose(xent.numpy(), ref, rtol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=labels[:1], logits=x)
    np.testing.assert_allclose(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 0], logits=x).numpy(),
        tf.nn.softmax_cross_entropy_with_logits(labels=labels[::-1].copy(), logits=x).numpy(),
        rtol=1e-6)
    assert tf.keras.backend.int_shape(x) == (2, 2) and tf.keras.backend.epsilon() == 1e-7

    @tf.function
    def f(a):
        return a + 1

    assert f(1) == 2 and tf.function(jit_compile=True)(f) is f


def test_tf_variable_custom_loop():
    import nablanet.compat.tensorflow as tf

    w = tf.Variable(0.0)
    opt = tf.keras.optimizers.SGD(0.1)
    for _ in range(50):
        with tf.GradientTape() as tape:
            loss = tf.square(w - 3.0)
        (g,) = tape.gradient(loss, [w])
        opt.apply_gradients([(g, w)])
    assert abs(float(w) - 3.0) < 1e-3
