r"""Direct ("shifted-row") convolution for inputs with few channels, stride 1, no dilation: the
first layer of an image model, for :class:`nablanet.kernels.conv.FastConv2D`.

Keep the padded input planar (channels first) and flatten each channel plane of an image to
a vector :math:`x_c` of length :math:`H_p W_p`. Compute the output on the padded-width grid:
rows of :math:`W_p` values of which the last :math:`k_w - 1` of each row are discarded. The
output of filter :math:`f` at the flat index :math:`j = y W_p + x` is then

.. math::

    z_f[j] = b_f + \sum_{c,\,d_y,\,d_x} w[d_y, d_x, c, f]\; x_c[j + d_y W_p + d_x],

that is, one matrix product :math:`Z^\top = W^\top B` of shapes
:math:`(F, J) = (F, k_h k_w C)\,(k_h k_w C, J)` whose row :math:`t = (d_y, d_x, c)` of
:math:`B` is the input itself, shifted by :math:`o_t = c\,H_p W_p + d_y W_p + d_x`
(:func:`offsets`): no im2col copy, and the long dimension :math:`J` (the output pixels) is the
vectorised one. Backward (the input is the model's input and needs no gradient) is

.. math::

    \bar w[t, f] = \sum_j B[t, j]\, \bar z_f[j], \qquad \bar b_f = \sum_j \bar z_f[j],

long contiguous dot products, with :math:`\bar z` zero on the discarded columns.

The compiled kernels (numba, :mod:`nablanet.kernels._numba`) work through an image in bands
of output rows whose :math:`(F, \text{band})` product stays in a core's cache
(:data:`BAND_BYTES`). The product takes 4 filters × 9 taps per pass over a band: 36 weights
held in registers, each vector of 9 input rows feeding 36 fused multiply-adds into 4 output
rows, the first pass writing and the others adding (a 3×3 kernel has 9·C taps: no remainder).
Each band is then written out channels-last, with bias and ReLU, or pooled right away by
2×2 max pooling (the same arithmetic and winner codes as
:func:`nablanet.kernels.pooling._numba_max_pool`, through
:func:`~nablanet.kernels.pooling.max_of_four`), so that the conv output never exists. Backward
rebuilds each band's :math:`\bar z` in the planar layout (from the masked gradient rows, or
from the pooled gradient and the winner codes) and adds 4 taps × 4 filters of dot products
per pass. Those dot products are vectorised reductions (fastmath ``reassoc``): their
summation order differs from a sequential sum's, but is fixed for a given number of threads,
so results are the same from run to run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.kernels._numba import njit
from nablanet.kernels.pooling import max_of_four

#: About how many bytes one band's product (``filters × rows × W_p`` values) takes: small
#: enough to stay in a core's L2 cache between the product and the pass that writes it out.
BAND_BYTES = 1 << 17


def offsets(kernel: tuple[int, ...], channels: int, hp: int, wp: int) -> np.ndarray:
    """The shift :math:`o_t = c H_p W_p + d_y W_p + d_x` of each tap, in the order of the
    weight matrix's rows (``(kh, kw, C)``, row-major)."""
    kh, kw = kernel
    dy, dx, c = np.meshgrid(np.arange(kh), np.arange(kw), np.arange(channels), indexing="ij")
    return (c * (hp * wp) + dy * wp + dx).reshape(-1).astype(np.int64)


