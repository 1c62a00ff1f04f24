r"""Convolution primitives, channels-last as in Keras: ``conv2d``, ``conv1d``, ``conv2d_transpose``.

All three compute the *cross-correlation* of the chapter's eq. (16) (corrected, see ERRATA 7.1),

.. math::

    s(i, j) = \sum_m \sum_n x(i + m, j + n)\, y(m, n),

summed over input channels as well, for every output channel: what Keras's ``Conv2D`` computes.
The true convolution of eqs. (13)–(15) is :func:`nablanet.functional.convolve2d`.

Implementation (see DESIGN.md, "Performance practice"): the input is padded and viewed as its
windows, ``(N, Ho, Wo, kh, kw, C)`` (:func:`windows`, a strided view); copied, that is the im2col
matrix ``(N·Ho·Wo, kh·kw·C)``. The forward pass is one float32 GEMM with the kernel reshaped to
``(kh·kw·C, C_out)``, the weight gradient is one GEMM with the output gradient, and the input
gradient (only when asked for) is one GEMM to the column gradient followed by the col2im
scatter-add (a compiled numba kernel, or a loop over the taps without numba). For ungrouped
convolutions none of these matrices exists for the whole batch: they are built a few images
(or a band of one image's rows) at a time in a buffer that stays in cache (``_SUB_BYTES``,
:class:`Run`), the im2col rows again in backward from the saved input (cheaper here than
writing tens of MB out to memory and reading them back).
An input with few channels (the first layer of an image model) is also kept as an NCHW
copy, whose windows give the im2col matrix transposed from long contiguous rows
(:func:`planar_windows`, ``_PLANAR_MAX_RUN``).
``activation='relu'`` fuses bias and rectifier into the GEMM's output (one in-place pass) and
masks the incoming gradient in backward, so a ``Conv2D(..., activation='relu')`` layer needs no
separate ReLU node.

Threads: the compiled numba kernels (col2im, bias + relu, the relu mask, max pooling) are
serial numba code that releases the GIL; no numba/OpenMP pool is used (its spinning workers
fought OpenBLAS's for the 2 cores: a 2-thread step was 1.4–2.5× slower). Instead
:func:`split_batch` splits a layer's work over the batch on a few plain Python threads (as
many as OpenBLAS is allowed), with OpenBLAS set to one thread while they run: a forward chunk
is im2col + GEMM + bias/relu of its images, a backward chunk masks its rows, takes its partial
weight and bias gradients and its part of the input gradient, a few images at a time.
OpenBLAS's own workers spin for a long time after each threaded call and then take the second
core from any other work, so the big GEMMs (conv here, Dense in :mod:`nablanet.ops.linalg`)
are split the same way; at one thread everything runs serially in the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor

Pads = tuple[tuple[int, int], tuple[int, int]]


# --- argument handling ------------------------------------------------------------------------
def normalize_tuple(value: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    """``value`` as a tuple of ``n`` positive ints (an int is repeated), or a ValueError."""
    if isinstance(value, (int, np.integer)):
        values: tuple[Any, ...] = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = ()
    if len(values) != n or not all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
        raise ValueError(
            f"{op}: {name} must be a positive integer or a tuple of {n} positive integers. "
            f"Received: {name}={value!r}"
        )
    return tuple(int(v) for v in values)


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    r"""TensorFlow's 'same' padding along one axis: ``(before, after)``.

    .. math::

        o = \lceil n / s \rceil, \quad
        p = \max((o - 1) s + (k - 1) d + 1 - n,\; 0), \quad
        p_\text{before} = \lfloor p / 2 \rfloor, \quad p_\text{after} = p - p_\text{before}
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding: Any, spatial: Sequence[int], kernel: Sequence[int],
                    strides: Sequence[int], dilation: Sequence[int], op: str,
                    allowed: tuple[str, ...] = ("valid", "same")) -> Pads:
    """Per-axis ``(before, after)`` padding for 'valid', 'same' (TF rule) or 'causal'."""
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        choices = " or ".join(repr(a) for a in allowed)
        raise ValueError(f"{op}: padding must be {choices}. Received: padding={padding!r}")
    if mode == "valid":
        return ((0, 0), (0, 0))
    if mode == "causal":  # 1-D only (height 1): all padding on the left of the width axis
        return ((0, 0), ((kernel[1] - 1) * dilation[1], 0))
    return tuple(  # type: ignore[return-value]
        same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides, dilation)
    )


def _check_fits(op: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...],
                padded: tuple[int, ...], effective: tuple[int, ...]) -> None:
    if any(p < e for p, e in zip(padded, effective)):
        raise ValueError(
            f"{op}: the kernel (effective size {effective} with dilation) is larger than the "
            f"padded input {padded} (input shape {x_shape}, kernel shape {w_shape})"
        )


