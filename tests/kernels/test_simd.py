"""The register-tiled product ``gemm`` of nablanet.kernels.simd (the compiled LSTM's
per-step GEMMs) and its vector intrinsics."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from nablanet.kernels import simd

SHAPES = [(1, 1, 1), (3, 7, 5), (4, 8, 16), (5, 9, 33), (13, 17, 16), (32, 128, 40),
          (4, 4, 64), (8, 12, 24), (6, 15, 7), (4, 3, 64), (9, 5, 130), (32, 128, 512),
          (16, 512, 128), (7, 1, 192), (17, 33, 96), (13, 7, 32), (8, 600, 32),
          (2048, 128, 32), (5, 0, 64), (4, 20, 32), (12, 9, 96), (14, 33, 31)]


def _rng(*seed: int) -> np.random.Generator:
    return np.random.default_rng(list(seed))


@pytest.mark.parametrize("rows, inner, cols", SHAPES)
def test_gemm_adds_the_product_for_every_shape(rows: int, inner: int, cols: int) -> None:
    """``out += a @ b`` and ``out += a.T @ b`` (a transposed view, as the LSTM's weight
    gradients pass it): whole 4 x 64 tiles, the rows and columns outside them, and both."""
    rng = _rng(rows, inner, cols)
    a = rng.standard_normal((rows, inner), dtype=np.float32)
    b = rng.standard_normal((inner, cols), dtype=np.float32)
    out = rng.standard_normal((rows, cols), dtype=np.float32)
    expected = out.astype(np.float64) + a.astype(np.float64) @ b
    simd.gemm(a, b, out, True)
    atol = 1e-5 * max(1.0, (inner / 16) ** 0.5)  # float32 sums of `inner` N(0, 1) products
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=atol)
    b2 = rng.standard_normal((rows, cols), dtype=np.float32)
    out_t = rng.standard_normal((inner, cols), dtype=np.float32)
    expected_t = out_t.astype(np.float64) + a.T.astype(np.float64) @ b2
    simd.gemm(a.T, b2, out_t, True)
    np.testing.assert_allclose(out_t, expected_t, rtol=1e-5, atol=1e-5 * max(1.0, rows / 16))


def test_gemm_rows_do_not_depend_on_the_tiling() -> None:
    """A row gives the same bits in a 4 x 64 tile as on its own (the plain loop): the LSTM's
    result must not depend on which batch slice a thread was given."""
    rng = _rng(1)
    a = rng.standard_normal((9, 100), dtype=np.float32)
    b = rng.standard_normal((100, 136), dtype=np.float32)
    start = rng.standard_normal((9, 136), dtype=np.float32)
    whole = start.copy()
    simd.gemm(a, b, whole, True)  # rows 0-7 in tiles (columns 0-127), row 8 plain
    for i in range(9):
        alone = start[i : i + 1].copy()
        simd.gemm(a[i : i + 1], b, alone, True)  # one row: the plain loop only
        np.testing.assert_array_equal(whole[i], alone[0])


def test_gemm_takes_rows_that_are_not_contiguous() -> None:
    """A ``b`` or ``out`` with strided rows (a column slice) is computed by the plain loop."""
    rng = _rng(2)
    a = rng.standard_normal((8, 16), dtype=np.float32)
    b_full = rng.standard_normal((16, 256), dtype=np.float32)
    out_full = np.zeros((8, 256), dtype=np.float32)
    b, out = b_full[:, ::2], out_full[:, 1::2]
    simd.gemm(a, b, out, True)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)
    assert not out_full[:, ::2].any()  # the skipped columns untouched


def test_gemm_rejects_other_dtypes() -> None:
    """The vectors hold float32: a float64 array is a typing error, not a wrong answer."""
    from numba.core.errors import TypingError

    a = np.ones((4, 4))
    with pytest.raises(TypingError, match="float32"):
        simd.gemm(a, a, np.zeros((4, 4)), True)


def test_gemm_keeps_nan_and_inf() -> None:
    a = np.ones((4, 8), dtype=np.float32)
    b = np.ones((8, 64), dtype=np.float32)
    b[3, 5], b[2, 7] = np.nan, np.inf
    out = np.zeros((4, 64), dtype=np.float32)
    simd.gemm(a, b, out, True)
    assert np.isnan(out[:, 5]).all() and np.isposinf(out[:, 7]).all()
    assert (out[:, 0] == 8.0).all()


@pytest.mark.parametrize("cols", [40, 47, 70, 100, 1])
def test_gemm_writes_nothing_past_the_last_column(cols: int) -> None:
    """``out`` a column slice of a wider array (rows contiguous, so the tiles run): the
    masked lanes of the last tiles neither read nor write the columns beyond it."""
    rng = _rng(3, cols)
    a = rng.standard_normal((10, 20), dtype=np.float32)
    b_full = rng.standard_normal((20, cols + 30), dtype=np.float32)
    b_full[:, cols:] = np.nan  # lanes past the edge would carry NaN into the sums
    out_full = np.full((10, cols + 30), 7.0, dtype=np.float32)
    simd.gemm(a, b_full[:, :cols], out_full[:, :cols], False)
    expected = a.astype(np.float64) @ b_full[:, :cols]
    np.testing.assert_allclose(out_full[:, :cols], expected, rtol=1e-5, atol=1e-5)
    assert (out_full[:, cols:] == 7.0).all()


def test_cached_kernels_load_in_a_new_process(tmp_path: Any) -> None:
    """numba's on-disk cache pickles the types of a cached function: a second process must
    load ``gemm`` (whose tiles pass vectors between functions) from the cache the first one
    wrote, and get the same bits (a vector type defined inside a function failed here)."""
    script = (
        "import numpy as np\n"
        "from nablanet.kernels import simd\n"
        "rng = np.random.default_rng(0)\n"
        "a = rng.standard_normal((9, 70), dtype=np.float32)\n"
        "b = rng.standard_normal((70, 100), dtype=np.float32)\n"
        "out = np.zeros((9, 100), dtype=np.float32)\n"
        "simd.gemm(a, b, out, False)\n"
        "print(sum(simd.gemm.stats.cache_hits.values()), out.tobytes().hex())\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert runs[0][1] == runs[1][1]  # same bits
    assert (runs[0][0], runs[1][0]) == ("0", "1")  # compiled, then loaded from the cache
    assert any(tmp_path.rglob("*.nbi"))


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="an x86 code generator is needed to compile for an x86 processor")
def test_wide_vectors_gives_llvm_512_bit_loops_on_intel_targets(tmp_path: Any) -> None:
    """Compiled for an Intel AVX-512 processor (``NUMBA_CPU_NAME=skylake-avx512``: this
    machine's compiler generates the code, nothing runs it but the check of the results), a
    loop LLVM vectorises itself uses 256-bit registers, and 512-bit ones after
    ``wide_vectors()``: the divisions of the same loop in the two kernels."""
    loop = ("    for i in range(a.shape[0]):\n"
            "        out[i] = a[i] / (a[i] * a[i] + np.float32(1.0))\n")
    script = (
        "import re\n"
        "import numpy as np\n"
        "from nablanet.kernels._numba import njit\n"
        "from nablanet.kernels.simd import wide_vectors\n"
        "@njit(error_model='numpy')\n"
        "def body(a, out):\n" + loop +
        "@njit(error_model='numpy')\n"
        "def wide(a, out):\n"
        "    wide_vectors()\n" + loop +
        "a = np.linspace(-2, 2, 100, dtype=np.float32)\n"
        "for kernel in (body, wide):\n"
        "    out = np.empty_like(a)\n"
        "    kernel(a, out)\n"
        "    np.testing.assert_allclose(out, a / (a * a + 1), rtol=1e-6)\n"
        "    asm = ''.join(kernel.inspect_asm().values())\n"
        "    print(''.join(sorted(set(re.findall(r'vdivps\\s+%([xyz])mm', asm)))))\n"
    )
    (tmp_path / "probe.py").write_text(script)
    env = dict(os.environ, NUMBA_CPU_NAME="skylake-avx512", NUMBA_CACHE_DIR=str(tmp_path))
    lines = subprocess.run([sys.executable, str(tmp_path / "probe.py")], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    # the vectorised loop and its remainder: 256 + 128 bits without, 512 (+ 128) bits with
    assert "z" not in lines[0] and "y" in lines[0], lines
    assert "z" in lines[1], lines
