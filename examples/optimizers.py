"""Chapter §6: the seven optimisers of the SGD family on the same two problems.

(a) a small tanh network (2 -> 16 -> 3, softmax cross-entropy) on generated three-class
spiral data, written directly with nablanet tensors and ops; (b) the 2-D Rosenbrock function
:math:`f(x, y) = (1 - x)^2 + 100 (y - x^2)^2` from (-1.5, 2).

Saves ``network_loss.png``, ``rosenbrock_loss.png`` and ``rosenbrock_paths.png`` (trajectories
over the contour plot) to ``--out`` and prints each optimiser's final loss::

    python examples/optimizers.py --out runs/optimizers --steps 1000
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

import numpy as np

import nablanet as nb
from nablanet import ops
from nablanet.optimizers import SGD, Adadelta, Adagrad, Adam, Optimizer, RMSprop

# name -> (optimiser for the network, optimiser for Rosenbrock)
OPTIMIZERS: dict[str, tuple[Callable[[], Optimizer], Callable[[], Optimizer]]] = {
    "SGD": (lambda: SGD(learning_rate=0.5),
            lambda: SGD(learning_rate=2e-4)),
    "Momentum": (lambda: SGD(learning_rate=0.1, momentum=0.9),
                 lambda: SGD(learning_rate=2e-4, momentum=0.9)),
    "Nesterov": (lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
                 lambda: SGD(learning_rate=2e-4, momentum=0.9, nesterov=True)),
    "AdaGrad": (lambda: Adagrad(learning_rate=0.1),
                lambda: Adagrad(learning_rate=0.5)),
    "RMSProp": (lambda: RMSprop(learning_rate=0.01),
                lambda: RMSprop(learning_rate=0.01)),
    "Adadelta": (lambda: Adadelta(learning_rate=1.0, epsilon=1e-6),
                 lambda: Adadelta(learning_rate=1.0, epsilon=1e-4)),
    "Adam": (lambda: Adam(learning_rate=0.02),
             lambda: Adam(learning_rate=0.05)),
}


# -- (a) a small network on generated data ----------------------------------------------------
def spiral_data(n_per_class: int = 100, classes: int = 3, seed: int = 0):
    """Points on ``classes`` interleaved noisy spiral arms, with one-hot labels."""
    rng = np.random.default_rng(seed)
    xs, labels = [], []
    for k in range(classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        angle = np.linspace(k * 4.0, (k + 1) * 4.0, n_per_class) + rng.normal(
            scale=0.2, size=n_per_class)
        xs.append(np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1))
        labels.append(np.full(n_per_class, k))
    x = np.concatenate(xs).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[np.concatenate(labels)]
    return x, y


def initial_network(seed: int = 1, hidden: int = 16, classes: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.normal(scale=1.0, size=(2, hidden)).astype(np.float32),
        np.zeros(hidden, np.float32),
        rng.normal(scale=1.0 / np.sqrt(hidden), size=(hidden, classes)).astype(np.float32),
        np.zeros(classes, np.float32),
    ]


def train_network(opt: Optimizer, steps: int, x: np.ndarray, y: np.ndarray) -> list[float]:
    """Full-batch training; returns the loss before each step and after the last."""
    variables = [nb.tensor(w, requires_grad=True) for w in initial_network()]
    w1, b1, w2, b2 = variables
    xt = nb.tensor(x)
    losses = []
    for _ in range(steps):
        for v in variables:
            v.grad = None
        logits = ops.tanh(xt @ w1 + b1) @ w2 + b2
        loss = -(ops.log_softmax(logits, axis=-1) * y).sum() / len(x)
        loss.backward()
        losses.append(float(loss.item()))
        opt.apply_gradients(zip([v.grad for v in variables], variables))
    with nb.no_grad():
        logits = ops.tanh(xt @ w1 + b1) @ w2 + b2
        losses.append(float((-(ops.log_softmax(logits, axis=-1) * y).sum() / len(x)).item()))
    return losses


# -- (b) Rosenbrock -----------------------------------------------------------------------------
START = (-1.5, 2.0)


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(p: np.ndarray) -> np.ndarray:
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def train_rosenbrock(opt: Optimizer, steps: int) -> tuple[list[float], np.ndarray]:
    point = nb.Tensor(np.array(START), dtype=np.float64, requires_grad=True)
    path = [point.data.copy()]
    for _ in range(steps):
        opt.apply_gradients([(rosenbrock_grad(point.data), point)])
        path.append(point.data.copy())
    path_array = np.array(path)
    return [float(v) for v in rosenbrock(path_array[:, 0], path_array[:, 1])], path_array


# -- figures ------------------------------------------------------------------------------------
def save_figures(out: str, network: dict, rosen: dict, paths: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, losses in network.items():
        ax.plot(losses, label=name)
    ax.set(xlabel="step", ylabel="cross-entropy", title="Spiral network: training loss")
    ax.legend()
    files.append(os.path.join(out, "network_loss.png"))
    fig.savefig(files[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, losses in rosen.items():
        ax.semilogy(np.maximum(losses, 1e-12), label=name)
    ax.set(xlabel="step", ylabel="f(x, y)", title="Rosenbrock: loss")
    ax.legend()
    files.append(os.path.join(out, "rosenbrock_loss.png"))
    fig.savefig(files[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 6))
    gx, gy = np.meshgrid(np.linspace(-2, 2, 300), np.linspace(-1, 3, 300))
    ax.contour(gx, gy, np.log10(rosenbrock(gx, gy) + 1e-3), levels=30, cmap="Greys",
               linewidths=0.6)
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], lw=1.2, label=name)
    ax.plot(*START, "ko")
    ax.plot(1.0, 1.0, "r*", ms=12)
    ax.set(xlim=(-2, 2), ylim=(-1, 3), xlabel="x", ylabel="y",
           title="Rosenbrock: trajectories from (-1.5, 2)")
    ax.legend(loc="lower right")
    files.append(os.path.join(out, "rosenbrock_paths.png"))
    fig.savefig(files[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return files


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/optimizers", help="output directory")
    parser.add_argument("--steps", type=int, default=1000, help="steps per optimiser")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be a positive integer. Received: --steps={args.steps}")
    os.makedirs(args.out, exist_ok=True)

    x, y = spiral_data()
    network, rosen, paths = {}, {}, {}
    for name, (make_net_opt, make_rosen_opt) in OPTIMIZERS.items():
        network[name] = train_network(make_net_opt(), args.steps, x, y)
        rosen[name], paths[name] = train_rosenbrock(make_rosen_opt(), args.steps)
    files = save_figures(args.out, network, rosen, paths)

    print(f"{'optimiser':<10} {'network loss':>13} {'Rosenbrock f':>13}")
    for name in OPTIMIZERS:
        print(f"{name:<10} {network[name][-1]:>13.4f} {rosen[name][-1]:>13.3e}")
    print("figures:", ", ".join(files))
    return {"network": network, "rosenbrock": rosen, "paths": paths, "files": files}


if __name__ == "__main__":
    main()
