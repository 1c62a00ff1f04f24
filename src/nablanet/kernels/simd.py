r"""Vectors of 16 float32 for the compiled kernels, and the register-tiled product ``gemm``.

numba compiles a loop such as ``out[i, j] += a[i, k] * b[k, j]`` into vector instructions over
``j``, but it cannot keep a block of ``out`` in registers across the ``k`` loop: every pass loads
and stores the output rows again (numba's arrays may alias, so LLVM must assume a store to
``out`` changes ``b``). For the small products of a recurrence (a ``(32, 128)`` state times a
``(128, 512)`` weight, once per time step) that traffic is what kept a loop at ~80% of the
core's multiply-add rate. This module gives compiled kernels a value type for a vector of 16
float32 (one AVX-512 register; two AVX2 registers elsewhere) with a few operations, each a
numba *intrinsic* that emits one LLVM instruction:

* ``vload(arr, i, j)``: ``arr[i, j : j + 16]`` as a vector (the row must be contiguous);
* ``vstore(arr, i, j, v)``: writes it back;
* ``vload_first(arr, i, j, count)``, ``vstore_first(arr, i, j, count, v)``: the same for the
  first ``count`` lanes only (masked: the other lanes are neither read nor written);
* ``vsplat(x)``: the scalar ``x`` in all 16 lanes;
* ``vfma(x, y, acc)``: ``x * y + acc`` lane by lane (``llvm.fmuladd``: one fused multiply-add
  where the machine has one);
* ``prefetch(arr, i, j)``: asks for the cache line of ``arr[i, j]`` ahead of its use;
* ``wide_vectors()``, called first in a kernel: LLVM may vectorise that kernel's loops with
  whole 512-bit registers. For Intel's AVX-512 processors (Skylake-SP to Sapphire Rapids) LLVM
  otherwise prefers 256-bit vectors in the loops it vectorises itself (a tuning from the days
  when 512-bit instructions lowered the clock); the vectors of this module are 512 bits there
  anyway. On AMD's Zen 4, on AVX2-only and on other machines it changes nothing. Checked by
  compiling for ``NUMBA_CPU_NAME=skylake-avx512`` (docs/performance.md, "Tenth session").

:func:`gemm` is ``out (+)= a @ b`` written with them: a tile of 4 output rows × 64 columns
lives in 16 vector registers while ``k`` runs over the inner dimension,

.. math::  C_{[i:i+4],\,[j:j+64]} \mathrel{+}= \sum_k A_{[i:i+4],\,k}\; B_{k,\,[j:j+64]},

so each step of ``k`` is 4 vector loads of ``B``, 4 broadcasts of ``A`` and 16 multiply-adds,
and the tile is loaded and stored once. A last 32 columns go in tiles of 8 rows × 32 columns
(again 16 vectors), whose next rows of ``A`` are prefetched (a tall ``A`` streamed from memory 8
rows at a time defeats the hardware's prefetcher); fewer than 32 last columns in tiles of 4 rows
whose lanes past the last column are masked; the last 1-3 rows by a plain loop. Every element
of ``out`` gets its terms added one at a time in the order of ``k`` (one rounding per
multiply-add), in the tiles and outside them alike, so the result does not depend on where the
tile boundaries fall (on the batch slice a thread was given).

Users: the compiled LSTM's per-step products (:mod:`nablanet.kernels.recurrent`) and the
dense layer's float32 products (:func:`nablanet.kernels.linalg.matmul2d`), where these tiles
beat OpenBLAS's own kernel on a 2-vCPU AMD EPYC (docs/performance.md, "Register tiles"). The
convolutions' batched products stay with OpenBLAS, which already runs them at the core's peak.

Without numba (or with it switched off, :mod:`nablanet.kernels._numba`) the names are None.
"""

from __future__ import annotations

from typing import Any

from nablanet.kernels._numba import njit, numba_module

LANES = 16  # float32 lanes of one vector
TILE_ROWS, TILE_COLS = 4, 64  # the register tile of gemm: 4 rows x 4 vectors
NARROW_ROWS, NARROW_COLS = 8, 32  # the tile for a last 32 columns: 8 rows x 2 vectors
K_BLOCK = 512  # inner indices per pass over the tiles
B_IN_L1 = 8192  # a b of at most this many elements (32 KB) is read whole for each row tile

vload: Any = None
vstore: Any = None
vsplat: Any = None
vfma: Any = None
prefetch: Any = None
vload_first: Any = None
vstore_first: Any = None
wide_vectors: Any = None

