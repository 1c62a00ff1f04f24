"""Fast Adam update: one compiled pass over the arrays, split over the worker threads.

The same maths as :func:`nablanet.optimizers.adam.adam_reference` (the reference's NumPy
operations, element by element, in the same order and precision: no fast-math, no FMA), but
reading ``grad, m, v, param`` once and writing ``m, v, param`` (and ``v_max``) once, where the
reference makes about a dozen passes over the arrays. Registered as ``"adam_update"``, the
primitive :func:`nablanet.optimizers.adam.adam_update` dispatches.

It declines (returns None, and the reference runs) for small arrays (under :data:`MIN_SIZE`
elements, where the passes are cheap), dtypes other than float32/float64, mixed dtypes or
shapes, non-contiguous or read-only arrays, a gradient that shares memory with an array
written, and when numba is unavailable.
"""

from __future__ import annotations

import math

import numpy as np

from nablanet.kernels._numba import njit
from nablanet.kernels.registry import register
from nablanet.kernels.threads import split_batch

#: Arrays with fewer elements keep the reference: the fused pass pays from a few thousand
#: elements (one thread, float32: 512 elements 8.2 µs reference against 9.2 µs fused, 16 384
#: 26.9 against 14.6, 65 536 95 against 34); biases and small kernels stay with NumPy.
MIN_SIZE = 1 << 12

#: Passes over fewer bytes (all four or five arrays together) run in the caller's thread: a
#: pass under ~4 MB does not win back what handing half of it to a worker thread costs (the
#: hand-off, and the other core reading what this one wrote). At two threads, split against
#: one thread: 1 MB 84 µs against 41, 4 MB 115 against 106, 8 MB 152-182 against 206-215
#: (docs/performance.md, "Tenth session").
SPLIT_MIN_BYTES = 4 << 20


@njit(fastmath=False, error_model="numpy")
def _adam_kernel(p, g, m, v, v_max, amsgrad, b1, c1, b2, c2, eps,
                 alpha):  # type: ignore[no-untyped-def]
    # The reference's NumPy passes, element by element, in the same order; the scalars have
    # the arrays' dtype (as NumPy casts Python floats), so float32 stays float32.
    for i in range(p.shape[0]):
        gi = g[i]
        mi = m[i] * b1 + gi * c1
        vi = v[i] * b2 + (gi * gi) * c2
        m[i] = mi
        v[i] = vi
        if amsgrad:
            si = v_max[i]
            # np.maximum (a NaN on either side wins); `|` keeps it branch-free
            si = vi if (vi > si) | (vi != vi) else si
            v_max[i] = si
            vi = si
        p[i] -= mi / (math.sqrt(vi) + eps) * alpha


@register("adam_update")
def adam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray,
                v_max: np.ndarray | None, *, learning_rate: float, beta_1: float,
                beta_2: float, epsilon: float, step: int) -> bool | None:
    """Fast :func:`nablanet.optimizers.adam.adam_update` (same arguments), in place: True when
    it ran, None when it declines (see the module's docstring)."""
    from nablanet.optimizers.adam import adam_step_size

    kernel = _adam_kernel
    if kernel is None or param.size < MIN_SIZE or param.dtype not in (np.float32, np.float64):
        return None
    arrays = (param, grad, m, v) if v_max is None else (param, grad, m, v, v_max)
    for array in arrays:
        if (array.dtype != param.dtype or array.shape != param.shape
                or not array.flags.c_contiguous):
            return None
    written = arrays[:1] + arrays[2:]
    if not all(a.flags.writeable for a in written):
        return None
    if any(np.may_share_memory(grad, a) for a in written):
        return None  # (the reference's passes would read a gradient already overwritten)
    scalar = param.dtype.type  # NumPy casts the Python-float operands to the arrays' dtype
    p, g, m1, v1 = (a.reshape(-1) for a in arrays[:4])
    vm = v1 if v_max is None else v_max.reshape(-1)  # (not read without AMSGrad)
    args = (v_max is not None, scalar(beta_1), scalar(1.0 - beta_1), scalar(beta_2),
            scalar(1.0 - beta_2), scalar(epsilon),
            scalar(adam_step_size(learning_rate, beta_1, beta_2, step)))

    def run(start: int, stop: int) -> None:
        kernel(p[start:stop], g[start:stop], m1[start:stop], v1[start:stop], vm[start:stop],
               *args)

    nbytes = sum(a.nbytes for a in arrays)
    if nbytes < SPLIT_MIN_BYTES:
        run(0, p.size)
    else:
        split_batch(run, p.size, nbytes)
    return True
