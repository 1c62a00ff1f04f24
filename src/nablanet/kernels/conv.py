r"""Fast CPU kernels for the convolution primitives of :mod:`nablanet.ops.conv`.

The same maths as the reference (:class:`nablanet.ops.conv.Conv2D`: :math:`Y = X W`,
:math:`\bar W = X^\top \bar Y`, :math:`\bar X = \bar Y W^\top` then col2im), organised for the
machine:

* the im2col matrix of the whole batch is never formed: each worker thread
  (:func:`nablanet.kernels.threads.split_batch`) works through its images a few at a time, or in
  bands of output rows of one image (:class:`Run`, :data:`_SUB_BYTES`), so that a run's im2col
  rows are still in cache when its GEMM reads them; backward rebuilds them from the saved input;
* an input with few channels (the first layer of an image model) is kept as an NCHW copy whose
  windows give the im2col matrix transposed from long contiguous rows (:func:`planar_windows`);
* bias + ReLU and the ReLU mask of the gradient are compiled in-place passes, and col2im is a
  compiled scatter-add (numba, through :mod:`nablanet.kernels._numba`);
* a 3×3 stride-1 convolution with at least :data:`nablanet.kernels.winograd.MIN_CHANNELS`
  input channels does its three products by Winograd's F(2×2, 3×3) instead of im2col
  (:mod:`nablanet.kernels.winograd`; ``FastConv2D._winograd_forward`` / ``_winograd_backward``),
  in the same runs of images or bands of (an even number of) rows;
* a first layer (few channels, stride 1) fused with a 2×2 max pool runs its forward by a
  direct convolution from that NCHW copy instead (:mod:`nablanet.kernels.direct_conv`, taken
  by :class:`nablanet.kernels.conv_pool.Conv2DMaxPool2D`); its backward stays im2col's.

Grouped convolutions (``groups > 1``) and dtypes other than float32/float64 use the reference.
docs/performance.md records the measurements behind each choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.kernels import winograd
from nablanet.kernels._numba import njit
from nablanet.kernels.registry import register
from nablanet.kernels.threads import split_batch
from nablanet.ops import conv as reference
from nablanet.ops.conv import Conv1D, Conv2D, Conv2DTranspose, _crop_nhwc, windows, with_bias

_FLOATS = (np.float32, np.float64)


# --- compiled passes --------------------------------------------------------------------------
@njit()
def _col2im_kernel(cols, out, sh, sw, dh, dw):  # type: ignore[no-untyped-def]
    n_batch, ho, wo, kh, kw, channels = cols.shape
    for n in range(n_batch):
        for oy in range(ho):
            for i in range(kh):
                y = oy * sh + i * dh
                for ox in range(wo):
                    x0 = ox * sw
                    for j in range(kw):
                        x = x0 + j * dw
                        for c in range(channels):
                            out[n, y, x, c] += cols[n, oy, ox, i, j, c]


@njit()
def _bias_relu_kernel(out, b):  # type: ignore[no-untyped-def]
    rows, features = out.shape
    for r in range(rows):
        row = out[r]
        for f in range(features):
            v = row[f] + b[f]
            row[f] = 0 if v < 0 else v  # NaN stays NaN, as np.maximum


@njit()
def _relu_grad_kernel(grad, out, res):  # type: ignore[no-untyped-def]
    rows, features = out.shape
    for r in range(rows):
        g = grad[r]
        o = out[r]
        d = res[r]
        for f in range(features):
            d[f] = g[f] if o[f] > 0 else 0


def _bias_relu_(out: np.ndarray, b: np.ndarray | None, relu: bool) -> None:
    """``out += b`` and, if ``relu``, ``out = max(out, 0)``, in place (C-contiguous 2-D ``out``)."""
    kernel = _bias_relu_kernel if relu and b is not None else None
    if kernel is not None and out.dtype in _FLOATS:
        bias = np.ascontiguousarray(b, dtype=out.dtype)
        split_batch(lambda a, z: kernel(out[a:z], bias), out.shape[0], out.nbytes)
        return
    if b is not None:
        out += b
    if relu:
        np.maximum(out, np.zeros((), out.dtype), out=out)


def col2im(cols: np.ndarray, padded_shape: tuple[int, ...], strides: tuple[int, ...],
           dilation: tuple[int, ...]) -> np.ndarray:
    """:func:`nablanet.ops.conv.col2im`, compiled and split over the batch on worker threads."""
    if cols.shape[3:5] == (1, 1) and tuple(strides) == (1, 1) and \
            cols.shape[:3] == tuple(padded_shape[:3]):  # 1×1 kernel: nothing overlaps
        return cols.reshape(padded_shape)
    out = np.zeros(padded_shape, dtype=cols.dtype)
    c = np.ascontiguousarray(cols)
    split_batch(lambda a, z: col2im_add(c[a:z], out[a:z], strides, dilation), c.shape[0],
                c.nbytes + out.nbytes)
    return out


def col2im_add(cols: np.ndarray, out: np.ndarray, strides: tuple[int, ...],
               dilation: tuple[int, ...]) -> None:
    """``out += col2im(cols)`` in place, serially: the compiled kernel, or a loop over the taps."""
    kernel = _col2im_kernel
    if kernel is not None and cols.dtype == out.dtype and cols.dtype in _FLOATS:
        kernel(cols, out, strides[0], strides[1], dilation[0], dilation[1])
    else:
        reference.col2im_add(cols, out, strides, dilation)


# --- small products ---------------------------------------------------------------------------
_ONES: dict[np.dtype, np.ndarray] = {}


def _ones(length: int, dtype: Any) -> np.ndarray:
    """A read-only vector of ``length`` ones, sliced from a cached one (no fill per call)."""
    dtype = np.dtype(dtype)
    ones = _ONES.get(dtype)
    if ones is None or ones.shape[0] < length:
        ones = np.ones(length, dtype=dtype)
        ones.flags.writeable = False
        _ONES[dtype] = ones
    return ones[:length]


def _dot(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` (2-D, or 1-D by 2-D) by ``np.dot``, which releases the GIL at any size.

    ``np.matmul`` keeps the GIL when its output has fewer than 500 values, however long the
    inner dimension, so two threads' small products would run one at a time. The small
    products that run inside :func:`split_batch` chunks (weight gradients, column sums) go
    through here. ``out`` must have the operands' dtype (``np.dot``'s rule).
    """
    return np.dot(a, b, out=out)


