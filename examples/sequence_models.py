"""Chapter §8: the four recurrent topologies and long-term memory, on generated data.

A thin script over the jobs of ``nablanet run`` (one module each in
``nablanet.experiments``)::

    python examples/sequence_models.py                 # all five, default settings
    python examples/sequence_models.py seq2vec memory  # some of them
    nablanet run encoder-decoder --epochs 10           # one job with its own options

Figures and ``summary.json`` files go to ``runs/<job>/``.
"""

from __future__ import annotations

import argparse

from nablanet.cli import main

JOBS = ("seq2vec", "vec2seq", "seq2seq", "encoder-decoder", "memory")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the chapter's §8 sequence jobs with their "
                                     "default settings (each has more options: "
                                     "nablanet run JOB --help).")
    parser.add_argument("jobs", nargs="*", metavar="JOB",
                        help=f"which jobs to run (default: all of {', '.join(JOBS)})")
    chosen = parser.parse_args().jobs or list(JOBS)
    unknown = [job for job in chosen if job not in JOBS]
    if unknown:
        parser.error(f"unknown job(s) {', '.join(unknown)}; choose from {', '.join(JOBS)}")
    for job in chosen:
        print(f"=== nablanet run {job}")
        code = main(["run", job])
        if code:
            raise SystemExit(code)
