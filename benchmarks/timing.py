"""Timing shared by the benchmarks: the contenders take turns, and the best run counts.

The machines here are shared virtual machines whose speed drifts by tens of percent over a few
seconds. Timing all of nablanet's runs and then all of the reference's lets that drift land on
one side only; taking turns puts it on both alike. Each turn is a few consecutive runs, after
untimed runs that absorb what the other side left behind: its idle threads still spinning (an
LSTM step of nablanet at 2 threads took 11-12 ms right after a PyTorch step, 7.3 ms in the
second run and 6.1-6.6 ms from the third on, while PyTorch's OpenMP workers spin-waited; with
``OMP_WAIT_POLICY=passive`` the first run took 7.2 ms), its data in the caches. A turn starts
with untimed runs until ``settle`` seconds have passed (at least one run), then times its runs.

Two summaries: the best run of each side (its least disturbed one), and the median over turns
of the ratio of the two sides' best runs in that turn (adjacent in time, so the drift cancels).
When the two disagree, the machine was too disturbed for either: run again.
:class:`StealMeter` reports how much CPU time the hypervisor gave to other machines meanwhile
(Linux's ``steal`` count), the usual cause of such disturbance here.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Timings:
    """Run times in seconds: ``turns[t][k]`` holds the times of ``fns[k]`` in turn ``t``."""

    turns: list[list[list[float]]] = field(default_factory=list)

    @property
    def best(self) -> list[float]:
        """Each contender's best run."""
        return [min(min(turn[k]) for turn in self.turns) for k in range(len(self.turns[0]))]

    def ratio(self, a: int = 0, b: int = 1) -> float:
        """Median over turns of (best run of ``a`` in the turn) / (best run of ``b`` in it)."""
        return statistics.median(min(turn[a]) / min(turn[b]) for turn in self.turns)


def take_turns(fns: Sequence[Callable[[], Any]], repeats: int, turn: int = 3,
               clock: Callable[[], float] = time.perf_counter,
               settle: float = 0.03) -> Timings:
    """Time ``repeats`` runs of each of ``fns``, the functions taking turns of ``turn`` runs.

    Each function first runs once untimed (allocations, compilation, lazy setup); each turn
    starts with untimed runs of its function for ``settle`` seconds (at least one run).
    """
    for fn in fns:
        fn()
    timings = Timings()
    done = 0
    while done < repeats:
        runs = min(turn, repeats - done)
        times: list[list[float]] = [[] for _ in fns]
        for k, fn in enumerate(fns):
            settled = clock() + settle
            fn()
            while clock() < settled:
                fn()
            for _ in range(runs):
                start = clock()
                fn()
                times[k].append(clock() - start)
        timings.turns.append(times)
        done += runs
    return timings


class StealMeter:
    """CPU time stolen by the hypervisor (``/proc/stat``) since creation; None off Linux."""

    def __init__(self) -> None:
        self.start_wall = time.perf_counter()
        self.start = self._stolen()

    @staticmethod
    def _stolen() -> float | None:
        try:
            with open("/proc/stat") as stat:
                fields = stat.readline().split()
            return int(fields[8]) / os.sysconf("SC_CLK_TCK")  # the 8th number: steal
        except (OSError, IndexError, ValueError):
            return None

    def report(self) -> str:
        """One line: stolen CPU seconds against wall seconds since creation."""
        now = self._stolen()
        wall = time.perf_counter() - self.start_wall
        if now is None or self.start is None:
            return "stolen CPU time: not measurable here"
        stolen = now - self.start
        return (f"stolen CPU time during the run: {stolen:.2f} s in {wall:.0f} s "
                f"({100 * stolen / (wall * (os.cpu_count() or 1)):.0f}% of all cores); "
                f"above a few % the ratios are unreliable: run again")

