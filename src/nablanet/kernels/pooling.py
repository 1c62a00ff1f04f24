"""Fast max pooling: one compiled pass each way, split over the batch on worker threads.

The same maths as :class:`nablanet.ops.pooling.MaxPool2D` (the maximum of each window, the
gradient to its first winner in row-major order), with each window's winner kept as a small code
(int8) in forward, so that backward is a single scatter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.kernels._numba import njit, numba_module
from nablanet.kernels.registry import register
from nablanet.kernels.threads import split_batch
from nablanet.ops.pooling import MaxPool1D, MaxPool2D, _Pool1DMixin

_NUMBA_MAX_POOL: list[tuple[Callable[..., Any], ...] | None] = []

# Winner codes: the tap index (row-major in the window, < 64), plus this flag when the maximum
# is not positive. The fused conv + pool's backward drops those windows (its ReLU mask).
_NOT_POSITIVE = 64
_MAX_TAPS = 63


@njit(inline="always")
def max_of_four(v0, v1, v2, v3):  # type: ignore[no-untyped-def]
    """The maximum of a 2×2 window's values (row-major ``v0 … v3``) and its tap (0-3): the
    first winner on ties (strict comparisons), as NumPy's argmax."""
    top = v1 > v0
    m01 = v1 if top else v0
    t01 = 1 if top else 0
    bottom = v3 > v2
    m23 = v3 if bottom else v2
    t23 = 3 if bottom else 2
    lower = m23 > m01
    maximum = m23 if lower else m01  # (selects, not branches: the channel loop vectorises)
    tap = t23 if lower else t01
    return maximum, tap


def _numba_max_pool() -> tuple[Callable[..., Any], ...] | None:
    """Compiled (forward, backward, dense backward) max-pool kernels (numba, cached), or None.

    One pass each: the forward writes the maximum and the winner code (index of the first
    winning tap, plus a flag when the maximum is not positive), optionally of the input plus
    a bias per channel and clamped at zero afterwards (``bias`` empty for none, ``relu``): that
    is the max pool of ``relu(x + b)`` with the same values and winners, since rounding
    ``x + b`` and the ReLU are monotonic (what the fused conv + pool primitive uses); windows of
    2×2 keep their maxima in registers. The backward
    adds each output gradient at its winner; the dense backward, for windows that tile the
    input exactly (stride = pool size), writes every position (gradient or zero), so the
    gradient array needs no zero-fill first. Each kernel is serial over its batch range and
    releases the GIL: the caller splits the batch over threads
    (:func:`nablanet.kernels.threads.split_batch`).
    """
    if not _NUMBA_MAX_POOL:
        numba = numba_module()
        if numba is None:
            _NUMBA_MAX_POOL.append(None)
            return None

        @numba.njit(cache=True, nogil=True)
        def forward_kernel(xp, out, winner, ph, pw, sh, sw,  # type: ignore[no-untyped-def]
                           bias, relu):
            n_batch, ho, wo, channels = out.shape
            has_bias = bias.shape[0] > 0
            zero = out.dtype.type(0)
            for n in range(n_batch):
                for oy in range(ho):
                    for ox in range(wo):
                        y0 = oy * sh
                        x0 = ox * sw
                        o = out[n, oy, ox]
                        k = winner[n, oy, ox]
                        if ph == 2 and pw == 2:  # the usual window: maxima kept in registers
                            r0 = xp[n, y0, x0]
                            r1 = xp[n, y0, x0 + 1]
                            r2 = xp[n, y0 + 1, x0]
                            r3 = xp[n, y0 + 1, x0 + 1]
                            for c in range(channels):  # contiguous channels: vectorised
                                b = bias[c] if has_bias else zero
                                m, tap = max_of_four(r0[c] + b, r1[c] + b, r2[c] + b,
                                                     r3[c] + b)
                                o[c] = (zero if m < 0 else m) if relu else m
                                k[c] = tap if m > 0 else tap | 64
                            continue
                        first = xp[n, y0, x0]
                        for c in range(channels):
                            o[c] = first[c] + bias[c] if has_bias else first[c]
                            k[c] = 0
                        for i in range(ph):
                            for j in range(pw):
                                if i == 0 and j == 0:
                                    continue
                                tap = np.int8(i * pw + j)
                                row = xp[n, y0 + i, x0 + j]
                                for c in range(channels):
                                    v = row[c] + bias[c] if has_bias else row[c]
                                    if v > o[c]:  # strictly: ties keep the first winner
                                        o[c] = v
                                        k[c] = tap
                        for c in range(channels):
                            if not o[c] > 0:
                                k[c] |= np.int8(64)
                                if relu and o[c] < 0:
                                    o[c] = zero

        @numba.njit(cache=True, nogil=True)
        def backward_kernel(grad, winner, gxp, ph, pw, sh, sw,  # type: ignore[no-untyped-def]
                            mask):
            n_batch, ho, wo, channels = grad.shape
            for n in range(n_batch):
                for oy in range(ho):
                    for ox in range(wo):
                        g = grad[n, oy, ox]
                        k = winner[n, oy, ox]
                        for i in range(ph):
                            for j in range(pw):
                                tap = np.int8(i * pw + j)
                                row = gxp[n, oy * sh + i, ox * sw + j]
                                for c in range(channels):  # contiguous channels: vectorised
                                    if (k[c] & mask) == tap:
                                        row[c] += g[c]

        @numba.njit(cache=True, nogil=True)
        def dense_backward_kernel(grad, winner, gxp, ph, pw,  # type: ignore[no-untyped-def]
                                  mask):
            n_batch, ho, wo, channels = grad.shape
            zero = gxp.dtype.type(0)
            for n in range(n_batch):
                for oy in range(ho):
                    for i in range(ph):
                        for ox in range(wo):
                            g = grad[n, oy, ox]
                            k = winner[n, oy, ox]
                            for j in range(pw):
                                tap = np.int8(i * pw + j)
                                row = gxp[n, oy * ph + i, ox * pw + j]
                                for c in range(channels):
                                    row[c] = g[c] if (k[c] & mask) == tap else zero

        _NUMBA_MAX_POOL.append((forward_kernel, backward_kernel, dense_backward_kernel))
    return _NUMBA_MAX_POOL[0]


