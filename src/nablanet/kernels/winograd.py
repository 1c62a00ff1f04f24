r"""Winograd's minimal filtering F(2×2, 3×3): a 3×3, stride-1 convolution with 2.25× fewer
multiplications than im2col, for :class:`nablanet.kernels.conv.FastConv2D`.

The output is cut into 2×2 tiles; the tile at ``(ty, tx)`` needs the 4×4 patch :math:`d` of the
padded input at rows ``2ty … 2ty+3`` and columns ``2tx … 2tx+3``. Per input channel ``c`` and
filter ``f`` (Lavin & Gray, *Fast Algorithms for Convolutional Neural Networks*, 2016),

.. math::

    Y_{f} = A^\top \Big[ \sum_c (G\, g_{c,f}\, G^\top) \odot (B^\top d_c\, B) \Big] A,

    B^\top = \begin{pmatrix} 1 & 0 & -1 & 0 \\ 0 & 1 & 1 & 0 \\ 0 & -1 & 1 & 0 \\
             0 & 1 & 0 & -1 \end{pmatrix},\quad
    G = \begin{pmatrix} 1 & 0 & 0 \\ \tfrac12 & \tfrac12 & \tfrac12 \\
        \tfrac12 & -\tfrac12 & \tfrac12 \\ 0 & 0 & 1 \end{pmatrix},\quad
    A^\top = \begin{pmatrix} 1 & 1 & 1 & 0 \\ 0 & 1 & -1 & -1 \end{pmatrix}.

Written with :math:`U = G g G^\top` (the filter transform, once per step) and
:math:`V = B^\top d B` (the input transform, per tile), the sum over channels at each of the
16 positions ``p`` of the 4×4 transformed tile is a matrix product: with all tiles of a run of
images as rows, :math:`M_p = V_p U_p` is a ``(tiles, C) @ (C, F)`` GEMM, 16 of them, and the
output transform :math:`A^\top M A` gives the 2×2 outputs of each tile (4 products per tile and
channel pair instead of im2col's 36 for 4 outputs). An odd output height or width gets a last
row or column of tiles that reads one row or column past the input (treated as zeros) and
writes only its valid outputs.

Backward is the exact adjoint of those linear maps, with the output gradient's tile transform
:math:`\bar M = A\, \bar Y A^\top` shared by both gradients:

.. math::

    \bar U_p = \sum_\text{tiles} V_p^\top \bar M_p, \qquad
    \bar g = G^\top \bar U G, \qquad
    \bar V_p = \bar M_p U_p^\top, \qquad \bar d \mathrel{+}= B\, \bar V B^\top

(the 4×4 input-gradient tiles overlap by two rows and columns and are added up). So a training
step's three convolution products are each 16 GEMMs over the same tiles, of shapes
``(T, C)·(C, F)``, ``(C, T)·(T, F)`` and ``(T, F)·(F, C)``.

The tile transforms are compiled (numba, :mod:`nablanet.kernels._numba`): done in NumPy they
cost as much as the multiplications they save. LLVM vectorises the two output transforms (plain
and pooled) as they are. The input transform, the output-gradient transform, the input-gradient
scatter and the pooled-gradient transform come in two forms with bit-identical results: a
scalar one, one loop over channels (or filters) doing whole tiles, which reads and writes
16-20 rows at once, too many for LLVM to vectorise; and a vectorised one, one short loop per
position of a tile with at most four load streams (through a small scratch array where a value
needs more). The names the convolution calls (``_input_tiles`` …) pick the form by the row's
length (:data:`VECTOR_MIN`, :data:`VECTOR_MIN_FILTERS`; measured: docs/performance.md).

Float32 rounding: the transforms add and subtract values before the products, which can lose a
little precision compared with a direct sum; on the tests' inputs
(``tests/kernels/test_winograd.py``: 32 images, 32 channels, a 28×28×64 output) the largest
error relative to the largest value, against float64, is 1.7e-7 for the output, 3.6e-7 for the
input gradient, 4.5e-7 for the kernel gradient and 2.1e-7 for the bias gradient, about float32
im2col's (6.1e-7, 2.1e-7, 4.1e-7, 3.4e-7); the test asserts below 1e-6.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nablanet.kernels._numba import njit
from nablanet.kernels.pooling import max_of_four
from nablanet.kernels.simd import wide_vectors

#: The filter transform's matrix :math:`G` (4×3).
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

#: The fewest input channels for which the Winograd path is taken: with fewer, the 16 GEMMs'
#: inner dimension is too short to pay for the transforms, and im2col (inner dimension 9·C)
#: stays (measured: docs/performance.md).
MIN_CHANNELS = 8

#: About how many bytes one run's transformed tiles take (input and output, forward; and their
#: gradients, backward): small enough to stay in a core's L2 cache between the transforms and
#: the GEMMs.
RUN_BYTES = 1 << 20


def applies(kernel: tuple[int, ...], strides: tuple[int, ...], dilation: tuple[int, ...],
            channels: int, dtype: Any) -> bool:
    """Whether the Winograd path takes this convolution: 3×3, stride 1, no dilation, at least
    :data:`MIN_CHANNELS` input channels, float32/float64, and numba available."""
    return (tuple(kernel) == (3, 3) and tuple(strides) == (1, 1) and tuple(dilation) == (1, 1)
            and channels >= MIN_CHANNELS and np.dtype(dtype) in (np.float32, np.float64)
            and _input_tiles_scalar is not None)


def transforms() -> tuple[Callable[..., None], ...]:
    """The tile transforms: input, output, output gradient, input-gradient scatter, and the
    output and output-gradient transforms fused with a 2×2 max pool (each runs its compiled
    scalar or vectorised form by the row's length; present whenever :func:`applies` said
    yes)."""
    assert _input_tiles_scalar is not None, "Winograd needs numba (see applies)"
    kernels = (_input_tiles, _output_tiles, _grad_tiles, _scatter_tiles, _output_pool_tiles,
               _pool_grad_tiles)
    return kernels  # type: ignore[return-value]


def filter_transform(w: np.ndarray) -> np.ndarray:
    """:math:`U = G g G^\\top` of a ``(3, 3, C, F)`` kernel, as ``(16, C, F)`` (position
    ``p = 4 i + j``)."""
    g = G.astype(w.dtype)
    gw = (g @ w.reshape(3, -1)).reshape(4, 3, -1)  # G along the kernel's rows: (4, 3, C·F)
    return (g @ gw).reshape(16, *w.shape[2:])  # then along its columns (as two GEMMs)


def filter_grad(du: np.ndarray) -> np.ndarray:
    """:math:`\\bar g = G^\\top \\bar U G`: the kernel gradient ``(3, 3, C, F)`` from the
    ``(16, C, F)`` gradient of :math:`U`."""
    gt = G.T.astype(du.dtype)
    rows = (gt @ du.reshape(4, -1)).reshape(3, 4, -1)  # Gᵀ along the rows: (3, 4, C·F)
    return (gt @ rows).reshape(3, 3, *du.shape[1:])


def tiles(size: int) -> int:
    """Tiles along an output axis of ``size`` values."""
    return (size + 1) // 2


# --- compiled tile transforms ------------------------------------------------------------------
# Each works through the tiles of a run: images [n0, n1) of the batch, tile rows
# [ty0, ty0 + nty) of each, all ``tw`` tiles of a row; tile t of the run is
# ((image - n0) · nty + (row - ty0)) · tw + column. The inner loops run over channels (NHWC's
# contiguous axis), 16 values of a tile at a time.

@njit()
def _input_tiles_scalar(xp, n0, n1, ty0, nty, tw, v):  # type: ignore[no-untyped-def]
    """``v[p, t, :] = (Bᵀ d B)[p]`` for the run's tiles of the padded input ``xp``."""
    hp, wp, channels = xp.shape[1], xp.shape[2], xp.shape[3]
    t = 0
    for n in range(n0, n1):
        for ty in range(ty0, ty0 + nty):
            y = 2 * ty
            y3 = min(y + 3, hp - 1)  # past the input (odd height): read a valid row, times 0
            my = xp.dtype.type(1.0 if y + 3 < hp else 0.0)
            for tx in range(tw):
                x = 2 * tx
                x3 = min(x + 3, wp - 1)
                mx = xp.dtype.type(1.0 if x + 3 < wp else 0.0)
                r0 = xp[n, y]
                r1 = xp[n, y + 1]
                r2 = xp[n, y + 2]
                r3 = xp[n, y3]
                for c in range(channels):
                    # d B along each row: (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
                    a00 = r0[x, c] - r0[x + 2, c]
                    a01 = r0[x + 1, c] + r0[x + 2, c]
                    a02 = r0[x + 2, c] - r0[x + 1, c]
                    a03 = r0[x + 1, c] - r0[x3, c] * mx
                    a10 = r1[x, c] - r1[x + 2, c]
                    a11 = r1[x + 1, c] + r1[x + 2, c]
                    a12 = r1[x + 2, c] - r1[x + 1, c]
                    a13 = r1[x + 1, c] - r1[x3, c] * mx
                    a20 = r2[x, c] - r2[x + 2, c]
                    a21 = r2[x + 1, c] + r2[x + 2, c]
                    a22 = r2[x + 2, c] - r2[x + 1, c]
                    a23 = r2[x + 1, c] - r2[x3, c] * mx
                    a30 = (r3[x, c] - r3[x + 2, c]) * my
                    a31 = (r3[x + 1, c] + r3[x + 2, c]) * my
                    a32 = (r3[x + 2, c] - r3[x + 1, c]) * my
                    a33 = (r3[x + 1, c] - r3[x3, c] * mx) * my
                    # Bᵀ (d B) down each column
                    v[0, t, c] = a00 - a20
                    v[1, t, c] = a01 - a21
                    v[2, t, c] = a02 - a22
                    v[3, t, c] = a03 - a23
                    v[4, t, c] = a10 + a20
                    v[5, t, c] = a11 + a21
                    v[6, t, c] = a12 + a22
                    v[7, t, c] = a13 + a23
                    v[8, t, c] = a20 - a10
                    v[9, t, c] = a21 - a11
                    v[10, t, c] = a22 - a12
                    v[11, t, c] = a23 - a13
                    v[12, t, c] = a10 - a30
                    v[13, t, c] = a11 - a31
                    v[14, t, c] = a12 - a32
                    v[15, t, c] = a13 - a33
                t += 1