# --- im2col / col2im --------------------------------------------------------------------------
def windows(xp: np.ndarray, kernel: tuple[int, ...], strides: tuple[int, ...],
            dilation: tuple[int, ...], out_hw: tuple[int, ...]) -> np.ndarray:
    """The windows of a padded NHWC array as a read-only ``(N, Ho, Wo, kh, kw, C)`` view."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, strides, dilation, out_hw
    sn, sy, sx, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (xp.shape[0], ho, wo, kh, kw, xp.shape[3]),
        (sn, sy * sh, sx * sw, sy * dh, sx * dw, sc), writeable=False)


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


def im2col(xp: np.ndarray, kernel: tuple[int, ...], strides: tuple[int, ...],
           dilation: tuple[int, ...], out_hw: tuple[int, ...],
           out: np.ndarray | None = None) -> np.ndarray:
    """Windows of a padded NHWC array as a contiguous ``(N, Ho, Wo, kh, kw, C)`` array.

    ``out``, if given, is a C-contiguous array of that shape and dtype to copy into.
    """
    view = windows(xp, kernel, strides, dilation, out_hw)
    if out is None:
        return np.ascontiguousarray(view)
    np.copyto(out, view)
    return out


# --- batch-split threads for the memory-bound kernels ----------------------------------------
# The compiled kernels release the GIL (``nogil=True``) and so do NumPy's copies, so a memory-
# bound pass can be split over the batch and run on a few plain Python threads. Their workers
# block on a queue while idle (no spinning, unlike an OpenMP pool next to OpenBLAS's), and they
# use as many threads as OpenBLAS is currently allowed (``threadpoolctl.threadpool_limits``
# therefore limits both: at 1 thread everything runs serially in the caller). While a split
# runs, OpenBLAS is set to one thread, so that a GEMM inside a chunk runs in that chunk's
# thread: OpenBLAS's own workers spin for a long time (>100 ms) after each threaded call and
# would take the second core from the chunks (measured: a split copy 3.1 ms alone, 6.0 ms
# after any 2-thread GEMM). The big GEMMs of conv and dense layers are therefore split here
# too (by batch or by rows), which on its own is as fast as OpenBLAS's threading.
_SPLIT_MIN_BYTES = 1 << 20  # smaller passes are not worth a hand-off (~20 µs)
_BLAS_THREADS: list[Any] = []
_EXECUTOR: list[Any] = []
_SPLITTING: list[bool] = []  # non-empty while a split runs


def _blas_controller() -> Any:
    """threadpoolctl's controller of NumPy's OpenBLAS (found once), or None."""
    if not _BLAS_THREADS:
        from nablanet.utils import numpy_blas  # NumPy's own BLAS, not the first one listed

        _BLAS_THREADS.append(numpy_blas())
    return _BLAS_THREADS[0]


def worker_count() -> int:
    """How many threads a memory-bound pass may use: OpenBLAS's current limit (1 without it)."""
    controller = _blas_controller()
    if controller is None:  # pragma: no cover - NumPy without OpenBLAS
        return 1
    try:
        return max(1, int(controller.get_num_threads()))
    except Exception:  # pragma: no cover
        return 1


