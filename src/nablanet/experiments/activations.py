"""``nablanet run activations``: activations and initialisation in a deep network (§4).

A deep multilayer perceptron -- ``--depth`` hidden ``Dense(--units)`` layers (10 × 32 by
default) and one sigmoid output -- is trained with plain SGD with momentum on a generated
binary-classification task, once for every pair of

* hidden activation (§4.1, §4.2): ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``
  (:math:`\\alpha = 0.2`), ``abs`` (absolute-value rectification, :math:`\\alpha = -1`) and
  ``prelu`` (a learned leaky rectifier, :math:`\\alpha` starting at 0.25, one per unit);
* weight initialisation (§4.3): ``glorot`` (:math:`\\sigma^2 = 2/(n_{in}+n_{out})`),
  ``lecun`` (:math:`1/n_{in}`), ``he`` (:math:`2/n_{in}`) -- each Keras's truncated normal
  -- and ``fixed``, a normal distribution of the same variance for every layer
  (:math:`\\sigma = 1` by default, ``--fixed-stddev``).

Every model starts from the same seed and sees the same batches. The instruments of
:mod:`nablanet.callbacks.instruments` record, for each run, the per-layer gradient norm
:math:`\\lVert\\partial J/\\partial W_\\ell\\rVert` (at the first step and every few steps),
the fraction of dead units in the rectifier layers and the saturated fraction of sigmoid
and tanh layers (on a fixed probe batch, every epoch). The table gives, per run:

``act std``
    the standard deviation of the last hidden layer's output on the probe batch before
    training: about 1 or below when the initialisation keeps the signal's scale, huge when
    the forward pass explodes;
``g1/gL start`` and ``g1/gL end``
    the first hidden layer's gradient norm divided by the output layer's, at the first
    step and at the end: far below 1, the gradient vanishes on its way down; far above 1,
    it grows (explodes); ``no grad`` when no layer receives any gradient (an exploded
    forward pass saturates the output unit, whose clipped cross-entropy then has none);
``dead``, ``sat``
    the mean dead fraction (rectifiers) or saturated fraction (sigmoid, tanh) of the
    hidden layers at the end;
``val acc``
    validation accuracy at the end, and whether the network trained (at least
    ``TRAINED_MARGIN`` above the majority class) or diverged (non-finite loss).

The chapter's claims to look for: deep sigmoid networks have a vanishing gradient (tiny
g1/gL) and learn slowly or not at all; a fixed-variance initialisation makes the
gradient explode or vanish with depth and activations saturate or blow up, while
Glorot/LeCun/He keep the per-layer gradients within an order of magnitude; He with ReLU
trains steadily; leaky and learned rectifiers keep units alive. Where the measurement
disagrees with the chapter, the job prints it.

Outputs (under ``--out``): ``gradient_norms.png`` (gradient norm per layer at the start and
after training, one panel per activation, one line per initialisation),
``gradient_flow_<activation>_<init>.png`` for the chapter's two contrasting pairs
(sigmoid + fixed, relu + he), ``dead_units.png`` (dead fraction over training for the
rectifiers) and ``learning_curves.png`` (validation accuracy per epoch).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nablanet.utils import limit_threads

ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu", "leaky_relu", "abs", "prelu")
INITIALIZERS: tuple[str, ...] = ("glorot", "lecun", "he", "fixed")
RECTIFIERS = frozenset({"relu", "leaky_relu", "abs", "prelu"})

#: A run "trains" when its validation accuracy beats the majority class by this much.
TRAINED_MARGIN = 0.10
#: Gradient-norm ratios outside [1/VANISH, VANISH] count as vanishing / exploding.
VANISH = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--depth", type=int, default=10, help="hidden layers (default 10)")
    parser.add_argument("--units", type=int, default=32, help="units per hidden layer")
    parser.add_argument("--epochs", type=int, default=15, help="epochs per run (default 15)")
    parser.add_argument("--train-samples", type=int, default=2048,
                        help="training samples (default 2048; validation: 1024)")
    parser.add_argument("--learning-rate", type=float, default=0.01,
                        help="SGD learning rate (default 0.01, momentum 0.9)")
    parser.add_argument("--fixed-stddev", type=float, default=1.0,
                        help="standard deviation of the fixed-variance initialiser (default 1)")
    parser.add_argument("--activations", nargs="+", default=list(ACTIVATIONS),
                        choices=ACTIVATIONS, help="activations to compare (default: all)")
    parser.add_argument("--initializers", nargs="+", default=list(INITIALIZERS),
                        choices=INITIALIZERS, help="initialisations to compare (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data and weights")
    parser.add_argument("--out", "--output", dest="out", default="runs/activations",
                        help="output folder for the figures (default runs/activations)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: the matrices are small)")


# -- data ---------------------------------------------------------------------------------------
def make_data(n_train: int = 2048, n_val: int = 1024, features: int = 16, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""A binary task labelled by a random two-layer teacher network.

    :math:`x \sim \mathcal N(0, I_{16})`, :math:`s = v^\top \tanh(A x)` with
    :math:`A_{ij}, v_j \sim \mathcal N(0, 1/16)`, and
    :math:`y = \mathbb 1[s > \operatorname{med}(s)]` (balanced classes). Deterministic in ``seed``.

    Examples
    --------
    >>> x, y, xv, yv = make_data(n_train=8, n_val=4)
    >>> x.shape, y.shape, xv.shape, float(y.mean() + yv.mean()) <= 2
    ((8, 16), (8, 1), (4, 16), True)
    """
    if n_train < 2 or n_val < 2:
        raise ValueError(f"make_data: n_train and n_val must be at least 2. Received: "
                         f"n_train={n_train}, n_val={n_val}")
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    x = rng.standard_normal((n, features)).astype(np.float32)
    a = rng.normal(0.0, 1.0 / math.sqrt(features), (features, 16))
    v = rng.normal(0.0, 1.0 / math.sqrt(16), 16)
    s = np.tanh(x @ a) @ v
    y = (s > np.median(s)).astype(np.float32)[:, None]
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


