"""Activations and weight initialisation in deep networks (chapter §4.2, §4.3).

Two figures:

1. ``vanishing_gradients.png`` — per-layer gradient norms of the kernels of a deep stack of
   Dense layers with sigmoid, tanh and ReLU activations (Glorot-uniform kernels, the Keras
   default). Sigmoid's gradients shrink by orders of magnitude towards the input layers
   (the vanishing-gradient problem the chapter describes); ReLU's stay level.
2. ``init_variance.png`` — per-layer variance of the activations (forward) and of the
   gradients with respect to them (backward) under Glorot, LeCun and He initialisation, for
   tanh and ReLU networks. He keeps ReLU activations' variance constant with depth; Glorot /
   LeCun suit tanh.

Run: ``python examples/activations_and_init.py --out runs/activations_and_init``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import nablanet as nb
from nablanet import layers, losses


def build_stack(depth: int, width: int, activation: str, initializer: str) -> list[layers.Dense]:
    return [layers.Dense(width, activation=activation, kernel_initializer=initializer)
            for _ in range(depth)]


def run_stack(stack: list[layers.Dense], x: np.ndarray, y: np.ndarray
              ) -> tuple[list[float], list[float], list[float]]:
    """Forward + backward through ``stack`` and a linear read-out with an MSE loss.

    Returns per-layer kernel-gradient norms, activation variances and variances of the
    gradients with respect to the activations.
    """
    h = nb.tensor(x)
    acts = []
    for layer in stack:
        h = layer(h)
        h.retain_grad()
        acts.append(h)
    readout = layers.Dense(y.shape[1], kernel_initializer="glorot_uniform")
    loss = losses.MeanSquaredError()(y, readout(h))
    loss.backward()
    grad_norms = [float(np.linalg.norm(layer.kernel.grad)) for layer in stack]
    act_var = [float(a.data.var()) for a in acts]
    grad_var = [float(a.grad.var()) for a in acts]
    return grad_norms, act_var, grad_var


def main(argv: Sequence[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/activations_and_init", help="output folder")
    parser.add_argument("--depth", type=int, default=15, help="number of hidden Dense layers")
    parser.add_argument("--width", type=int, default=128, help="units per layer")
    parser.add_argument("--batch", type=int, default=256, help="samples in the batch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.batch, args.width)).astype(np.float32)
    y = rng.standard_normal((args.batch, 1)).astype(np.float32)
    depth_axis = np.arange(1, args.depth + 1)

    # 1. Vanishing gradients: same (Glorot) initialisation, three activations.
    fig, ax = plt.subplots(figsize=(6, 4))
    for activation in ("sigmoid", "tanh", "relu"):
        nb.set_random_seed(args.seed)
        norms, _, _ = run_stack(build_stack(args.depth, args.width, activation,
                                            "glorot_uniform"), x, y)
        ax.semilogy(depth_axis, norms, marker="o", label=activation)
        print(f"{activation:8s} kernel-gradient norm, first/last layer: "
              f"{norms[0]:.2e} / {norms[-1]:.2e}")
    ax.set_xlabel("layer (1 = nearest the input)")
    ax.set_ylabel("‖∂L/∂W‖ (log scale)")
    ax.set_title(f"Gradient norms in a {args.depth}-layer network (Glorot init)")
    ax.legend()
    fig.tight_layout()
    vanishing = out / "vanishing_gradients.png"
    fig.savefig(vanishing, dpi=100)
    plt.close(fig)

    # 2. Activation and gradient variance per layer under the three initialisations.
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for col, activation in enumerate(("tanh", "relu")):
        for init in ("glorot_normal", "lecun_normal", "he_normal"):
            nb.set_random_seed(args.seed)
            _, act_var, grad_var = run_stack(build_stack(args.depth, args.width, activation,
                                                         init), x, y)
            label = init.replace("_normal", "")
            axes[0, col].semilogy(depth_axis, act_var, marker="o", label=label)
            axes[1, col].semilogy(depth_axis, grad_var, marker="o", label=label)
        axes[0, col].set_title(f"{activation}: Var(activations)")
        axes[1, col].set_title(f"{activation}: Var(∂L/∂activations)")
        axes[1, col].set_xlabel("layer")
        axes[0, col].legend()
    fig.tight_layout()
    variance = out / "init_variance.png"
    fig.savefig(variance, dpi=100)
    plt.close(fig)

    paths = [vanishing, variance]
    for path in paths:
        print(path)
    return paths


if __name__ == "__main__":
    main()