@njit(inline="always")
def _output_tile(m, t, f):  # type: ignore[no-untyped-def]
    """Tile ``t``, filter ``f``: the 2×2 outputs :math:`A^\top M A` from the 16 products
    ``m[:, t, f]`` (Aᵀ's rows: (1, 1, 1, 0), (0, 1, -1, -1)), as ``(y00, y01, y10, y11)``."""
    # Aᵀ M down each column: (m0 + m1 + m2, m1 - m2 - m3)
    b00 = m[0, t, f] + m[4, t, f] + m[8, t, f]
    b01 = m[1, t, f] + m[5, t, f] + m[9, t, f]
    b02 = m[2, t, f] + m[6, t, f] + m[10, t, f]
    b03 = m[3, t, f] + m[7, t, f] + m[11, t, f]
    b10 = m[4, t, f] - m[8, t, f] - m[12, t, f]
    b11 = m[5, t, f] - m[9, t, f] - m[13, t, f]
    b12 = m[6, t, f] - m[10, t, f] - m[14, t, f]
    b13 = m[7, t, f] - m[11, t, f] - m[15, t, f]
    # (Aᵀ M) A along each row
    return b00 + b01 + b02, b01 - b02 - b03, b10 + b11 + b12, b11 - b12 - b13


@njit()
def _output_tiles(m, out, nty, tw, bias, relu):  # type: ignore[no-untyped-def]
    """``out`` (the run's ``(images, rows, Wo, F)`` output) from the tiles' products
    ``m[p, t, :]`` by ``Aᵀ M A``, plus ``bias`` (if not empty) and the ReLU (if ``relu``)."""
    wide_vectors()
    images, rows, wo, filters = out.shape
    has_bias = bias.shape[0] > 0
    t = 0
    for n in range(images):
        for ty in range(nty):
            y = 2 * ty
            two_rows = y + 1 < rows
            for tx in range(tw):
                x = 2 * tx
                two_cols = x + 1 < wo
                o0 = out[n, y]
                o1 = out[n, y + 1] if two_rows else out[n, y]
                for f in range(filters):
                    y00, y01, y10, y11 = _output_tile(m, t, f)
                    if has_bias:
                        y00 += bias[f]
                        y01 += bias[f]
                        y10 += bias[f]
                        y11 += bias[f]
                    if relu:  # NaN stays NaN, as np.maximum
                        y00 = 0 if y00 < 0 else y00
                        y01 = 0 if y01 < 0 else y01
                        y10 = 0 if y10 < 0 else y10
                        y11 = 0 if y11 < 0 else y11
                    # the odd last row / column: its second output is not written
                    if two_rows:
                        o1[x, f] = y10
                        if two_cols:
                            o1[x + 1, f] = y11
                    if two_cols:
                        o0[x + 1, f] = y01
                    o0[x, f] = y00
                t += 1