def _column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a tall ``(M, F)`` array as one GEMV (a vector of ones times ``a``)."""
    if not a.flags.c_contiguous:
        return a.sum(axis=0)
    return _dot(_ones(a.shape[0], a.dtype), a)


# --- runs: a few images, or a band of rows of one image, at a time ----------------------------
def planar_windows(xq: np.ndarray, kernel: tuple[int, ...], strides: tuple[int, ...],
                   dilation: tuple[int, ...], out_hw: tuple[int, ...]) -> np.ndarray:
    """The windows of a padded NCHW array as a read-only ``(kh, kw, C, N, Ho, Wo)`` view.

    Copied and reshaped to ``(kh·kw·C, N·Ho·Wo)`` it is the transpose of the im2col matrix of
    :func:`windows` (same row and column order), built from rows of ``Wo`` values.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, strides, dilation, out_hw
    sn, sc, sy, sx = xq.strides
    return np.lib.stride_tricks.as_strided(
        xq, (kh, kw, xq.shape[1], xq.shape[0], ho, wo),
        (sy * dh, sx * dw, sc, sn, sy * sh, sx * sw), writeable=False)


# The im2col matrix of a whole batch is tens of MB (55 MB for the chapter's first layer), so it
# is never formed: each thread's batch chunk is worked through a few images at a time, whose
# im2col rows (about ``_SUB_BYTES``) are built in a small buffer and used by the GEMM while they
# are still in cache, and built again from the saved input in backward for the weight
# gradient. Likewise the backward's column gradient exists a few images at a time, scattered by
# col2im straight after its GEMM. An image whose im2col rows take more than this is done in
# bands of output rows (the first two layers of the chapter's models), so that a run's buffers
# stay in a core's L2 cache. docs/performance.md has the measurements.
_SUB_BYTES = 1 << 20

# An NHWC window row is a run of kw·C contiguous values, and copying short runs costs more per
# value than copying the rows of a planar (channels-first) copy, which are Wo values long. So an
# input with few channels (kw·C up to this many values, stride 1 along the width) is copied to
# NCHW once in forward and its im2col matrix is built transposed from that copy (the threshold
# is measured: docs/performance.md).
_PLANAR_MAX_RUN = 18


