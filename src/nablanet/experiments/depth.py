"""``nablanet run depth``: why deep networks help (chapter §3), by counting linear regions.

Three measurements, printed as tables and saved as figures:

1. Montúfar's zig-zag construction with ``--units`` ReLUs per layer: exactly
   ``units ** depth`` linear regions for depth 1..``--max-depth`` (the chapter's 5 × 10 network
   has 10^5), against the ``units * depth + 1`` regions that a single hidden layer with the
   same number of units can have at most.
2. The construction's weights set on an ordinary ``Sequential`` of
   ``Dense(units, activation='relu')`` layers: nablanet's forward pass agrees with it, and
   the regions are counted from the model itself.
3. Randomly initialised networks with a fixed budget of units, deep against shallow. Depth
   gives its exponential capacity only to suitably arranged weights: at initialisation
   deep networks have about as many regions as shallow ones (Hanin & Rolnick, 2019), which
   this table shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nablanet import linear_regions as lr
from nablanet.plotting import plot_series, save_figure


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--units", type=int, default=10, help="ReLUs per layer (default 10)")
    parser.add_argument("--max-depth", type=int, default=5, help="deepest network (default 5)")
    parser.add_argument("--budget", type=int, default=48,
                        help="total units of the random deep-vs-shallow comparison")
    parser.add_argument("--seeds", type=int, default=5, help="random networks per shape")
    parser.add_argument("--out", "--output", dest="out", default="runs/depth",
                        help="output folder for the figures")


def build_zigzag_model(units: int, depth: int):  # noqa: ANN201 - a Sequential
    """``Sequential([Dense(units, 'relu')] * depth + [Dense(1)])`` carrying the zig-zag weights."""
    from nablanet import layers, models

    model = models.Sequential(
        [layers.Input(shape=(1,))]
        + [layers.Dense(units, activation="relu") for _ in range(depth)]
        + [layers.Dense(1)]
    )
    weights = [w for kernel, bias in lr.zigzag_network(units, depth) for w in (kernel, bias)]
    model.set_weights([w.astype(np.float32) for w in weights])
    return model


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.units < 1 or args.max_depth < 1:
        raise SystemExit("depth: --units and --max-depth must be positive")
    depths = list(range(1, args.max_depth + 1))
    print(f"Montúfar's zig-zag network, {args.units} ReLUs per layer, input in [0, 1]")
    print(f"{'depth':>5} {'units':>6} {'regions (deep)':>15} {'max regions (1 layer)':>22}")
    deep, shallow = [], []
    for depth in depths:
        regions = lr.count_linear_regions(lr.zigzag_network(args.units, depth))
        deep.append(regions)
        shallow.append(lr.shallow_max_regions(args.units * depth))
        print(f"{depth:>5} {args.units * depth:>6} {regions:>15,} {shallow[-1]:>22,}")

    model = build_zigzag_model(args.units, min(3, args.max_depth))
    x = np.linspace(0, 1, 2001, dtype=np.float32)[:, None]
    from_model = model.predict(x, verbose=0)[:, 0]
    reference = lr.evaluate(lr.zigzag_network(args.units, min(3, args.max_depth)), x[:, 0])
    print(f"nablanet Sequential vs construction: max |difference| = "
          f"{np.max(np.abs(from_model - reference)):.2e}; regions counted from the model: "
          f"{lr.count_linear_regions(model):,}")

    print(f"\nRandom He-initialised networks with {args.budget} units in all, input in [-3, 3] "
          f"(mean regions over {args.seeds} seeds)")
    shapes = [d for d in (1, 2, 3, 4, 6) if args.budget % d == 0]
    random_counts = {}
    for d in shapes:
        counts = [lr.count_linear_regions(lr.random_network([args.budget // d] * d, seed=s), -3, 3)
                  for s in range(args.seeds)]
        random_counts[d] = float(np.mean(counts))
        print(f"  {d} layer(s) of {args.budget // d:>3}: {random_counts[d]:8.1f} regions")

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    axes[0].semilogy(depths, deep, "o-", label=f"deep: {args.units} units per layer")
    axes[0].semilogy(depths, shallow, "s--", label="one layer with as many units (maximum)")
    axes[0].set_xlabel("layers")
    axes[0].set_ylabel("linear regions")
    axes[0].set_title("Regions grow exponentially with depth")
    axes[0].legend()
    for depth in range(1, min(3, args.max_depth) + 1):
        net = lr.zigzag_network(min(args.units, 3), depth)
        grid = np.linspace(0, 1, 4001)
        axes[1].plot(grid, lr.evaluate(net, grid) + 1.2 * (depth - 1), label=f"depth {depth}")
    axes[1].set_title("Zig-zag networks of 3 units per layer (offset)")
    axes[1].set_xlabel("x")
    axes[1].legend()
    regions_png = save_figure(fig, out / "linear_regions.png")
    random_png = plot_series({"mean regions": [random_counts[d] for d in shapes]},
                             out / "random_networks.png",
                             f"Random networks with {args.budget} units",
                             xlabel="number of layers (equal widths)",
                             ylabel="mean linear regions on [-3, 3]", x=shapes)
    print("  (depth raises the number of regions a network *can* have; random weights do not\n"
          "   use it — Hanin & Rolnick 2019 — training or construction is what does)")
    print(f"\nSaved {regions_png} and {random_png}")
    return 0