def split_batch(fn: Callable[[int, int], Any], n: int, nbytes: int) -> None:
    """Run ``fn(start, stop)`` over ``[0, n)`` in contiguous chunks, one per worker thread.

    ``nbytes`` is the memory the whole pass touches: passes under ~1 MB, or with one worker,
    run as one call in the caller's thread. ``fn`` must release the GIL to gain anything and
    must write disjoint parts of its output for disjoint ranges.
    """
    allowed = worker_count() if nbytes >= _SPLIT_MIN_BYTES else 1
    threads = min(allowed, n)
    if threads <= 1 or _SPLITTING:  # (a split inside a chunk runs serially in its thread)
        fn(0, n)
        return
    if not _EXECUTOR:
        from concurrent.futures import ThreadPoolExecutor

        _EXECUTOR.append(ThreadPoolExecutor(max_workers=max(threads - 1, 1),
                                            thread_name_prefix="nablanet-split"))
    pool = _EXECUTOR[0]
    if pool._max_workers < threads - 1:  # the limit was raised since: a bigger pool
        from concurrent.futures import ThreadPoolExecutor

        pool.shutdown(wait=False)
        pool = _EXECUTOR[0] = ThreadPoolExecutor(max_workers=threads - 1,
                                                 thread_name_prefix="nablanet-split")
    bounds = [n * k // threads for k in range(threads + 1)]
    controller = _blas_controller()
    if controller is not None:  # GEMMs inside a chunk run in the chunk's own thread
        controller.set_num_threads(1)
    _SPLITTING.append(True)
    try:
        futures = [pool.submit(fn, bounds[k], bounds[k + 1]) for k in range(1, threads)]
        try:
            fn(bounds[0], bounds[1])
        finally:
            for future in futures:
                future.result()
    finally:
        _SPLITTING.pop()
        if controller is not None:
            controller.set_num_threads(allowed)


_NUMBA_COL2IM: list[Callable[..., Any] | None] = []


def _numba_col2im() -> Callable[..., Any] | None:
    """The compiled col2im kernel (numba, cached on disk), or None without numba."""
    if not _NUMBA_COL2IM:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba is a dependency; keep a pure-NumPy path
            _NUMBA_COL2IM.append(None)
            return None

        @numba.njit(cache=True, nogil=True)
        def col2im_kernel(cols, out, sh, sw, dh, dw):  # type: ignore[no-untyped-def]
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

        _NUMBA_COL2IM.append(col2im_kernel)
    return _NUMBA_COL2IM[0]


_NUMBA_RELU: list[tuple[Callable[..., Any], Callable[..., Any]] | None] = []


def _numba_relu() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """Compiled (bias + relu in place, masked gradient) kernels on ``(M, F)`` arrays, or None."""
    if not _NUMBA_RELU:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba is a dependency; keep a pure-NumPy path
            _NUMBA_RELU.append(None)
            return None

        @numba.njit(cache=True, nogil=True)
        def bias_relu_kernel(out, b):  # type: ignore[no-untyped-def]
            rows, features = out.shape
            for r in range(rows):
                row = out[r]
                for f in range(features):
                    v = row[f] + b[f]
                    row[f] = 0 if v < 0 else v  # NaN stays NaN, as np.maximum

        @numba.njit(cache=True, nogil=True)
        def relu_grad_kernel(grad, out, res):  # type: ignore[no-untyped-def]
            rows, features = out.shape
            for r in range(rows):
                g = grad[r]
                o = out[r]
                d = res[r]
                for f in range(features):
                    d[f] = g[f] if o[f] > 0 else 0

        _NUMBA_RELU.append((bias_relu_kernel, relu_grad_kernel))
    return _NUMBA_RELU[0]


def _bias_relu_(out: np.ndarray, b: np.ndarray | None, relu: bool) -> None:
    """``out += b`` and, if ``relu``, ``out = max(out, 0)``, in place (C-contiguous 2-D ``out``)."""
    kernels = _numba_relu() if relu and b is not None else None
    if kernels is not None and out.dtype in (np.float32, np.float64):
        bias = np.ascontiguousarray(b, dtype=out.dtype)
        split_batch(lambda a, z: kernels[0](out[a:z], bias), out.shape[0], out.nbytes)
        return
    if b is not None:
        out += b
    if relu:
        np.maximum(out, np.zeros((), out.dtype), out=out)


def _relu_grad(grad: np.ndarray, out: np.ndarray) -> np.ndarray:
    r""":math:`\bar z\,[y > 0]` for a ReLU output ``y`` (2-D, C-contiguous), as a new array."""
    kernels = _numba_relu()
    if kernels is not None and grad.dtype == out.dtype and out.dtype in (np.float32, np.float64):
        res = np.empty(out.shape, dtype=out.dtype)
        g = np.ascontiguousarray(grad)
        split_batch(lambda a, z: kernels[1](g[a:z], out[a:z], res[a:z]), out.shape[0],
                    3 * out.nbytes)
        return res
    return np.multiply(grad, np.greater(out, np.zeros((), out.dtype)), dtype=grad.dtype)


def col2im(cols: np.ndarray, padded_shape: tuple[int, ...], strides: tuple[int, ...],
           dilation: tuple[int, ...]) -> np.ndarray:
    r"""Adjoint of :func:`im2col`: scatter-add ``(N, Ho, Wo, kh, kw, C)`` windows into an array.

    .. math::

        \bar x_p[n, o_y s_h + i d_h, o_x s_w + j d_w, c] \mathrel{+}=
        \bar X[n, o_y, o_x, i, j, c]
    """
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
    kernel = _numba_col2im()
    if kernel is not None and cols.dtype == out.dtype and cols.dtype in (np.float32, np.float64):
        kernel(cols, out, strides[0], strides[1], dilation[0], dilation[1])
        return
    _, ho, wo, kh, kw, _ = cols.shape
    (sh, sw), (dh, dw) = strides, dilation
    for i in range(kh):
        for j in range(kw):
            out[:, i * dh : i * dh + (ho - 1) * sh + 1 : sh,
                j * dw : j * dw + (wo - 1) * sw + 1 : sw, :] += cols[:, :, :, i, j, :]


def _pad_nhwc(x: np.ndarray, pads: Pads) -> np.ndarray:
    if pads == ((0, 0), (0, 0)):
        return x
    (pt, pb), (pl, pr) = pads
    n, h, w, c = x.shape
    xp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
    xp[:, pt : pt + h, pl : pl + w, :] = x
    return xp


def _crop_nhwc(xp: np.ndarray, pads: Pads, hw: tuple[int, int]) -> np.ndarray:
    if pads == ((0, 0), (0, 0)) and xp.shape[1:3] == hw:
        return xp
    (pt, _), (pl, _) = pads
    return xp[:, pt : pt + hw[0], pl : pl + hw[1], :]


def _grouped_matmul(a: np.ndarray, b: np.ndarray, groups: int) -> np.ndarray:
    """``a @ b`` per group: ``a`` is ``(M, G·Ka)`` split into column blocks, ``b`` is the
    block-diagonal ``(G·Ka, G·Nb)`` matrix stored compactly as ``(Ka, G·Nb)``."""
    if groups == 1:
        return a @ b
    ka = a.shape[1] // groups
    nb = b.shape[1] // groups
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for g in range(groups):
        out[:, g * nb : (g + 1) * nb] = a[:, g * ka : (g + 1) * ka] @ b[:, g * nb : (g + 1) * nb]
    return out


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
    inner dimension: from two threads at once, a first-layer weight gradient (27×16, inner
    dimension 15,876) ran at 0.8–0.9× the speed of one thread, and 1.9× with ``np.dot``. So
    the small products that run inside :func:`split_batch` chunks (weight gradients, column
    sums) go through here. ``out`` must have the operands' dtype (``np.dot``'s rule).
    """
    return np.dot(a, b, out=out)


def _column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a tall ``(M, F)`` array as one GEMV (~8× faster for small F)."""
    if not a.flags.c_contiguous:
        return a.sum(axis=0)
    return _dot(_ones(a.shape[0], a.dtype), a)


