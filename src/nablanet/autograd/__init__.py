"""Reverse-mode automatic differentiation: Tensor, Function, backward, no_grad."""

from nablanet.autograd.tensor import Tensor  # isort: skip  (must come first)
from nablanet.autograd.broadcasting import unbroadcast
from nablanet.autograd.function import (
    Function,
    backward,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
)
from nablanet.autograd.tape import GradientTape

__all__ = [
    "Function",
    "GradientTape",
    "Tensor",
    "backward",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "unbroadcast",
]
