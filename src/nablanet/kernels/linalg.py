"""Fast 2-D matrix products and the dense layer's primitive.

:class:`FastMatMul` is :class:`nablanet.ops.linalg.MatMul` with its 2-D products done by
:func:`matmul2d`; :class:`FastDense` is :class:`nablanet.ops.linalg.Dense` with the same
products and one compiled pass for the bias and the ReLU each way (forward: ``z += b`` and
``max(z, 0)`` in place; backward: the ReLU mask and the bias gradient's column sum).

Float32 products whose right operand is C-ordered with whole 64-column tiles (a dense layer's
``X W`` and ``X^T G`` for 64, 128, 512 … units), and the input gradient ``G W^T`` of a wide
input for a batch of 32, 64 …, are computed by the register tiles of
:func:`nablanet.kernels.simd.gemm` (1.1-2x OpenBLAS's rate on these shapes here).

OpenBLAS's own threads are never used for the products: a big one is split over the larger
output axis on nablanet's worker threads (:func:`nablanet.kernels.threads.split_batch`) with
OpenBLAS at one thread inside each chunk, and a middle-sized one (which OpenBLAS would thread)
runs with OpenBLAS limited to one thread. OpenBLAS's workers spin after each threaded
call and wait for every partner thread in it, so with another process on the second core one
such product of a dense layer took ~20 ms instead of ~0.1 (docs/performance.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.kernels._numba import njit
from nablanet.kernels.registry import register
from nablanet.kernels.simd import NARROW_COLS, TILE_COLS, TILE_ROWS, gemm
from nablanet.kernels.threads import split_batch, worker_count
from nablanet.ops.linalg import Dense, MatMul, dense_apply
from nablanet.utils import numpy_blas

#: Products (m·n·k multiply-adds) from which the work is split over the worker threads.
_SPLIT_MIN_MULTS = 1 << 22
_SPLIT_MIN_BYTES = 1 << 20
#: Products below this OpenBLAS runs on one thread anyway (its SMP threshold, 65536 × 4).
_BLAS_THREADED_MULTS = 1 << 18


def _one_blas_thread(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)`` with NumPy's BLAS limited to one thread for the call."""
    blas = numpy_blas()
    threads = 1 if blas is None else blas.get_num_threads()
    if threads <= 1:
        return np.matmul(a, b)
    blas.set_num_threads(1)
    try:
        return np.matmul(a, b)
    finally:
        blas.set_num_threads(threads)


#: ``a @ w.T`` with ``w`` this many times taller than ``a`` is made by blocks of ``w``'s rows
#: (:func:`_wide_nt`); blocks of this many rows.
_WIDE_NT_RATIO = 64
_WIDE_NT_BLOCK = 2048


#: Rows of the source per slice in :func:`transposed` (a slice's transpose stays in cache).
_TRANSPOSE_ROWS = 16


def transposed(a: np.ndarray) -> np.ndarray:
    """``a.T`` as a new C-ordered array, made 16 source rows at a time: NumPy's own transposing
    copy walks the whole destination for every source row (an LSTM's ``(128, 512)`` recurrent
    kernel: 139 µs against 36 µs this way)."""
    out = np.empty((a.shape[1], a.shape[0]), dtype=a.dtype)
    for i in range(0, a.shape[0], _TRANSPOSE_ROWS):
        out[:, i : i + _TRANSPOSE_ROWS] = a[i : i + _TRANSPOSE_ROWS].T
    return out


