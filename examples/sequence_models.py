"""Chapter §8: the four recurrent topologies and long-term memory, on generated data.

A thin script over the jobs of ``nablanet run`` (one module each in
``nablanet.experiments``)::

    python examples/sequence_models.py                 # all five, default settings
    python examples/sequence_models.py seq2vec memory  # some of them
    nablanet run encoder-decoder --epochs 10           # one job with its own options

Figures and ``summary.json`` files go to ``runs/<job>/``.
"""

from __future__ import annotations

import sys

from nablanet.cli import main

JOBS = ("seq2vec", "vec2seq", "seq2seq", "encoder-decoder", "memory")

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(JOBS)
    unknown = [j for j in chosen if j not in JOBS]
    if unknown:
        raise SystemExit(f"unknown job(s) {unknown}; choose from {list(JOBS)}")
    for job in chosen:
        print(f"=== nablanet run {job}")
        code = main(["run", job])
        if code:
            raise SystemExit(code)