@njit(inline="always")
def _gradient_tile(dm, t, f, y00, y01, y10, y11):  # type: ignore[no-untyped-def]
    """Tile ``t``, filter ``f`` of the output gradient's tile transform :math:`\bar M = A \bar Y
    A^\top` (A's rows: (1, 0), (1, 1), (1, -1), (0, -1)) from the tile's 2×2 gradient ``y``:
    first along the row, then down the column, into the 16 positions of ``dm``."""
    b00 = y00
    b01 = y00 + y01
    b02 = y00 - y01
    b03 = -y01
    b10 = y10
    b11 = y10 + y11
    b12 = y10 - y11
    b13 = -y11
    dm[0, t, f] = b00
    dm[1, t, f] = b01
    dm[2, t, f] = b02
    dm[3, t, f] = b03
    dm[4, t, f] = b00 + b10
    dm[5, t, f] = b01 + b11
    dm[6, t, f] = b02 + b12
    dm[7, t, f] = b03 + b13
    dm[8, t, f] = b00 - b10
    dm[9, t, f] = b01 - b11
    dm[10, t, f] = b02 - b12
    dm[11, t, f] = b03 - b13
    dm[12, t, f] = -b10
    dm[13, t, f] = -b11
    dm[14, t, f] = -b12
    dm[15, t, f] = -b13