if numba_module() is not None:
    # Defined at module level (not in a function) so that numba's on-disk cache, which pickles
    # the types of cached functions, finds the class again by its name.
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.core.errors import TypingError
    from numba.extending import intrinsic, models, register_model

    _VECTOR_IR = ir.VectorType(ir.FloatType(), LANES)

    class Float32x16(types.Type):  # type: ignore[misc]
        """numba's type for a vector of 16 float32 values (an LLVM ``<16 x float>``)."""

        def __init__(self) -> None:
            super().__init__(name="float32x16")

    @register_model(Float32x16)  # type: ignore[misc]
    class _Float32x16Model(models.PrimitiveModel):  # type: ignore[misc]
        def __init__(self, dmm: Any, fe_type: Any) -> None:
            super().__init__(dmm, fe_type, _VECTOR_IR)

    _VECTOR = Float32x16()

    def _pointer_suffix(pointer_type: Any, pointee: str) -> str:
        """An LLVM intrinsic's name part for a pointer argument: ``p0<pointee>`` with typed
        pointers (numba's LLVM today), ``p0`` with opaque ones."""
        return "p0" if getattr(pointer_type, "is_opaque", False) else "p0" + pointee

    def _check_array(arr: Any) -> None:
        if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.dtype == types.float32):
            raise TypingError(f"a vector is read from / written to a 2-D float32 array, not {arr}")

    def _element_pointer(context: Any, builder: Any, array_type: Any, array: Any, i: Any,
                         j: Any) -> Any:
        """Pointer to ``array[i, j]`` as a pointer to a vector (no wrap-around of indices)."""
        ary = context.make_array(array_type)(context, builder, array)
        ptr = cgutils.get_item_pointer(context, builder, array_type, ary, [i, j],
                                       wraparound=False)
        return builder.bitcast(ptr, _VECTOR_IR.as_pointer())

    @intrinsic  # type: ignore[misc]
    def _vload(typingctx: Any, arr: Any, i: Any, j: Any) -> Any:
        _check_array(arr)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            return builder.load(_element_pointer(context, builder, sig.args[0], *args), align=4)

        return _VECTOR(arr, i, j), codegen

    @intrinsic  # type: ignore[misc]
    def _vstore(typingctx: Any, arr: Any, i: Any, j: Any, value: Any) -> Any:
        _check_array(arr)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            builder.store(args[3], _element_pointer(context, builder, sig.args[0], *args[:3]),
                          align=4)
            return context.get_dummy_value()

        return types.void(arr, i, j, value), codegen

    @intrinsic  # type: ignore[misc]
    def _vsplat(typingctx: Any, x: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            scalar = context.cast(builder, args[0], sig.args[0], types.float32)
            one = builder.insert_element(ir.Constant(_VECTOR_IR, ir.Undefined), scalar,
                                         ir.Constant(ir.IntType(32), 0))
            zeros = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
            return builder.shuffle_vector(one, ir.Constant(_VECTOR_IR, ir.Undefined), zeros)

        return _VECTOR(x), codegen

    @intrinsic  # type: ignore[misc]
    def _vfma(typingctx: Any, x: Any, y: Any, acc: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(_VECTOR_IR, [_VECTOR_IR] * 3),
                "llvm.fmuladd.v16f32")
            return builder.call(fn, list(args))

        return _VECTOR(x, y, acc), codegen

    @intrinsic  # type: ignore[misc]
    def _prefetch(typingctx: Any, arr: Any, i: Any, j: Any) -> Any:
        _check_array(arr)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            ptr = builder.bitcast(_element_pointer(context, builder, sig.args[0], *args),
                                  ir.IntType(8).as_pointer())
            i32 = ir.IntType(32)
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]),
                "llvm.prefetch." + _pointer_suffix(ptr.type, "i8"))
            # read, keep in all cache levels, data cache
            builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.void(arr, i, j), codegen

    def _lane_mask(builder: Any, count: Any) -> Any:
        """``<16 x i1>``: lane ``l`` set when ``l < count``."""
        i32 = ir.IntType(32)
        lanes = ir.Constant(ir.VectorType(i32, LANES), list(range(LANES)))
        n = builder.trunc(count, i32) if count.type.width > 32 else count
        splat = builder.insert_element(ir.Constant(ir.VectorType(i32, LANES), ir.Undefined), n,
                                       ir.Constant(i32, 0))
        splat = builder.shuffle_vector(splat, ir.Constant(ir.VectorType(i32, LANES), ir.Undefined),
                                       ir.Constant(ir.VectorType(i32, LANES), [0] * LANES))
        return builder.icmp_signed("<", lanes, splat)

    @intrinsic  # type: ignore[misc]
    def _vload_first(typingctx: Any, arr: Any, i: Any, j: Any, count: Any) -> Any:
        _check_array(arr)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            ptr = _element_pointer(context, builder, sig.args[0], *args[:3])
            mask = _lane_mask(builder, args[3])
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(_VECTOR_IR, [ptr.type, ir.IntType(32),
                                                             mask.type, _VECTOR_IR]),
                "llvm.masked.load.v16f32." + _pointer_suffix(ptr.type, "v16f32"))
            return builder.call(fn, [ptr, ir.Constant(ir.IntType(32), 4), mask,
                                     ir.Constant(_VECTOR_IR, [0.0] * LANES)])

        return _VECTOR(arr, i, j, count), codegen

    @intrinsic  # type: ignore[misc]
    def _vstore_first(typingctx: Any, arr: Any, i: Any, j: Any, count: Any, value: Any) -> Any:
        _check_array(arr)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            ptr = _element_pointer(context, builder, sig.args[0], *args[:3])
            mask = _lane_mask(builder, args[3])
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [_VECTOR_IR, ptr.type,
                                                                ir.IntType(32), mask.type]),
                "llvm.masked.store.v16f32." + _pointer_suffix(ptr.type, "v16f32"))
            builder.call(fn, [args[4], ptr, ir.Constant(ir.IntType(32), 4), mask])
            return context.get_dummy_value()

        return types.void(arr, i, j, count, value), codegen

    @intrinsic  # type: ignore[misc]
    def _wide_vectors(typingctx: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            try:  # (llvmlite's attribute set only lists LLVM's keyword attributes)
                set.add(builder.function.attributes, '"prefer-vector-width"="512"')
            except TypeError:  # pragma: no cover - a future llvmlite: LLVM's own choice
                pass
            return context.get_dummy_value()

        return types.void(), codegen

    vload, vstore, vsplat, vfma, prefetch = _vload, _vstore, _vsplat, _vfma, _prefetch
    vload_first, vstore_first = _vload_first, _vstore_first
    wide_vectors = _wide_vectors

# fastmath "contract" only (fused multiply-adds, as the tiles do; no reassociation)
_jit = njit(fastmath={"contract"}, error_model="numpy")


@_jit
def _load_row(arr, i, j):  # type: ignore[no-untyped-def]
    """``arr[i, j:j+64]`` as four vectors."""
    return vload(arr, i, j), vload(arr, i, j + 16), vload(arr, i, j + 32), vload(arr, i, j + 48)


@_jit
def _store_row(arr, i, j, row):  # type: ignore[no-untyped-def]
    """Write the four vectors ``row`` to ``arr[i, j:j+64]``."""
    vstore(arr, i, j, row[0])
    vstore(arr, i, j + 16, row[1])
    vstore(arr, i, j + 32, row[2])
    vstore(arr, i, j + 48, row[3])


@_jit
def _add_times(row, x, b):  # type: ignore[no-untyped-def]
    """``row + x * b`` for a tile row and a row of ``b`` (four vectors each), ``x`` a scalar."""
    s = vsplat(x)
    return vfma(s, b[0], row[0]), vfma(s, b[1], row[1]), vfma(s, b[2], row[2]), \
        vfma(s, b[3], row[3])


@_jit
def _tile(a, b, out, i, j, k0, k1, add):  # type: ignore[no-untyped-def]
    """``out[i:i+4, j:j+64] (+)= a[i:i+4, k0:k1] @ b[k0:k1, j:j+64]`` with the tile in 16
    vectors (started from ``out`` when ``add``, from zero otherwise)."""
    if add:
        c0, c1, c2, c3 = (_load_row(out, i, j), _load_row(out, i + 1, j),
                          _load_row(out, i + 2, j), _load_row(out, i + 3, j))
    else:
        z = vsplat(0.0)
        c0 = c1 = c2 = c3 = (z, z, z, z)
    for k in range(k0, k1):
        bk = _load_row(b, k, j)
        c0 = _add_times(c0, a[i, k], bk)
        c1 = _add_times(c1, a[i + 1, k], bk)
        c2 = _add_times(c2, a[i + 2, k], bk)
        c3 = _add_times(c3, a[i + 3, k], bk)
    _store_row(out, i, j, c0)
    _store_row(out, i + 1, j, c1)
    _store_row(out, i + 2, j, c2)
    _store_row(out, i + 3, j, c3)


@_jit
def _load_pair(arr, i, j):  # type: ignore[no-untyped-def]
    """``arr[i, j:j+32]`` as two vectors."""
    return vload(arr, i, j), vload(arr, i, j + 16)


@_jit
def _store_pair(arr, i, j, row):  # type: ignore[no-untyped-def]
    vstore(arr, i, j, row[0])
    vstore(arr, i, j + 16, row[1])


@_jit
def _add_times_pair(row, x, b):  # type: ignore[no-untyped-def]
    s = vsplat(x)
    return vfma(s, b[0], row[0]), vfma(s, b[1], row[1])


@_jit
def _narrow_tile(a, b, out, i, j, k0, k1, add):  # type: ignore[no-untyped-def]
    """``out[i:i+8, j:j+32] (+)= a[i:i+8, k0:k1] @ b[k0:k1, j:j+32]``: the tile for 32
    columns, 8 rows x 2 vectors (again 16 vectors), e.g. ``W G^T`` for a batch of 32."""
    if add:
        c0, c1, c2, c3 = (_load_pair(out, i, j), _load_pair(out, i + 1, j),
                          _load_pair(out, i + 2, j), _load_pair(out, i + 3, j))
        c4, c5, c6, c7 = (_load_pair(out, i + 4, j), _load_pair(out, i + 5, j),
                          _load_pair(out, i + 6, j), _load_pair(out, i + 7, j))
    else:
        z = vsplat(0.0)
        c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = (z, z)
    ahead = i + NARROW_ROWS < a.shape[0] and a.strides[1] == 4  # the next tile's rows of a
    for kc in range(k0, k1, LANES):  # a cache line of each of those rows per 16 steps of k
        if ahead:
            for r in range(NARROW_ROWS):
                prefetch(a, i + NARROW_ROWS + r, kc)
        for k in range(kc, min(kc + LANES, k1)):
            bk = _load_pair(b, k, j)
            c0 = _add_times_pair(c0, a[i, k], bk)
            c1 = _add_times_pair(c1, a[i + 1, k], bk)
            c2 = _add_times_pair(c2, a[i + 2, k], bk)
            c3 = _add_times_pair(c3, a[i + 3, k], bk)
            c4 = _add_times_pair(c4, a[i + 4, k], bk)
            c5 = _add_times_pair(c5, a[i + 5, k], bk)
            c6 = _add_times_pair(c6, a[i + 6, k], bk)
            c7 = _add_times_pair(c7, a[i + 7, k], bk)
    _store_pair(out, i, j, c0)
    _store_pair(out, i + 1, j, c1)
    _store_pair(out, i + 2, j, c2)
    _store_pair(out, i + 3, j, c3)
    _store_pair(out, i + 4, j, c4)
    _store_pair(out, i + 5, j, c5)
    _store_pair(out, i + 6, j, c6)
    _store_pair(out, i + 7, j, c7)


@_jit
def _load_edge(arr, i, j, width):  # type: ignore[no-untyped-def]
    """``arr[i, j:j+width]`` (``width`` ≤ 32) as two vectors, zero past ``width``."""
    return vload_first(arr, i, j, width), vload_first(arr, i, j + 16, width - 16)


@_jit
def _store_edge(arr, i, j, width, row):  # type: ignore[no-untyped-def]
    vstore_first(arr, i, j, width, row[0])
    vstore_first(arr, i, j + 16, width - 16, row[1])


@_jit
def _edge_tile(a, b, out, i, j, width, k0, k1, add):  # type: ignore[no-untyped-def]
    """``out[i:i+4, j:j+width] (+)= a[i:i+4, k0:k1] @ b[k0:k1, j:j+width]`` for ``width`` ≤ 32
    last columns: the lanes past ``width`` are masked off (never read or written)."""
    if add:
        c0, c1, c2, c3 = (_load_edge(out, i, j, width), _load_edge(out, i + 1, j, width),
                          _load_edge(out, i + 2, j, width), _load_edge(out, i + 3, j, width))
    else:
        z = vsplat(0.0)
        c0 = c1 = c2 = c3 = (z, z)
    for k in range(k0, k1):
        bk = _load_edge(b, k, j, width)
        c0 = _add_times_pair(c0, a[i, k], bk)
        c1 = _add_times_pair(c1, a[i + 1, k], bk)
        c2 = _add_times_pair(c2, a[i + 2, k], bk)
        c3 = _add_times_pair(c3, a[i + 3, k], bk)
    _store_edge(out, i, j, width, c0)
    _store_edge(out, i + 1, j, width, c1)
    _store_edge(out, i + 2, j, width, c2)
    _store_edge(out, i + 3, j, width, c3)


@_jit
def _plain(a, b, out, i0, i1, j0, j1, k0, k1, add):  # type: ignore[no-untyped-def]
    """``out[i0:i1, j0:j1] (+)= a[i0:i1, k0:k1] @ b[k0:k1, j0:j1]`` for what whole tiles do
    not cover: four rows at a time (each row of ``b`` read once for the four), then one; the
    loop over columns vectorised by LLVM (row slices: indices numba sees as non-negative)."""
    wide_vectors()
    width = j1 - j0
    if not add:
        for i in range(i0, i1):
            row = out[i, j0:j1]
            for j in range(width):
                row[j] = 0.0
    i = i0
    while i + 4 <= i1:
        r0, r1, r2, r3 = out[i, j0:j1], out[i + 1, j0:j1], out[i + 2, j0:j1], out[i + 3, j0:j1]
        for k in range(k0, k1):
            x0, x1, x2, x3 = a[i, k], a[i + 1, k], a[i + 2, k], a[i + 3, k]
            b_row = b[k, j0:j1]
            for j in range(width):
                w = b_row[j]
                r0[j] += x0 * w
                r1[j] += x1 * w
                r2[j] += x2 * w
                r3[j] += x3 * w
        i += 4
    for last in range(i, i1):
        row = out[last, j0:j1]
        for k in range(k0, k1):
            x = a[last, k]
            b_row = b[k, j0:j1]
            for j in range(width):
                row[j] += x * b_row[j]


@_jit
def gemm(a, b, out, add):  # type: ignore[no-untyped-def]
    """``out += a @ b`` (``add``) or ``out = a @ b`` for float32 matrices: ``a`` any 2-D array or
    view (read one element at a time: a transposed view costs nothing), ``b`` and ``out``
    with contiguous rows. Whole 4 × 64 tiles in registers (:func:`_tile`), a last 32 columns
    in 8 × 32 tiles (:func:`_narrow_tile`), fewer last columns in masked 4-row tiles
    (:func:`_edge_tile`), the last rows by :func:`_plain`; a ``b`` or ``out`` whose rows are
    not contiguous goes to :func:`_plain` whole. The inner dimension is taken ``K_BLOCK`` at
    a time, so that the panel of ``b`` a tile reads stays in cache across the row tiles; a
    ``b`` small enough to stay in the first-level cache whole is read row tile after row
    tile instead (``out`` is then streamed once)."""
    n, m = out.shape
    kk = a.shape[1]
    if b.strides[1] != 4 or out.strides[1] != 4:
        _plain(a, b, out, 0, n, 0, m, 0, kk, add)
        return
    n4 = n - n % TILE_ROWS
    n8 = n - n % NARROW_ROWS
    m64 = m - m % TILE_COLS
    m32 = m - m % NARROW_COLS
    rows_outer = kk * m <= B_IN_L1
    for k0 in range(0, max(kk, 1), K_BLOCK):
        k1 = min(k0 + K_BLOCK, kk)
        into = add or k0 > 0  # later blocks add to what the earlier ones wrote
        if rows_outer:
            for i in range(0, n4, TILE_ROWS):
                for j in range(0, m64, TILE_COLS):
                    _tile(a, b, out, i, j, k0, k1, into)
        else:
            for j in range(0, m64, TILE_COLS):
                for i in range(0, n4, TILE_ROWS):
                    _tile(a, b, out, i, j, k0, k1, into)
        if m - m64 >= NARROW_COLS:  # one 32-column panel of 8-row tiles
            for i in range(0, n8, NARROW_ROWS):
                _narrow_tile(a, b, out, i, m64, k0, k1, into)
            for i in range(n8, n4, TILE_ROWS):  # four more rows: a 4-row tile, all lanes on
                _edge_tile(a, b, out, i, m64, NARROW_COLS, k0, k1, into)
            _plain(a, b, out, n4, n, m64, m32, k0, k1, into)
        if m32 < m:  # the last columns (fewer than 32): tiles with masked lanes
            for i in range(0, n4, TILE_ROWS):
                _edge_tile(a, b, out, i, m32, m - m32, k0, k1, into)
            _plain(a, b, out, n4, n, m32, m, k0, k1, into)
        _plain(a, b, out, n4, n, 0, m64, k0, k1, into)