# The im2col matrix of a whole batch is tens of MB (55 MB for the chapter's first layer), so it
# is never formed: each thread's batch chunk is worked through a few images at a time, whose
# im2col rows (about ``_SUB_BYTES``) are built in a small buffer and used by the GEMM while they
# are still in cache, and built again from the saved input in backward for the weight
# gradient. Likewise the backward's column gradient exists a few images at a time, scattered by
# col2im straight after its GEMM. Measured on the chapter's four-conv step: 1.1-1.3x faster than
# whole-batch intermediates (which go out to memory and back, and the two threads' passes then
# share its bandwidth), and 160 MB less memory. An image whose im2col rows take more than this
# is done in bands of output rows (the first two layers of the chapter's models: 1.7 and 2.1 MB
# an image), so that a run's buffers stay in a core's L2 (1-1.25 MB here): against 2 MB runs of
# whole images, the four-conv step at 2 threads took 0.88-0.97x as long (same-process A/B,
# medians); at 1 thread it was within the noise.
_SUB_BYTES = 1 << 20

# An NHWC window row is a run of kw·C contiguous values, and copying short runs costs more per
# value than copying the rows of a planar (channels-first) copy, which are Wo values long. So an
# input with few channels (kw·C up to this many values, stride 1 along the width) is copied to
# NCHW once in forward and its im2col matrix is built transposed from that copy. Measured on
# the chapter's first layer (C = 3): im2col 15-18 -> 6-8 ms, forward 34 -> 25 ms, weight
# gradient 37 -> 20-24 ms at one thread; at C = 6 still 10% faster, at C = 8 10% slower.
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