@njit()
def _grad_tiles_scalar(dz, dm, nty, tw):  # type: ignore[no-untyped-def]
    """``dm[p, t, :] = (A Ȳ Aᵀ)[p]`` for the run's ``(images, rows, Wo, F)`` output gradient
    ``dz`` (the adjoint of :func:`_output_tiles`; outputs past the edge count as 0)."""
    images, rows, wo, filters = dz.shape
    t = 0
    for n in range(images):
        for ty in range(nty):
            y = 2 * ty
            my = dz.dtype.type(1.0 if y + 1 < rows else 0.0)
            g0 = dz[n, y]
            g1 = dz[n, min(y + 1, rows - 1)]
            for tx in range(tw):
                x = 2 * tx
                x1 = min(x + 1, wo - 1)
                mx = dz.dtype.type(1.0 if x + 1 < wo else 0.0)
                for f in range(filters):
                    y00 = g0[x, f]
                    y01 = g0[x1, f] * mx
                    y10 = g1[x, f] * my
                    y11 = g1[x1, f] * (mx * my)
                    _gradient_tile(dm, t, f, y00, y01, y10, y11)
                t += 1


@njit()
def _scatter_tiles_scalar(dv, dxp, n0, n1, ty0, nty, tw):  # type: ignore[no-untyped-def]
    """``dxp`` (the padded input's gradient) ``+= B V̄ Bᵀ`` of each of the run's tiles at its
    4×4 patch (the adjoint of :func:`_input_tiles`; the parts past the edge are dropped)."""
    hp, wp, channels = dxp.shape[1], dxp.shape[2], dxp.shape[3]
    t = 0
    for n in range(n0, n1):
        for ty in range(ty0, ty0 + nty):
            y = 2 * ty
            row3 = y + 3 < hp
            for tx in range(tw):
                x = 2 * tx
                col3 = x + 3 < wp
                r0 = dxp[n, y]
                r1 = dxp[n, y + 1]
                r2 = dxp[n, y + 2]
                r3 = dxp[n, y + 3] if row3 else dxp[n, y + 2]
                for c in range(channels):
                    # B V̄ down each column: (v0, v1 - v2 + v3, -v0 + v1 + v2, -v3)
                    s00 = dv[0, t, c]
                    s01 = dv[1, t, c]
                    s02 = dv[2, t, c]
                    s03 = dv[3, t, c]
                    s10 = dv[4, t, c] - dv[8, t, c] + dv[12, t, c]
                    s11 = dv[5, t, c] - dv[9, t, c] + dv[13, t, c]
                    s12 = dv[6, t, c] - dv[10, t, c] + dv[14, t, c]
                    s13 = dv[7, t, c] - dv[11, t, c] + dv[15, t, c]
                    s20 = dv[4, t, c] + dv[8, t, c] - dv[0, t, c]
                    s21 = dv[5, t, c] + dv[9, t, c] - dv[1, t, c]
                    s22 = dv[6, t, c] + dv[10, t, c] - dv[2, t, c]
                    s23 = dv[7, t, c] + dv[11, t, c] - dv[3, t, c]
                    s30 = -dv[12, t, c]
                    s31 = -dv[13, t, c]
                    s32 = -dv[14, t, c]
                    s33 = -dv[15, t, c]
                    # (B V̄) Bᵀ along each row, added into the patch
                    r0[x, c] += s00
                    r0[x + 1, c] += s01 - s02 + s03
                    r0[x + 2, c] += s01 + s02 - s00
                    r1[x, c] += s10
                    r1[x + 1, c] += s11 - s12 + s13
                    r1[x + 2, c] += s11 + s12 - s10
                    r2[x, c] += s20
                    r2[x + 1, c] += s21 - s22 + s23
                    r2[x + 2, c] += s21 + s22 - s20
                    if col3:
                        r0[x + 3, c] -= s03
                        r1[x + 3, c] -= s13
                        r2[x + 3, c] -= s23
                    if row3:
                        r3[x, c] += s30
                        r3[x + 1, c] += s31 - s32 + s33
                        r3[x + 2, c] += s31 + s32 - s30
                        if col3:
                            r3[x + 3, c] -= s33
                t += 1


