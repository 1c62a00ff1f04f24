"""Fast 2-D matrix products: big GEMMs split over the larger output axis on the worker threads.

:class:`FastMatMul` is :class:`nablanet.ops.linalg.MatMul` with its 2-D products done by
:func:`matmul2d`: OpenBLAS runs at one thread inside each chunk
(:func:`nablanet.kernels.threads.split_batch`), so its own spinning workers never compete with
the other kernels' threads for the cores.
"""

from __future__ import annotations

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.kernels.registry import register
from nablanet.kernels.threads import split_batch
from nablanet.ops.linalg import MatMul

_SPLIT_MIN_MULTS = 1 << 22
_SPLIT_MIN_BYTES = 1 << 20


def matmul2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D arrays; big float products are split over the larger output axis."""
    m, n = a.shape[0], b.shape[1]
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64) or \
            m * n * a.shape[1] < _SPLIT_MIN_MULTS:
        return np.matmul(a, b)
    out = np.empty((m, n), dtype=a.dtype)
    if m >= n:
        split_batch(lambda s, e: np.matmul(a[s:e], b, out=out[s:e]), m, _SPLIT_MIN_BYTES)
    else:
        split_batch(lambda s, e: np.matmul(a, b[:, s:e], out=out[:, s:e]), n, _SPLIT_MIN_BYTES)
    return out


class FastMatMul(MatMul):
    """:class:`nablanet.ops.linalg.MatMul` with :func:`matmul2d` for its 2-D products."""

    __slots__ = ()

    _matmul2d = staticmethod(matmul2d)
    fresh_grads = True  # every gradient is a new product (see Function.fresh_grads)


@register("matmul")
def matmul(x: Tensor, y: Tensor) -> Tensor:
    """Fast :func:`nablanet.ops.linalg.matmul` (operands already Tensors)."""
    return FastMatMul.apply(x, y)