# -- models -------------------------------------------------------------------------------------
def initializer(name: str, fixed_stddev: float = 1.0, seed: int | None = None) -> Any:
    """The §4.3 initialiser called ``name`` (one of :data:`INITIALIZERS`)."""
    from nablanet import initializers

    if name == "glorot":
        return initializers.GlorotNormal(seed=seed)
    if name == "lecun":
        return initializers.LecunNormal(seed=seed)
    if name == "he":
        return initializers.HeNormal(seed=seed)
    if name == "fixed":
        return initializers.RandomNormal(mean=0.0, stddev=fixed_stddev, seed=seed)
    raise ValueError(f"initializer: unknown name {name!r}. Valid names: {list(INITIALIZERS)}")


def build_model(activation: str, init: str, features: int = 16, depth: int = 10,
                units: int = 32, fixed_stddev: float = 1.0) -> Any:
    """``depth`` hidden layers ``Dense(units)`` + ``activation``, initialised by ``init``,
    then ``Dense(1, 'sigmoid')``. Hidden layers are named ``hidden_1`` ... ``hidden_<depth>``
    (for ``prelu``, ``hidden_<k>`` is the Dense layer and ``prelu_<k>`` its rectifier)."""
    from nablanet import layers, models
    from nablanet.initializers import Constant

    if activation not in ACTIVATIONS:
        raise ValueError(f"build_model: unknown activation {activation!r}. Valid: "
                         f"{list(ACTIVATIONS)}")
    if depth < 1 or units < 1:
        raise ValueError(f"build_model: depth and units must be positive. Received: "
                         f"depth={depth}, units={units}")
    stack: list[Any] = [layers.Input(shape=(features,))]
    for k in range(1, depth + 1):
        kernel = initializer(init, fixed_stddev)
        if activation == "prelu":
            stack += [layers.Dense(units, kernel_initializer=kernel, name=f"hidden_{k}"),
                      layers.PReLU(alpha_initializer=Constant(0.25), name=f"prelu_{k}")]
        else:
            name = {"abs": "abs_relu"}.get(activation, activation)
            stack.append(layers.Dense(units, activation=name, kernel_initializer=kernel,
                                      name=f"hidden_{k}"))
    stack.append(layers.Dense(1, activation="sigmoid", kernel_initializer=initializer(
        init, fixed_stddev), name="output"))
    return models.Sequential(stack, name=f"mlp_{activation}_{init}")