# --- fused with a 2×2 max pool (kernels.conv_pool): a tile's 2×2 outputs are a pool window ---
@njit()
def _output_pool_tiles(m, out, winner, nty, tw, bias):  # type: ignore[no-untyped-def]
    """The max pool of ``relu(Aᵀ M A + bias)`` over each tile (2×2 windows, stride 2): maxima
    to ``out`` and winner codes to ``winner`` (the run's ``(images, Ho // 2, Wo // 2, F)``),
    as :mod:`nablanet.kernels.pooling`'s forward kernel computes them from the conv output
    (same arithmetic, same first winner on ties; the code gets 64 added when the maximum is
    not positive). Tiles past the last whole window (an odd height or width) are skipped."""
    wide_vectors()
    images, rows, cols, filters = out.shape
    has_bias = bias.shape[0] > 0
    zero = out.dtype.type(0)
    t = 0
    for n in range(images):
        for ty in range(nty):
            for tx in range(tw):
                if ty >= rows or tx >= cols:
                    t += 1
                    continue
                o = out[n, ty, tx]
                k = winner[n, ty, tx]
                for f in range(filters):
                    y00, y01, y10, y11 = _output_tile(m, t, f)
                    b = bias[f] if has_bias else zero
                    mx, tap = max_of_four(y00 + b, y01 + b, y10 + b, y11 + b)
                    o[f] = zero if mx < 0 else mx
                    k[f] = tap if mx > 0 else tap | 64
                t += 1


@njit()
def _pool_grad_tiles_scalar(g, winner, dm, nty, tw, gb):  # type: ignore[no-untyped-def]
    """``dm[p, t, :] = (A Z̄ Aᵀ)[p]`` where each tile's conv-output gradient ``Z̄`` is the
    pooled gradient ``g`` at the window's winner and 0 elsewhere (all 0 when the maximum was
    not positive: the ReLU's mask; and for tiles past the last whole window); ``gb`` (the bias
    gradient, if not empty) gets each tile's sum of ``Z̄`` added."""
    images, rows, cols, filters = g.shape
    has_bias = gb.shape[0] > 0
    zero = dm.dtype.type(0)
    t = 0
    for n in range(images):
        for ty in range(nty):
            for tx in range(tw):
                if ty >= rows or tx >= cols:
                    for p in range(16):
                        for f in range(filters):
                            dm[p, t, f] = zero
                    t += 1
                    continue
                gg = g[n, ty, tx]
                k = winner[n, ty, tx]
                for f in range(filters):
                    v = gg[f]
                    code = k[f]
                    y00 = v if code == 0 else zero
                    y01 = v if code == 1 else zero
                    y10 = v if code == 2 else zero
                    y11 = v if code == 3 else zero
                    if has_bias:
                        gb[f] += v if code < 4 else zero
                    _gradient_tile(dm, t, f, y00, y01, y10, y11)
                t += 1


# --- the same transforms, vectorised ---------------------------------------------------------
# LLVM vectorises a loop over the contiguous channel (or filter) axis only when it can check at
# run time that the loop's few store streams do not overlap its load streams (the kernels above
# read and write 16-20 rows in one loop: "too many memory checks", so they run scalar). Here
# each output row of a tile is its own short loop with one store stream and at most four load
# streams (intermediate rows go through a small scratch array); written so, the output
# transforms measured no faster than the scalar ones, which LLVM already vectorises. The
# arithmetic is the scalar kernels', term for term and in the same order: a subtraction is
# written as adding the product by -1, a mask as a product by the 0/1 mask, exactly where the
# scalar kernels multiply by it; products by ±1 and 0 are exact, so with or without fused
# multiply-adds every value is bit-identical (tests/kernels/test_winograd.py). Vectorised loops
# of fewer than about 32 values fall into LLVM's scalar remainder, so the dispatchers below take
# these only for rows of at least :data:`VECTOR_MIN` or :data:`VECTOR_MIN_FILTERS` values.

#: The fewest channels for which the input transform and the input-gradient scatter, and the
#: fewest filters for which the pooled gradient's transform, run vectorised.
VECTOR_MIN = 32

#: The fewest filters for which the output gradient's transform runs vectorised (below, its
#: 16 short loops per tile measured slower than the scalar kernel; docs/performance.md).
VECTOR_MIN_FILTERS = 128

_contract = {"fastmath": {"contract"}, "error_model": "numpy"}