def _sub_chunks(a: int, z: int, bytes_per_image: int, ho: int, align: int = 1) -> list[Run]:
    """``[a, z)`` cut into runs whose im2col rows take about ``_SUB_BYTES``: several images,
    or, when one image's rows take more, bands of rows (a multiple of ``align`` rows, except
    at the bottom of the image), each image's bands in order."""
    step = _SUB_BYTES // max(bytes_per_image, 1)
    if step >= 1 or ho <= align:
        step = max(step, 1)
        return [Run(k, min(k + step, z), 0, ho) for k in range(a, z, step)]
    band = max(align, ho * _SUB_BYTES // bytes_per_image // align * align)
    return [Run(k, k + 1, y, min(y + band, ho)) for k in range(a, z) for y in range(0, ho, band)]


# --- conv2d -----------------------------------------------------------------------------------
class Conv2D(Function):
    r"""Fused 2-D cross-correlation with bias (NHWC input, Keras kernel ``(kh, kw, C/G, F)``).

    .. math::

        y[n, i, j, f] = b_f + \sum_{m, l, c} x_p[n, i s_h + m d_h, j s_w + l d_w, c]\,
                        w[m, l, c, f]

    with :math:`x_p` the zero-padded input and, for ``groups`` :math:`G > 1`, the sum over
    :math:`c` restricted to the input channels of the filter's group.

    Forward is :math:`Y = X W` with :math:`X` the im2col matrix and :math:`W` the kernel as a
    matrix. Backward: :math:`\bar W = X^\top \bar Y`, :math:`\bar b = \sum \bar Y`, and the
    padded input's gradient is col2im of the column gradient :math:`\bar X = \bar Y W^\top`,
    :math:`\bar x_p[n, i s_h + m d_h, j s_w + l d_w, :] \mathrel{+}= \bar X[n, i, j, m, l, :]`.
    For ``groups == 1`` none of :math:`X`, :math:`\bar X` is formed for the whole batch: they
    exist a few images at a time (:data:`_SUB_BYTES`), :math:`X` is rebuilt from the saved
    input in backward, and the work is split over the batch on worker threads.

    With ``activation='relu'`` the primitive returns :math:`z = \max(0, y)` and backward
    first masks the incoming gradient, :math:`\bar Y = \bar z\,[z > 0]` (subgradient 0 at 0,
    as PyTorch), so bias and rectifier cost one in-place pass and no graph node of their own.
    """

    __slots__ = ("x_windows", "x_planar", "cols", "w2", "x_shape", "w_shape", "padded_shape",
                 "pads", "strides", "dilation", "out_hw", "groups", "has_bias", "out",
                 "premasked")
    premasked: np.ndarray | None  # set by a MaxPool2D backward that applied the relu mask
    x_windows: Any  # groups == 1: the padded input's windows (a view); else None
    x_planar: Any  # few input channels: the padded input as NCHW (see _PLANAR_MAX_RUN); or None
    cols: Any  # groups > 1: the im2col matrix; else None
    w2: np.ndarray  # the kernel as a (kh·kw·C/G, F) matrix
    w_shape: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    out_hw: tuple[int, int]

    op_name = "conv2d"

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = (1, 1), padding: Any = "valid", dilation_rate: Any = (1, 1),
                groups: int = 1, activation: str | None = None,
                _shown: tuple[Any, Any] | None = None) -> np.ndarray:
        xp = self._setup(x, w, b, strides, padding, dilation_rate, groups, activation, _shown)
        n, (ho, wo), (kh, kw, cg, filters) = xp.shape[0], self.out_hw, self.w_shape
        relu = activation == "relu"
        w2 = self.w2
        if groups == 1:
            out = np.empty((n * ho * wo, filters), dtype=np.result_type(xp, w2))
            self._forward_by_batch(xp, b, relu, out)
        else:  # group-major columns: (M, G, kh·kw·C/G), kernel (kh·kw·C/G, F)
            cols = im2col(xp, (kh, kw), self.strides, self.dilation, (ho, wo))
            self.cols = np.ascontiguousarray(
                cols.reshape(n * ho * wo, kh * kw, groups, cg).transpose(0, 2, 1, 3)
            ).reshape(n * ho * wo, groups * kh * kw * cg)
            out = _grouped_matmul(self.cols, w2, groups)
            _bias_relu_(out, b, relu)
        self.out = out if relu else None
        return out.reshape(n, ho, wo, filters)

    def _setup(self, x: Any, w: Any, b: np.ndarray | None, strides: Any, padding: Any,
               dilation_rate: Any, groups: int, activation: str | None,
               shown: tuple[Any, Any] | None) -> np.ndarray:
        """Check the arguments, save the geometry (:meth:`_save`); the padded input."""
        op = self.op_name
        if activation not in (None, "linear", "relu"):
            raise ValueError(f"{op}: activation must be None, 'linear' or 'relu'. "
                             f"Received: activation={activation!r}")
        x = np.asarray(x)
        w = np.asarray(w)
        xs, ws = (x.shape, w.shape) if shown is None else shown  # shapes as the user gave them
        if x.ndim != 4:
            raise ValueError(
                f"{op}: expected a 4-D input (batch, height, width, channels); received an "
                f"input of shape {xs}"
            )
        if w.ndim != 4:
            raise ValueError(
                f"{op}: expected a 4-D kernel (kernel_height, kernel_width, in_channels // "
                f"groups, filters); received a kernel of shape {w.shape}"
            )
        strides = normalize_tuple(strides, 2, "strides", op)
        dilation = normalize_tuple(dilation_rate, 2, "dilation_rate", op)
        if not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{op}: groups must be a positive integer. Received: groups={groups}")
        kh, kw, cg, filters = w.shape
        channels = x.shape[3]
        if channels % groups or filters % groups:
            raise ValueError(
                f"{op}: groups={groups} must divide both the input channels ({channels}) and "
                f"the filters ({filters}) (input shape {xs}, kernel shape {ws})"
            )
        if cg * groups != channels:
            raise ValueError(
                f"{op}: input has {channels} channels but the kernel expects {cg * groups} "
                f"(input shape {xs}, kernel shape {ws})"
            )
        if b is not None and np.shape(b) != (filters,):
            raise ValueError(
                f"{op}: bias must have shape ({filters},) to match the kernel's {filters} "
                f"filters; received a bias of shape {np.shape(b)}"
            )
        pads = resolve_padding(padding, x.shape[1:3], (kh, kw), strides, dilation, op,
                               ("valid", "same", "causal") if op == "conv1d" else ("valid", "same"))
        xp = _pad_nhwc(x, pads)
        eff = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
        two_d = op != "conv1d"
        _check_fits(op, xs, ws, xp.shape[1:3] if two_d else xp.shape[2:3],
                    eff if two_d else eff[1:])
        ho = (xp.shape[1] - eff[0]) // strides[0] + 1
        wo = (xp.shape[2] - eff[1]) // strides[1] + 1
        self._save(x, w.shape, w.reshape(kh * kw * cg, filters), xp, pads, strides, dilation,
                   (ho, wo), groups, b)
        return xp

    def _save(self, x: np.ndarray, w_shape: tuple[int, ...], w2: np.ndarray, xp: np.ndarray,
              pads: Pads, strides: tuple[int, ...], dilation: tuple[int, ...],
              out_hw: tuple[int, int], groups: int, b: np.ndarray | None) -> None:
        # the windows of the padded input, a view (groups > 1 keeps its im2col matrix instead)
        self.x_windows = self.x_planar = None
        if groups == 1 and strides[1] == 1 and w_shape[1] * xp.shape[3] <= _PLANAR_MAX_RUN:
            n, hp, wp, channels = xp.shape  # filled by the forward's batch chunks
            self.x_planar = np.empty((n, channels, hp, wp), dtype=xp.dtype)
            self.x_windows = planar_windows(self.x_planar, w_shape[:2], strides, dilation,
                                            out_hw)
        elif groups == 1:
            self.x_windows = windows(xp, w_shape[:2], strides, dilation, out_hw)
        self.cols = None
        self.out = None
        self.premasked = None
        self.w2 = w2
        self.x_shape = x.shape
        self.w_shape = w_shape
        self.padded_shape = xp.shape
        self.pads = pads
        self.strides = strides
        self.dilation = dilation
        self.out_hw = out_hw
        self.groups = groups
        self.has_bias = b is not None

    def _forward_by_batch(self, xp: np.ndarray, b: np.ndarray | None, relu: bool,
                          out: np.ndarray | None,
                          emit: Callable[[Run, np.ndarray], None] | None = None) -> None:
        """im2col, GEMM and bias + relu of the batch (``groups == 1``), split over threads
        (:func:`split_batch`) and done a few images or rows at a time (:func:`_sub_chunks`).

        Each run's output rows go to ``out`` (``(N·Ho·Wo, F)``); or, with ``emit``, to a
        buffer that stays in cache and is handed to ``emit(run, rows)`` (``out`` is then
        None: the whole output never exists).
        """
        w2 = self.w2
        n, (ho, wo), filters = xp.shape[0], self.out_hw, w2.shape[1]
        dtype = np.result_type(xp, w2)

        def forward_chunk(a: int, z: int) -> None:
            if self.x_planar is not None:
                np.copyto(self.x_planar[a:z], xp[a:z].transpose(0, 3, 1, 2))
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

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        n, ho, wo, filters = grad.shape
        kh, kw, cg, _ = self.w_shape
        groups = self.groups
        g2 = grad.reshape(n * ho * wo, filters)
        if groups == 1:
            return self._backward_by_batch(grad, g2)
        if self.out is not None and grad is not self.premasked:  # fused relu: mask the
            g2 = _relu_grad(g2, self.out)  # gradient (unless a max-pool after it did)
        self.premasked = None
        gw = gb = gx = None
        fg = filters // groups
        kg = kh * kw * cg
        if self.needs_input_grad[1]:
            gw = np.empty((kg, filters), dtype=np.result_type(self.cols, g2))
            for g in range(groups):
                gw[:, g * fg : (g + 1) * fg] = (
                    self.cols[:, g * kg : (g + 1) * kg].T @ g2[:, g * fg : (g + 1) * fg]
                )
            gw = gw.reshape(self.w_shape)
        if self.has_bias and self.needs_input_grad[2]:
            gb = _column_sums(g2)
        if self.needs_input_grad[0]:
            dcols = np.empty((n * ho * wo, groups, kh * kw, cg), dtype=g2.dtype)
            for g in range(groups):
                dcols[:, g] = (
                    g2[:, g * fg : (g + 1) * fg] @ self.w2[:, g * fg : (g + 1) * fg].T
                ).reshape(-1, kh * kw, cg)
            dcols = dcols.transpose(0, 2, 1, 3).reshape(n, ho, wo, kh, kw, cg * groups)
            dxp = col2im(dcols, self.padded_shape, self.strides, self.dilation)
            gx = _crop_nhwc(dxp, self.pads, self.x_shape[1:3])
        return (gx, gw, gb) if self.has_bias else (gx, gw)

    def _backward_by_batch(self, grad: np.ndarray, g2: np.ndarray) -> tuple[Any, ...]:
        """Backward for ``groups == 1``: :meth:`_backward_runs` with the gradient rows of each
        run taken from ``g2`` (``(N·Ho·Wo, F)``), masked by the fused ReLU unless a max-pool
        after it did that already."""
        ho, wo = self.out_hw
        relu_out = self.out if grad is not self.premasked else None
        self.premasked = None
        kernels = _numba_relu() if relu_out is not None else None

        def run_grad(run: Run, scratch: np.ndarray) -> np.ndarray:
            rows = run.out_rows(ho, wo)
            g = g2[rows]
            if relu_out is None:
                return g
            m = scratch[: g.shape[0]]
            if kernels is not None and g.dtype == relu_out.dtype and \
                    g.dtype in (np.float32, np.float64):
                kernels[1](np.ascontiguousarray(g), relu_out[rows], m)
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
            gw = parts[0][0]
            for part in parts[1:]:
                gw += part[0]
            gw = gw.reshape(self.w_shape)
        if need_b:
            gb = parts[0][1]
            for part in parts[1:]:
                gb += part[1]
        if dxp is not None:
            gx = _crop_nhwc(dxp, self.pads, self.x_shape[1:3])
        return (gx, gw, gb) if self.has_bias else (gx, gw)


