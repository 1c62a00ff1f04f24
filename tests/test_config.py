"""``nablanet.config`` (Keras's ``keras.config`` basics) and the compat names for it."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet import config, layers


def test_defaults_and_validation() -> None:
    assert config.floatx() == "float32" and config.epsilon() == 1e-7
    assert config.image_data_format() == "channels_last" and config.backend() == "numpy"
    with pytest.raises(ValueError, match="Unknown `floatx` value: float16"):
        config.set_floatx("float16")
    with pytest.raises(ValueError, match="data_format"):
        config.set_image_data_format("NCHW")


def test_setters_change_what_layers_default_to() -> None:
    try:
        config.set_floatx("float64")
        dense = layers.Dense(2)
        dense.build((None, 3))
        assert dense.dtype == "float64" and dense.kernel.dtype == np.float64
        config.set_image_data_format("channels_first")
        conv = layers.Conv2D(4, 3)
        assert conv.data_format == "channels_first"
        assert conv(np.zeros((1, 2, 5, 5))).shape == (1, 4, 3, 3)
        assert layers.MaxPooling2D().data_format == "channels_first"
    finally:
        config.set_floatx("float32")
        config.set_image_data_format("channels_last")
    assert layers.Conv2D(4, 3).data_format == "channels_last"


def test_compat_names() -> None:
    import nablanet.compat.keras as keras
    import nablanet.compat.tensorflow as tf

    assert tf.__version__.startswith("2.") and keras.__version__.startswith("3.")
    assert keras.config.floatx is config.floatx and tf.keras.config is keras.config
    assert keras.constraints.MaxNorm is nb.constraints.MaxNorm
    assert keras.Variable is nb.Variable and tf.Variable is nb.Variable