@dataclass
class Run:
    """One trained (activation, initialisation) pair and what the instruments saw."""

    activation: str
    init: str
    val_accuracy: list[float]
    grad_start: list[float]   # per layer with weights, input side first, at the first step
    grad_end: list[float]     # the same at the last recording
    layer_names: list[str]
    dead: dict[str, list[float]]
    dead_steps: list[int]
    saturated_end: float
    dead_end: float
    activation_std: float     # std of the last hidden layer's output at the start
    diverged: bool
    seconds: float
    flow: Any = None

    @property
    def ratio_start(self) -> float:
        """First hidden layer's gradient norm over the output layer's, at the first step."""
        return _ratio(self.grad_start)

    @property
    def ratio_end(self) -> float:
        return _ratio(self.grad_end)


def _ratio(norms: Sequence[float]) -> float:
    """``norms[0] / norms[-1]``; NaN when either is not finite or both are zero (no
    gradient reaches any layer, e.g. behind a saturated output)."""
    if not norms or not np.isfinite(norms[0]) or not np.isfinite(norms[-1]):
        return float("nan")
    if norms[-1] == 0:
        return float("inf") if norms[0] > 0 else float("nan")
    return norms[0] / norms[-1]


def train_run(activation: str, init: str, data: Sequence[np.ndarray], epochs: int,
              depth: int = 10, units: int = 32, learning_rate: float = 0.01,
              fixed_stddev: float = 1.0, seed: int = 0, batch_size: int = 64) -> Run:
    """Build the (activation, init) network from ``seed`` and train it with the instruments."""
    import nablanet as nb
    from nablanet import callbacks, optimizers

    x_train, y_train, x_val, y_val = data
    nb.set_random_seed(seed)
    model = build_model(activation, init, x_train.shape[1], depth, units, fixed_stddev)
    model.compile(optimizer=optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
                  loss="binary_crossentropy", metrics=["accuracy"])
    probe = x_train[:256]
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    dense = [f"hidden_{k}" for k in range(1, depth + 1)] + ["output"]
    flow = callbacks.GradientFlow(freq=max(1, steps_per_epoch // 2), layers=dense)
    dead = callbacks.DeadUnits(probe)
    stats = callbacks.ActivationStats(probe)
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0,
                            validation_data=(x_val, y_val), shuffle=True,
                            callbacks=[flow, dead, stats, callbacks.TerminateOnNaN()])
    seconds = time.perf_counter() - start
    losses = np.asarray(history.history["loss"], dtype=np.float64)
    diverged = bool(not np.all(np.isfinite(losses)) or not all(
        np.all(np.isfinite(w)) for w in model.get_weights()))
    names = list(flow.grad_norms)
    hidden = [n for n in dead.dead] if activation in RECTIFIERS else []
    sat_layers = [n for n in stats.saturated if n.startswith("hidden_")]
    last_hidden = [n for n in stats.std if n != "output"][-1]
    saturated = (float(np.mean([stats.saturated[n][-1] for n in sat_layers]))
                 if activation in ("sigmoid", "tanh") and sat_layers else float("nan"))
    return Run(
        activation=activation, init=init,
        val_accuracy=[float(v) for v in history.history.get("val_accuracy", [])],
        grad_start=[flow.grad_norms[n][0] for n in names],
        grad_end=[flow.grad_norms[n][-1] for n in names],
        layer_names=names, dead={n: dead.dead[n] for n in hidden}, dead_steps=dead.steps,
        saturated_end=saturated, activation_std=stats.std[last_hidden][0],
        dead_end=float(np.mean([dead.dead[n][-1] for n in hidden])) if hidden else float("nan"),
        diverged=diverged, seconds=seconds, flow=flow,
    )


# -- verdicts -----------------------------------------------------------------------------------
def trained(run: Run, majority: float) -> bool:
    """Whether ``run`` learned: finite and at least TRAINED_MARGIN above the majority class."""
    return (not run.diverged and bool(run.val_accuracy)
            and run.val_accuracy[-1] >= majority + TRAINED_MARGIN)


def check_claims(runs: Sequence[Run], majority: float) -> list[str]:
    """The chapter's claims, each as 'agrees' / 'DISAGREES' with the measurement."""
    by = {(r.activation, r.init): r for r in runs}
    lines = []

    def say(claim: str, holds: bool | None, detail: str) -> None:
        if holds is None:
            return
        verdict = "agrees" if holds else "DISAGREES"
        lines.append(f"[{verdict}] {claim}: {detail}")

    sig = by.get(("sigmoid", "glorot"))
    if sig is not None:
        say("§4.2 deep sigmoid networks have a vanishing gradient",
            sig.ratio_start < 1 / VANISH,
            f"sigmoid+glorot g1/gL = {sig.ratio_start:.2g} at the start")
    relu_he = by.get(("relu", "he"))
    if relu_he is not None:
        say("§4.3 He initialisation with ReLU trains steadily",
            trained(relu_he, majority) and 1 / VANISH <= relu_he.ratio_start <= VANISH,
            f"relu+he val acc {relu_he.val_accuracy[-1]:.3f}, g1/gL = "
            f"{relu_he.ratio_start:.2g}")
    fixed = [r for r in runs if r.init == "fixed"]
    if fixed:
        bad = [r for r in fixed if r.diverged or not (1 / VANISH <= r.ratio_start <= VANISH)
               or not trained(r, majority)]
        say("§4.3 a fixed-variance initialisation makes gradients explode or vanish",
            len(bad) >= len(fixed) / 2,
            f"{len(bad)} of {len(fixed)} fixed-variance runs vanish, explode, diverge or fail "
            f"to train")
    scaled = [r for r in runs if r.init != "fixed" and r.activation in RECTIFIERS]
    if scaled:
        steady = [r for r in scaled if 1 / VANISH <= r.ratio_start <= VANISH]
        say("§4.3 Glorot/LeCun/He keep rectifier gradients steady across layers",
            len(steady) >= len(scaled) / 2,
            f"{len(steady)} of {len(scaled)} rectifier runs have g1/gL within "
            f"[{1 / VANISH:g}, {VANISH:g}] at the start")
    relu = [r for r in runs if r.activation == "relu"]
    leaky = [r for r in runs if r.activation in ("leaky_relu", "prelu")]
    if relu and leaky:
        worst_relu = max(r.dead_end for r in relu)
        worst_leaky = max(r.dead_end for r in leaky)
        say("§4.1 ReLU units die, leaky ReLU prevents it", worst_leaky <= worst_relu
            and worst_leaky == 0.0,
            f"most dead units: relu {worst_relu:.0%}, leaky/learned {worst_leaky:.0%}")
    return lines


# -- report -------------------------------------------------------------------------------------
_HEADER = (f"{'activation':<11} {'init':<7} {'act std':>8} {'g1/gL start':>11} "
           f"{'g1/gL end':>10} {'dead':>6} {'sat':>6} {'val acc':>8}  result")


def format_row(run: Run, majority: float) -> str:
    def pct(v: float) -> str:
        return "-" if not np.isfinite(v) else f"{v:.0%}"

    def ratio(v: float) -> str:
        return "no grad" if np.isnan(v) else f"{v:.3g}"

    acc = run.val_accuracy[-1] if run.val_accuracy else float("nan")
    result = "diverged" if run.diverged else ("trains" if trained(run, majority)
                                              else "does not train")
    return (f"{run.activation:<11} {run.init:<7} {run.activation_std:>8.2g} "
            f"{ratio(run.ratio_start):>11} {ratio(run.ratio_end):>10} {pct(run.dead_end):>6} "
            f"{pct(run.saturated_end):>6} {acc:>8.3f}  {result}")


def _panels(count: int) -> tuple[Any, Any]:
    """A figure with ``count`` panels, three to a row, sharing the y axis."""
    import matplotlib.pyplot as plt

    columns = min(3, count)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.8 * rows),
                             squeeze=False, sharey=True)
    for ax in axes.flat[count:]:
        ax.axis("off")
    return fig, axes


