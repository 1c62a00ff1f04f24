"""Timing shared by the benchmarks: the contenders take turns, and the best run counts.

The machines here are shared virtual machines whose speed drifts by tens of percent over a few
seconds. Timing all of nablanet's runs and then all of the reference's lets that drift land on
one side only; taking turns puts it on both alike, and the best run of each side is its least
disturbed one. Each turn is a few consecutive runs, so that the first run of a turn absorbs
what the other side left behind (its idle threads still spinning, its data in the caches) and
the later ones time the contender on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any


def alternating_best(fns: Sequence[Callable[[], Any]], repeats: int, turn: int = 3,
                     clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Best time in seconds of each of ``fns``: ``repeats`` timed runs each, in turns.

    Each function first runs once untimed (allocations, compilation, lazy setup); then the
    functions take turns of ``turn`` consecutive runs until each has had ``repeats``.
    """
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    done = 0
    while done < repeats:
        runs = min(turn, repeats - done)
        for k, fn in enumerate(fns):
            for _ in range(runs):
                start = clock()
                fn()
                best[k] = min(best[k], clock() - start)
        done += runs
    return best