def _is_wide_nt(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a @ b`` is a small batch times the transpose of a tall C-ordered matrix (a
    dense layer's input gradient ``G W^T`` for a wide input, e.g. the 1-conv model's 63,504)."""
    return bool(b.flags.f_contiguous and not b.flags.c_contiguous
                and b.shape[1] >= _WIDE_NT_RATIO * a.shape[0])


def _wide_nt(a: np.ndarray, b: np.ndarray, out: np.ndarray, start: int, stop: int) -> None:
    """``out[:, start:stop] = a @ b[:, start:stop]`` for ``b = w.T`` (``w`` C-ordered, tall),
    one block of ``w``'s rows at a time: ``(w[s:e] @ a^T)^T``, through a buffer that stays in
    cache. OpenBLAS makes a tall-by-small product with ``w``'s rows as they lie 1.2-2.6x
    faster than ``a @ w[s:e].T`` for these shapes; for a float32 batch of 32, 64 … the blocks
    go to the register tiles of :func:`nablanet.kernels.simd.gemm` instead (docs/performance.md,
    "Register tiles")."""
    w, a_t = b.T, transposed(a)
    buf = np.empty((min(_WIDE_NT_BLOCK, stop - start), a.shape[0]), dtype=out.dtype)
    kernel: Any = gemm
    tiled = kernel is not None and a.dtype == np.float32 and a.shape[0] % NARROW_COLS == 0
    for s in range(start, stop, _WIDE_NT_BLOCK):
        e = min(s + _WIDE_NT_BLOCK, stop)
        block = buf[: e - s]
        if tiled:
            kernel(w[s:e], a_t, block, False)
        else:
            np.matmul(w[s:e], a_t, out=block)
        out[:, s:e] = block.T


#: Outputs larger than this stay with OpenBLAS: the 1-conv model's weight gradient (32 MB,
#: inner dimension 32) ran at 0.86-0.97x OpenBLAS's speed in the tiles.
_TILED_MAX_OUT_BYTES = 8 << 20


def _is_tiled(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether :func:`nablanet.kernels.simd.gemm` takes ``a @ b``: float32, ``b`` C-ordered
    with whole 64-column tiles (a dense layer's forward product ``X W`` and weight gradient
    ``X^T G`` for 64, 128, 512 … units; ``a`` may be a transposed view), and an output of at
    most ``_TILED_MAX_OUT_BYTES``."""
    return bool(gemm is not None and a.dtype == b.dtype == np.float32
                and b.flags.c_contiguous and b.shape[1] % TILE_COLS == 0
                and 4 * a.shape[0] * b.shape[1] <= _TILED_MAX_OUT_BYTES)


def _tiled(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` by :func:`nablanet.kernels.simd.gemm`, split over the worker threads along
    the larger output axis in whole tiles (4 rows or 64 columns)."""
    m, n = a.shape[0], b.shape[1]
    out = np.empty((m, n), dtype=np.float32)
    kernel: Any = gemm
    if m * n * a.shape[1] < _SPLIT_MIN_MULTS:
        kernel(a, b, out, False)
    elif m >= n:
        rows = -(-m // TILE_ROWS)
        split_batch(lambda s, e: kernel(a[s * TILE_ROWS:e * TILE_ROWS], b,
                                        out[s * TILE_ROWS:e * TILE_ROWS], False),
                    rows, _SPLIT_MIN_BYTES)
    else:
        split_batch(lambda s, e: kernel(a, b[:, s * TILE_COLS:e * TILE_COLS],
                                        out[:, s * TILE_COLS:e * TILE_COLS], False),
                    n // TILE_COLS, _SPLIT_MIN_BYTES)
    return out


def matmul2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D arrays; float32 products with whole 64-column tiles by the register
    tiles of :func:`nablanet.kernels.simd.gemm` (:func:`_tiled`); other big float products
    split over the larger output axis, middle-sized ones on one BLAS thread, and a small batch
    times a wide transposed matrix by blocks of its rows (:func:`_wide_nt`)."""
    m, n = a.shape[0], b.shape[1]
    mults = m * n * a.shape[1]
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64) or \
            mults < min(_SPLIT_MIN_MULTS, _BLAS_THREADED_MULTS):
        return np.matmul(a, b)
    if _is_tiled(a, b):
        return _tiled(a, b)
    if _is_wide_nt(a, b):
        wide = np.empty((m, n), dtype=a.dtype)
        split_batch(lambda s, e: _wide_nt(a, b, wide, s, e), n, wide.nbytes + b.nbytes)
        return wide
    if mults < _SPLIT_MIN_MULTS:
        return _one_blas_thread(a, b)
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


@njit()
def _bias_relu_kernel(z, b, relu, zero):  # type: ignore[no-untyped-def]
    # ``zero`` has the arrays' dtype, so float32 stays float32 in the loop
    rows, units = z.shape
    for r in range(rows):
        row = z[r]
        for u in range(units):
            v = row[u] + b[u]
            if relu and v < zero:  # np.maximum(v, 0): NaN and -0.0 stay as they are
                row[u] = zero
            else:
                row[u] = v


@njit()
def _relu_grad_kernel(grad, out, g, gb, want_b, zero):  # type: ignore[no-untyped-def]
    rows, units = out.shape
    for r in range(rows):
        gr, orow, dr = grad[r], out[r], g[r]
        for u in range(units):
            # grad * [out > 0], as NumPy multiplies by the boolean mask (NaN * 0 is NaN)
            d = gr[u] if orow[u] > zero else gr[u] * zero
            dr[u] = d
            if want_b:
                gb[u] += d  # row after row, as NumPy's sum over axis 0


def _compiled(*arrays: np.ndarray | None) -> bool:
    """Whether the compiled passes take these arrays: numba present, one float dtype,
    C-contiguous."""
    first = arrays[0]
    return _bias_relu_kernel is not None and first is not None and \
        first.dtype in (np.float32, np.float64) and all(
            a is None or (a.dtype == first.dtype and a.flags.c_contiguous) for a in arrays)


class FastDense(Dense):
    """:class:`nablanet.ops.linalg.Dense` with :func:`matmul2d` and compiled bias / ReLU
    passes (the reference's NumPy passes where they do not apply)."""

    __slots__ = ()

    _matmul2d = staticmethod(matmul2d)

    @staticmethod
    def _bias_relu_(z: np.ndarray, b: np.ndarray | None, relu: bool) -> None:
        kernel = _bias_relu_kernel
        if kernel is not None and b is not None and _compiled(z, b) and z.ndim == 2:
            kernel(z, b, relu, z.dtype.type(0))
        else:
            Dense._bias_relu_(z, b, relu)

    @staticmethod
    def _relu_grad(grad: np.ndarray, out: np.ndarray, bias_grad: bool
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        kernel = _relu_grad_kernel
        if kernel is None or not _compiled(out, grad):
            return Dense._relu_grad(grad, out, bias_grad)
        g = np.empty_like(out)
        gb = np.zeros(out.shape[1], dtype=out.dtype)
        kernel(grad, out, g, gb, bias_grad, out.dtype.type(0))
        return g, (gb if bias_grad else None)

    def _products(self, g: np.ndarray, need_x: bool, need_w: bool
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """With two worker threads and both gradients wanted, the two products run side by
        side, one on each thread (they have the same number of multiply-adds): one hand-off
        to the worker instead of two splits."""
        x, w = self.x, self.w
        if not (need_x and need_w and worker_count() == 2
                and g.shape[0] * x.shape[1] * w.shape[1] >= _SPLIT_MIN_MULTS
                and g.dtype == x.dtype == w.dtype and g.dtype in (np.float32, np.float64)):
            return super()._products(g, need_x, need_w)
        grads: list[np.ndarray | None] = [None, None]

        def product(first: int, stop: int) -> None:  # 0: input gradient, 1: weight gradient
            for k in range(first, stop):  # (matmul2d inside a chunk runs in the chunk's thread)
                grads[k] = matmul2d(g, w.T) if k == 0 else matmul2d(x.T, g)

        split_batch(product, 2, _SPLIT_MIN_BYTES)
        return grads[0], grads[1]


@register("dense")
def dense(x: Tensor, kernel: Tensor, bias: Tensor | None = None,
          activation: str | None = None) -> Tensor:
    """Fast :func:`nablanet.ops.linalg.dense`."""
    return dense_apply(x, kernel, bias, activation=activation, primitive=FastDense)


@register("matmul")
def matmul(x: Tensor, y: Tensor) -> Tensor:
    """Fast :func:`nablanet.ops.linalg.matmul` (operands already Tensors)."""
    return FastMatMul.apply(x, y)
