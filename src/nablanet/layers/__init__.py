"""Layers with Keras 3 names, arguments and defaults (channels-last).

Each topic has its own module; everything public is re-exported here so that
``nablanet.layers.Dense`` works as ``keras.layers.Dense`` does.
"""

from nablanet.layers import (  # the modules themselves, for their __all__ lists
    activation,
    conv,
    conv_transpose,
    core,
    decomposed,
    embedding,
    normalization,
    pooling,
    recurrent,
    recurrent_weights,
    regularization,
    sampling,
    wrappers,
)
from nablanet.layers.activation import *  # noqa: F403
from nablanet.layers.base import LAYER_REGISTRY, Layer, clear_session
from nablanet.layers.conv import *  # noqa: F403
from nablanet.layers.conv_transpose import *  # noqa: F403
from nablanet.layers.core import *  # noqa: F403
from nablanet.layers.decomposed import *  # noqa: F403
from nablanet.layers.embedding import *  # noqa: F403
from nablanet.layers.input_layer import Input, InputLayer, KerasTensor, SymbolicTensor
from nablanet.layers.normalization import *  # noqa: F403
from nablanet.layers.pooling import *  # noqa: F403
from nablanet.layers.recurrent import *  # noqa: F403
from nablanet.layers.recurrent_weights import *  # noqa: F403
from nablanet.layers.regularization import *  # noqa: F403
from nablanet.layers.sampling import *  # noqa: F403
from nablanet.layers.wrappers import *  # noqa: F403

__all__ = [
    "LAYER_REGISTRY", "Input", "KerasTensor", "Layer", "SymbolicTensor", "clear_session",
    "InputLayer",
    *(name for module in (activation, conv, conv_transpose, core, embedding, normalization,
                          pooling, recurrent, recurrent_weights, regularization, sampling,
                          wrappers)
      for name in module.__all__),
    *decomposed.__all__,
]

from nablanet.layers.conv1d_transpose import Conv1DTranspose  # noqa: E402

__all__ += ["Conv1DTranspose"]
