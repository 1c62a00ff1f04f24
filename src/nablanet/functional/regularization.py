"""Regularisation as composites: weight penalties, dropout and Gaussian noise (chapter §5).

Nothing here has a backward of its own: each function is a couple of primitives
(``abs``/``mul``/``sum`` for penalties, one ``mul`` by a constant mask for dropout).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet import random as nb_random
from nablanet.autograd.tensor import Tensor
from nablanet.ops.elementwise import abs as _abs
from nablanet.ops.elementwise import add, mul
from nablanet.ops.reduction import sum as _sum

__all__ = ["dropout", "gaussian_noise", "l1_penalty", "l1_l2_penalty", "l2_penalty"]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def l1_penalty(w: Any, l1: float = 0.01) -> Tensor:
    r"""L1 penalty :math:`\lambda_1 \sum_i |w_i|` (Keras ``L1``), a scalar Tensor.

    Examples
    --------
    >>> float(l1_penalty(Tensor([1.0, -2.0]), l1=0.5))
    1.5
    """
    return mul(_sum(_abs(_tensor(w))), float(l1))


def l2_penalty(w: Any, l2: float = 0.01) -> Tensor:
    r"""L2 penalty :math:`\lambda_2 \sum_i w_i^2` (Keras ``L2``: no factor ½), a scalar Tensor.

    The chapter's :math:`\tfrac{\lambda}{2}\lVert w \rVert^2` (§5.1) is ``l2_penalty(w, λ/2)``.

    Examples
    --------
    >>> float(l2_penalty(Tensor([1.0, -2.0]), l2=0.5))
    2.5
    """
    w = _tensor(w)
    return mul(_sum(mul(w, w)), float(l2))


def l1_l2_penalty(w: Any, l1: float = 0.0, l2: float = 0.0) -> Tensor:
    r""":math:`\lambda_1 \sum_i |w_i| + \lambda_2 \sum_i w_i^2` (Keras ``L1L2``)."""
    if l1 and l2:
        return add(l1_penalty(w, l1), l2_penalty(w, l2))
    if l1:
        return l1_penalty(w, l1)
    if l2:
        return l2_penalty(w, l2)
    return Tensor(np.zeros((), dtype=_tensor(w).dtype))


def dropout(x: Any, rate: float, training: bool = True, noise_shape: Any = None,
            seed: int | np.random.Generator | None = None) -> Tensor:
    r"""Inverted dropout (Srivastava et al., 2014; ERRATA 5.3).

    In training each unit's output is zeroed with probability ``rate`` (in [0, 1]) and the
    survivors are scaled so the expectation is unchanged:

    .. math::

        y = \frac{m \odot x}{1 - p}, \qquad m_i \sim \mathrm{Bernoulli}(1 - p)

    At inference (``training=False``) it is the identity. ``noise_shape`` broadcasts one
    mask over axes of size 1 (``(batch, 1, features)`` drops the same features at every time
    step). Masks come from ``seed`` when given, else from :func:`nablanet.random.generator`.

    Examples
    --------
    >>> import nablanet as nb
    >>> x = nb.ones(4)
    >>> dropout(x, 0.5, training=False) is x
    True
    """
    rate = float(rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout: rate must be in the interval [0, 1]. Received: rate={rate}")
    x = _tensor(x)
    if not training or rate == 0.0:
        return x
    if noise_shape is None:
        shape = x.shape
    else:
        shape = tuple(d if n is None else int(n) for n, d in zip(noise_shape, x.shape))
    rng = nb_random.generator() if seed is None else nb_random.make_generator(seed)
    keep = rng.uniform(size=shape) < 1.0 - rate  # (Keras's NumPy backend's draw)
    # rate = 1 drops everything (Keras): no survivors to rescale
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - rate) if rate < 1.0 else 0.0)
    return mul(x, mask)


def gaussian_noise(x: Any, stddev: float, training: bool = True,
                   seed: int | np.random.Generator | None = None) -> Tensor:
    r"""Additive zero-mean Gaussian noise :math:`y = x + \epsilon`,
    :math:`\epsilon \sim \mathcal N(0, \sigma^2)`, in training only."""
    x = _tensor(x)
    if not training or stddev == 0:
        return x
    rng = nb_random.generator() if seed is None else nb_random.make_generator(seed)
    noise = rng.standard_normal(x.shape, dtype=np.float32).astype(x.dtype) * float(stddev)
    return add(x, noise)
