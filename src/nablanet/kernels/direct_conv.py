r"""Direct ("shifted-row") convolution for inputs with few channels, stride 1, no dilation,
fused with ReLU and 2×2 max pooling: the first block of an image model, for
:class:`nablanet.kernels.conv_pool.Conv2DMaxPool2D`.

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
vectorised one, where im2col's GEMM has an inner dimension of only :math:`k_h k_w C` (27 for
the chapter's first layer) and :math:`F` (16) columns. The weight gradient is the same
product's adjoint, :math:`\bar w[t, f] = \sum_j B[t, j]\, \bar z_f[j]` (with :math:`\bar z`
zero on the discarded columns), and :math:`\bar b_f = \sum_j \bar z_f[j]`.

The compiled kernels (numba, :mod:`nablanet.kernels._numba`) work through an image in bands
of an even number of output rows whose :math:`(F, \text{band})` product stays in a core's
cache (:data:`BAND_BYTES`). The product takes 4 filters × 9 taps per pass over a band: 36
weights held in registers, each vector of 9 shifted input rows feeding 36 fused multiply-adds
into 4 output rows, the first pass writing and the later ones adding (a 3×3 kernel has 9·C
taps: no remainder). Each pair of rows of the band is then pooled: bias, the 2×2 maximum and
its winner code with the comparisons of :func:`nablanet.kernels.pooling.max_of_four`, so the
pooled values and codes are those of the im2col path for the same conv values; then ReLU,
written channels-last. The conv output never exists.

Only that fused forward is taken: measured (docs/performance.md), writing the product
channels-last for an unfused convolution, and building the planar :math:`\bar z` for the
direct weight gradient, are transpositions of every conv value done with scalar stores and
cost more than im2col's copy saves, so the unfused convolution and every backward keep
im2col (:class:`nablanet.kernels.conv.FastConv2D`, from the NCHW copy of the input that this
forward fills).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.kernels._numba import njit
from nablanet.kernels.pooling import max_of_four
from nablanet.kernels.simd import wide_vectors

#: About how many bytes one band's product (``filters × rows × W_p`` values) takes: small
#: enough to stay in a core's L2 cache between the product and the pooling pass.
BAND_BYTES = 1 << 17

#: The narrowest conv output (columns) for which the direct path is taken: on narrower images
#: (MNIST's 26 columns) the per-row pooling pass costs what the product saves (measured:
#: docs/performance.md).
MIN_WIDTH = 32


def applies(kernel: tuple[int, ...], strides: tuple[int, ...], dilation: tuple[int, ...],
            out_width: int, dtype: Any) -> bool:
    """Whether the direct path takes this convolution (whose input the caller keeps planar):
    stride 1, no dilation, at least :data:`MIN_WIDTH` output columns, float32/float64, and
    numba available."""
    return (tuple(strides) == (1, 1) and tuple(dilation) == (1, 1) and len(kernel) == 2
            and out_width >= MIN_WIDTH and np.dtype(dtype) in (np.float32, np.float64)
            and _forward_pool is not None)


def offsets(kernel: tuple[int, ...], channels: int, hp: int, wp: int) -> np.ndarray:
    """The shift :math:`o_t = c H_p W_p + d_y W_p + d_x` of each tap, in the order of the
    weight matrix's rows (``(kh, kw, C)``, row-major)."""
    kh, kw = kernel
    dy, dx, c = np.meshgrid(np.arange(kh), np.arange(kw), np.arange(channels), indexing="ij")
    return (c * (hp * wp) + dy * wp + dx).reshape(-1).astype(np.int64)


def band_rows(filters: int, wp: int, itemsize: int) -> int:
    """Output rows per band: an even number whose product takes about :data:`BAND_BYTES`."""
    rows = BAND_BYTES // max(filters * wp * itemsize, 1)
    return max(2, rows // 2 * 2)


def band_buffer(filters: int, length: int, dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous buffer for a band's product: ``filters`` rows of
    ``length`` values and 64 bytes more (unused), since rows a multiple of 4 KB apart would
    share cache sets (and 4K aliasing between the 4 output rows of a pass slows the
    product)."""
    return np.empty((filters, length + 64 // np.dtype(dtype).itemsize), dtype)


@njit(fastmath={"contract"}, error_model="numpy")
def _product(x, base, offs, wt, out, length):  # type: ignore[no-untyped-def]
    """``out[f, j] = Σ_t wt[f, t] · x[base + offs[t] + j]`` for ``j < length``: 4 filters × 9
    taps per pass (36 weights in registers, the ``j`` loop vectorised); the first pass over a
    row writes it, the later ones add; remainders one filter or one tap at a time."""
    wide_vectors()
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
def _forward_pool(xf, wp, wo, offs, wt, bias, a, z, band, buf, pooled, pbuf,  # type: ignore[no-untyped-def]
                  out, winner):
    """The 2×2 max pool of ``relu(conv + bias)`` (``bias`` empty: none) of images ``[a, z)``
    into ``out`` and its winner codes into ``winner`` (both ``(z - a, Ho // 2, Wo // 2, F)``;
    the codes of :func:`nablanet.kernels.pooling._numba_max_pool`: the first winning tap,
    plus 64 when the maximum is not positive), band by band (``band`` even): the product,
    then each pair of rows pooled planar into ``pooled``/``pbuf`` (``(F, Wo // 2)``) and
    written out transposed."""
    wide_vectors()
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


def forward_pool(flat: np.ndarray, wp: int, wo: int, offs: np.ndarray, wt: np.ndarray,
                 bias: np.ndarray, a: int, z: int, out: np.ndarray, winner: np.ndarray) -> None:
    """The pooled forward of images ``[a, z)`` (:func:`_forward_pool`, serial; ``out`` and
    ``winner`` are those images' rows), with its band buffers: ``flat`` is the planar input,
    one flat row per image, ``wt`` the weights as ``(F, kh·kw·C)``, ``bias`` empty for
    none."""
    kernel = _forward_pool
    assert kernel is not None, "the direct convolution needs numba (see applies)"
    filters, dtype = wt.shape[0], out.dtype
    band = band_rows(filters, wp, dtype.itemsize)
    kernel(flat, wp, wo, offs, wt, bias, a, z, band, band_buffer(filters, band * wp, dtype),
           np.empty((filters, out.shape[2]), dtype), np.empty((filters, out.shape[2]), np.int8),
           out, winner)