def band_rows(filters: int, wp: int, itemsize: int, align: int = 1) -> int:
    """Output rows per band: a multiple of ``align`` whose product takes about
    :data:`BAND_BYTES`."""
    rows = BAND_BYTES // max(filters * wp * itemsize, 1)
    return max(align, rows // align * align)


def available() -> bool:
    """Whether the compiled kernels exist (numba installed and switched on)."""
    return _product is not None


# --- forward ----------------------------------------------------------------------------------
@njit(fastmath={"contract"}, error_model="numpy")
def _product(x, base, offs, wt, out, length):  # type: ignore[no-untyped-def]
    """``out[f, j] = Σ_t wt[f, t] · x[base + offs[t] + j]`` for ``j < length``: 4 filters × 9
    taps per pass (36 weights in registers, the ``j`` loop vectorised); the first pass over a
    row writes it, the later ones add; remainders one filter or one tap at a time."""
    filters, taps = wt.shape
    t9 = taps - taps % 9
    f4 = filters - filters % 4
    zero = out.dtype.type(0)
    if t9 == 0:
        for f in range(filters):
            row = out[f]
            for j in range(length):
                row[j] = zero
    for f in range(0, f4, 4):
        o0, o1, o2, o3 = out[f], out[f + 1], out[f + 2], out[f + 3]
        for k in range(0, t9, 9):
            a0, a1, a2 = x[base + offs[k]:], x[base + offs[k + 1]:], x[base + offs[k + 2]:]
            a3, a4, a5 = x[base + offs[k + 3]:], x[base + offs[k + 4]:], x[base + offs[k + 5]:]
            a6, a7, a8 = x[base + offs[k + 6]:], x[base + offs[k + 7]:], x[base + offs[k + 8]:]
            p00, p01, p02 = wt[f, k], wt[f, k + 1], wt[f, k + 2]
            p03, p04, p05 = wt[f, k + 3], wt[f, k + 4], wt[f, k + 5]
            p06, p07, p08 = wt[f, k + 6], wt[f, k + 7], wt[f, k + 8]
            p10, p11, p12 = wt[f + 1, k], wt[f + 1, k + 1], wt[f + 1, k + 2]
            p13, p14, p15 = wt[f + 1, k + 3], wt[f + 1, k + 4], wt[f + 1, k + 5]
            p16, p17, p18 = wt[f + 1, k + 6], wt[f + 1, k + 7], wt[f + 1, k + 8]
            p20, p21, p22 = wt[f + 2, k], wt[f + 2, k + 1], wt[f + 2, k + 2]
            p23, p24, p25 = wt[f + 2, k + 3], wt[f + 2, k + 4], wt[f + 2, k + 5]
            p26, p27, p28 = wt[f + 2, k + 6], wt[f + 2, k + 7], wt[f + 2, k + 8]
            p30, p31, p32 = wt[f + 3, k], wt[f + 3, k + 1], wt[f + 3, k + 2]
            p33, p34, p35 = wt[f + 3, k + 3], wt[f + 3, k + 4], wt[f + 3, k + 5]
            p36, p37, p38 = wt[f + 3, k + 6], wt[f + 3, k + 7], wt[f + 3, k + 8]
            if k == 0:
                for j in range(length):
                    v0, v1, v2, v3, v4 = a0[j], a1[j], a2[j], a3[j], a4[j]
                    v5, v6, v7, v8 = a5[j], a6[j], a7[j], a8[j]
                    o0[j] = ((p00 * v0 + p01 * v1 + p02 * v2) + (p03 * v3 + p04 * v4 + p05 * v5)
                             + (p06 * v6 + p07 * v7 + p08 * v8))
                    o1[j] = ((p10 * v0 + p11 * v1 + p12 * v2) + (p13 * v3 + p14 * v4 + p15 * v5)
                             + (p16 * v6 + p17 * v7 + p18 * v8))
                    o2[j] = ((p20 * v0 + p21 * v1 + p22 * v2) + (p23 * v3 + p24 * v4 + p25 * v5)
                             + (p26 * v6 + p27 * v7 + p28 * v8))
                    o3[j] = ((p30 * v0 + p31 * v1 + p32 * v2) + (p33 * v3 + p34 * v4 + p35 * v5)
                             + (p36 * v6 + p37 * v7 + p38 * v8))
            else:
                for j in range(length):
                    v0, v1, v2, v3, v4 = a0[j], a1[j], a2[j], a3[j], a4[j]
                    v5, v6, v7, v8 = a5[j], a6[j], a7[j], a8[j]
                    o0[j] += ((p00 * v0 + p01 * v1 + p02 * v2) + (p03 * v3 + p04 * v4 + p05 * v5)
                              + (p06 * v6 + p07 * v7 + p08 * v8))
                    o1[j] += ((p10 * v0 + p11 * v1 + p12 * v2) + (p13 * v3 + p14 * v4 + p15 * v5)
                              + (p16 * v6 + p17 * v7 + p18 * v8))
                    o2[j] += ((p20 * v0 + p21 * v1 + p22 * v2) + (p23 * v3 + p24 * v4 + p25 * v5)
                              + (p26 * v6 + p27 * v7 + p28 * v8))
                    o3[j] += ((p30 * v0 + p31 * v1 + p32 * v2) + (p33 * v3 + p34 * v4 + p35 * v5)
                              + (p36 * v6 + p37 * v7 + p38 * v8))
        for k in range(t9, taps):  # (kernels other than 3×3: taps that are not a block of 9)
            a0 = x[base + offs[k]:]
            q0, q1, q2, q3 = wt[f, k], wt[f + 1, k], wt[f + 2, k], wt[f + 3, k]
            for j in range(length):
                v = a0[j]
                o0[j] += q0 * v
                o1[j] += q1 * v
                o2[j] += q2 * v
                o3[j] += q3 * v
    for f in range(f4, filters):  # the last 1-3 filters, one at a time
        o0 = out[f]
        for j in range(length):
            o0[j] = zero
        for k in range(taps):
            a0 = x[base + offs[k]:]
            q0 = wt[f, k]
            for j in range(length):
                o0[j] += q0 * a0[j]


@njit(fastmath={"contract"}, error_model="numpy")
def _forward_rows(xf, wp, offs, wt, bias, relu, a, z, y0, y1, band, buf,  # type: ignore[no-untyped-def]
                  out):
    """Output rows ``[y0, y1)`` of images ``[a, z)`` into ``out`` (``(z - a, y1 - y0, Wo, F)``,
    channels last), band by band: the product, then ``+ bias`` (empty: none) and, if
    ``relu``, ``max(·, 0)``, written out transposed. ``xf``: the planar input, one flat row
    per image."""
    wo, filters = out.shape[2], out.shape[3]
    has_bias = bias.shape[0] > 0
    zero = out.dtype.type(0)
    for n in range(a, z):
        x = xf[n]
        for yb in range(y0, y1, band):
            rows = min(band, y1 - yb)
            _product(x, yb * wp, offs, wt, buf, (rows - 1) * wp + wo)
            for i in range(rows):
                for ox in range(wo):
                    o = out[n - a, yb - y0 + i, ox]
                    j = i * wp + ox
                    for f in range(filters):
                        v = buf[f, j] + bias[f] if has_bias else buf[f, j]
                        if relu:
                            v = zero if v < 0 else v  # NaN stays NaN, as np.maximum
                        o[f] = v


@njit(fastmath={"contract"}, error_model="numpy")
def _forward_pool(xf, wp, wo, offs, wt, bias, a, z, band, buf, pooled, pbuf,  # type: ignore[no-untyped-def]
                  out, winner):
    """The 2×2 max pool of ``relu(conv + bias)`` (``bias`` empty: none) of images ``[a, z)``
    into ``out`` and its winner codes into ``winner`` (both ``(z - a, Ho // 2, Wo // 2, F)``;
    the codes of :func:`nablanet.kernels.pooling._numba_max_pool`: the first winning tap,
    plus 64 when the maximum is not positive), band by band (``band`` even): the product,
    then each pair of rows pooled planar into ``pooled``/``pbuf`` (``(F, Wo // 2)``) and
    written out transposed."""
    ph, pw, filters = out.shape[1], out.shape[2], out.shape[3]
    has_bias = bias.shape[0] > 0
    zero = out.dtype.type(0)
    for n in range(a, z):
        x = xf[n]
        for yb in range(0, 2 * ph, band):
            rows = min(band, 2 * ph - yb)
            _product(x, yb * wp, offs, wt, buf, (rows - 1) * wp + wo)
            for i in range(rows // 2):
                for f in range(filters):
                    b = bias[f] if has_bias else zero
                    r0 = buf[f, 2 * i * wp:]
                    r1 = buf[f, (2 * i + 1) * wp:]
                    pm = pooled[f]
                    pk = pbuf[f]
                    for px in range(pw):
                        m, tap = max_of_four(r0[2 * px] + b, r0[2 * px + 1] + b,
                                             r1[2 * px] + b, r1[2 * px + 1] + b)
                        pm[px] = m
                        pk[px] = tap if m > 0 else tap | 64
                py = yb // 2 + i
                for px in range(pw):
                    o = out[n - a, py, px]
                    k = winner[n - a, py, px]
                    for f in range(filters):
                        m = pooled[f, px]
                        o[f] = zero if m < 0 else m
                        k[f] = pbuf[f, px]


# --- backward ---------------------------------------------------------------------------------
@njit(fastmath={"contract", "reassoc"}, error_model="numpy")
def _filter_grad(x, base, offs, dz, length, dw):  # type: ignore[no-untyped-def]
    """``dw[t, f] += Σ_j x[base + offs[t] + j] · dz[f, j]`` for ``j < length``: 4 taps × 4
    filters of dot products per pass (each loaded vector feeds 4 multiply-adds), vectorised
    reductions (``reassoc``); remainders one tap or one filter at a time."""
    taps, filters = dw.shape
    t4 = taps - taps % 4
    f4 = filters - filters % 4
    zero = dw.dtype.type(0)
    for t in range(0, t4, 4):
        a0, a1 = x[base + offs[t]:], x[base + offs[t + 1]:]
        a2, a3 = x[base + offs[t + 2]:], x[base + offs[t + 3]:]
        for f in range(0, f4, 4):
            d0, d1, d2, d3 = dz[f], dz[f + 1], dz[f + 2], dz[f + 3]
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
            for j in range(length):
                v0, v1, v2, v3 = a0[j], a1[j], a2[j], a3[j]
                e0, e1, e2, e3 = d0[j], d1[j], d2[j], d3[j]
                s00 += v0 * e0
                s01 += v0 * e1
                s02 += v0 * e2
                s03 += v0 * e3
                s10 += v1 * e0
                s11 += v1 * e1
                s12 += v1 * e2
                s13 += v1 * e3
                s20 += v2 * e0
                s21 += v2 * e1
                s22 += v2 * e2
                s23 += v2 * e3
                s30 += v3 * e0
                s31 += v3 * e1
                s32 += v3 * e2
                s33 += v3 * e3
            dw[t, f] += s00
            dw[t, f + 1] += s01
            dw[t, f + 2] += s02
            dw[t, f + 3] += s03
            dw[t + 1, f] += s10
            dw[t + 1, f + 1] += s11
            dw[t + 1, f + 2] += s12
            dw[t + 1, f + 3] += s13
            dw[t + 2, f] += s20
            dw[t + 2, f + 1] += s21
            dw[t + 2, f + 2] += s22
            dw[t + 2, f + 3] += s23
            dw[t + 3, f] += s30
            dw[t + 3, f + 1] += s31
            dw[t + 3, f + 2] += s32
            dw[t + 3, f + 3] += s33
        for f in range(f4, filters):
            d0 = dz[f]
            s0 = s1 = s2 = s3 = zero
            for j in range(length):
                e = d0[j]
                s0 += a0[j] * e
                s1 += a1[j] * e
                s2 += a2[j] * e
                s3 += a3[j] * e
            dw[t, f] += s0
            dw[t + 1, f] += s1
            dw[t + 2, f] += s2
            dw[t + 3, f] += s3
    for t in range(t4, taps):
        a0 = x[base + offs[t]:]
        for f in range(filters):
            d0 = dz[f]
            s0 = zero
            for j in range(length):
                s0 += a0[j] * d0[j]
            dw[t, f] += s0


@njit(fastmath={"contract", "reassoc"}, error_model="numpy")
def _band_grads(x, base, offs, dz, length, dw, db):  # type: ignore[no-untyped-def]
    """One band's share of the weight gradient and (``db`` not empty) of the bias gradient."""
    _filter_grad(x, base, offs, dz, length, dw)
    if db.shape[0] > 0:
        for f in range(dz.shape[0]):
            row = dz[f]
            s = db.dtype.type(0)
            for j in range(length):
                s += row[j]
            db[f] += s


@njit(fastmath={"contract", "reassoc"}, error_model="numpy")
def _grad_rows(xf, wp, offs, a, z, y0, y1, band, g, dz, dw, db):  # type: ignore[no-untyped-def]
    """The gradients' share of output rows ``[y0, y1)`` of images ``[a, z)``, whose gradient
    ``g`` (``(z - a, y1 - y0, Wo, F)``, channels last, ReLU-masked) is copied band by band
    into the planar ``dz`` (zero on the discarded columns)."""
    wo, filters = g.shape[2], g.shape[3]
    zero = dz.dtype.type(0)
    for n in range(a, z):
        x = xf[n]
        for yb in range(y0, y1, band):
            rows = min(band, y1 - yb)
            for i in range(rows):
                for ox in range(wo):
                    gr = g[n - a, yb - y0 + i, ox]
                    for f in range(filters):
                        dz[f, i * wp + ox] = gr[f]
                for f in range(filters):
                    for ox in range(wo, wp):
                        dz[f, i * wp + ox] = zero
            _band_grads(x, yb * wp, offs, dz, (rows - 1) * wp + wo, dw, db)


@njit(fastmath={"contract", "reassoc"}, error_model="numpy")
def _grad_pool(xf, wp, wo, offs, a, z, band, grad, winner, mask, gbuf, kbuf,  # type: ignore[no-untyped-def]
               dz, dw, db):
    """The gradients of the fused 2×2 max pool's images ``[a, z)`` from the pooled gradient
    ``grad`` and the winner codes (``(z - a, Ho // 2, Wo // 2, F)``): band by band (``band``
    even), each pooled gradient goes to its window's winner in the planar ``dz`` (nowhere when
    ``code & mask`` is no tap: the maximum was not positive, the ReLU's mask), zeros
    elsewhere, through the planar ``gbuf``/``kbuf`` (``(F, Wo // 2)``)."""
    ph, pw, filters = grad.shape[1], grad.shape[2], grad.shape[3]
    zero = dz.dtype.type(0)
    for n in range(a, z):
        x = xf[n]
        for yb in range(0, 2 * ph, band):
            rows = min(band, 2 * ph - yb)
            for i in range(rows // 2):
                py = yb // 2 + i
                for px in range(pw):
                    gr = grad[n - a, py, px]
                    kr = winner[n - a, py, px]
                    for f in range(filters):
                        gbuf[f, px] = gr[f]
                        kbuf[f, px] = kr[f] & mask
                for f in range(filters):
                    r0 = dz[f, 2 * i * wp:]
                    r1 = dz[f, (2 * i + 1) * wp:]
                    gf = gbuf[f]
                    kf = kbuf[f]
                    for px in range(pw):
                        v = gf[px]
                        k = kf[px]
                        r0[2 * px] = v if k == 0 else zero
                        r0[2 * px + 1] = v if k == 1 else zero
                        r1[2 * px] = v if k == 2 else zero
                        r1[2 * px + 1] = v if k == 3 else zero
                    for ox in range(2 * pw, wp):  # columns that no window covers
                        r0[ox] = zero
                        r1[ox] = zero
            _band_grads(x, yb * wp, offs, dz, (rows - 1) * wp + wo, dw, db)


def applies(kernel: tuple[int, ...], strides: tuple[int, ...], dilation: tuple[int, ...],
            dtype: Any) -> bool:
    """Whether the direct path can take this convolution: stride 1, no dilation,
    float32/float64 and numba available (the caller decides on the channel count)."""
    return (tuple(strides) == (1, 1) and tuple(dilation) == (1, 1)
            and np.dtype(dtype) in (np.float32, np.float64) and available())