def _finish(fig: Any, axes: Any, ylabel: str, title: str, path: Path) -> Path:
    from nablanet.plotting import save_figure

    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)


def _plot(runs: Sequence[Run], out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = []
    activations = list(dict.fromkeys(r.activation for r in runs))
    inits = list(dict.fromkeys(r.init for r in runs))
    colours = dict(zip(inits, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, axes = _panels(len(activations))
    for ax, activation in zip(axes.flat, activations):
        silent = []
        for r in (r for r in runs if r.activation == activation):
            if not any(np.asarray(r.grad_start) > 0):
                silent.append(r.init)
                continue
            depth = np.arange(1, len(r.grad_start) + 1)
            start = np.where(np.isfinite(r.grad_start), r.grad_start, np.nan)
            end = np.where(np.isfinite(r.grad_end), r.grad_end, np.nan)
            ax.semilogy(depth, start, "-o", ms=3, color=colours[r.init],
                        label=f"{r.init} (start)")
            ax.semilogy(depth, end, "--", color=colours[r.init], label=f"{r.init} (end)")
        if silent:
            ax.text(0.02, 0.02, "no gradient at all: " + ", ".join(silent), fontsize=8,
                    transform=ax.transAxes)
        ax.set_title(activation)
        ax.set_xlabel("Dense layer (1 = first hidden, last = output)")
        ax.grid(alpha=0.3)
    paths.append(_finish(fig, axes, "gradient norm ||dJ/dW||",
                         "Gradient norm per layer at the first step (solid) and after "
                         "training (dashed)", out / "gradient_norms.png"))

    for key in (("sigmoid", "fixed"), ("relu", "he")):
        run = next((r for r in runs if (r.activation, r.init) == key), None)
        if run is not None:
            paths.append(run.flow.plot(out / f"gradient_flow_{key[0]}_{key[1]}.png",
                                       title=f"Gradient flow: {key[0]} + {key[1]}"))

    rect = [a for a in activations if a in RECTIFIERS]
    if rect:
        fig, axes = _panels(len(rect))
        for ax, activation in zip(axes.flat, rect):
            for r in (r for r in runs if r.activation == activation):
                mean = np.mean([v for v in r.dead.values()], axis=0) if r.dead else []
                ax.plot(r.dead_steps[:len(mean)], mean, color=colours[r.init], label=r.init)
            ax.set_title(activation)
            ax.set_xlabel("training step")
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
        paths.append(_finish(fig, axes, "fraction of dead hidden units",
                             "Dead units (output 0 on every probe example) over training",
                             out / "dead_units.png"))

    fig, axes = _panels(len(activations))
    for ax, activation in zip(axes.flat, activations):
        for r in (r for r in runs if r.activation == activation):
            ax.plot(np.arange(1, len(r.val_accuracy) + 1), r.val_accuracy,
                    color=colours[r.init], label=r.init)
        ax.set_title(activation)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    paths.append(_finish(fig, axes, "validation accuracy", "Validation accuracy per epoch",
                         out / "learning_curves.png"))
    return paths


def main(args: argparse.Namespace) -> int:
    if (args.depth < 1 or args.units < 1 or args.epochs < 1 or args.train_samples < 2
            or args.learning_rate <= 0 or args.fixed_stddev <= 0):
        raise SystemExit("activations: --depth, --units, --epochs, --learning-rate and "
                         "--fixed-stddev must be positive and --train-samples at least 2")
    out = Path(args.out)
    data = make_data(n_train=args.train_samples, seed=args.seed)
    majority = float(max(data[3].mean(), 1.0 - data[3].mean()))
    print(f"Deep MLP: {args.depth} x Dense({args.units}) + sigmoid output, SGD(lr="
          f"{args.learning_rate:g}, momentum=0.9), {args.epochs} epochs, {len(data[0])} "
          f"training / {len(data[2])} validation samples, seed {args.seed}; fixed-variance "
          f"init: N(0, {args.fixed_stddev:g}^2)")
    runs = []
    with limit_threads(args.threads):
        for activation in args.activations:
            for init in args.initializers:
                run = train_run(activation, init, data, args.epochs, depth=args.depth,
                                units=args.units, learning_rate=args.learning_rate,
                                fixed_stddev=args.fixed_stddev, seed=args.seed)
                runs.append(run)
                print(f"  trained {activation:<10} + {init:<6} in {run.seconds:5.1f} s",
                      flush=True)
    print(f"\nact std: last hidden layer's output std before training. g1/gL: first hidden "
          f"layer's gradient norm / output layer's (start: first step; end: last recording). "
          f"dead / sat: hidden units dead (rectifiers) or saturated (sigmoid, tanh) at the "
          f"end. Majority class: {majority:.3f}")
    print(_HEADER)
    for run in runs:
        print(format_row(run, majority))
    claims = check_claims(runs, majority)
    if claims:
        print("\nThe chapter's claims, measured:")
        for line in claims:
            print("  " + line)
    paths = _plot(runs, out)
    print("\nSaved " + ", ".join(str(p) for p in paths))
    return 0
