"""``nablanet run regularization``: weight decay, dropout, batch norm and early stopping (§5).

A wide multilayer perceptron (``Dense(256, 'relu')`` twice, then one sigmoid unit) is trained
with Adam on a small, noisy, generated binary-classification problem: 300 training samples
of 10 standard-normal features, labelled by a mildly non-linear rule of the first six
features, with 15 % of the labels flipped; 2000 further samples from the same distribution
are the validation set. The network has ~69 000 weights for 300 samples, so without help it
memorises the training set -- training cross-entropy goes to ~0 while the validation
cross-entropy reaches its minimum after a few epochs and then climbs. The same architecture,
from the same initial weights (the seed is reset before each model is built), is then
trained with each of the chapter's remedies:

``none``
    no regularisation (the over-fitting reference);
``l2`` (§5.1, eq. 11)
    :math:`\\tilde J(w) = J(w) + \\tfrac{\\lambda}{2}\\lVert w\\rVert_2^2` on every kernel. Keras's
    ``L2(l2)`` adds :math:`l_2 \\sum_i w_i^2` (no ½), so the chapter's penalty is
    ``kernel_regularizer=regularizers.L2(l2=λ/2)`` (ERRATA 5.1; the chapter's ``regularizer=``
    argument is Keras's ``kernel_regularizer=``). Default λ = 0.03;
``l1`` (§5.1, eq. 12)
    :math:`\\tilde J(w) = J(w) + \\lambda\\lVert w\\rVert_1`, ``regularizers.L1(l1=λ)``, λ = 0.003.
    L1 drives many weights towards zero: the table shows the fraction with
    :math:`|w| < 10^{-3}`;
``dropout`` (§5.3)
    ``Dropout(rate)`` after each hidden layer, rate 0.5: each hidden unit's output is zeroed
    with probability ``rate`` on every training forward pass and the survivors are scaled by
    ``1/(1-rate)``; the identity at inference (ERRATA 5.3: the chapter says *weights*);
``batchnorm`` (§5.4)
    ``Dense -> BatchNormalization -> ReLU`` (Ioffe & Szegedy, 2015): each unit is normalised
    with its mini-batch mean and variance while training, and with moving averages at
    inference. The noise of the batch statistics regularises a little; BN is mainly an
    optimisation aid, and the table shows that it does far less against over-fitting than
    the others. ``momentum=0.9`` instead of Keras's 0.99, because an epoch here is only ten
    steps and the moving statistics must follow the weights;
``early_stopping`` (§5.2)
    no penalty, but ``EarlyStopping(monitor='val_loss', patience=10,
    restore_best_weights=True)``: training stops ``patience`` epochs after the best
    validation loss and the weights of that best epoch are put back.

Losses are compared as the data term only. The ``loss`` that ``fit`` logs includes the
penalty (and for dropout it is measured with units dropped), so after every epoch a callback
also records the plain binary cross-entropy of the current model in inference mode on the
training and the validation set (``ce`` and ``val_ce`` in each ``History``). The
*generalisation gap* is ``val_ce - ce``.

The instruments (:class:`nablanet.callbacks.ActivationStats`) also watch the hidden units
on a probe batch of 256 validation samples after every epoch: their *co-adaptation*, the
mean absolute correlation between the units of a layer (dropout is meant to stop units
relying on each other, §5.3), and the *range* of the activations, their standard deviation
(batch normalisation is meant to keep it steady while the weights change, §5.4). A second
table gives both per variant.

Outputs (under ``--out``): ``learning_curves.png`` (one panel per variant: training and
validation cross-entropy per epoch), ``validation_loss.png`` (every variant's validation
curve on one axis), ``generalization_gap.png`` (final training and validation
cross-entropy and their gap, per variant) and ``hidden_units.png`` (co-adaptation and
activation range per epoch, per variant).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nablanet.utils import limit_threads

#: Variants in the order they are trained, printed and drawn.
VARIANTS: tuple[str, ...] = ("none", "l2", "l1", "dropout", "batchnorm", "early_stopping")

#: Default hyperparameters of the remedies (the chapter's λ for L1/L2).
L2_LAMBDA = 0.03
L1_LAMBDA = 0.003
DROPOUT_RATE = 0.5
PATIENCE = 10

#: A weight counts as "near zero" below this magnitude (the L1 column of the table).
NEAR_ZERO = 1e-3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=100,
                        help="epoch limit of every variant (default 100)")
    parser.add_argument("--out", "--output", dest="out", default="runs/regularization",
                        help="output folder for the figures (default runs/regularization)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the data set and of every model's initial weights")
    parser.add_argument("--train-samples", type=int, default=300,
                        help="training samples (default 300; the validation set has 2000)")
    parser.add_argument("--units", type=int, default=256, help="units per hidden layer")
    parser.add_argument("--patience", type=int, default=PATIENCE,
                        help=f"EarlyStopping patience (default {PATIENCE})")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: the matrices are small)")


# -- data ---------------------------------------------------------------------------------------
def make_data(n_train: int = 300, n_val: int = 2000, features: int = 10,
              label_noise: float = 0.15, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""A small noisy binary-classification problem on which a wide MLP over-fits.

    Features are i.i.d. :math:`\mathcal N(0, 1)`; the clean label is

    .. math::

        y = \mathbb 1\left[x_0 + x_1 - 0.8 x_2 + 0.6 \sin(2 x_3) + 0.3 x_4 x_5 > 0\right]

    and a fraction ``label_noise`` of all labels is flipped. Deterministic in ``seed``.

    Returns
    -------
    x_train, y_train, x_val, y_val
        float32 arrays; inputs ``(n, features)``, labels ``(n, 1)`` in {0, 1}.

    Examples
    --------
    >>> x, y, xv, yv = make_data(n_train=5, n_val=3, seed=1)
    >>> x.shape, y.shape, xv.shape, yv.shape
    ((5, 10), (5, 1), (3, 10), (3, 1))
    """
    if n_train < 1 or n_val < 1:
        raise ValueError(f"make_data: n_train and n_val must be positive. Received: "
                         f"n_train={n_train}, n_val={n_val}")
    if features < 6:
        raise ValueError(f"make_data: features must be at least 6. Received: features={features}")
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    x = rng.standard_normal((n, features)).astype(np.float32)
    score = (x[:, 0] + x[:, 1] - 0.8 * x[:, 2] + 0.6 * np.sin(2.0 * x[:, 3])
             + 0.3 * x[:, 4] * x[:, 5])
    y = (score > 0).astype(np.float32)
    flip = rng.random(n) < label_noise
    y[flip] = 1.0 - y[flip]
    return x[:n_train], y[:n_train, None], x[n_train:], y[n_train:, None]


