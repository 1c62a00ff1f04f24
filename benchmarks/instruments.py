"""What the instruments cost: one epoch of an MLP with and without them, in turns.

Three contenders train the same model from the same weights for one epoch:

* ``plain``: no callback;
* ``idle``: GradientFlow, DeadUnits and ActivationStats attached but never due (a recording
  period longer than the run): what an instrument costs between recordings;
* ``recording``: the same instruments recording every 10 steps (GradientFlow) and every
  epoch (the probe instruments, 256 examples).

Prints the best run of each and the median per-turn ratios against ``plain``.

    python benchmarks/instruments.py [--repeats 9] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import StealMeter, take_turns  # noqa: E402

import nablanet as nb  # noqa: E402
from nablanet import callbacks, layers, models  # noqa: E402
from nablanet.utils import limit_threads  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4096, 64)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input((64,))]
                              + [layers.Dense(128, activation="relu") for _ in range(4)]
                              + [layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    start = model.get_weights()
    probe = x[:256]
    never = 10 ** 9

    def run(cbs: list) -> None:
        model.set_weights(start)
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False, callbacks=cbs)

    def plain() -> None:
        run([])

    def idle() -> None:
        run([callbacks.GradientFlow(freq=never), callbacks.DeadUnits(probe, freq=never),
             callbacks.ActivationStats(probe, freq=never)])

    def recording() -> None:
        run([callbacks.GradientFlow(freq=10), callbacks.DeadUnits(probe),
             callbacks.ActivationStats(probe, correlation=True)])

    steal = StealMeter()
    with limit_threads(args.threads):
        timings = take_turns([plain, idle, recording], args.repeats)
    best = timings.best
    print(f"one epoch, 64 steps of a 4 x Dense(128) MLP, {args.threads} thread(s)")
    print(f"{'contender':<10} {'best (ms)':>10} {'ratio to plain':>15}")
    for k, name in enumerate(("plain", "idle", "recording")):
        ratio = timings.ratio(k, 0)
        print(f"{name:<10} {best[k] * 1e3:>10.1f} {ratio:>15.3f}")
    print(steal.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
