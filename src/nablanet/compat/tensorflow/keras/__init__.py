"""``tf.keras`` / ``from tensorflow.keras import ...``: Keras's modules over nablanet.

Submodules ``layers``, ``models``, ``callbacks``, ``regularizers``, ``losses``, ``metrics``,
``optimizers``, ``initializers``, ``activations``, ``utils``, ``backend``, ``config``,
``constraints``, ``ops`` (:mod:`nablanet.keras_ops`), ``random``, ``preprocessing``, and the
names ``Input``, ``Sequential``, ``Model``, ``Variable`` as ``keras`` has them at the top level.
``__version__`` is the Keras release whose API nablanet follows.
"""

from nablanet.autograd.variable import Variable
from nablanet.compat.tensorflow.keras import (
    activations,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
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
from nablanet.layers import Input
from nablanet.models import Model, Sequential

__version__ = "3.16.0"  # the Keras release (keras-team/keras) whose API nablanet follows

__all__ = [
    "Input", "Model", "Sequential", "activations", "backend", "callbacks", "initializers",
    "layers", "losses", "metrics", "models", "optimizers", "regularizers", "utils",
    "Variable", "config", "constraints", "datasets", "ops", "preprocessing", "random",
]
