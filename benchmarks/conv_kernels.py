"""Convolution and pooling kernels: nablanet vs PyTorch (CPU), forward + backward.

Shapes are those of the chapter's rock-paper-scissors CNNs (batch 32, 128×128×3 input, 3×3
convolutions with 16, 32, 64 filters, each followed by 2×2 max pooling) and of an MNIST-shaped
CNN (28×28×1 -> 32 -> 64). Each kernel runs forward and backward (the first convolution of a
network needs no input gradient, so none is computed there, in either framework) with the same
thread count for OpenBLAS, numba and PyTorch; the best of ``--repeats`` runs is reported, since
the machines are shared. PyTorch runs NCHW (its default) and channels-last.

Run: ``python benchmarks/conv_kernels.py [--repeats 7] [--threads N] [--cpu-time]``
(``--threads 1 --cpu-time`` measures the work itself when other jobs share the cores.)
"""

from __future__ import annotations

import argparse
import os
import sys

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--repeats", type=int, default=7)
_parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
_parser.add_argument("--cpu-time", action="store_true",
                     help="time with process CPU time instead of wall time (use with --threads 1: "
                          "robust to other jobs on a shared machine)")
ARGS = _parser.parse_args()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # before numpy / torch / numba load their thread pools

import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import nablanet as nb  # noqa: E402
from nablanet.functional import conv2d, max_pool2d  # noqa: E402

torch.set_num_threads(ARGS.threads)


CLOCK = time.process_time if ARGS.cpu_time else time.perf_counter


def best_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (allocations, numba's cached kernel)
    times = []
    for _ in range(repeats):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
    return 1e3 * min(times)


def conv_case(n: int, h: int, c: int, f: int, input_grad: bool) -> tuple[Callable, ...]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, h, h, c), dtype=np.float32)
    w = (0.1 * rng.standard_normal((3, 3, c, f))).astype(np.float32)
    b = np.zeros(f, dtype=np.float32)
    g = rng.standard_normal((n, h - 2, h - 2, f), dtype=np.float32)

    xn = nb.Tensor(x, requires_grad=input_grad)
    wn, bn = nb.Tensor(w, requires_grad=True), nb.Tensor(b, requires_grad=True)

    def ours() -> None:
        wn.grad = bn.grad = xn.grad = None
        conv2d(xn, wn, bn).backward(g)

    def make_torch(channels_last: bool) -> Callable[[], None]:
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
        xt.requires_grad_(input_grad)
        wt = torch.from_numpy(w).permute(3, 2, 0, 1).contiguous(memory_format=fmt)
        wt.requires_grad_(True)
        bt = torch.from_numpy(b).requires_grad_(True)
        gt = torch.from_numpy(g).permute(0, 3, 1, 2).contiguous(memory_format=fmt)

        def run() -> None:
            wt.grad = bt.grad = xt.grad = None
            F.conv2d(xt, wt, bt).backward(gt)

        return run

    return ours, make_torch(False), make_torch(True)


def pool_case(n: int, h: int, c: int) -> tuple[Callable, ...]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, h, h, c), dtype=np.float32)
    g = rng.standard_normal((n, h // 2, h // 2, c), dtype=np.float32)
    xn = nb.Tensor(x, requires_grad=True)

    def ours() -> None:
        xn.grad = None
        max_pool2d(xn).backward(g)

    def make_torch(channels_last: bool) -> Callable[[], None]:
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
        xt.requires_grad_(True)
        gt = torch.from_numpy(g).permute(0, 3, 1, 2).contiguous(memory_format=fmt)

        def run() -> None:
            xt.grad = None
            F.max_pool2d(xt, 2).backward(gt)

        return run

    return ours, make_torch(False), make_torch(True)


CASES: list[tuple[str, Callable[[], tuple[Callable, ...]]]] = [
    ("conv 128x128x3->16 (no dx)", lambda: conv_case(32, 128, 3, 16, False)),
    ("conv 63x63x16->32", lambda: conv_case(32, 63, 16, 32, True)),
    ("conv 30x30x32->64", lambda: conv_case(32, 30, 32, 64, True)),
    ("maxpool 126x126x16", lambda: pool_case(32, 126, 16)),
    ("maxpool 61x61x32", lambda: pool_case(32, 61, 32)),
    ("maxpool 28x28x64", lambda: pool_case(32, 28, 64)),
    ("mnist conv 28x28x1->32 (no dx)", lambda: conv_case(64, 28, 1, 32, False)),
    ("mnist conv 13x13x32->64", lambda: conv_case(64, 13, 32, 64, True)),
    ("mnist maxpool 26x26x32", lambda: pool_case(64, 26, 32)),
]


def main() -> None:
    clock = "CPU time" if ARGS.cpu_time else "wall time"
    print(f"threads={ARGS.threads} repeats={ARGS.repeats} (best of, {clock}), forward+backward, "
          f"ms; "
          f"ratio = nablanet / torch (< 1: nablanet faster)")
    print(f"{'kernel':34s} {'nablanet':>9s} {'torch':>9s} {'torch-cl':>9s} "
          f"{'ratio':>7s} {'ratio-cl':>8s}")
    totals = np.zeros(3)
    for name, make in CASES:
        ours, t_nchw, t_cl = make()
        ms = np.array([best_ms(f, ARGS.repeats) for f in (ours, t_nchw, t_cl)])
        totals += ms
        print(f"{name:34s} {ms[0]:9.2f} {ms[1]:9.2f} {ms[2]:9.2f} "
              f"{ms[0] / ms[1]:7.2f} {ms[0] / ms[2]:8.2f}")
        sys.stdout.flush()
    print(f"{'sum':34s} {totals[0]:9.2f} {totals[1]:9.2f} {totals[2]:9.2f} "
          f"{totals[0] / totals[1]:7.2f} {totals[0] / totals[2]:8.2f}")


if __name__ == "__main__":
    main()