# -- models -------------------------------------------------------------------------------------
def build_model(variant: str, features: int, units: int = 256, l2_lambda: float = L2_LAMBDA,
                l1_lambda: float = L1_LAMBDA, dropout_rate: float = DROPOUT_RATE) -> Any:
    """The ``Dense(units)``×2 + sigmoid MLP with the remedy ``variant`` (one of VARIANTS).

    ``l2`` uses ``L2(l2=l2_lambda / 2)``: the chapter's :math:`\\tfrac{\\lambda}{2}\\lVert
    w\\rVert^2` in Keras's convention (ERRATA 5.1).
    """
    from nablanet import layers, models, regularizers

    if variant not in VARIANTS:
        raise ValueError(f"build_model: unknown variant {variant!r}. Valid variants: "
                         f"{list(VARIANTS)}")
    regularizer: regularizers.Regularizer | None = None
    if variant == "l2":
        regularizer = regularizers.L2(l2=l2_lambda / 2)
    elif variant == "l1":
        regularizer = regularizers.L1(l1=l1_lambda)
    stack: list[Any] = [layers.Input(shape=(features,))]
    for _ in range(2):
        if variant == "batchnorm":
            stack += [layers.Dense(units), layers.BatchNormalization(momentum=0.9),
                      layers.Activation("relu")]
        else:
            stack.append(layers.Dense(units, activation="relu",
                                      kernel_regularizer=regularizer))
        if variant == "dropout":
            stack.append(layers.Dropout(dropout_rate))
    stack.append(layers.Dense(1, activation="sigmoid", kernel_regularizer=regularizer))
    return models.Sequential(stack, name=f"mlp_{variant}")


