"""Undoing NumPy broadcasting in the backward pass.

When a forward op broadcasts an input of shape ``s`` to the output shape, the
gradient with respect to that input is the output gradient summed over every
broadcast axis. This is the one place in nablanet where that happens: the
backward engine calls :func:`unbroadcast` for every gradient whose shape differs
from its input's, so individual ops never deal with broadcasting.
"""

from __future__ import annotations

import numpy as np


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``, the inverse of ``np.broadcast_to(x, grad.shape)``.

    .. math::

        \\frac{\\partial L}{\\partial x_{i}} =
        \\sum_{j \\in B(i)} \\frac{\\partial L}{\\partial y_j}

    where :math:`B(i)` is the set of output positions that element :math:`i` was
    broadcast to.

    Examples
    --------
    >>> unbroadcast(np.ones((2, 3, 4)), (3, 1)).tolist()
    [[8.0], [8.0], [8.0]]
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)
