"""Decomposed layers against the dense layers they replace: one training step's forward+backward.

Run from the repository root::

    python benchmarks/decomposed_layers.py [--repeats 5] [--batch 32]

Cases (the shapes of the chapter's CNNs):

- ``Dense(128)`` on the one-conv model's 63·63·16 = 63,504 features against ``TTDense`` with
  the kernel as a (63, 63, 16) × (8, 4, 4) TT-matrix, TT ranks 4, 8 and 16;
- ``Conv2D(64, 3)`` on 30×30×32 feature maps (the third block of the four-conv model) against
  ``CPConv2D`` of rank 16 and 64 and ``TuckerConv2D`` of ranks (8, 16) and (16, 32).

Each contender computes ``layer(x)``, sums it and back-propagates, in turns with the dense
layer (``timing.py``); the table gives the best time of each, the median over turns of the ratio
decomposed / dense (below 1: the decomposed layer is faster) and the number of weights.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from timing import StealMeter, take_turns

import nablanet as nb
from nablanet import layers


def _step(layer: Any, x: nb.Tensor) -> Callable[[], None]:
    def run() -> None:
        for w in layer.weights:
            w.grad = None
        layer(x).sum().backward()
    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    nb.set_random_seed(0)
    features = nb.Tensor(rng.standard_normal((args.batch, 63 * 63 * 16)).astype(np.float32))
    maps = nb.Tensor(rng.standard_normal((args.batch, 30, 30, 32)).astype(np.float32))
    groups: list[tuple[str, Any, nb.Tensor, list[tuple[str, Any]]]] = [
        ("Dense(128), 63504 inputs", layers.Dense(128), features, [
            (f"TTDense rank {r}", layers.TTDense(128, tt_rank=r, input_factors=(63, 63, 16),
                                                 output_factors=(8, 4, 4)))
            for r in (4, 8, 16)]),
        ("Conv2D(64, 3), 30x30x32", layers.Conv2D(64, 3), maps, [
            ("CPConv2D rank 16", layers.CPConv2D(64, 3, rank=16)),
            ("CPConv2D rank 64", layers.CPConv2D(64, 3, rank=64)),
            ("TuckerConv2D ranks (8, 16)", layers.TuckerConv2D(64, 3, ranks=(8, 16))),
            ("TuckerConv2D ranks (16, 32)", layers.TuckerConv2D(64, 3, ranks=(16, 32)))]),
    ]
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, batch {args.batch}, "
          f"best of {args.repeats}")
    header = f"{'layer':<30} {'weights':>10} {'ms':>8} {'dense ms':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    steal = StealMeter()
    for name, dense, x, contenders in groups:
        dense(x)
        print(f"{name:<30} {dense.count_params():>10,}")
        for label, layer in contenders:
            layer(x)
            timings = take_turns([_step(layer, x), _step(dense, x)], args.repeats, turn=1)
            ours, reference = timings.best
            print(f"  {label:<28} {layer.count_params():>10,} {1e3 * ours:>8.1f} "
                  f"{1e3 * reference:>9.1f} {timings.ratio():>6.2f}", flush=True)
    print(steal.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