def binary_cross_entropy(y: np.ndarray, p: np.ndarray, eps: float = 1e-7) -> float:
    r"""Mean :math:`-[y \log p + (1-y)\log(1-p)]`, with ``p`` clipped to ``[eps, 1-eps]``."""
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1.0 - eps)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def _data_loss_callback(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                        y_val: np.ndarray) -> Any:
    """A callback adding ``ce`` / ``val_ce`` (inference-mode data loss) to each epoch's logs."""
    from nablanet.callbacks import Callback

    class DataLoss(Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if logs is None:
                return
            logs["ce"] = binary_cross_entropy(
                y_train, self.model.predict(x_train, batch_size=1024, verbose=0))
            logs["val_ce"] = binary_cross_entropy(
                y_val, self.model.predict(x_val, batch_size=1024, verbose=0))

    return DataLoss()


def kernels(model: Any) -> list[np.ndarray]:
    """The kernels (weight matrices, no biases) of the model's Dense layers."""
    from nablanet import layers

    return [np.asarray(layer.kernel.data) for layer in model.layers
            if isinstance(layer, layers.Dense) and layer.kernel is not None]


@dataclass
class Result:
    """One trained variant: the model, its History and the summary figures of the table."""

    variant: str
    model: Any
    history: dict[str, list[float]]
    epochs_run: int
    train_ce: float
    val_ce: float
    val_accuracy: float
    best_val_ce: float
    best_epoch: int
    weight_norm: float
    near_zero: float
    seconds: float
    early_stopping: Any = field(default=None, repr=False)
    hidden: Any = field(default=None, repr=False)  # ActivationStats of the hidden layers

    @property
    def coadaptation(self) -> float:
        """Mean absolute correlation between hidden units on the probe batch, at the end
        (averaged over the hidden layers): high when units carry redundant features."""
        return float(np.nanmean([v[-1] for v in self.hidden.correlation.values()]))

    def activation_std(self, when: int) -> float:
        """Std of the last hidden layer's activations on the probe batch at recording
        ``when`` (0: before training, -1: at the end)."""
        return list(self.hidden.std.values())[-1][when]

    @property
    def gap(self) -> float:
        """Generalisation gap of the final model: validation minus training cross-entropy."""
        return self.val_ce - self.train_ce


def train_variant(variant: str, data: Sequence[np.ndarray], epochs: int, seed: int = 0,
                  units: int = 256, patience: int = PATIENCE, batch_size: int = 32,
                  learning_rate: float = 1e-3, **hyper: float) -> Result:
    """Build ``variant`` from seed ``seed``, train it with Adam and summarise it.

    The "final" figures are those of the model ``fit`` leaves behind -- for early stopping,
    the restored best epoch -- measured in inference mode.
    """
    import nablanet as nb
    from nablanet import callbacks, layers, optimizers

    x_train, y_train, x_val, y_val = data
    nb.set_random_seed(seed)
    model = build_model(variant, x_train.shape[1], units=units, **hyper)
    model.compile(optimizer=optimizers.Adam(learning_rate=learning_rate),
                  loss="binary_crossentropy", metrics=["accuracy"])
    hidden = [layer.name for layer in model.layers if type(layer).__name__ == "Activation"
              or (isinstance(layer, layers.Dense) and layer.units == units)]
    stats = callbacks.ActivationStats(x_val[:256], layers=hidden, correlation=True)
    cbs: list[Any] = [_data_loss_callback(x_train, y_train, x_val, y_val), stats]
    stopper = None
    if variant == "early_stopping":
        stopper = callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                          restore_best_weights=True)
        cbs.append(stopper)
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0,
                        validation_data=(x_val, y_val), callbacks=cbs)
    seconds = time.perf_counter() - start
    logs = {k: [float(v) for v in values] for k, values in history.history.items()}
    val_pred = model.predict(x_val, batch_size=1024, verbose=0)
    weights = np.concatenate([k.ravel() for k in kernels(model)])
    val_ce = np.asarray(logs["val_ce"])
    return Result(
        variant=variant, model=model, history=logs, epochs_run=len(val_ce),
        train_ce=binary_cross_entropy(y_train, model.predict(x_train, batch_size=1024,
                                                             verbose=0)),
        val_ce=binary_cross_entropy(y_val, val_pred),
        val_accuracy=float(np.mean((val_pred > 0.5) == (y_val > 0.5))),
        best_val_ce=float(val_ce.min()), best_epoch=int(val_ce.argmin()) + 1,
        weight_norm=float(np.linalg.norm(weights)),
        near_zero=float(np.mean(np.abs(weights) < NEAR_ZERO)),
        seconds=seconds, early_stopping=stopper, hidden=stats,
    )