@njit(inline="always", **_contract)
def _two_pairs(out, ra, rb, p, q, sq, sb):  # type: ignore[no-untyped-def]
    """``out = (ra[p] + sq·ra[q]) + sb·(rb[p] + sq·rb[q])`` (rows of length ``out``)."""
    for k in range(out.shape[0]):
        out[k] = (ra[p, k] + sq * ra[q, k]) + sb * (rb[p, k] + sq * rb[q, k])


@njit(**_contract)
def _input_tiles_vector(xp, n0, n1, ty0, nty, tw, v):  # type: ignore[no-untyped-def]
    """:func:`_input_tiles_scalar`, one loop over channels per position ``p = 4i + j``:
    ``(Bᵀ (d B))[i, j] = (d B)[ra, j] + sb·(d B)[rb, j]`` with
    ``(d B)[r, j] = d[r, p_j] + sq_j·d[r, q_j]``."""
    wide_vectors()
    hp, wp = xp.shape[1], xp.shape[2]
    one = xp.dtype.type(1.0)
    t = 0
    for n in range(n0, n1):
        for ty in range(ty0, ty0 + nty):
            y = 2 * ty
            y3 = min(y + 3, hp - 1)
            my = xp.dtype.type(1.0 if y + 3 < hp else 0.0)
            r0, r1, r2, r3 = xp[n, y], xp[n, y + 1], xp[n, y + 2], xp[n, y3]
            # Bᵀ's rows: (r0 - r2, r1 + r2, r2 - r1, r1 - r3·my)
            first = (r0, r1, r2, r1)
            second = (r2, r2, r1, r3)
            signs = (-one, one, -one, -my)
            for tx in range(tw):
                x = 2 * tx
                x3 = min(x + 3, wp - 1)
                mx = xp.dtype.type(1.0 if x + 3 < wp else 0.0)
                # B's columns: (d0 - d2, d1 + d2, d2 - d1, d1 - d3·mx)
                ps = (x, x + 1, x + 2, x + 1)
                qs = (x + 2, x + 2, x + 1, x3)
                sqs = (-one, one, -one, -mx)
                for i in range(4):
                    for j in range(4):
                        _two_pairs(v[4 * i + j, t], first[i], second[i], ps[j], qs[j],
                                   sqs[j], signs[i])
                t += 1


@njit(inline="always", **_contract)
def _three(out, a, b, c, sb, sc):  # type: ignore[no-untyped-def]
    """``out = (a + sb·b) + sc·c``."""
    for k in range(out.shape[0]):
        out[k] = (a[k] + sb * b[k]) + sc * c[k]


@njit(inline="always", **_contract)
def _gradient_row(out, i, j, a, b, c, d, cb, cc, cd):  # type: ignore[no-untyped-def]
    """Position ``p = 4i + j`` of :func:`_gradient_tile` for a row of filters, from the rows
    ``a, b, c, d`` of ``y00, y01, y10, y11`` (before their masks ``1, cb, cc, cd``): A's
    column ``j`` along each of the tile's two rows, ``(y0, y0 + y1, y0 - y1, -y1)``, then
    A's column ``i`` down, ``(r0, r0 + r1, r0 - r1, -r1)``: only the scalar kernel's terms
    (no product by a 0 it lacks), the second row's sign applied to its sum, as a negation."""
    one = a.dtype.type(1.0)
    sq = one if j == 1 else -one  # the sign of y1 in column j (j > 0)
    s1 = one if i == 1 else -one  # the sign of the second row in row i (i > 0)
    top, bottom, left, right = i < 3, i > 0, j < 3, j > 0
    cb, cd = sq * cb, sq * cd
    if top and bottom:
        if left and right:
            for k in range(out.shape[0]):
                out[k] = (a[k] + cb * b[k]) + s1 * (cc * c[k] + cd * d[k])
        elif left:
            for k in range(out.shape[0]):
                out[k] = a[k] + s1 * (cc * c[k])
        else:
            for k in range(out.shape[0]):
                out[k] = cb * b[k] + s1 * (cd * d[k])
    elif top:
        if left and right:
            for k in range(out.shape[0]):
                out[k] = a[k] + cb * b[k]
        elif left:
            for k in range(out.shape[0]):
                out[k] = a[k]
        else:
            for k in range(out.shape[0]):
                out[k] = cb * b[k]
    elif left and right:
        for k in range(out.shape[0]):
            out[k] = s1 * (cc * c[k] + cd * d[k])
    elif left:
        for k in range(out.shape[0]):
            out[k] = s1 * (cc * c[k])
    else:
        for k in range(out.shape[0]):
            out[k] = s1 * (cd * d[k])


