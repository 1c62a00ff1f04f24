"""Translated from Keras 3: ``keras/src/ops/core_test.py``, the tests of the core functions
``nablanet.keras_ops`` implements (``cast``, ``convert_to_tensor``, ``convert_to_numpy``,
``is_tensor``, ``shape``, ``stop_gradient``). Same inputs and expected values.

Ported: ``CoreOpsCorrectnessTest``: test_cast (eager part), test_convert_to_tensor, test_shape
(eager part), test_stop_gradient, test_stop_gradient_no_fit (eager part);
``CoreOpsBehaviorTests``: test_convert_to_numpy (eager part),
test_convert_to_tensor_python_float_with_dtype, test_convert_to_tensor_python_int_with_dtype,
test_convert_to_tensor_python_bool_with_dtype.

Left out: the symbolic ``KerasTensor`` halves of test_cast / test_shape / test_convert_to_numpy
and the functional-model half of test_stop_gradient_no_fit (``ops.stop_gradient(b) + c`` on
symbolic tensors: nablanet's functional models are built from layer calls only), the
``Operation``-class calls (``core.Cast("float16")(x)``), float8 / saturate_cast / sparse /
ragged tests, custom_gradient, control flow (``switch``, ``while_loop``, ``scan``, ``fori_loop``,
``cond``, ``map``, ``associative_scan``), ``slice`` / ``scatter``, and the ``CoreOpsDtypeTest``
backend dtype tables -- functions nablanet's keras_ops does not implement or backend machinery.
"""

from __future__ import annotations

import numpy as np

from nablanet import keras_ops as ops
from nablanet import layers, losses, models, optimizers


def assert_all_close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), atol=1e-6, rtol=1e-6)


def test_cast():
    x = ops.ones((2,), dtype="float32")
    y = ops.cast(x, "float16")
    assert "float16" in str(y.dtype)


def test_convert_to_tensor():
    x = np.ones((2,))
    x = ops.convert_to_tensor(x)
    x = ops.convert_to_numpy(x)
    assert_all_close(x, (1, 1))
    assert isinstance(x, np.ndarray)
    # Empty lists give an empty array.
    x = ops.convert_to_tensor([])
    np_x = ops.convert_to_numpy(x)
    assert ops.is_tensor(x)
    assert_all_close(x, [])
    assert isinstance(np_x, np.ndarray)
    # Partially converted.
    x = ops.convert_to_tensor((1, ops.array(2), 3))
    assert_all_close(x, (1, 2, 3))


def test_shape():
    x = ops.ones((2, 3, 7, 1))
    assert ops.shape(x).__class__ is tuple
    assert ops.shape(x) == (2, 3, 7, 1)


def test_stop_gradient():
    class ExampleLayer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.w = self.add_weight(shape=(1,), initializer="zeros")
            self.b = self.add_weight(shape=(1,), initializer="zeros")

        def call(self, x, training=False):
            return ops.add(ops.multiply(x, ops.stop_gradient(self.w)), self.b)

    model = models.Sequential([ExampleLayer()])
    model.compile(optimizer=optimizers.SGD(), loss=losses.MeanSquaredError())
    rng = np.random.default_rng(0)
    x = np.ones((2, 4), dtype="float32")
    y = rng.standard_normal((2, 4), dtype="float32")
    model.fit(x, y, epochs=1, batch_size=2, verbose=0)
    assert model.layers[0].w.numpy() == 0.0
    assert model.layers[0].b.numpy() != 0.0


def test_stop_gradient_no_fit():
    x = ops.random.uniform(shape=(2, 4), dtype="float32")
    y = ops.stop_gradient(x)
    assert_all_close(x, y)


def test_convert_to_numpy():
    x = ops.array([1, 2, 3], dtype="float32")
    y = ops.convert_to_numpy(x)
    assert isinstance(y, np.ndarray)
    y[0] = 1.0  # assignment does not fail


def test_convert_to_tensor_python_float_with_dtype():
    assert ops.convert_to_tensor(1.5, dtype="float32").dtype == np.float32
    assert ops.convert_to_tensor(1.5, dtype="float16").dtype == np.float16


def test_convert_to_tensor_python_int_with_dtype():
    assert ops.convert_to_tensor(7, dtype="int16").dtype == np.int16
    assert ops.convert_to_tensor(7, dtype="float32").dtype == np.float32


def test_convert_to_tensor_python_bool_with_dtype():
    assert ops.convert_to_tensor(True, dtype="float32").dtype == np.float32
    assert ops.convert_to_tensor(True).dtype == np.bool_