class Run(NamedTuple):
    """A piece of a batch chunk: images ``[a, z)`` and, of each, output rows ``[y0, y1)`` (all
    of them when the run has several images; a band of one image's rows otherwise)."""

    a: int
    z: int
    y0: int
    y1: int

    def out_rows(self, ho: int, wo: int) -> slice:
        """The run's rows of the flat ``(N·Ho·Wo, F)`` conv output."""
        return slice((self.a * ho + self.y0) * wo, ((self.z - 1) * ho + self.y1) * wo)


def _sub_chunks(a: int, z: int, bytes_per_image: int, ho: int, align: int = 1,
                budget: int | None = None) -> list[Run]:
    """``[a, z)`` cut into runs whose buffers take about ``budget`` bytes (``bytes_per_image``
    for a whole image; ``_SUB_BYTES`` by default): several images, or, when one image's take
    more, bands of rows (a multiple of ``align`` rows, except at the bottom of the image), each
    image's bands in order."""
    budget = _SUB_BYTES if budget is None else budget
    step = budget // max(bytes_per_image, 1)
    if step >= 1 or ho <= align:
        step = max(step, 1)
        return [Run(k, min(k + step, z), 0, ho) for k in range(a, z, step)]
    band = max(align, ho * budget // bytes_per_image // align * align)
    return [Run(k, k + 1, y, min(y + band, ho)) for k in range(a, z) for y in range(0, ho, band)]


# --- conv2d -----------------------------------------------------------------------------------
def _sum_parts(parts: list[Any], index: int) -> np.ndarray:
    """The sum of the ``index``-th arrays of the threads' partial results (into the first)."""
    total = parts[0][index]
    for part in parts[1:]:
        total += part[index]
    return total  # type: ignore[no-any-return]


class FastConv2D(Conv2D):
    """:class:`nablanet.ops.conv.Conv2D` (``groups == 1``), worked through the batch a few
    images or rows at a time on worker threads (see the module docstring)."""

    __slots__ = ("x_windows", "x_planar", "x_padded", "wino_u")
    x_windows: Any  # the padded input's windows (a view)
    x_planar: Any  # few input channels: the padded input as NCHW (see _PLANAR_MAX_RUN); or None
    x_padded: Any  # the padded input (NHWC), for the Winograd backward; or None
    wino_u: Any  # 3×3 stride 1: the Winograd filter transform U (kernels.winograd); or None

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = (1, 1), padding: Any = "valid", dilation_rate: Any = (1, 1),
                groups: int = 1, activation: str | None = None,
                _shown: tuple[Any, Any] | None = None) -> np.ndarray:
        xp = self._setup(x, w, b, strides, padding, dilation_rate, groups, activation, _shown)
        self._keep_input(xp)
        n, (ho, wo), filters = xp.shape[0], self.out_hw, self.w_shape[3]
        relu = activation == "relu"
        out = np.empty((n * ho * wo, filters), dtype=np.result_type(xp, self.w2))
        self._forward_by_batch(xp, b, relu, out)
        self.out = out if relu else None
        return out.reshape(n, ho, wo, filters)

    def _keep_input(self, xp: np.ndarray) -> None:
        """Save the padded input's windows (a view), or an NCHW copy of it for few channels
        (filled by the forward's batch chunks). A 3×3 stride-1 convolution with enough input
        channels runs by Winograd's F(2×2, 3×3) (:mod:`nablanet.kernels.winograd`) instead, and
        keeps its filter transform."""
        self.x_planar = self.x_padded = self.wino_u = None
        if xp.dtype == self.w2.dtype and winograd.applies(
                self.w_shape[:2], self.strides, self.dilation, xp.shape[3], xp.dtype):
            self.wino_u = winograd.filter_transform(self.w2.reshape(self.w_shape))
            self.x_padded = xp
        if self.strides[1] == 1 and self.w_shape[1] * xp.shape[3] <= _PLANAR_MAX_RUN:
            n, hp, wp, channels = xp.shape
            self.x_planar = np.empty((n, channels, hp, wp), dtype=xp.dtype)
            self.x_windows = planar_windows(self.x_planar, self.w_shape[:2], self.strides,
                                            self.dilation, self.out_hw)
        else:
            self.x_windows = windows(xp, self.w_shape[:2], self.strides, self.dilation,
                                     self.out_hw)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        n, ho, wo, filters = grad.shape
        return self._backward_by_batch(grad, grad.reshape(n * ho * wo, filters))

    def _fill_planar(self, xp: np.ndarray, a: int, z: int) -> None:
        """Copy images ``a:z`` of the padded NHWC input into the planar (NCHW) buffer that
        im2col for few channels and the direct convolution read."""
        np.copyto(self.x_planar[a:z], xp[a:z].transpose(0, 3, 1, 2))

    def _forward_by_batch(self, xp: np.ndarray, b: np.ndarray | None, relu: bool,
                          out: np.ndarray | None,
                          emit: Callable[[Run, np.ndarray], None] | None = None) -> None:
        """im2col, GEMM and bias + relu of the batch (``groups == 1``), split over threads
        (:func:`split_batch`) and done a few images or rows at a time (:func:`_sub_chunks`).

        Each run's output rows go to ``out`` (``(N·Ho·Wo, F)``); or, with ``emit``, to a
        buffer that stays in cache and is handed to ``emit(run, rows)`` (``out`` is then
        None: the whole output never exists).
        """
        if self.wino_u is not None:
            self._winograd_forward(xp, b, relu, out, emit)
            return
        w2 = self.w2
        n, (ho, wo), filters = xp.shape[0], self.out_hw, w2.shape[1]
        dtype = np.result_type(xp, w2)

        def forward_chunk(a: int, z: int) -> None:
            if self.x_planar is not None:
                self._fill_planar(xp, a, z)
            runs, buf, longest = self._runs(a, z)
            target = out
            if target is None:  # one run's rows at a time, in a buffer reused for each run
                target = np.empty((longest, filters), dtype=dtype)
            for run in runs:
                cols = self._columns(run, buf)
                o = target[: cols.shape[0]] if out is None else target[run.out_rows(ho, wo)]
                np.matmul(cols, w2, out=o)
                _bias_relu_(o, b, relu)
                if emit is not None:
                    emit(run, o)

        split_batch(forward_chunk, n, n * ho * wo * filters * dtype.itemsize + xp.nbytes)

    def _row_align(self) -> int:
        """Bands of output rows start at multiples of this (see :func:`_sub_chunks`)."""
        return 1

    def _runs(self, a: int, z: int) -> tuple[list[Run], np.ndarray, int]:
        """The runs of the chunk ``[a, z)`` (:func:`_sub_chunks`), a flat buffer that holds
        the im2col rows of the longest, and how many output rows that one has."""
        (ho, wo), k = self.out_hw, self.w2.shape[0]
        runs = _sub_chunks(a, z, ho * wo * k * self.x_windows.itemsize, ho, self._row_align())
        first = runs[0]  # the longest
        longest = (first.z - first.a) * (first.y1 - first.y0) * wo
        return runs, np.empty(longest * k, dtype=self.x_windows.dtype), longest

    def _columns(self, run: Run, buf: np.ndarray) -> np.ndarray:
        """The im2col matrix of a run, built in the front of ``buf`` (with a planar input:
        built transposed, and returned as the transpose's ``.T`` view)."""
        a, z, y0, y1 = run
        if self.x_planar is not None:
            view = self.x_windows[:, :, :, a:z, y0:y1]  # (kh, kw, C, images, rows, Wo)
            cols = buf[: view.size]
            np.copyto(cols.reshape(view.shape), view)
            return cols.reshape(view.shape[0] * view.shape[1] * view.shape[2], -1).T
        view = self.x_windows[a:z, y0:y1]  # the (images, rows, Wo, kh, kw, C) windows
        cols = buf[: view.size]
        np.copyto(cols.reshape(view.shape), view)
        return cols.reshape(view.shape[0] * view.shape[1] * view.shape[2], -1)

    def _backward_by_batch(self, grad: np.ndarray, g2: np.ndarray) -> tuple[Any, ...]:
        """Backward for ``groups == 1``: :meth:`_backward_runs` with the gradient rows of each
        run taken from ``g2`` (``(N·Ho·Wo, F)``), masked by the fused ReLU."""
        ho, wo = self.out_hw
        relu_out = self.out
        kernel = _relu_grad_kernel if relu_out is not None else None

        def run_grad(run: Run, scratch: np.ndarray) -> np.ndarray:
            rows = run.out_rows(ho, wo)
            g = g2[rows]
            if relu_out is None:
                return g
            m = scratch[: g.shape[0]]
            if kernel is not None and g.dtype == relu_out.dtype and g.dtype in _FLOATS:
                kernel(np.ascontiguousarray(g), relu_out[rows], m)
            else:
                np.multiply(g, relu_out[rows] > 0, out=m)
            return m

        return self._backward_runs(grad.shape[0], g2.dtype, run_grad, 3 * g2.nbytes)

    def _backward_runs(self, n: int, grad_dtype: Any,
                       run_grad: Callable[[Run, np.ndarray], np.ndarray],
                       grad_bytes: int) -> tuple[Any, ...]:
        """The gradients for ``groups == 1``, split over the batch (:func:`split_batch`).

        Each chunk works through its images a few images or rows at a time
        (:func:`_sub_chunks`): it takes a run's rows of the output gradient from
        ``run_grad(run, scratch)`` (``scratch`` has room for the longest run's rows), rebuilds
        their im2col rows and adds their share of the weight and bias gradients to its partial
        sums, and, if the input needs a gradient,
        computes their column gradient (one GEMM) and scatters it into the padded input
        gradient with col2im while it is in cache. The partial sums are added at the end.
        """
        if self.wino_u is not None and np.dtype(grad_dtype) == self.wino_u.dtype:
            return self._winograd_backward(n, run_grad, grad_bytes)
        filters = self.w_shape[3]
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        need_b = self.has_bias and self.needs_input_grad[2]
        w2 = self.w2
        dtype = np.result_type(self.x_windows, grad_dtype)
        dcol_dtype = np.result_type(grad_dtype, w2)
        dxp = np.zeros(self.padded_shape, dtype=dcol_dtype) if need_x else None
        w2_t = np.ascontiguousarray(w2.T)
        sh = self.strides[0]
        partial: dict[int, tuple[Any, Any]] = {}

        def backward_chunk(a: int, z: int) -> None:
            gw_part = np.zeros(w2.shape, dtype=dtype) if need_w else None
            gw_run = np.empty_like(gw_part) if need_w else None
            gb_part = np.zeros(filters, dtype=grad_dtype) if need_b else None
            runs, buf, longest = self._runs(a, z)  # im2col rows, then the column gradient
            dcols_buf = np.empty(buf.shape if need_x else 0, dtype=dcol_dtype)
            scratch = np.empty((longest, filters), dtype=grad_dtype)
            for run in runs:
                g = run_grad(run, scratch)
                if gw_part is not None:
                    cols = self._columns(run, buf)
                    if cols.dtype == g.dtype == dtype:
                        gw_part += _dot(cols.T, g, out=gw_run)
                    else:
                        gw_part += np.matmul(cols.T, g, dtype=dtype, out=gw_run)
                if gb_part is not None:
                    gb_part += _column_sums(g)
                if dxp is not None:
                    dcols = dcols_buf[: g.shape[0] * w2.shape[0]].reshape(g.shape[0], -1)
                    np.matmul(g, w2_t, out=dcols)  # scattered from the run's first input row
                    shape = (run.z - run.a, run.y1 - run.y0, self.out_hw[1], *self.w_shape[:3])
                    col2im_add(dcols.reshape(shape), dxp[run.a : run.z, run.y0 * sh :],
                               self.strides, self.dilation)
            partial[a] = (gw_part, gb_part)

        split_batch(backward_chunk, n, self.x_windows.nbytes + grad_bytes)
        parts = [partial[a] for a in sorted(partial)]
        gw = gb = gx = None
        if need_w:
            gw = _sum_parts(parts, 0).reshape(self.w_shape)
        if need_b:
            gb = _sum_parts(parts, 1)
        if dxp is not None:
            gx = _crop_nhwc(dxp, self.pads, self.x_shape[1:3])
        return (gx, gw, gb) if self.has_bias else (gx, gw)


    # --- Winograd F(2×2, 3×3) (kernels.winograd) -----------------------------------------------
    def _tile_runs(self, a: int, z: int, per_tile: int) -> tuple[list[Run], int, int]:
        """The runs of the chunk ``[a, z)`` for the Winograd path (bands of an even number of
        output rows: whole tiles), the most tiles and the most output rows one of them has."""
        ho, wo = self.out_hw
        tw = winograd.tiles(wo)
        align = math.lcm(2, self._row_align())
        runs = _sub_chunks(a, z, winograd.tiles(ho) * tw * per_tile, ho, align,
                           winograd.RUN_BYTES)
        first = runs[0]  # the longest
        nimg, rows = first.z - first.a, first.y1 - first.y0
        return runs, nimg * winograd.tiles(rows) * tw, nimg * rows * wo

    def _winograd_forward(self, xp: np.ndarray, b: np.ndarray | None, relu: bool,
                          out: np.ndarray | None,
                          emit: Callable[[Run, np.ndarray], None] | None,
                          pooled: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """:meth:`_forward_by_batch` by Winograd: per run, the input tiles' transform, 16
        GEMMs with the filter transform, and the output transform with bias + relu; or, with
        ``pooled`` (the max pool's output and winner codes: 2×2 windows, stride 2, and
        ``relu``), the output transform fused with the pool (the conv output never exists)."""
        u = self.wino_u
        n, (ho, wo), (channels, filters) = xp.shape[0], self.out_hw, u.shape[1:]
        tw, dtype = winograd.tiles(wo), u.dtype
        bias = np.empty(0, dtype) if b is None else np.ascontiguousarray(b, dtype=dtype)
        input_tiles, output_tiles, _, _, output_pool_tiles, _ = winograd.transforms()

        def forward_chunk(a: int, z: int) -> None:
            runs, most_tiles, most_rows = self._tile_runs(a, z, 16 * (channels + filters)
                                                          * dtype.itemsize)
            v_buf = np.empty(16 * most_tiles * channels, dtype)
            m_buf = np.empty(16 * most_tiles * filters, dtype)
            target = out
            if out is None and pooled is None:
                target = np.empty((most_rows, filters), dtype)
            for run in runs:
                images, rows = run.z - run.a, run.y1 - run.y0
                nty = winograd.tiles(rows)
                count = images * nty * tw
                v = v_buf[: 16 * count * channels].reshape(16, count, channels)
                input_tiles(xp, run.a, run.z, run.y0 // 2, nty, tw, v)
                m = np.matmul(v, u, out=m_buf[: 16 * count * filters].reshape(16, count, filters))
                if pooled is not None:
                    window_rows = slice(run.y0 // 2, run.y0 // 2 + rows // 2)
                    output_pool_tiles(m, pooled[0][run.a : run.z, window_rows],
                                      pooled[1][run.a : run.z, window_rows], nty, tw, bias)
                    continue
                assert target is not None
                o = target[: images * rows * wo] if out is None else target[run.out_rows(ho, wo)]
                output_tiles(m, o.reshape(images, rows, wo, filters), nty, tw, bias, relu)
                if emit is not None:
                    emit(run, o)

        split_batch(forward_chunk, n, n * ho * wo * filters * dtype.itemsize + xp.nbytes)

    def _winograd_backward(self, n: int,
                           run_grad: Callable[[Run, np.ndarray], np.ndarray] | None,
                           grad_bytes: int,
                           pooled: tuple[np.ndarray, np.ndarray] | None = None
                           ) -> tuple[Any, ...]:
        """:meth:`_backward_runs` by Winograd (the adjoint of :meth:`_winograd_forward`): per
        run, the output gradient's tile transform (from ``run_grad``'s rows; or, with
        ``pooled``, the pooled gradient and winner codes of the fused 2×2 max pool, straight
        into the transform), then 16 GEMMs each for the filter transform's gradient and for
        the input tiles' gradient, scattered onto the input."""
        u, xp = self.wino_u, self.x_padded
        channels, filters = u.shape[1:]
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        need_b = self.has_bias and self.needs_input_grad[2]
        dtype, wo = u.dtype, self.out_hw[1]
        tw = winograd.tiles(wo)
        u_t = np.ascontiguousarray(u.transpose(0, 2, 1))
        dxp = np.zeros(self.padded_shape, dtype=dtype) if need_x else None
        partial: dict[int, tuple[Any, Any]] = {}
        input_tiles, _, grad_tiles, scatter_tiles, _, pool_grad_tiles = winograd.transforms()
        no_bias = np.empty(0, dtype)

        def backward_chunk(a: int, z: int) -> None:
            du = np.zeros(u.shape, dtype) if need_w else None
            du_run = np.empty(u.shape, dtype) if need_w else None
            gb_part = np.zeros(filters, dtype) if need_b else None
            runs, most_tiles, most_rows = self._tile_runs(
                a, z, 16 * (2 * channels + filters) * dtype.itemsize)
            v_buf = np.empty(16 * most_tiles * channels, dtype)  # V, then V̄
            dm_buf = np.empty(16 * most_tiles * filters, dtype)
            scratch = np.empty((most_rows if pooled is None else 0, filters), dtype)
            for run in runs:
                images, rows = run.z - run.a, run.y1 - run.y0
                nty = winograd.tiles(rows)
                count = images * nty * tw
                dm = dm_buf[: 16 * count * filters].reshape(16, count, filters)
                if pooled is not None:
                    window_rows = slice(run.y0 // 2, run.y0 // 2 + rows // 2)
                    pool_grad_tiles(pooled[0][run.a : run.z, window_rows],
                                    pooled[1][run.a : run.z, window_rows], dm, nty, tw,
                                    no_bias if gb_part is None else gb_part)
                else:
                    assert run_grad is not None
                    g = np.ascontiguousarray(run_grad(run, scratch))
                    grad_tiles(g.reshape(images, rows, wo, filters), dm, nty, tw)
                    if gb_part is not None:
                        gb_part += _column_sums(g)
                v = v_buf[: 16 * count * channels].reshape(16, count, channels)
                if du is not None:
                    input_tiles(xp, run.a, run.z, run.y0 // 2, nty, tw, v)
                    du += np.matmul(v.transpose(0, 2, 1), dm, out=du_run)
                if dxp is not None:
                    np.matmul(dm, u_t, out=v)
                    scatter_tiles(v, dxp, run.a, run.z, run.y0 // 2, nty, tw)
            partial[a] = (du, gb_part)

        split_batch(backward_chunk, n, xp.nbytes + grad_bytes)
        parts = [partial[a] for a in sorted(partial)]
        gw = gb = gx = None
        if need_w:
            gw = winograd.filter_grad(_sum_parts(parts, 0))
        if need_b:
            gb = _sum_parts(parts, 1)
        if dxp is not None:
            gx = _crop_nhwc(dxp, self.pads, self.x_shape[1:3])
        return (gx, gw, gb) if self.has_bias else (gx, gw)


class FastConv1D(Conv1D, FastConv2D):  # type: ignore[misc]
    """:class:`nablanet.ops.conv.Conv1D` on :class:`FastConv2D`."""

    __slots__ = ()


class FastConv2DTranspose(Conv2DTranspose):
    """:class:`nablanet.ops.conv.Conv2DTranspose` with the compiled, threaded col2im."""

    __slots__ = ()

    _col2im = staticmethod(col2im)


def _plain(x: Any, w: Any, groups: int) -> bool:
    """Whether the fast path applies: one group and float32/float64 data."""
    xd = x.data if isinstance(x, Tensor) else np.asarray(x)
    wd = w.data if isinstance(w, Tensor) else np.asarray(w)
    return groups == 1 and xd.dtype in _FLOATS and wd.dtype in _FLOATS


@register("conv2d")
def conv2d(x: Any, w: Any, bias: Any = None, **options: Any) -> Tensor | None:
    """Fast :func:`nablanet.ops.conv.conv2d`, or None (grouped, or other dtypes)."""
    if not _plain(x, w, options.get("groups", 1)):
        return None
    return with_bias(FastConv2D)(x, w, bias, **options)


@register("conv1d")
def conv1d(x: Any, w: Any, bias: Any = None, **options: Any) -> Tensor | None:
    """Fast :func:`nablanet.ops.conv.conv1d`, or None (grouped, or other dtypes)."""
    if not _plain(x, w, options.get("groups", 1)):
        return None
    return with_bias(FastConv1D)(x, w, bias, **options)


@register("conv2d_transpose")
def conv2d_transpose(x: Any, w: Any, bias: Any = None, **options: Any) -> Tensor | None:
    """Fast :func:`nablanet.ops.conv.conv2d_transpose`."""
    return with_bias(FastConv2DTranspose)(x, w, bias, **options)
