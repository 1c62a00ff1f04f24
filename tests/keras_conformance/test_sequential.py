"""Keras conformance: keras/src/models/sequential_test.py (Keras 3), translated call for call.

Same inputs and expectations; ``keras.src.{layers,models}`` are nablanet's,
``backend.KerasTensor`` is ``nablanet.layers.KerasTensor`` and ``keras.src.testing.TestCase``
is the small ``TestCase`` below.

Deliberate difference asserted: ``test_serialization_with_lambda_layer`` expects saving a
Lambda layer to raise ValueError (nablanet never saves or loads Python code; see
docs/keras-differences.md), where Keras saves it and reloads it with ``safe_mode=False``.

Left out:
- the assertions ``type(model._functional) is Functional`` (7 of them): a private
  attribute of Keras's implementation (its Sequential keeps a Functional inside; nablanet's
  runs its layers in order).
"""

import json
import pickle
import unittest

import numpy as np

from nablanet import layers
from nablanet.autograd.tensor import Tensor
from nablanet.layers import Input, KerasTensor
from nablanet.models import Model, Sequential


def _np(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


class TestCase(unittest.TestCase):
    """The assertions of keras.src.testing.TestCase used below (same defaults)."""

    def assertEqual(self, first, second, msg=None):  # noqa: N802
        first = _np(first) if isinstance(first, Tensor) else first
        super().assertEqual(first, second, msg)

    def assertAllClose(self, actual, desired, atol=1e-6, rtol=1e-6, msg=None):  # noqa: N802
        np.testing.assert_allclose(_np(actual), _np(desired), atol=atol, rtol=rtol,
                                   err_msg=msg or "")

    def assertAlmostEqual(self, actual, desired, decimal=3, msg=None):  # noqa: N802
        np.testing.assert_almost_equal(_np(actual), _np(desired), decimal=decimal,
                                       err_msg=msg or "")

    def assertLen(self, container, expected_len):  # noqa: N802
        self.assertEqual(len(container), expected_len)

    def get_temp_dir(self):
        import tempfile

        directory = tempfile.mkdtemp()
        self.addCleanup(__import__("shutil").rmtree, directory, True)
        return directory

    def run_class_serialization_test(self, instance, custom_objects=None):
        config = instance.get_config()
        if custom_objects:
            revived = type(instance).from_config(config, custom_objects=custom_objects)
        else:
            revived = type(instance).from_config(config)
        self.assertEqual(json.dumps(config, sort_keys=True),
                         json.dumps(revived.get_config(), sort_keys=True))
        return revived


class SequentialTest(TestCase):
    def test_basic_flow_with_input(self):
        model = Sequential(name="seq")
        model.add(Input(shape=(2,), batch_size=3))
        model.add(layers.Dense(4))
        model.add(layers.Dense(5))
        model.summary()

        self.assertEqual(len(model.layers), 2)
        self.assertTrue(model.built)
        self.assertEqual(len(model.weights), 4)

        # Test eager call
        x = np.random.random((3, 2))
        y = model(x)

        self.assertEqual(y.shape, (3, 5))

        # Test symbolic call
        x = KerasTensor((3, 2))
        y = model(x)
        self.assertEqual(y.shape, (3, 5))

        # Test `layers` constructor arg
        model = Sequential(
            layers=[
                Input(shape=(2,), batch_size=3),
                layers.Dense(4),
                layers.Dense(5),
            ]
        )
        self.assertEqual(len(model.layers), 2)
        self.assertTrue(model.built)
        self.assertEqual(len(model.weights), 4)

        x = np.random.random((3, 2))
        y = model(x)
        self.assertEqual(y.shape, (3, 5))

        # Test pop
        model.pop()
        self.assertEqual(len(model.layers), 1)
        self.assertTrue(model.built)
        self.assertEqual(len(model.weights), 2)

        x = np.random.random((3, 2))
        y = model(x)
        self.assertEqual(y.shape, (3, 4))

    def test_legacy_flow_with_input_shape(self):
        model = Sequential(name="seq")
        model.add(layers.Dense(4, input_shape=(2,)))
        model.add(layers.Dense(5))

        self.assertEqual(len(model.layers), 2)
        self.assertTrue(model.built)
        self.assertEqual(len(model.weights), 4)

        # Input_dim works too
        model = Sequential(name="seq")
        model.add(layers.Dense(4, input_dim=2))
        model.add(layers.Dense(5))

        self.assertEqual(len(model.layers), 2)
        self.assertTrue(model.built)
        self.assertEqual(len(model.weights), 4)

        # Subsequent input_shapes are ignored
        model = Sequential(name="seq")
        model.add(layers.Dense(4, input_shape=(2,)))
        model.add(layers.Dense(5, input_shape=(3, 4)))

        self.assertEqual(len(model.layers), 2)
        self.assertTrue(model.built)
        self.assertEqual(len(model.weights), 4)

    def test_basic_flow_deferred(self):
        model = Sequential(name="seq")
        model.add(layers.Dense(4))
        model.add(layers.Dense(5))
        model.summary()

        self.assertEqual(len(model.layers), 2)

        # Test eager call
        x = np.random.random((3, 2))
        y = model(x)
        self.assertTrue(model.built)
        model.summary()

        self.assertEqual(y.shape, (3, 5))

        # Test symbolic call
        x = KerasTensor((3, 2))
        y = model(x)
        self.assertEqual(y.shape, (3, 5))

        # Test `layers` constructor arg
        model = Sequential(
            layers=[
                layers.Dense(4),
                layers.Dense(5),
            ]
        )
        x = np.random.random((3, 2))
        y = model(x)
        self.assertEqual(y.shape, (3, 5))

        # Test pop
        model.pop()
        self.assertEqual(len(model.layers), 1)
        self.assertTrue(model.built)
        self.assertEqual(len(model.weights), 2)

        x = np.random.random((3, 2))
        y = model(x)
        self.assertEqual(y.shape, (3, 4))

    def test_basic_flow_as_a_submodel(self):
        # Build submodel
        submodel = Sequential()
        submodel.add(layers.Flatten())
        self.assertFalse(submodel.built)

        inputs = Input((None, 4))
        outputs = layers.TimeDistributed(submodel)(inputs)
        model = Model(inputs=inputs, outputs=outputs)

        x = np.random.random((2, 3, 4))
        y = model(x)
        self.assertEqual(y.shape, (2, 3, 4))

    def test_basic_flow_with_functional_model_as_first_layer(self):
        # Build functional model
        inputs = Input((16, 16, 3))
        outputs = layers.Conv2D(4, 3, padding="same")(inputs)
        functional_model = Model(inputs=inputs, outputs=outputs)

        model = Sequential(
            [functional_model, layers.Flatten(), layers.Dense(1)]
        )
        model.summary()
        self.assertEqual(len(model.layers), 3)
        self.assertTrue(model.built)
        for layer in model.layers:
            self.assertTrue(layer.built)

        # Test eager call
        x = np.random.random((1, 16, 16, 3))
        y = model(x)
        self.assertEqual(tuple(y.shape), (1, 1))

        # Test symbolic call
        x = KerasTensor((1, 16, 16, 3))
        y = model(x)
        self.assertEqual(y.shape, (1, 1))

    def test_basic_flow_with_sequential_model_as_first_layer(self):
        # Build sequential model
        sequential_model = Sequential(
            [Input((16, 16, 3)), layers.Conv2D(4, 3, padding="same")]
        )

        model = Sequential(
            [sequential_model, layers.Flatten(), layers.Dense(1)]
        )
        model.summary()
        self.assertEqual(len(model.layers), 3)
        self.assertTrue(model.built)
        for layer in model.layers:
            self.assertTrue(layer.built)

        # Test eager call
        x = np.random.random((1, 16, 16, 3))
        y = model(x)
        self.assertEqual(tuple(y.shape), (1, 1))

        # Test symbolic call
        x = KerasTensor((1, 16, 16, 3))
        y = model(x)
        self.assertEqual(y.shape, (1, 1))

    def test_dict_inputs(self):
        test_obj = self

        class DictLayer(layers.Layer):
            def call(self, inputs):
                test_obj.assertIsInstance(inputs, dict)
                return inputs

        model = Sequential([DictLayer()])
        x = {"a": np.random.random((3, 2)), "b": np.random.random((3, 2))}
        y = model(x)
        self.assertEqual(type(y), dict)
        model.summary()

    def test_list_inputs(self):
        test_obj = self

        class ListLayer(layers.Layer):
            def call(self, inputs):
                test_obj.assertIsInstance(inputs, list)
                return inputs

        model = Sequential([ListLayer()])
        x = [np.random.random((3, 2)), np.random.random((3, 2))]
        y = model(x)
        self.assertEqual(type(y), list)
        model.summary()

    def test_nested_sequential(self):
        # https://github.com/keras-team/keras/issues/20203
        model = Sequential()
        model.add(Input(shape=(16,)))
        Sequential([model])

    def test_errors(self):
        # Trying to pass 2 Inputs
        model = Sequential()
        model.add(Input(shape=(2,), batch_size=3))
        with self.assertRaisesRegex(ValueError, "already been configured"):
            model.add(Input(shape=(2,), batch_size=3))
        with self.assertRaisesRegex(ValueError, "already been configured"):
            model.add(layers.InputLayer(shape=(2,), batch_size=3))

        # Same name 2x
        model = Sequential()
        model.add(layers.Dense(2, name="dense"))
        with self.assertRaisesRegex(ValueError, "should have unique names"):
            model.add(layers.Dense(2, name="dense"))

        # No layers
        model = Sequential()
        x = np.random.random((3, 2))
        with self.assertRaisesRegex(ValueError, "no layers"):
            model(x)

        # Build conflict
        model = Sequential()
        model.add(Input(shape=(2,), batch_size=3))
        model.add(layers.Dense(2))
        with self.assertRaisesRegex(ValueError, "already been configured"):
            model.build((3, 4))
        # But this works
        model.build((3, 2))

    def test_shape_inference_failure(self):
        class DynamicLayer(layers.Layer):
            def call(self, inputs):
                return inputs + 1.0

            def compute_output_spec(self, *args, **kwargs):
                raise NotImplementedError

        model = Sequential([DynamicLayer()])
        x = np.random.random((3, 2))
        y = model(x)
        self.assertAllClose(y, x + 1)
        model.summary()

    def test_serialization(self):
        test_obj = self

        # Unbuilt deferred
        model = Sequential(name="seq")
        model.add(layers.Dense(4))
        model.add(layers.Dense(5))
        revived = self.run_class_serialization_test(model)
        self.assertLen(revived.layers, 2)

        # Built deferred
        model.build((2, 3))
        revived = self.run_class_serialization_test(model)
        self.assertLen(revived.layers, 2)

        # Regular
        model = Sequential(name="seq")
        model.add(Input(shape=(2,), batch_size=3))
        model.add(layers.Dense(4))
        model.add(layers.Dense(5))
        model.add(layers.Dense(6))
        revived = self.run_class_serialization_test(model)
        self.assertLen(revived.layers, 3)

        # Weird
        class DictLayer(layers.Layer):
            def call(self, inputs):
                test_obj.assertIsInstance(inputs, dict)
                return inputs

        model = Sequential([DictLayer()])
        revived = self.run_class_serialization_test(
            model, custom_objects={"DictLayer": DictLayer}
        )
        self.assertLen(revived.layers, 1)

    def test_serialization_with_lambda_layer(self):
        # https://github.com/keras-team/keras/issues/20074
        inputs = np.random.random(size=(1, 10, 4)).astype("float32")
        CONV_WIDTH = 3  # noqa: N806 - Keras's name
        model = Sequential([layers.Lambda(lambda x: x[:, -CONV_WIDTH:, :])])
        outputs = model(inputs)

        temp = self.get_temp_dir()
        save_path = f"{temp}/model.keras"
        # Documented difference (docs/keras-differences.md): nablanet never saves or loads
        # Python code, so a Lambda layer cannot be saved; Keras loads it with
        # safe_mode=False.
        with self.assertRaisesRegex(ValueError, "cannot be saved"):
            model.save(save_path)
        self.assertEqual(tuple(outputs.shape), (1, CONV_WIDTH, 4))

    def test_functional_properties(self):
        model = Sequential(name="seq")
        inputs = Input(shape=(2,))
        model.add(inputs)
        model.add(layers.Dense(4))

        self.assertEqual(model.inputs, [inputs])
        self.assertEqual(model.outputs, [model.layers[-1].output])
        self.assertEqual(model.input_shape, (None, 2))
        self.assertEqual(model.output_shape, (None, 4))

    def test_training_arg(self):
        class CustomLayer(layers.Layer):
            def call(self, inputs, training=False):
                return inputs * 0.0 if training else inputs

        model = Sequential([CustomLayer()])
        self.assertAllClose(model(np.ones((4, 20))), 1.0)
        self.assertAllClose(model(np.ones((4, 20)), training=False), 1.0)
        self.assertAllClose(model(np.ones((4, 20)), training=True), 0.0)

    def test_pickleable(self):
        model = Sequential(name="seq")
        model.add(layers.Dense(4))

        result = pickle.loads(pickle.dumps(model))
        self.assertLen(result.layers, 1)

    def test_bad_layer(self):
        model = Sequential(name="seq")
        with self.assertRaisesRegex(ValueError, "Only instances of"):
            model.add({})

        model = Sequential(name="seq")

        class BadLayer(layers.Layer):
            def call(self, inputs, training):
                return inputs

        model.add(BadLayer())
        with self.assertRaisesRegex(
            ValueError, "can only have a single.*positional"
        ):
            model.build((None, 2))

    def test_compute_output_shape(self):
        layer = Sequential([layers.Dense(4), layers.Dense(8)])
        output_shape = layer.compute_output_shape((1, 2))
        self.assertEqual(output_shape, (1, 8))

    def test_hasattr(self):
        model = Sequential()
        self.assertFalse(hasattr(model, "input_shape"))
        self.assertFalse(hasattr(model, "output_shape"))
        self.assertFalse(hasattr(model, "inputs"))
        self.assertFalse(hasattr(model, "outputs"))

        model = Sequential([layers.Input((4,)), layers.Dense(8)])
        self.assertTrue(hasattr(model, "input_shape"))
        self.assertTrue(hasattr(model, "output_shape"))
        self.assertTrue(hasattr(model, "inputs"))
        self.assertTrue(hasattr(model, "outputs"))

    def test_layers_setter(self):
        model = Sequential()
        with self.assertRaisesRegex(
            AttributeError, r"Use `add\(\)` and `pop\(\)`"
        ):
            model.layers = [layers.Dense(4)]