# -- report -------------------------------------------------------------------------------------
_HEADER = (f"{'variant':<15} {'epochs':>6} {'train CE':>9} {'val CE':>8} {'best val CE':>14} "
           f"{'val acc':>8} {'gap':>7} {'||W||_2':>8} {'|w|<1e-3':>9}")


def format_row(r: Result) -> str:
    best = f"{r.best_val_ce:.3f} @{r.best_epoch:<3d}"
    return (f"{r.variant:<15} {r.epochs_run:>6d} {r.train_ce:>9.3f} {r.val_ce:>8.3f} "
            f"{best:>14} {r.val_accuracy:>8.3f} {r.gap:>7.3f} {r.weight_norm:>8.2f} "
            f"{r.near_zero:>9.1%}")


_UNITS_HEADER = (f"{'variant':<15} {'co-adaptation':>13} {'act std start':>13} "
                 f"{'act std end':>11}")


def format_units_row(r: Result) -> str:
    """The instruments' row: unit co-adaptation and the hidden activations' range."""
    return (f"{r.variant:<15} {r.coadaptation:>13.3f} {r.activation_std(0):>13.3f} "
            f"{r.activation_std(-1):>11.3f}")


def check_claims(results: list[Result]) -> list[str]:
    """The §5.3 / §5.4 claims about hidden units, each marked agrees / DISAGREES with what
    the instruments measured (correlation is a proxy for co-adaptation, not its definition)."""
    by = {r.variant: r for r in results}
    lines: list[str] = []
    none = by.get("none")
    if none is None:
        return lines
    dropout = by.get("dropout")
    if dropout is not None:
        holds = dropout.coadaptation < none.coadaptation
        lines.append(f"[{'agrees' if holds else 'DISAGREES'}] §5.3 dropout stops units "
                     f"co-adapting: mean |correlation| {dropout.coadaptation:.3f} with dropout, "
                     f"{none.coadaptation:.3f} without")
    bn = by.get("batchnorm")
    if bn is not None:
        def growth(r: Result) -> float:
            return r.activation_std(-1) / r.activation_std(0)

        holds = abs(np.log(growth(bn))) < abs(np.log(growth(none)))
        lines.append(f"[{'agrees' if holds else 'DISAGREES'}] §5.4 batch normalisation keeps "
                     f"activations in range: their std changed x{growth(bn):.2f} during "
                     f"training with batch norm, x{growth(none):.2f} without")
    return lines


def _plot_units(results: list[Result], out: Path) -> Path:
    """Co-adaptation and activation std of the hidden units per epoch, per variant."""
    import matplotlib.pyplot as plt

    from nablanet.plotting import save_figure

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    for r in results:
        epochs = np.arange(len(r.hidden.steps))
        corr = np.nanmean(np.array(list(r.hidden.correlation.values())), axis=0)
        left.plot(epochs, corr, label=r.variant)
        right.plot(epochs, list(r.hidden.std.values())[-1], label=r.variant)
    left.set_title("Co-adaptation: mean |correlation| between hidden units")
    left.set_ylabel("mean |correlation|")
    right.set_title("Range of the last hidden layer's activations")
    right.set_ylabel("activation standard deviation")
    for ax in (left, right):
        ax.set_xlabel("epoch (0 = before training)")
        ax.grid(alpha=0.3)
    left.legend(fontsize=8)
    fig.suptitle("Hidden units on a probe batch of validation samples (§5.3, §5.4)")
    fig.tight_layout()
    return save_figure(fig, out / "hidden_units.png")