@njit(**_contract)
def _grad_tiles_vector(dz, dm, nty, tw):  # type: ignore[no-untyped-def]
    """:func:`_grad_tiles_scalar`, one loop over filters per position."""
    wide_vectors()
    images, rows, wo, filters = dz.shape
    t = 0
    for n in range(images):
        for ty in range(nty):
            y = 2 * ty
            my = dz.dtype.type(1.0 if y + 1 < rows else 0.0)
            g0 = dz[n, y]
            g1 = dz[n, min(y + 1, rows - 1)]
            for tx in range(tw):
                x = 2 * tx
                x1 = min(x + 1, wo - 1)
                mx = dz.dtype.type(1.0 if x + 1 < wo else 0.0)
                for i in range(4):
                    for j in range(4):
                        _gradient_row(dm[4 * i + j, t], i, j, g0[x], g0[x1], g1[x], g1[x1],
                                      mx, my, mx * my)
                t += 1


@njit(inline="always", **_contract)
def _add_one(out, a, sa):  # type: ignore[no-untyped-def]
    """``out += sa·a``."""
    for k in range(out.shape[0]):
        out[k] += sa * a[k]


@njit(inline="always", **_contract)
def _add_three(out, a, b, c, sa, sb, sc):  # type: ignore[no-untyped-def]
    """``out += (sa·a + sb·b) + sc·c``."""
    for k in range(out.shape[0]):
        out[k] += (sa * a[k] + sb * b[k]) + sc * c[k]


@njit(inline="always", **_contract)
def _scatter_row(o, x, col3, s0, s1, s2, s3, sg):  # type: ignore[no-untyped-def]
    """Row ``o`` of the patch gets ``(B V̄) Bᵀ`` of the row ``sg·(s0, s1, s2, s3)`` of
    ``B V̄`` added: ``(s0, (s1 - s2) + s3, (s1 + s2) - s0, -s3)`` (the last only if
    ``col3``)."""
    _add_one(o[x], s0, sg)
    _add_three(o[x + 1], s1, s2, s3, sg, -sg, sg)
    _add_three(o[x + 2], s1, s2, s0, sg, sg, -sg)
    if col3:
        _add_one(o[x + 3], s3, -sg)


@njit(**_contract)
def _scatter_tiles_vector(dv, dxp, n0, n1, ty0, nty, tw):  # type: ignore[no-untyped-def]
    """:func:`_scatter_tiles_scalar` in loops over channels: the middle rows of ``B V̄`` into
    a scratch ``s`` (its first row is ``V̄``'s, its last ``V̄``'s negated), then each row of the
    patch gets its row of ``(B V̄) Bᵀ`` added."""
    wide_vectors()
    hp, wp, channels = dxp.shape[1], dxp.shape[2], dxp.shape[3]
    one = dv.dtype.type(1.0)
    s = np.empty((8, channels), dv.dtype)
    t = 0
    for n in range(n0, n1):
        for ty in range(ty0, ty0 + nty):
            y = 2 * ty
            row3 = y + 3 < hp
            for tx in range(tw):
                x = 2 * tx
                col3 = x + 3 < wp
                for j in range(4):
                    # B V̄ down column j: (v0, (v1 - v2) + v3, (v1 + v2) - v0, -v3)
                    _three(s[j], dv[4 + j, t], dv[8 + j, t], dv[12 + j, t], -one, one)
                    _three(s[4 + j], dv[4 + j, t], dv[8 + j, t], dv[j, t], one, -one)
                _scatter_row(dxp[n, y], x, col3, dv[0, t], dv[1, t], dv[2, t], dv[3, t], one)
                _scatter_row(dxp[n, y + 1], x, col3, s[0], s[1], s[2], s[3], one)
                _scatter_row(dxp[n, y + 2], x, col3, s[4], s[5], s[6], s[7], one)
                if row3:
                    _scatter_row(dxp[n, y + 3], x, col3, dv[12, t], dv[13, t], dv[14, t],
                                 dv[15, t], -one)
                t += 1


