"""The one table of primitives: every Function subclass in nablanet.ops has an entry.

Each entry is an :class:`OpCase`: a name (the Function class's name), a callable taking
Tensors, and sample inputs as NumPy arrays. ``test_op_table.py`` gradient-checks every
case in float64 and compares forward values and gradients with PyTorch in float32.

Append new cases to the list for your module (keep the module sections).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RNG = np.random.default_rng(1234)


def randn(*shape: int) -> np.ndarray:
    """Float64 standard-normal sample inputs (the gradient check runs in float64)."""
    return RNG.standard_normal(shape)


@dataclass
class OpCase:
    """One sample use of a primitive.

    op: name of the ``Function`` subclass exercised (coverage is checked by this name).
    fn: the nablanet computation, taking Tensors.
    inputs: sample inputs (ndarrays; may be non-contiguous views).
    torch_fn: the same computation on torch tensors (None only for ops with no torch analogue,
        which then must say why in ``note``).
    wrt: indices of the inputs to differentiate (default: every floating input).
    """

    op: str
    fn: Callable[..., Any]
    inputs: list[np.ndarray]
    torch_fn: Callable[..., Any] | None
    wrt: tuple[int, ...] | None = None
    id: str = ""
    note: str = ""
    tolerance: dict[str, float] = field(default_factory=dict)


CASES: list[OpCase] = []

# --- elementwise, reduction, shape, linalg, softmax (foundation) ---------------------------

# --- conv, pooling -------------------------------------------------------------------------

# --- recurrent -----------------------------------------------------------------------------

# --- losses, normalization, layers' fused ops ----------------------------------------------

# --- tensor algebra --------------------------------------------------------------------------
