"""The register-tiled products of ``nablanet.kernels.simd.gemm`` against OpenBLAS (``np.matmul``).

The shapes are those the tiles serve: the compiled LSTM's per-step products (T=50, N=32, D=32,
u=128, and a 16-row batch slice at two threads; the weight gradient with a transposed ``a``)
and the dense layers' ``X W``, ``Xᵀ G`` and the wide input gradient's blocks ``W[s:e] Gᵀ``.
Float32, one thread (NumPy's BLAS held at one), ``out=`` products; the two contenders take
turns (``timing.py``) and each product's best run is reported as GFLOP/s, with the ratio of the
two best runs per turn (median over turns). docs/performance.md, "Register tiles", quotes it.

Run: ``python benchmarks/gemm_tiles.py [--repeats 30]``
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import StealMeter, take_turns

from nablanet.kernels.simd import gemm
from nablanet.utils import limit_threads

# (name, rows, inner, cols, a transposed)
SHAPES = [
    ("LSTM H W_h", 32, 128, 512, False),
    ("LSTM dG W_h^T", 32, 512, 128, False),
    ("LSTM H^T dG", 128, 32, 512, True),
    ("LSTM slice H W_h", 16, 128, 512, False),
    ("LSTM 50 units dG W_h^T", 32, 200, 50, False),
    ("1-conv X W", 32, 63504, 128, False),
    ("1-conv X^T G", 63504, 32, 128, True),
    ("1-conv W[s:e] G^T", 2048, 128, 32, False),
    ("4-conv X W", 32, 4608, 128, False),
    ("MLP X W", 128, 784, 512, False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    if gemm is None:
        raise SystemExit("numba is missing or switched off: there are no register tiles")
    steal = StealMeter()
    rng = np.random.default_rng(0)
    print(f"{'product':24} {'rows x inner x cols':>20} {'tiles':>7} {'OpenBLAS':>9} "
          f"{'tiles/BLAS':>10}   (GFLOP/s, best run; ratio of speeds, median per turn)")
    with limit_threads(1):
        for name, rows, inner, cols, transposed in SHAPES:
            a = rng.standard_normal((inner, rows) if transposed else (rows, inner),
                                    dtype=np.float32)
            a = a.T if transposed else a
            b = rng.standard_normal((inner, cols), dtype=np.float32)
            out = np.empty((rows, cols), dtype=np.float32)
            timings = take_turns([lambda a=a, b=b, out=out: gemm(a, b, out, False),
                                  lambda a=a, b=b, out=out: np.matmul(a, b, out=out)],
                                 args.repeats)
            flops = 2.0 * rows * inner * cols
            tiles, blas = (flops / t / 1e9 for t in timings.best)
            print(f"{name:24} {f'{rows} x {inner} x {cols}':>20} {tiles:>7.0f} {blas:>9.0f} "
                  f"{1 / timings.ratio():>9.2f}x")
    print(steal.report())


if __name__ == "__main__":
    main()