@njit(inline="always", **_contract)
def _pool_gradient_row(out, i, j, g, code):  # type: ignore[no-untyped-def]
    """Position ``p = 4i + j`` of :func:`_gradient_tile` for a row of filters whose 2×2
    gradient is ``g`` at the winner ``code`` (0-3) and 0 elsewhere, as
    :func:`_pool_grad_tiles_scalar` builds it (the terms of :func:`_gradient_row`)."""
    zero = out.dtype.type(0)
    one = out.dtype.type(1.0)
    sq = one if j == 1 else -one
    s1 = one if i == 1 else -one
    top, bottom, left, right = i < 3, i > 0, j < 3, j > 0
    if top and bottom:
        if left and right:
            for k in range(out.shape[0]):
                v, c = g[k], code[k]
                out[k] = ((v if c == 0 else zero) + sq * (v if c == 1 else zero)) + s1 * (
                    (v if c == 2 else zero) + sq * (v if c == 3 else zero))
        elif left:
            for k in range(out.shape[0]):
                v, c = g[k], code[k]
                out[k] = (v if c == 0 else zero) + s1 * (v if c == 2 else zero)
        else:
            for k in range(out.shape[0]):
                v, c = g[k], code[k]
                out[k] = sq * (v if c == 1 else zero) + s1 * (sq * (v if c == 3 else zero))
    elif top:
        if left and right:
            for k in range(out.shape[0]):
                v, c = g[k], code[k]
                out[k] = (v if c == 0 else zero) + sq * (v if c == 1 else zero)
        elif left:
            for k in range(out.shape[0]):
                out[k] = g[k] if code[k] == 0 else zero
        else:
            for k in range(out.shape[0]):
                out[k] = sq * (g[k] if code[k] == 1 else zero)
    elif left and right:
        for k in range(out.shape[0]):
            v, c = g[k], code[k]
            out[k] = s1 * ((v if c == 2 else zero) + sq * (v if c == 3 else zero))
    elif left:
        for k in range(out.shape[0]):
            out[k] = s1 * (g[k] if code[k] == 2 else zero)
    else:
        for k in range(out.shape[0]):
            out[k] = s1 * (sq * (g[k] if code[k] == 3 else zero))


@njit(**_contract)
def _pool_grad_tiles_vector(g, winner, dm, nty, tw, gb):  # type: ignore[no-untyped-def]
    """:func:`_pool_grad_tiles_scalar`, one loop over filters per position (each reads the
    pooled gradient and the winner codes)."""
    wide_vectors()
    images, rows, cols, filters = g.shape
    has_bias = gb.shape[0] > 0
    zero = dm.dtype.type(0)
    t = 0
    for n in range(images):
        for ty in range(nty):
            for tx in range(tw):
                if ty >= rows or tx >= cols:
                    for p in range(16):
                        dm[p, t, :] = zero
                    t += 1
                    continue
                gg = g[n, ty, tx]
                k = winner[n, ty, tx]
                if has_bias:
                    for f in range(filters):
                        gb[f] += gg[f] if k[f] < 4 else zero
                for i in range(4):
                    for j in range(4):
                        _pool_gradient_row(dm[4 * i + j, t], i, j, gg, k)
                t += 1


# --- dispatch: the vectorised transforms for long rows, the scalar ones for short -------------
# (in Python, once per run: a form is compiled only when a convolution first needs it)
def _input_tiles(xp: np.ndarray, n0: int, n1: int, ty0: int, nty: int, tw: int,
                 v: np.ndarray) -> None:
    """:func:`_input_tiles_vector` from :data:`VECTOR_MIN` channels on, else
    :func:`_input_tiles_scalar`."""
    kernel = _input_tiles_vector if xp.shape[3] >= VECTOR_MIN else _input_tiles_scalar
    kernel(xp, n0, n1, ty0, nty, tw, v)  # type: ignore[misc]


def _grad_tiles(dz: np.ndarray, dm: np.ndarray, nty: int, tw: int) -> None:
    """:func:`_grad_tiles_vector` from :data:`VECTOR_MIN_FILTERS` filters on, else
    :func:`_grad_tiles_scalar`."""
    kernel = _grad_tiles_vector if dz.shape[3] >= VECTOR_MIN_FILTERS else _grad_tiles_scalar
    kernel(dz, dm, nty, tw)  # type: ignore[misc]


def _scatter_tiles(dv: np.ndarray, dxp: np.ndarray, n0: int, n1: int, ty0: int, nty: int,
                   tw: int) -> None:
    """:func:`_scatter_tiles_vector` from :data:`VECTOR_MIN` channels on, else
    :func:`_scatter_tiles_scalar`."""
    kernel = _scatter_tiles_vector if dxp.shape[3] >= VECTOR_MIN else _scatter_tiles_scalar
    kernel(dv, dxp, n0, n1, ty0, nty, tw)  # type: ignore[misc]


def _pool_grad_tiles(g: np.ndarray, winner: np.ndarray, dm: np.ndarray, nty: int, tw: int,
                     gb: np.ndarray) -> None:
    """:func:`_pool_grad_tiles_vector` from :data:`VECTOR_MIN` filters on, else
    :func:`_pool_grad_tiles_scalar`."""
    kernel = _pool_grad_tiles_vector if g.shape[3] >= VECTOR_MIN else _pool_grad_tiles_scalar
    kernel(g, winner, dm, nty, tw, gb)  # type: ignore[misc]
