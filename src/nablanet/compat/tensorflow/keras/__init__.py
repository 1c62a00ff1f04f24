"""``tf.keras`` / ``from tensorflow.keras import ...``: Keras's modules over nablanet.

Submodules ``layers``, ``models``, ``callbacks``, ``regularizers``, ``losses``, ``metrics``,
``optimizers``, ``initializers``, ``activations``, ``utils``, ``backend``, ``ops``
(:mod:`nablanet.keras_ops`), ``random``, ``preprocessing``, and the names ``Input``,
``Sequential``, ``Model``, ``Variable`` as ``keras`` has them at the top level.
"""

from nablanet.compat.tensorflow.keras import (
    activations,
    backend,
    callbacks,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    utils,
)
from nablanet.keras_ops import Variable
from nablanet.layers import Input
from nablanet.models import Model, Sequential

__all__ = [
    "Input", "Model", "Sequential", "activations", "backend", "callbacks", "initializers",
    "layers", "losses", "metrics", "models", "optimizers", "regularizers", "utils",
    "Variable", "ops", "preprocessing", "random",
]
