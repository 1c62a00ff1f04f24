"""``tf.keras`` / ``from tensorflow.keras import ...``: Keras's modules over nablanet.

Submodules ``layers``, ``models``, ``callbacks``, ``regularizers``, ``losses``, ``metrics``,
``optimizers``, ``initializers``, ``activations``, ``utils``, ``backend``, and the names
``Input``, ``Sequential``, ``Model`` as ``keras`` has them at the top level.
"""

from nablanet.compat.tensorflow.keras import (
    activations,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    utils,
)
from nablanet.layers import Input
from nablanet.models import Model, Sequential

__all__ = [
    "Input", "Model", "Sequential", "activations", "backend", "callbacks", "initializers",
    "layers", "losses", "metrics", "models", "optimizers", "regularizers", "utils",
]
__all__ += ["datasets"]