class Conv1D(Conv2D):
    r"""1-D cross-correlation on NWC input, kernel ``(k, C/G, F)``: :class:`Conv2D` at height 1.

    .. math:: y[n, i, f] = b_f + \sum_{m, c} x_p[n, i s + m d, c]\, w[m, c, f]

    ``padding='causal'`` pads :math:`(k - 1) d` zeros on the left only (Keras).
    """

    __slots__ = ()

    op_name = "conv1d"

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = 1, padding: Any = "valid", dilation_rate: Any = 1,
                groups: int = 1, activation: str | None = None,
                _shown: tuple[Any, Any] | None = None) -> np.ndarray:
        x = np.asarray(x)
        w = np.asarray(w)
        if x.ndim != 3:
            raise ValueError(
                f"conv1d: expected a 3-D input (batch, steps, channels); received an input of "
                f"shape {x.shape}"
            )
        if w.ndim != 3:
            raise ValueError(
                f"conv1d: expected a 3-D kernel (kernel_size, in_channels // groups, filters); "
                f"received a kernel of shape {w.shape}"
            )
        (s,) = normalize_tuple(strides, 1, "strides", "conv1d")
        (d,) = normalize_tuple(dilation_rate, 1, "dilation_rate", "conv1d")
        out = super().forward(x[:, None], w[None], b, strides=(1, s), padding=padding,
                              dilation_rate=(1, d), groups=groups, activation=activation,
                              _shown=(x.shape, w.shape))
        return out[:, 0]

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grads = super().backward(grad[:, None])
        gx, gw = grads[0], grads[1]
        gx = None if gx is None else gx[:, 0]
        gw = None if gw is None else gw[0]
        return (gx, gw) + tuple(grads[2:])


# --- conv2d_transpose -------------------------------------------------------------------------
def deconv_output_length(size: int, kernel: int, stride: int, padding: str, dilation: int = 1,
                         output_padding: int | None = None) -> int:
    """Output length of a transposed convolution along one axis, as Keras computes it."""
    k = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride if padding == "same" else size * stride + max(k - stride, 0)
    pad = k // 2 if padding == "same" else 0
    return (size - 1) * stride + k - 2 * pad + output_padding


