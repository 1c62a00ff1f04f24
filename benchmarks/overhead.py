"""Per-op overhead: a 200-op chain of element-wise ops on small tensors, nablanet vs PyTorch.

The chain cycles through add, mul, tanh, sub, sigmoid, exp-of-a-scaled-value, relu and a
product with a second leaf, on (16, 16) float32 tensors, so the time is dominated by what
each framework does per op (graph recording, dispatch, the backward engine) rather than by
arithmetic. Forward and forward+backward are timed for both frameworks in the same run, on
the same inputs, with PyTorch at 1 thread and at its default thread count; each figure is
the best of ``--repeats`` runs (the machine is shared, so the minimum is the least noisy).

Run::

    python benchmarks/overhead.py            # prints per-op microseconds and ratios
    python benchmarks/overhead.py --profile  # cProfile of nablanet's forward+backward
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import nablanet as nb

N_OPS = 200
SHAPE = (16, 16)


def chain(x: Any, w: Any, tanh: Callable, sigmoid: Callable, exp: Callable,
          relu: Callable) -> Any:
    """The 200-op chain, written once for both frameworks (they share the operators)."""
    y = x
    for i in range(N_OPS // 9):
        y = y + w            # add (tensor, tensor)
        y = y * 0.9          # mul (tensor, Python float)
        y = tanh(y)
        y = y - 0.1          # sub (tensor, Python float)
        y = sigmoid(y)
        y = exp(y * 0.5)     # mul + exp: 2 ops
        y = relu(y) * w if i % 2 else relu(y) + w  # relu + (mul or add): 2 ops
    return y  # 9 ops per iteration


def _ops_per_chain() -> int:
    return (N_OPS // 9) * 9


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(SHAPE).astype(np.float32)
    w0 = (0.1 * rng.standard_normal(SHAPE)).astype(np.float32)

    nx = nb.tensor(x0, requires_grad=True)
    nw = nb.tensor(w0, requires_grad=True)
    nb_ops = (nb.ops.tanh, nb.ops.sigmoid, nb.ops.exp, nb.ops.relu)

    def nb_forward() -> Any:
        return chain(nx, nw, *nb_ops)

    def nb_step() -> None:
        nx.grad = nw.grad = None
        chain(nx, nw, *nb_ops).sum().backward()

    tx = torch.tensor(x0, requires_grad=True)
    tw = torch.tensor(w0, requires_grad=True)
    t_ops = (torch.tanh, torch.sigmoid, torch.exp, torch.relu)

    def torch_forward() -> Any:
        return chain(tx, tw, *t_ops)

    def torch_step() -> None:
        tx.grad = tw.grad = None
        chain(tx, tw, *t_ops).sum().backward()

    # Same results (a benchmark of wrong code is worthless).
    nb_step()
    torch_step()
    np.testing.assert_allclose(nx.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(nw.grad, tw.grad.numpy(), rtol=1e-4, atol=1e-5)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(50):
            nb_step()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return

    n_ops = _ops_per_chain() + 1  # + the final sum
    default_threads = torch.get_num_threads()
    results = {}
    results["nablanet forward"] = best_time(nb_forward, args.repeats)
    results["nablanet fwd+bwd"] = best_time(nb_step, args.repeats)
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        results[f"torch({threads}t) forward"] = best_time(torch_forward, args.repeats)
        results[f"torch({threads}t) fwd+bwd"] = best_time(torch_step, args.repeats)
    torch.set_num_threads(default_threads)

    print(f"{n_ops}-op chain on {SHAPE} float32, best of {args.repeats} repeats")
    for name, seconds in results.items():
        print(f"  {name:22s} {seconds / n_ops * 1e6:7.2f} us/op")
    for threads in sorted({1, default_threads}):
        for kind in ("forward", "fwd+bwd"):
            ratio = results[f"nablanet {kind}"] / results[f"torch({threads}t) {kind}"]
            print(f"  ratio nablanet/torch({threads}t) {kind:8s} {ratio:5.2f}")


if __name__ == "__main__":
    main()