def _plot(results: list[Result], out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from nablanet.plotting import plot_series, save_figure

    columns = 3
    rows = int(np.ceil(len(results) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), sharey=True,
                             squeeze=False)
    top = max(max(r.history["val_ce"]) for r in results)
    limit = max(r.epochs_run for r in results)
    for ax, r in zip(axes.flat, results):
        epochs = np.arange(1, r.epochs_run + 1)
        ax.plot(epochs, r.history["ce"], label="training CE")
        ax.plot(epochs, r.history["val_ce"], label="validation CE")
        ax.plot(epochs, r.history["loss"], ":", color="grey", lw=1,
                label="fit's loss (penalty, dropout)")
        ax.axvline(r.best_epoch, color="black", lw=0.8, ls="--")
        ax.set_title(f"{r.variant}: gap {r.gap:.2f}, best val @ {r.best_epoch}")
        ax.set_xlabel("epoch")
        ax.set_xlim(0, limit + 1)
        ax.set_ylim(0, min(top, 3.0) * 1.05)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(results):]:
        ax.axis("off")
    axes[0, 0].set_ylabel("binary cross-entropy")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Over-fitting MLP: training vs validation loss per remedy (§5)")
    fig.tight_layout()
    curves = save_figure(fig, out / "learning_curves.png")

    val = plot_series({r.variant: r.history["val_ce"] for r in results},
                      out / "validation_loss.png", "Validation cross-entropy per epoch",
                      xlabel="epoch", ylabel="validation binary cross-entropy")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = np.arange(len(results))
    width = 0.27
    ax.bar(x - width, [r.train_ce for r in results], width, label="training CE")
    ax.bar(x, [r.val_ce for r in results], width, label="validation CE")
    ax.bar(x + width, [r.gap for r in results], width, label="gap (val - train)")
    ax.set_xticks(x, [r.variant for r in results])
    ax.set_ylabel("binary cross-entropy of the final model")
    ax.set_title("Generalisation gap per remedy")
    ax.grid(alpha=0.3, axis="y")
    ax.legend()
    gap = save_figure(fig, out / "generalization_gap.png")
    return [curves, val, gap, _plot_units(results, out)]


def main(args: argparse.Namespace) -> int:
    if args.epochs < 1 or args.train_samples < 2 or args.units < 1 or args.patience < 0:
        raise SystemExit("regularization: --epochs, --train-samples and --units must be "
                         "positive and --patience non-negative")
    out = Path(args.out)
    data = make_data(n_train=args.train_samples, seed=args.seed)
    print(f"Over-fitting MLP (2 x Dense({args.units}, relu) + sigmoid) on {len(data[0])} noisy "
          f"training samples, {len(data[2])} validation samples, up to {args.epochs} epochs, "
          f"seed {args.seed}")
    print(f"L2: lambda={L2_LAMBDA} -> regularizers.L2(l2={L2_LAMBDA / 2:g}) (chapter's "
          f"lambda/2 ||w||^2); L1: L1(l1={L1_LAMBDA}); Dropout(rate={DROPOUT_RATE}); "
          f"BatchNormalization before each ReLU; EarlyStopping(monitor='val_loss', "
          f"patience={args.patience}, restore_best_weights=True)")
    results = []
    with limit_threads(args.threads):
        for variant in VARIANTS:
            r = train_variant(variant, data, args.epochs, seed=args.seed, units=args.units,
                              patience=args.patience)
            results.append(r)
            print(f"  trained {variant:<15} {r.epochs_run:>4d} epochs in {r.seconds:5.1f} s: "
                  f"val CE {r.val_ce:.3f} (best {r.best_val_ce:.3f} at epoch {r.best_epoch})",
                  flush=True)
    print("\nCE: binary cross-entropy without penalty, inference mode; final = the model fit "
          "returns (early stopping: the restored best epoch)")
    print(_HEADER)
    for r in results:
        print(format_row(r))
    print("\nHidden units on 256 validation samples (ActivationStats): co-adaptation = mean "
          "|correlation| between units at the end; act std = spread of the last hidden "
          "layer's activations before and after training")
    print(_UNITS_HEADER)
    for r in results:
        print(format_units_row(r))
    for line in check_claims(results):
        print("  " + line)
    paths = _plot(results, out)
    print("\nSaved " + ", ".join(str(p) for p in paths))
    return 0
