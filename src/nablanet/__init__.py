"""nablanet: a readable deep-learning framework on NumPy.

The public API: tensors and autograd at the top level, and the subpackages
(``ops``, ``functional``, ``tensor_algebra``, ``layers``, ``optimizers``, ``models``, ...).
"""

import nablanet.ops  # noqa: E402, F401, I001  (binds Tensor's operators and methods)
from nablanet.autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad
from nablanet.autograd.creation import (
    arange,
    full,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from nablanet.autograd.function import set_grad_enabled
from nablanet.autograd.variable import Variable
from nablanet.kernels.registry import get_kernels, set_kernels, use_kernels
from nablanet.random import set_random_seed

__version__ = "0.1.0"

#: Subpackages reachable as attributes (``nb.layers.Dense``), imported on first use so that
#: ``import nablanet`` stays fast and light.
_SUBMODULES = (
    "activations", "callbacks", "data", "functional", "generative", "initializers", "kernels",
    "layers", "constraints", "config", "distribute",
    "linear_regions", "losses", "metrics", "models", "ops", "optimizers", "plotting",
    "regularizers", "tensor_algebra", "testing", "utils",
    "datasets",
)


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        import importlib

        module = importlib.import_module(f"nablanet.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'nablanet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])

__all__ = [
    "Function",
    "Tensor",
    "Variable",
    "__version__",
    "arange",
    "enable_grad",
    "full",
    "get_kernels",
    "is_grad_enabled",
    "no_grad",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "set_grad_enabled",
    "set_kernels",
    "set_random_seed",
    "tensor",
    "use_kernels",
    "zeros",
    "zeros_like",
]
