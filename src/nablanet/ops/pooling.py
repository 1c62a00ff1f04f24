r"""Pooling primitives, channels-last as in Keras: max and average pooling in 1-D and 2-D.

A pooling window of size :math:`(p_h, p_w)` moved with strides :math:`(s_h, s_w)` replaces each
position by a summary statistic of its neighbourhood (section 7.3, step 3):

.. math::

    y_\text{max}[n, i, j, c] = \max_{0 \le m < p_h,\, 0 \le l < p_w}
                               x_p[n, i s_h + m, j s_w + l, c]

    y_\text{avg}[n, i, j, c] = \frac{1}{|W_{ij}|} \sum_{(m, l) \in W_{ij}}
                               x[n, i s_h + m, j s_w + l, c]

'same' padding follows TensorFlow (:func:`nablanet.ops.conv.same_padding`); padded positions
never win a max and are excluded from the average's count :math:`|W_{ij}|`, as in TensorFlow.

Both are computed tap by tap: one strided slice of the (padded) input per window offset,
combined with ``np.maximum`` or ``+``; for the usual 2×2 stride-2 pool that is four slices,
about four times faster than ``reshape(...).max(axis=(2, 4))``. The max-pool gradient goes to
one winner per window, the first maximum in row-major window order (as PyTorch and TensorFlow).
With numba, max pooling is one compiled pass each way, split over the batch on worker threads
(:func:`nablanet.ops.conv.split_batch`). When the input comes straight from a
``conv2d(..., activation='relu')`` the backward also applies that conv's ReLU mask (a window
whose maximum is not positive passes no gradient) and the conv skips its own masking pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor
from nablanet.ops.conv import Conv2D, normalize_tuple, resolve_padding, split_batch


def _taps(*geometry: int) -> Iterator[tuple[slice, slice, slice, slice]]:
    """For each window offset: the index of its slice of the padded input.

    ``geometry`` is ``(pool_h, pool_w, stride_h, stride_w, out_h, out_w)``.
    """
    ph, pw, sh, sw, ho, wo = geometry
    for m in range(ph):
        for n in range(pw):
            yield (slice(None), slice(m, m + (ho - 1) * sh + 1, sh),
                   slice(n, n + (wo - 1) * sw + 1, sw), slice(None))


_NUMBA_MAX_POOL: list[tuple[Callable[..., Any], ...] | None] = []

# Winner codes: the tap index (row-major in the window, < 64), plus this flag when the maximum
# is not positive. Backward with ``premask`` drops those windows (see MaxPool2D.backward).
_NOT_POSITIVE = 64
_MAX_TAPS = 63


def _numba_max_pool() -> tuple[Callable[..., Any], ...] | None:
    """Compiled (forward, backward, dense backward) max-pool kernels (numba, cached), or None.

    One pass each: the forward writes the maximum and the winner code (index of the first
    winning tap, plus a flag when the maximum is not positive), optionally of the input plus
    a bias per channel and clamped at zero afterwards (``bias`` empty for none, ``relu``): that
    is the max pool of ``relu(x + b)`` with the same values and winners, since rounding
    ``x + b`` and the ReLU are monotonic (what the fused conv + pool primitive uses); windows of
    2×2 keep their maxima in registers (25–50% faster on the chapter's layers). The backward
    adds each output gradient at its winner; the dense backward, for windows that tile the
    input exactly (stride = pool size), writes every position (gradient or zero), so the
    gradient array needs no zero-fill first. Each kernel is serial over its batch range and
    releases the GIL: the caller splits the batch over threads
    (:func:`nablanet.ops.conv.split_batch`).
    """
    if not _NUMBA_MAX_POOL:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba is a dependency; keep a pure-NumPy path
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
                                v0 = r0[c] + b
                                v1 = r1[c] + b
                                v2 = r2[c] + b
                                v3 = r3[c] + b
                                top = v1 > v0  # strictly: ties keep the first winner
                                m01 = v1 if top else v0
                                t01 = 1 if top else 0
                                bottom = v3 > v2
                                m23 = v3 if bottom else v2
                                t23 = 3 if bottom else 2
                                lower = m23 > m01
                                m = m23 if lower else m01
                                tap = t23 if lower else t01
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


class _Pool2D(Function):
    """Shared argument handling and geometry of the 2-D pooling primitives."""

    __slots__ = ("x_shape", "padded_shape", "pads", "pool", "strides", "out_hw")

    op_name = "pool2d"
    fill = 0.0

    def _setup(self, x: np.ndarray, pool_size: Any, strides: Any, padding: Any,
               shown: tuple[int, ...] | None) -> np.ndarray:
        op = self.op_name
        if x.ndim != 4:
            raise ValueError(
                f"{op}: expected a 4-D input (batch, height, width, channels); received an "
                f"input of shape {x.shape}"
            )
        pool = normalize_tuple(pool_size, 2, "pool_size", op)
        strides = pool if strides is None else normalize_tuple(strides, 2, "strides", op)
        pads = resolve_padding(padding, x.shape[1:3], pool, strides, (1, 1), op)
        (pt, pb), (pl, pr) = pads
        padded = (x.shape[1] + pt + pb, x.shape[2] + pl + pr)
        if padded[0] < pool[0] or padded[1] < pool[1]:
            raise ValueError(
                f"{op}: pool_size {pool} is larger than the padded input {padded} "
                f"(input shape {x.shape if shown is None else shown})"
            )
        if pads == ((0, 0), (0, 0)):
            xp = x
        else:
            xp = np.full((x.shape[0], *padded, x.shape[3]), self.fill, dtype=x.dtype)
            xp[:, pt : pt + x.shape[1], pl : pl + x.shape[2]] = x
        self.x_shape = x.shape
        self.padded_shape = xp.shape
        self.pads = pads
        self.pool = pool
        self.strides = strides
        self.out_hw = ((padded[0] - pool[0]) // strides[0] + 1,
                       (padded[1] - pool[1]) // strides[1] + 1)
        return xp

    def _slices(self) -> Iterator[tuple[slice, slice, slice, slice]]:
        return _taps(*self.pool, *self.strides, *self.out_hw)

    def _disjoint(self) -> bool:
        """Whether windows do not overlap (each input position is in at most one window)."""
        return self.strides[0] >= self.pool[0] and self.strides[1] >= self.pool[1]

    def _crop(self, gxp: np.ndarray) -> np.ndarray:
        (pt, _), (pl, _) = self.pads
        return gxp[:, pt : pt + self.x_shape[1], pl : pl + self.x_shape[2]]


class MaxPool2D(_Pool2D):
    r"""2-D max pooling (NHWC).

    .. math::

        y[n, i, j, c] = \max_{m, l} x_p[n, i s_h + m, j s_w + l, c], \qquad
        \bar x_p[n, i s_h + m^*, j s_w + l^*, c] \mathrel{+}= \bar y[n, i, j, c]

    with :math:`(m^*, l^*)` the first position (row-major) attaining the maximum.
    """

    __slots__ = ("xp", "out", "winner")

    op_name = "max_pool2d"
    fill = -np.inf

    def forward(self, x: np.ndarray, pool_size: Any = (2, 2), strides: Any = None,
                padding: Any = "valid", _shown: tuple[int, ...] | None = None) -> np.ndarray:
        x = np.asarray(x)
        xp = self._setup(x, pool_size, strides, padding, _shown)
        kernels = _numba_max_pool()
        self.winner = None
        if kernels is not None and xp.dtype in (np.float32, np.float64) and self.pool[0] * \
                self.pool[1] <= _MAX_TAPS:
            out = np.empty((x.shape[0], *self.out_hw, x.shape[3]), dtype=xp.dtype)
            winner = self.winner = np.empty(out.shape, dtype=np.int8)
            xc = np.ascontiguousarray(xp)
            geometry = (*self.pool, *self.strides)
            no_bias = np.empty(0, dtype=xc.dtype)
            split_batch(lambda a, z: kernels[0](xc[a:z], out[a:z], winner[a:z], *geometry,
                                                no_bias, False), out.shape[0], xc.nbytes)
            return out
        slices = list(self._slices())
        if len(slices) == 4:  # the common 2×2 pool: a balanced tree of maxima
            a, b, c, d = (xp[s] for s in slices)
            out = np.maximum(a, b)
            np.maximum(out, np.maximum(c, d), out=out)
        else:
            out = xp[slices[0]].copy()
            for s in slices[1:]:
                np.maximum(out, xp[s], out=out)
        self.xp = xp
        self.out = out
        return out

    def _fused_relu_source(self) -> Conv2D | None:
        """The conv node whose fused ReLU output is this pool's input and that can take a
        pre-masked gradient: the input tensor came straight from a ``Conv2D(...,
        activation='relu')`` whose backward has not run and nobody asked for its gradient."""
        inputs = getattr(self, "inputs", None)
        if not inputs:
            return None
        x = inputs[0]
        node = getattr(x, "_ctx", None)
        if type(node) is Conv2D and node.out is not None and not x._retains_grad:
            return node
        return None

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        # After a fused conv + ReLU, z = relu(y) >= 0 and the conv masks its incoming gradient
        # by [z > 0]. A window's winner has z = the pooled maximum, and every other position
        # gets no gradient, so the mask can be applied here, where it costs nothing (windows
        # whose maximum is not positive are skipped); the conv then sees that its gradient
        # is this array and skips its own masking pass.
        source = self._fused_relu_source()
        premask = source is not None
        if self.winner is not None:
            kernels = _numba_max_pool()
            assert kernels is not None
            g = np.ascontiguousarray(grad)
            winner = self.winner
            mask = np.int8(_NOT_POSITIVE | _MAX_TAPS) if premask else np.int8(_MAX_TAPS)
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
            gx = self._crop(gxp)
        else:
            gx = self._backward_numpy(grad, premask)
        if source is not None:
            source.premasked = gx
        return (gx,)

    def _backward_numpy(self, grad: np.ndarray, premask: bool) -> np.ndarray:
        gxp = np.zeros(self.padded_shape, dtype=grad.dtype)
        xp, out = self.xp, self.out
        positive = out > 0 if premask else None
        taken = None  # windows whose winner has been found
        disjoint = self._disjoint()
        for s in self._slices():
            win = xp[s] == out
            if taken is None:
                taken = win
            else:
                win &= ~taken
                taken |= win
            if positive is not None:
                win = win & positive
            if disjoint:
                np.multiply(grad, win, out=gxp[s])
            else:
                gxp[s] += grad * win
        return self._crop(gxp)


class AvgPool2D(_Pool2D):
    r"""2-D average pooling (NHWC); padded positions are not counted (TensorFlow).

    .. math::

        y[n, i, j, c] = \frac{1}{|W_{ij}|}\sum_{(m, l) \in W_{ij}} x[n, i s_h + m, j s_w + l, c],
        \qquad \bar x[n, i s_h + m, j s_w + l, c] \mathrel{+}= \frac{\bar y[n, i, j, c]}{|W_{ij}|}
    """

    __slots__ = ("count",)

    op_name = "avg_pool2d"

    def forward(self, x: np.ndarray, pool_size: Any = (2, 2), strides: Any = None,
                padding: Any = "valid", _shown: tuple[int, ...] | None = None) -> np.ndarray:
        x = np.asarray(x)
        xp = self._setup(x, pool_size, strides, padding, _shown)
        slices = list(self._slices())
        out = xp[slices[0]].copy() if xp.dtype.kind == "f" else xp[slices[0]].astype(np.float32)
        for s in slices[1:]:
            out += xp[s]
        if self.pads == ((0, 0), (0, 0)):
            count: Any = float(len(slices))
        else:  # number of real (unpadded) positions in each window
            (pt, _), (pl, _) = self.pads
            inside = np.zeros((1, *self.padded_shape[1:3], 1), dtype=out.dtype)
            inside[:, pt : pt + x.shape[1], pl : pl + x.shape[2]] = 1
            count = sum(inside[s] for s in slices)
        out /= count
        self.count = count
        return out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        share = grad / self.count
        gxp = np.zeros(self.padded_shape, dtype=grad.dtype)
        disjoint = self._disjoint()
        for s in self._slices():
            if disjoint:
                gxp[s] = share
            else:
                gxp[s] += share
        return (self._crop(gxp),)


class _Pool1DMixin:
    """Run a 2-D pool at height 1 on ``(batch, steps, channels)`` input."""

    __slots__ = ()

    def forward(self, x: np.ndarray, pool_size: Any = 2, strides: Any = None,
                padding: Any = "valid") -> np.ndarray:
        op = self.op_name  # type: ignore[attr-defined]
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(
                f"{op}: expected a 3-D input (batch, steps, channels); received an input of "
                f"shape {x.shape}"
            )
        (p,) = normalize_tuple(pool_size, 1, "pool_size", op)
        s = None if strides is None else normalize_tuple(strides, 1, "strides", op)[0]
        out = super().forward(  # type: ignore[misc]
            x[:, None], (1, p), None if s is None else (1, s), padding, _shown=x.shape
        )
        return out[:, 0]

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        (gx,) = super().backward(grad[:, None])  # type: ignore[misc]
        return (gx[:, 0],)


class MaxPool1D(_Pool1DMixin, MaxPool2D):  # type: ignore[misc]
    r"""1-D max pooling (NWC): :math:`y[n, i, c] = \max_m x_p[n, i s + m, c]`."""

    __slots__ = ()

    op_name = "max_pool1d"


class AvgPool1D(_Pool1DMixin, AvgPool2D):  # type: ignore[misc]
    r"""1-D average pooling (NWC): :math:`y[n, i, c] = \frac{1}{|W_i|}\sum_{m \in W_i} x[n, i s + m, c]`."""  # noqa: E501

    __slots__ = ()

    op_name = "avg_pool1d"


def max_pool2d(x: Any, pool_size: int | Sequence[int] = (2, 2),
               strides: int | Sequence[int] | None = None, padding: str = "valid") -> Tensor:
    r"""2-D max pooling (Keras ``MaxPooling2D``) on ``(batch, height, width, channels)``.

    ``strides`` defaults to ``pool_size``; 'same' pads as TensorFlow (padding never wins).

    .. math:: y[n, i, j, c] = \max_{m < p_h,\, l < p_w} x_p[n, i s_h + m, j s_w + l, c]

    Examples
    --------
    >>> import numpy as np
    >>> max_pool2d(np.arange(16.0).reshape(1, 4, 4, 1)).numpy()[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return MaxPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def avg_pool2d(x: Any, pool_size: int | Sequence[int] = (2, 2),
               strides: int | Sequence[int] | None = None, padding: str = "valid") -> Tensor:
    r"""2-D average pooling (Keras ``AveragePooling2D``); 'same' excludes padding from the count.

    .. math::

        y[n, i, j, c] = \frac{1}{|W_{ij}|} \sum_{(m, l) \in W_{ij}} x[n, i s_h + m, j s_w + l, c]

    Examples
    --------
    >>> import numpy as np
    >>> avg_pool2d(np.arange(16.0).reshape(1, 4, 4, 1)).numpy()[0, :, :, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return AvgPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def max_pool1d(x: Any, pool_size: int = 2, strides: int | None = None,
               padding: str = "valid") -> Tensor:
    r"""1-D max pooling (Keras ``MaxPooling1D``) on ``(batch, steps, channels)``.

    .. math:: y[n, i, c] = \max_{m < p} x_p[n, i s + m, c]
    """
    return MaxPool1D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def avg_pool1d(x: Any, pool_size: int = 2, strides: int | None = None,
               padding: str = "valid") -> Tensor:
    r"""1-D average pooling (Keras ``AveragePooling1D``); 'same' excludes padding from the count.

    .. math:: y[n, i, c] = \frac{1}{|W_i|} \sum_{m \in W_i} x[n, i s + m, c]
    """
    return AvgPool1D.apply(x, pool_size=pool_size, strides=strides, padding=padding)
