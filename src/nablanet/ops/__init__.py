# ruff: noqa: A004 - the ops are named after the operations (sum, max, abs, ...)
"""Differentiable primitives: one :class:`~nablanet.autograd.Function` each, with backward.

The public functions here are what ``Tensor``'s operators and methods call.
"""

from nablanet.ops import tensor_methods  # noqa: F401  (binds Tensor's operators)
from nablanet.ops.elementwise import (
    abs,
    add,
    cast,
    clip,
    div,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    maximum,
    minimum,
    mul,
    neg,
    not_equal,
    pow,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
    where,
)
from nablanet.ops.linalg import matmul
from nablanet.ops.reduction import argmax, argmin, logsumexp, max, mean, min, std, sum, var
from nablanet.ops.shape import (
    broadcast_to,
    concatenate,
    expand_dims,
    flip,
    gather,
    getitem,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
)
from nablanet.ops.softmax import log_softmax, softmax

__all__ = [
    "abs", "add", "argmax", "argmin", "broadcast_to", "cast", "clip", "concatenate", "div",
    "equal", "exp", "expand_dims", "flip", "gather", "getitem", "greater", "greater_equal",
    "less", "less_equal", "log", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean",
    "min", "minimum", "mul", "neg", "not_equal", "pad", "permute", "pow", "relu", "reshape",
    "sigmoid", "softmax", "split", "sqrt", "squeeze", "stack", "std", "sub", "sum", "swapaxes",
    "tanh", "transpose", "var", "where",
]