class FastMaxPool2D(MaxPool2D):
    """:class:`nablanet.ops.pooling.MaxPool2D` by the compiled kernels (float32/float64, at
    most 63 taps a window; :func:`max_pool2d` returns None otherwise)."""

    __slots__ = ("winner",)

    def forward(self, x: np.ndarray, pool_size: Any = (2, 2), strides: Any = None,
                padding: Any = "valid", _shown: tuple[int, ...] | None = None) -> np.ndarray:
        x = np.asarray(x)
        xp = self._setup(x, pool_size, strides, padding, _shown)
        kernels = _numba_max_pool()
        assert kernels is not None
        out = np.empty((x.shape[0], *self.out_hw, x.shape[3]), dtype=xp.dtype)
        winner = self.winner = np.empty(out.shape, dtype=np.int8)
        xc = np.ascontiguousarray(xp)
        geometry = (*self.pool, *self.strides)
        no_bias = np.empty(0, dtype=xc.dtype)
        split_batch(lambda a, z: kernels[0](xc[a:z], out[a:z], winner[a:z], *geometry,
                                            no_bias, False), out.shape[0], xc.nbytes)
        return out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        kernels = _numba_max_pool()
        assert kernels is not None
        g = np.ascontiguousarray(grad)
        winner = self.winner
        mask = np.int8(_MAX_TAPS)
        (ph, pw), (sh, sw), (ho, wo) = self.pool, self.strides, self.out_hw
        if (sh, sw) == (ph, pw):  # windows tile the input: write every position
            gxp = np.empty(self.padded_shape, dtype=grad.dtype)
            split_batch(lambda a, z: kernels[2](g[a:z], winner[a:z], gxp[a:z], ph, pw, mask),
                        g.shape[0], 5 * g.nbytes)
            gxp[:, ho * ph :] = 0  # rows and columns that no window covers
            gxp[:, : ho * ph, wo * pw :] = 0
        else:
            gxp = np.zeros(self.padded_shape, dtype=grad.dtype)
            split_batch(lambda a, z: kernels[1](g[a:z], winner[a:z], gxp[a:z], ph, pw, sh,
                                                sw, mask), g.shape[0], 5 * g.nbytes)
        return (self._crop(gxp),)


class FastMaxPool1D(_Pool1DMixin, FastMaxPool2D):  # type: ignore[misc]
    """:class:`nablanet.ops.pooling.MaxPool1D` by the compiled kernels."""

    __slots__ = ()

    op_name = MaxPool1D.op_name


def applies(dtype: Any, taps: int) -> bool:
    """Whether the compiled kernels handle this dtype and window size."""
    return (np.dtype(dtype) in (np.float32, np.float64) and taps <= _MAX_TAPS
            and _numba_max_pool() is not None)


def _dtype(x: Any) -> Any:
    return x.data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


def _taps(pool_size: Any) -> int:
    """Taps of a 2-D window (a large number for arguments the reference must reject)."""
    try:
        size = np.broadcast_to(np.asarray(pool_size, dtype=np.int64), (2,))
    except (TypeError, ValueError):
        return _MAX_TAPS + 1
    return int(size[0] * size[1]) if (size > 0).all() else _MAX_TAPS + 1


@register("max_pool2d")
def max_pool2d(x: Any, *, pool_size: Any = (2, 2), strides: Any = None,
               padding: str = "valid") -> Tensor | None:
    """Fast :func:`nablanet.ops.pooling.max_pool2d`, or None where the kernels do not apply."""
    if not applies(_dtype(x), _taps(pool_size)):
        return None
    return FastMaxPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


@register("max_pool1d")
def max_pool1d(x: Any, *, pool_size: Any = 2, strides: Any = None,
               padding: str = "valid") -> Tensor | None:
    """Fast :func:`nablanet.ops.pooling.max_pool1d`, or None where the kernels do not apply."""
    if not isinstance(pool_size, (int, np.integer)) or not applies(_dtype(x), int(pool_size)):
        return None
    return FastMaxPool1D.apply(x, pool_size=pool_size, strides=strides, padding=padding)