class Conv2DTranspose(Function):
    r"""Transposed 2-D convolution (NHWC; Keras kernel layout ``(kh, kw, F, C_in)``).

    The adjoint of :class:`Conv2D` with the same kernel, strides, dilation and padding, taken
    at the output size Keras computes (:func:`deconv_output_length`):

    .. math::

        y_\text{full}[n, i s_h + m d_h, j s_w + l d_w, f] \mathrel{+}=
            \sum_c x[n, i, j, c]\, w[m, l, f, c], \qquad
        y = b + y_\text{full}[:, p_t : p_t + H_o,\; p_l : p_l + W_o, :]

    where :math:`p_t, p_l` is TensorFlow's 'same' padding before (0 for 'valid'); output
    positions beyond the full result are zero (plus bias).
    """

    __slots__ = ("x2", "w2", "x_shape", "w_shape", "full_shape", "offset", "out_hw", "strides",
                 "dilation", "has_bias")

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = (1, 1), padding: Any = "valid", output_padding: Any = None,
                dilation_rate: Any = (1, 1)) -> np.ndarray:
        op = "conv2d_transpose"
        x = np.asarray(x)
        w = np.asarray(w)
        if x.ndim != 4:
            raise ValueError(
                f"{op}: expected a 4-D input (batch, height, width, channels); received an "
                f"input of shape {x.shape}"
            )
        if w.ndim != 4:
            raise ValueError(
                f"{op}: expected a 4-D kernel (kernel_height, kernel_width, filters, "
                f"in_channels); received a kernel of shape {w.shape}"
            )
        strides = normalize_tuple(strides, 2, "strides", op)
        dilation = normalize_tuple(dilation_rate, 2, "dilation_rate", op)
        mode = padding.lower() if isinstance(padding, str) else padding
        if mode not in ("valid", "same"):
            raise ValueError(f"{op}: padding must be 'valid' or 'same'. Received: "
                             f"padding={padding!r}")
        kh, kw, filters, channels = w.shape
        if x.shape[3] != channels:
            raise ValueError(
                f"{op}: input has {x.shape[3]} channels but the kernel expects {channels} "
                f"(input shape {x.shape}, kernel shape {w.shape})"
            )
        if b is not None and np.shape(b) != (filters,):
            raise ValueError(
                f"{op}: bias must have shape ({filters},) to match the kernel's {filters} "
                f"filters; received a bias of shape {np.shape(b)}"
            )
        if output_padding is not None:
            output_padding = tuple(
                int(p) for p in np.broadcast_to(np.asarray(output_padding, dtype=int), (2,))
            )
            if len(output_padding) != 2 or any(
                p < 0 or p >= s for p, s in zip(output_padding, strides)
            ):
                raise ValueError(
                    f"{op}: output_padding must be non-negative and smaller than the strides "
                    f"{strides}. Received: output_padding={output_padding}"
                )
        n, h, wd, _ = x.shape
        eff = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
        out_hw = tuple(
            deconv_output_length(size, k, s, mode, d,
                                 None if output_padding is None else output_padding[a])
            for a, (size, k, s, d) in enumerate(zip((h, wd), (kh, kw), strides, dilation))
        )
        full = tuple((size - 1) * s + e for size, s, e in zip((h, wd), strides, eff))
        if mode == "same":
            offset = tuple(max(f - o, 0) // 2 for f, o in zip(full, out_hw))
        else:
            offset = (0, 0)
        x2 = x.reshape(n * h * wd, channels)
        w2 = w.reshape(kh * kw * filters, channels)
        cols = (x2 @ w2.T).reshape(n, h, wd, kh, kw, filters)
        yfull = col2im(cols, (n, full[0], full[1], filters), strides, dilation)
        out = self._window(yfull, offset, out_hw)
        if b is not None:
            out += b
        self.x2, self.w2 = x2, w2
        self.x_shape, self.w_shape = x.shape, w.shape
        self.full_shape = (n, full[0], full[1], filters)
        self.offset, self.out_hw = offset, out_hw
        self.strides, self.dilation = strides, dilation
        self.has_bias = b is not None
        return out

    @staticmethod
    def _window(a: np.ndarray, offset: tuple[int, ...], size: tuple[int, ...]) -> np.ndarray:
        """``a[:, o:o+size]`` on both spatial axes, zero-extended past the end of ``a``."""
        (oy, ox), (sy, sx) = offset, size
        if (oy, ox) == (0, 0) and a.shape[1:3] == (sy, sx):
            return a
        out = np.zeros((a.shape[0], sy, sx, a.shape[3]), dtype=a.dtype)
        hy = min(sy, a.shape[1] - oy)
        hx = min(sx, a.shape[2] - ox)
        out[:, :hy, :hx] = a[:, oy : oy + hy, ox : ox + hx]
        return out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        n, h, wd, channels = self.x_shape
        kh, kw, filters, _ = self.w_shape
        (oy, ox), (sy, sx) = self.offset, self.out_hw
        full = self.full_shape
        if (oy, ox) == (0, 0) and (sy, sx) == full[1:3]:
            gfull = grad
        else:
            gfull = np.zeros(full, dtype=grad.dtype)
            hy = min(sy, full[1] - oy)
            hx = min(sx, full[2] - ox)
            gfull[:, oy : oy + hy, ox : ox + hx] = grad[:, :hy, :hx]
        cols = im2col(gfull, (kh, kw), self.strides, self.dilation, (h, wd))
        cols = cols.reshape(n * h * wd, kh * kw * filters)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = (cols @ self.w2).reshape(self.x_shape)
        if self.needs_input_grad[1]:
            gw = (cols.T @ self.x2).reshape(self.w_shape)
        if self.has_bias and self.needs_input_grad[2]:
            gb = _column_sums(grad.reshape(-1, grad.shape[3]))
        return (gx, gw, gb) if self.has_bias else (gx, gw)


# --- public functions -------------------------------------------------------------------------
def conv2d(x: Any, w: Any, bias: Any = None, strides: int | Sequence[int] = (1, 1),
           padding: str = "valid", dilation_rate: int | Sequence[int] = (1, 1),
           groups: int = 1, activation: str | None = None) -> Tensor:
    r"""2-D cross-correlation (what Keras's ``Conv2D`` computes), NHWC, with optional bias.

    Parameters
    ----------
    x : Tensor or array, shape ``(batch, height, width, channels)``
    w : Tensor or array, shape ``(kernel_height, kernel_width, channels // groups, filters)``
    bias : Tensor or array of shape ``(filters,)``, optional
    strides, dilation_rate : int or pair of ints
    padding : {'valid', 'same'}
        'same' pads as TensorFlow: :math:`o = \lceil n/s \rceil`, total padding
        :math:`\max((o-1)s + (k-1)d + 1 - n, 0)`, the smaller half before.
    groups : int
        Split channels and filters into ``groups`` independent convolutions.
    activation : {None, 'linear', 'relu'}
        ``'relu'`` returns :math:`\max(0, y)`, fused into the primitive (what a
        ``Conv2D(..., activation='relu')`` layer uses).

    Returns
    -------
    Tensor of shape ``(batch, out_height, out_width, filters)``.

    Notes
    -----
    .. math::

        y[n, i, j, f] = b_f + \sum_{m, l, c} x_p[n, i s_h + m d_h, j s_w + l d_w, c]\, w[m, l, c, f]

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> conv2d(x, np.ones((2, 2, 1, 1))).shape
    (1, 3, 3, 1)
    """
    if bias is None:
        return Conv2D.apply(x, w, strides=strides, padding=padding,
                            dilation_rate=dilation_rate, groups=groups, activation=activation)
    return Conv2D.apply(x, w, bias, strides=strides, padding=padding,
                        dilation_rate=dilation_rate, groups=groups, activation=activation)


def conv1d(x: Any, w: Any, bias: Any = None, strides: int = 1, padding: str = "valid",
           dilation_rate: int = 1, groups: int = 1, activation: str | None = None) -> Tensor:
    r"""1-D cross-correlation (Keras ``Conv1D``), input ``(batch, steps, channels)``.

    ``w`` has shape ``(kernel_size, channels // groups, filters)``; ``padding`` is 'valid',
    'same' (TensorFlow's rule) or 'causal' (:math:`(k-1)d` zeros on the left);
``activation='relu'`` fuses :math:`\max(0, \cdot)` into the primitive as for :func:`conv2d`.

    .. math:: y[n, i, f] = b_f + \sum_{m, c} x_p[n, i s + m d, c]\, w[m, c, f]

    Examples
    --------
    >>> import numpy as np
    >>> conv1d(np.ones((2, 10, 3)), np.ones((3, 3, 4)), padding="causal").shape
    (2, 10, 4)
    """
    if bias is None:
        return Conv1D.apply(x, w, strides=strides, padding=padding,
                            dilation_rate=dilation_rate, groups=groups, activation=activation)
    return Conv1D.apply(x, w, bias, strides=strides, padding=padding,
                        dilation_rate=dilation_rate, groups=groups, activation=activation)


def conv2d_transpose(x: Any, w: Any, bias: Any = None, strides: int | Sequence[int] = (1, 1),
                     padding: str = "valid", output_padding: int | Sequence[int] | None = None,
                     dilation_rate: int | Sequence[int] = (1, 1)) -> Tensor:
    r"""Transposed convolution (Keras ``Conv2DTranspose``), NHWC.

    ``w`` has Keras's layout ``(kernel_height, kernel_width, filters, channels)``. The output
    size per axis is Keras's: without ``output_padding``, ``n·s`` for 'same' and
    ``n·s + max(k - s, 0)`` for 'valid'; with it, ``(n-1)s + k - 2p + output_padding`` where
    :math:`p = \lfloor k/2 \rfloor` for 'same' and 0 for 'valid' (:math:`k` the dilated size).

    .. math::

        y_\text{full}[n, i s_h + m d_h, j s_w + l d_w, f] \mathrel{+}=
            \sum_c x[n, i, j, c]\, w[m, l, f, c]

    Examples
    --------
    >>> import numpy as np
    >>> conv2d_transpose(np.ones((1, 4, 4, 3)), np.ones((3, 3, 8, 3)), strides=2,
    ...                  padding="same").shape
    (1, 8, 8, 8)
    """
    if bias is None:
        return Conv2DTranspose.apply(x, w, strides=strides, padding=padding,
                                     output_padding=output_padding, dilation_rate=dilation_rate)
    return Conv2DTranspose.apply(x, w, bias, strides=strides, padding=padding,
                                 output_padding=output_padding, dilation_rate=dilation_rate)
