"""``nablanet run vec2seq``: a vector-to-sequence RNN (chapter §8.1) draws a curve from its
parameters.

The vector :math:`(A, 10\\lambda, \\omega, \\cos\\varphi, \\sin\\varphi)` of a damped oscillation
:math:`y_t = A e^{-\\lambda t}\\sin(\\omega t + \\varphi)` is mapped to the initial state of a GRU
and repeated as its input at every step (``RepeatVector``); ``TimeDistributed(Dense(1))``
reads :math:`y_t` from :math:`h_t`. ``T`` is the length of the *output* sequence (ERRATA 8.1).

With the defaults the test RMSE is about 0.05 for curves of amplitude 0.5–1.5 (predicting the
mean curve gives ≈ 0.46); the figure ``runs/vec2seq/vec2seq.png`` shows test curves and their
reconstructions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nablanet.experiments import sequence_data as data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data.add_common_arguments(parser, epochs=30, samples=2000, units=48, out="runs/vec2seq")
    parser.add_argument("--steps", type=int, default=40, help="output length T (default 40)")


def build_model(units: int, steps: int):  # noqa: ANN201 - a functional Model
    """``vector → Dense(units, tanh) → GRU initial state``, ``RepeatVector(steps)`` as input."""
    from nablanet import layers, models

    params = layers.Input(shape=(5,), name="parameters")
    h0 = layers.Dense(units, activation="tanh")(params)
    repeated = layers.RepeatVector(steps)(params)
    hidden = layers.GRU(units, return_sequences=True)(repeated, initial_state=h0)
    curve = layers.TimeDistributed(layers.Dense(1))(hidden)
    return models.Model(params, curve)


def main(args: argparse.Namespace) -> int:
    import nablanet as nb
    from nablanet import optimizers
    from nablanet.plotting import save_figure

    data.check_positive("vec2seq", args, "epochs", "samples", "units", "batch_size", "steps")
    out = Path(args.out)
    nb.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    params, curves = data.damped_curves(args.samples, args.steps, rng)
    n_test = max(args.samples // 4, 16)
    p_test, c_test = data.damped_curves(n_test, args.steps, rng)
    model = build_model(args.units, args.steps)
    model.compile(optimizer=optimizers.Adam(learning_rate=0.005, clipnorm=1.0), loss="mse")
    timer = data.Timer()
    data.announce(args, f"vec2seq: training Dense → GRU({args.units}) initial state, "
                        f"RepeatVector input, on {args.samples} curves")
    history = model.fit(params, curves, epochs=args.epochs, batch_size=args.batch_size,
                        verbose=args.verbose)
    seconds = timer.seconds
    predicted = model.predict(p_test, verbose=0)
    rmse = float(np.sqrt(np.mean((predicted - c_test) ** 2)))
    baseline = float(np.sqrt(np.mean((c_test - curves.mean(axis=0)) ** 2)))
    print(f"vec2seq: parameters → Dense → GRU({args.units}) initial state, RepeatVector "
          f"input, T = {args.steps}; {args.samples} curves, {args.epochs} epochs in "
          f"{seconds:.1f} s")
    print(f"  training loss {history.history['loss'][0]:.4f} → {history.history['loss'][-1]:.4f}")
    print(f"  test RMSE {rmse:.4f} (predicting the mean curve: {baseline:.4f})")

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharex=True)
    t = np.arange(args.steps)
    for ax, i in zip(axes.ravel(), range(6)):
        ax.plot(t, c_test[i, :, 0], "k-", lw=1.5, label="true curve")
        ax.plot(t, predicted[i, :, 0], "o", ms=3, label="generated")
        a, lam10, omega = p_test[i, :3]
        ax.set_title(f"A={a:.2f}, λ={lam10 / 10:.3f}, ω={omega:.2f}")
    for ax in axes[-1]:
        ax.set_xlabel("output step t")
    for ax in axes[:, 0]:
        ax.set_ylabel("y_t")
    axes[0, 0].legend()
    fig.suptitle(f"Vector to sequence: GRU generating a curve from its parameters — test RMSE "
                 f"{rmse:.3f}")
    png = save_figure(fig, out / "vec2seq.png")
    data.write_summary(out, history, seconds, rmse=rmse, baseline_rmse=baseline)
    print(f"Saved {png}")
    return 0
