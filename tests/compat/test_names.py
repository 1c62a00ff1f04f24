"""The compat modules are tables of nablanet's own objects under TensorFlow / Keras names."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import nablanet as nb
from nablanet import callbacks, data, layers, losses, models, optimizers, regularizers, utils


def test_tensorflow_names_are_nablanets_objects() -> None:
    import nablanet.compat.tensorflow as tf

    assert tf.keras.layers.Conv2D is layers.Conv2D
    assert tf.keras.layers.MaxPooling2D is layers.MaxPooling2D
    assert tf.keras.layers.Dense is layers.Dense and tf.keras.layers.Input is layers.Input
    assert tf.keras.models.Sequential is models.Sequential
    assert tf.keras.callbacks.EarlyStopping is callbacks.EarlyStopping
    assert tf.keras.regularizers.L2 is regularizers.L2 and tf.keras.regularizers.L1L2 is \
        regularizers.L1L2
    assert tf.keras.losses.SparseCategoricalCrossentropy is losses.SparseCategoricalCrossentropy
    assert tf.keras.optimizers.Adam is optimizers.Adam
    assert tf.keras.utils.set_random_seed is nb.set_random_seed
    assert tf.keras.utils.to_categorical is utils.to_categorical
    assert tf.cast is data.cast and tf.image.resize is data.resize
    assert tf.data.Dataset is data.Dataset and tf.random.set_seed is nb.set_random_seed
    assert tf.float32 is np.float32 and tf.uint8 is np.uint8
    # no module objects or helpers leak into the tables
    assert "np" not in tf.keras.losses.__all__ and "Tensor" not in tf.keras.regularizers.__all__


def test_from_imports_of_the_chapter() -> None:
    from nablanet.compat.tensorflow.keras import Input
    from nablanet.compat.tensorflow.keras import layers as klayers
    from nablanet.compat.tensorflow.keras import models as kmodels
    from nablanet.compat.tensorflow.keras.callbacks import EarlyStopping
    from nablanet.compat.tensorflow.keras.layers import Conv2D, GlobalAveragePooling2D

    assert Input is layers.Input and klayers.Flatten is layers.Flatten
    assert kmodels.Model is models.Model and EarlyStopping is callbacks.EarlyStopping
    assert Conv2D is layers.Conv2D and GlobalAveragePooling2D is layers.GlobalAveragePooling2D


def test_standalone_keras_is_the_same_modules() -> None:
    from nablanet.compat.keras.layers import Dropout

    import nablanet.compat.keras as keras
    import nablanet.compat.tensorflow as tf

    assert keras.models is tf.keras.models and keras.layers is tf.keras.layers
    assert keras.models.Sequential is models.Sequential and Dropout is layers.Dropout
    assert importlib.import_module("nablanet.compat.keras.callbacks") is tf.keras.callbacks


def test_tensorflow_datasets_load() -> None:
    import nablanet.compat.tensorflow_datasets as tfds

    assert tfds.load is data.load
    assert "rock_paper_scissors" in tfds.list_builders()


def test_constant_and_cast() -> None:
    import nablanet.compat.tensorflow as tf

    image = tf.constant(np.array([[0, 255]], np.uint8))
    scaled = tf.cast(image, tf.float32) / 255.0
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled.numpy(), [[0.0, 1.0]])


def test_dense_regularizer_misprint_names_the_right_argument() -> None:
    import nablanet.compat.tensorflow as tf

    with pytest.raises(TypeError, match="did you mean 'kernel_regularizer'"):
        tf.keras.layers.Dense(10, regularizer=tf.keras.regularizers.L2(l2=0.01))
