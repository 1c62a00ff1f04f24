"""One training step of the chapter's CNNs in nablanet and in PyTorch (CPU), side by side.

A step is forward, loss (sparse categorical cross-entropy from logits), backward and one Adam
update. Models:

* ``rps-1conv``: the chapter's §7.4 model with one convolutional layer (Conv2D 16 3×3 relu,
  MaxPooling2D 2×2, Flatten, Dense 128 relu, Dense 3), batch 32 of 128×128×3 images;
* ``rps-4conv``: the §7.4 model with four (16, 32, 64, 128 filters), same batch;
* ``mnist``: a small MNIST-shaped CNN (Conv 32 - pool - Conv 64 - pool - Dense 128 - Dense 10),
  batch 64 of 28×28×1.

Both frameworks get the same inputs, the same initial weights and the same number of threads
(``--threads``, default: all cores; BLAS and torch are limited to it). Each step is
timed ``--repeats`` times after a warm-up and the best time is reported, because this machine
is shared and noisy; the two frameworks' steps take turns (``timing.py``), so that the machine's
drift falls on both alike, and ``by turn`` is the median over turns of the ratio of the two
best steps in each turn. nablanet runs channels-last (NHWC) as Keras does; PyTorch runs its
native NCHW layout.

Usage::

    python benchmarks/cnn.py                 # all three models, 2 threads on this machine
    python benchmarks/cnn.py --models mnist --repeats 20
    python benchmarks/cnn.py --profile rps-4conv   # cProfile of nablanet's step, by tottime
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
from collections.abc import Callable
from typing import Any

import numpy as np
from timing import StealMeter, take_turns

MODELS: dict[str, dict[str, Any]] = {
    "rps-1conv": {"input": (128, 128, 3), "batch": 32, "convs": (16,), "dense": 128,
                  "classes": 3},
    "rps-4conv": {"input": (128, 128, 3), "batch": 32, "convs": (16, 32, 64, 128),
                  "dense": 128, "classes": 3},
    "mnist": {"input": (28, 28, 1), "batch": 64, "convs": (32, 64), "dense": 128,
              "classes": 10},
}


def build_nablanet(spec: dict[str, Any], keras: Any = None) -> Any:
    """The model in nablanet, or in any module with Keras's ``layers``/``losses``/``models``."""
    if keras is None:
        import nablanet as keras
    layers, losses, models = keras.layers, keras.losses, keras.models
    stack: list[Any] = [layers.Input(shape=spec["input"])]
    for filters in spec["convs"]:
        stack += [layers.Conv2D(filters, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2))]
    stack += [layers.Flatten(), layers.Dense(spec["dense"], activation="relu"),
              layers.Dense(spec["classes"])]
    model = models.Sequential(stack)
    model.compile(optimizer="adam",
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def build_torch(spec: dict[str, Any], keras_model: Any) -> Any:
    """The same network in PyTorch (NCHW), initialised with the nablanet model's weights."""
    import torch
    from torch import nn

    h, w, c = spec["input"]
    modules: list[nn.Module] = []
    for filters in spec["convs"]:
        modules += [nn.Conv2d(c, filters, 3), nn.ReLU(), nn.MaxPool2d(2)]
        c, h, w = filters, (h - 2) // 2, (w - 2) // 2
    modules += [nn.Flatten(), nn.Linear(c * h * w, spec["dense"]), nn.ReLU(),
                nn.Linear(spec["dense"], spec["classes"])]
    net = nn.Sequential(*modules)
    weights = keras_model.get_weights()
    convs = [m for m in net if isinstance(m, nn.Conv2d)]
    linears = [m for m in net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for k, conv in enumerate(convs):
            conv.weight.copy_(torch.from_numpy(weights[2 * k].transpose(3, 2, 0, 1).copy()))
            conv.bias.copy_(torch.from_numpy(weights[2 * k + 1]))
        first = weights[2 * len(convs)]  # (h*w*c, dense) in NHWC flatten order -> NCHW order
        first = first.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)
        linears[0].weight.copy_(torch.from_numpy(first.T.copy()))
        linears[0].bias.copy_(torch.from_numpy(weights[2 * len(convs) + 1]))
        linears[1].weight.copy_(torch.from_numpy(weights[2 * len(convs) + 2].T.copy()))
        linears[1].bias.copy_(torch.from_numpy(weights[2 * len(convs) + 3]))
    return net


def torch_step(net: Any, x: np.ndarray, y: np.ndarray,
               images: bool = True) -> Callable[[], None]:
    """One PyTorch training step: Adam with Keras's defaults; NHWC ``images`` fed as NCHW."""
    import torch

    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if images else x)
    yt = torch.from_numpy(y)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(xt), yt)
        loss.backward()
        optimizer.step()

    return step


def limit_threads(threads: int) -> Any:
    """Limit torch and every BLAS to ``threads``; returns the (context-manager) BLAS limit.

    numba is left alone: nablanet's kernels run on their own threads, and starting numba's
    threading layer would load an OpenMP runtime in place of torch's.
    """
    import torch

    from nablanet.utils import limit_threads as limit_blas

    torch.set_num_threads(threads)
    return limit_blas(threads)


def run(names: list[str], repeats: int) -> list[tuple[str, float, float, float]]:
    """``(model, nablanet's best step, torch's best step, median per-turn ratio)`` each."""
    import nablanet as nb

    results = []
    for name in names:
        spec = MODELS[name]
        rng = np.random.default_rng(0)
        x = rng.random((spec["batch"], *spec["input"]), dtype=np.float32)
        y = rng.integers(0, spec["classes"], spec["batch"])
        nb.set_random_seed(0)
        model = build_nablanet(spec)
        net = build_torch(spec, model)
        step = lambda: model.train_on_batch(x, y)  # noqa: B023, E731
        timings = take_turns([step, torch_step(net, x, y)], repeats)
        results.append((name, *timings.best, timings.ratio()))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--repeats", type=int, default=12,
                        help="timed steps of each; the best is reported")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--profile", choices=list(MODELS), default=None,
                        help="profile nablanet's training step of this model instead")
    args = parser.parse_args(argv)
    import torch

    with limit_threads(args.threads):
        if args.profile:
            spec = MODELS[args.profile]
            rng = np.random.default_rng(0)
            x = rng.random((spec["batch"], *spec["input"]), dtype=np.float32)
            y = rng.integers(0, spec["classes"], spec["batch"])
            model = build_nablanet(spec)
            model.train_on_batch(x, y)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.repeats):
                model.train_on_batch(x, y)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            return 0
        print(f"threads: {args.threads} (torch {torch.__version__}, "
              f"torch threads {torch.get_num_threads()}); best of {args.repeats} steps")
        print(f"{'model':<10} {'batch x input':<18} {'nablanet':>10} {'pytorch':>10} "
              f"{'ratio':>7} {'by turn':>8}")
        steal = StealMeter()
        for name, ours, theirs, by_turn in run(args.models, args.repeats):
            spec = MODELS[name]
            shape = f"{spec['batch']}x{'x'.join(map(str, spec['input']))}"
            print(f"{name:<10} {shape:<18} {ours * 1e3:>8.1f}ms {theirs * 1e3:>8.1f}ms "
                  f"{ours / theirs:>6.2f}x {by_turn:>7.2f}x")
        print(steal.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
