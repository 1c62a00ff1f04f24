"""nablanet: a readable deep-learning framework on NumPy.

The public API: tensors and autograd at the top level, and the subpackages
(``ops``, ``functional``, ``tensor_algebra``, ``layers``, ``optimizers``, ``models``, ...).
"""

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
from nablanet.random import set_random_seed

__version__ = "0.1.0"

__all__ = [
    "Function",
    "Tensor",
    "__version__",
    "arange",
    "enable_grad",
    "full",
    "is_grad_enabled",
    "no_grad",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "set_random_seed",
    "tensor",
    "zeros",
    "zeros_like",
]
