"""Data-parallel training on MPI workers: throughput of the chapter's four-conv model.

Three ways to use the two cores of this machine for the four-conv §7.4 model (Conv2D 16, 32,
64, 128 with 2×2 pooling, Dense 128, Dense 3; Adam; 128×128×3 images; global batch 32):

* ``1x1``: one worker, one BLAS/numba thread;
* ``1x2``: one worker, two threads (the primitives split each batch over the threads);
* ``2x1``: two MPI workers (``mpiexec -n 2``), one thread each, each on 16 of the 32 images of
  every step, gradients averaged by ``nablanet.distribute`` (one fused allreduce per step).

Each configuration runs ``fit`` on the same random images in its own process(es) for
``--epochs`` epochs of ``--steps`` steps; the first epoch is a warm-up and the others are
timed. The configurations take turns ``--rounds`` times (so that the drift of a shared
machine falls on all of them) and the medians are reported, with the time per step spent in
the allreduce (which includes waiting for the slower worker) and the CPU time per image of
all the processes together (the work each configuration does, which other jobs on the
machine disturb less than the wall-clock time).

Then, in two workers, the allreduce alone on a flat float32 buffer of the size of each of the
chapter's four models: its time grows with the number of weights (a sum of the buffers
crosses between the processes once per step). The one-conv model, whose 63×63×16 → 128 Dense
holds 8.1M of its weights, is the stress case.

Usage::

    python benchmarks/distributed.py                   # 3 rounds, 4 epochs of 8 steps
    python benchmarks/distributed.py --rounds 5 --steps 12
    python benchmarks/distributed.py --depth 1          # the one-conv model (8.1M weights)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
FILTERS = (16, 32, 64, 128)
BATCH = 32
SIZE = 128


def _model(depth: int) -> Any:
    from nablanet import layers, losses, models

    stack: list[Any] = [layers.Input(shape=(SIZE, SIZE, 3))]
    for filters in FILTERS[:depth]:
        stack += [layers.Conv2D(filters, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2))]
    stack += [layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(3)]
    model = models.Sequential(stack)
    model.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def worker(args: argparse.Namespace) -> None:
    """One configuration's training run (in every worker); rank 0 prints a JSON line."""
    import nablanet as nb
    from nablanet import callbacks, distribute
    from nablanet.utils import limit_threads

    nb.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = BATCH * args.steps
    x = rng.random((n, SIZE, SIZE, 3), dtype=np.float32)
    y = rng.integers(0, 3, n)
    model = _model(args.depth)
    epoch_times: list[float] = []
    reduce_times: list[float] = []
    cpu_times: list[float] = []

    class Clock(callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = time.perf_counter()
            self.cpu = time.process_time()
            self.reduce = distribute.allreduce_seconds()[0]

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            epoch_times.append(time.perf_counter() - self.start)
            cpu_times.append(time.process_time() - self.cpu)
            reduce_times.append(distribute.allreduce_seconds()[0] - self.reduce)

    with limit_threads(args.threads):
        model.fit(x, y, batch_size=BATCH, epochs=args.epochs, shuffle=True, verbose=0,
                  callbacks=[Clock()])
    timed = epoch_times[1:]  # the first epoch is the warm-up
    cpu = sum(cpu_times[1:])
    if distribute.size() > 1:  # the CPU time of all workers
        cpu = sum(distribute._runtime.comm().allgather(cpu))
    result = {"images_per_s": n * len(timed) / sum(timed),
              "cpu_ms_per_image": 1000 * cpu / (n * len(timed)),
              "step_ms": 1000 * sum(timed) / (len(timed) * args.steps),
              "allreduce_ms_per_step": 1000 * sum(reduce_times[1:]) / (len(timed) * args.steps)}
    if distribute.size() > 1:
        result["allreduce_by_model"] = _allreduce_by_model(args.repeats)
    if distribute.rank() == 0:
        print(json.dumps(result), flush=True)


def _allreduce_by_model(repeats: int) -> list[dict[str, float]]:
    from nablanet import distribute
    from nablanet.distribute import _runtime

    rows = []
    for depth in (1, 2, 3, 4):
        count = _model(depth).count_params()
        buffer = np.ones(count, dtype=np.float32)
        times = []
        for _ in range(repeats):
            _runtime.state.comm.Barrier()
            start = time.perf_counter()
            _runtime.timed_allreduce(buffer)
            times.append(time.perf_counter() - start)
        rows.append({"depth": depth, "weights": count, "ms": 1000 * statistics.median(times),
                     "GB_per_s": count * 4 / statistics.median(times) / 1e9})
    del distribute
    return rows


def launch(config: str, args: argparse.Namespace) -> dict[str, Any]:
    workers, threads = (int(v) for v in config.split("x"))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
    command = [sys.executable, str(HERE), "--worker", "--threads", str(threads),
               "--depth", str(args.depth),
               "--steps", str(args.steps), "--epochs", str(args.epochs),
               "--repeats", str(args.repeats)]
    if workers > 1:
        from nablanet.distribute import mpiexec_path

        command = [mpiexec_path(), "-n", str(workers), *command]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=4, help="epochs (the first untimed)")
    parser.add_argument("--repeats", type=int, default=10, help="allreduce repeats per size")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--depth", type=int, default=4, choices=[1, 2, 3, 4],
                        help="conv layers of the timed model (default 4; 1 is the 8.1M-weight "
                             "stress case for the allreduce)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    configs = ["1x1", "1x2", "2x1"]
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in configs}
    for round_ in range(args.rounds):
        order = configs[round_ % 3:] + configs[:round_ % 3]  # rotate who goes first
        for config in order:
            results[config].append(launch(config, args))
            print(f"round {round_ + 1} {config}: "
                  f"{results[config][-1]['images_per_s']:.1f} images/s", flush=True)
    median = {c: statistics.median(r["images_per_s"] for r in results[c]) for c in configs}
    print(f"\n{args.depth}-conv model, global batch {BATCH}, {args.steps} steps x "
          f"{args.epochs - 1} timed epochs, median of {args.rounds} interleaved rounds:")
    best = {c: max(r["images_per_s"] for r in results[c]) for c in configs}
    print(f"{'config':>6} {'images/s':>9} {'ms/step':>8} {'allreduce ms/step':>18} "
          f"{'vs 1x1':>7} {'best images/s':>14} {'best vs 1x1':>12} {'CPU ms/image':>13}")
    for c in configs:
        step = statistics.median(r["step_ms"] for r in results[c])
        reduce = statistics.median(r["allreduce_ms_per_step"] for r in results[c])
        cpu = statistics.median(r["cpu_ms_per_image"] for r in results[c])
        print(f"{c:>6} {median[c]:>9.1f} {step:>8.1f} {reduce:>18.2f} "
              f"{median[c] / median['1x1']:>6.2f}x {best[c]:>14.1f} "
              f"{best[c] / best['1x1']:>11.2f}x {cpu:>13.1f}")
    print(f"2x1 / 1x2: {median['2x1'] / median['1x2']:.2f}x (medians), "
          f"{best['2x1'] / best['1x2']:.2f}x (best runs)")
    print("\nallreduce of one flat float32 buffer between 2 workers (median and best of the "
          "rounds' medians):")
    print(f"{'model':>7} {'weights':>10} {'ms':>7} {'GB/s':>6} {'best ms':>8}")
    for depth in range(4):
        rows = [r["allreduce_by_model"][depth] for r in results["2x1"]]
        ms = statistics.median(r["ms"] for r in rows)
        print(f"{depth + 1:>2}-conv {rows[0]['weights']:>10,} {ms:>7.2f} "
              f"{rows[0]['weights'] * 4 / ms / 1e6:>6.2f} {min(r['ms'] for r in rows):>8.2f}")


if __name__ == "__main__":
    main()
