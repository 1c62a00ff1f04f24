"""``nablanet run autoencoder``: undercomplete and denoising autoencoders (chapter §9.2).

On scikit-learn's bundled 8×8 handwritten digits (pixels scaled to [0, 1], 20% held out):

1. a **dense** undercomplete autoencoder with a 2-D code :math:`h = f(x)`: the test
   reconstructions :math:`r = g(f(x))` and the code space coloured by digit class;
2. a **convolutional** undercomplete autoencoder (``Conv2D`` encoder; ``UpSampling2D`` and
   ``Conv2DTranspose`` decoder) with a ``--code-dim`` code: test reconstructions;
3. a **denoising** convolutional autoencoder trained on inputs corrupted with Gaussian noise
   (``--noise``) against clean targets: noisy inputs, their reconstructions and the clean
   images, before and after training.

The mean squared reconstruction error on the held-out digits is printed for each.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import nablanet as nb
from nablanet.data.digits import split_digits
from nablanet.experiments.extras import require_extra
from nablanet.plotting import plot_image_grid, plot_series, save_figure


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=30, help="epochs per model (default 30)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--code-dim", type=int, default=8,
                        help="code size of the convolutional autoencoders (default 8)")
    parser.add_argument("--noise", type=float, default=0.3,
                        help="std of the Gaussian corruption of the denoising model (default 0.3)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N digit images (default all 1797)")
    parser.add_argument("--learning-rate", type=float, default=3e-3,
                        help="Adam learning rate (default 3e-3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", "--output", dest="out", default="runs/autoencoder",
                        help="output folder (default runs/autoencoder)")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="progress output of fit (default 1)")


def reconstruction_mse(model: Any, x: np.ndarray) -> float:
    """Mean squared error between ``x`` and ``model.reconstruct(x)``."""
    return float(np.mean((model.reconstruct(x).reshape(x.shape) - x) ** 2))


def _pairs(top: np.ndarray, bottom: np.ndarray, n: int = 10) -> np.ndarray:
    return np.concatenate([top[:n], bottom[:n]]).reshape(-1, 8, 8)


def _fit(model: Any, x: np.ndarray, args: argparse.Namespace, name: str) -> list[float]:
    from nablanet import optimizers

    model.compile(optimizer=optimizers.Adam(args.learning_rate), loss="mse")
    print(f"-- {name}")
    history = model.fit(x, x, batch_size=args.batch_size, epochs=args.epochs,
                        verbose=args.verbose)
    return list(history.history["loss"])


def main(args: argparse.Namespace) -> int:
    import matplotlib.pyplot as plt

    from nablanet.generative import conv_autoencoder, corrupt, dense_autoencoder

    if args.epochs < 1 or args.batch_size < 1 or args.code_dim < 1:
        raise SystemExit("autoencoder: --epochs, --batch-size and --code-dim must be positive")
    require_extra("autoencoder", "examples", "the 8x8 digits")
    out = Path(args.out)
    x_train, _, x_test, y_test = split_digits(args.limit, args.seed)
    flat_train = x_train.reshape(len(x_train), 64)
    flat_test = x_test.reshape(len(x_test), 64)
    paths: list[Path] = []
    curves: dict[str, list[float]] = {}
    errors: dict[str, float] = {"predict the mean image": float(
        np.mean((x_test - x_train.mean(axis=0)) ** 2))}

    # 1. dense, 2-D code
    nb.set_random_seed(args.seed)
    dense = dense_autoencoder(64, 2, hidden_units=(64, 32))
    curves["dense (code 2)"] = _fit(dense, flat_train, args, "dense autoencoder, 2-D code")
    errors["dense, code 2"] = reconstruction_mse(dense, flat_test)
    paths.append(plot_image_grid(_pairs(flat_test, dense.reconstruct(flat_test)),
                                 out / "dense_reconstructions.png",
                                 title="Dense autoencoder (2-D code): test digits (top) and "
                                       "reconstructions g(f(x)) (bottom)", columns=10))
    codes = dense.encode(flat_test)
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(codes[:, 0], codes[:, 1], c=y_test, cmap="tab10", s=10)
    fig.colorbar(points, ax=ax, label="digit")
    ax.set_xlabel("h1")
    ax.set_ylabel("h2")
    ax.set_title("Code space h = f(x) of the test digits")
    paths.append(save_figure(fig, out / "code_space.png"))

    # 2. convolutional
    nb.set_random_seed(args.seed)
    conv = conv_autoencoder((8, 8, 1), code_dim=args.code_dim)
    curves[f"conv (code {args.code_dim})"] = _fit(conv, x_train, args,
                                                 "convolutional autoencoder")
    errors[f"conv, code {args.code_dim}"] = reconstruction_mse(conv, x_test)
    paths.append(plot_image_grid(_pairs(x_test, conv.reconstruct(x_test)),
                                 out / "conv_reconstructions.png",
                                 title="Convolutional autoencoder: test digits (top) and "
                                       "reconstructions (bottom)", columns=10))

    # 3. denoising
    nb.set_random_seed(args.seed)
    denoiser = conv_autoencoder((8, 8, 1), code_dim=args.code_dim, corruption="gaussian",
                                noise_level=args.noise, seed=args.seed)
    noisy = np.clip(corrupt(x_test, "gaussian", args.noise, np.random.default_rng(args.seed + 1)),
                    0.0, 1.0).astype(np.float32)
    before = denoiser.reconstruct(noisy)
    curves[f"denoising (noise {args.noise})"] = _fit(denoiser, x_train, args,
                                                     "denoising convolutional autoencoder")
    after = denoiser.reconstruct(noisy)
    errors["noisy input itself"] = float(np.mean((noisy - x_test) ** 2))
    errors["denoising, before training"] = float(np.mean((before - x_test) ** 2))
    errors["denoising, after training"] = float(np.mean((after - x_test) ** 2))
    grid = np.concatenate([noisy[:10], before[:10], after[:10], x_test[:10]]).reshape(-1, 8, 8)
    paths.append(plot_image_grid(grid, out / "denoising.png",
                                 title="Denoising: noisy input / output before training / "
                                       "output after training / clean", columns=10))
    paths.append(plot_series(curves, out / "losses.png", "Autoencoders: training loss (MSE)",
                             xlabel="epoch", ylabel="mse", log_y=True))

    print("mean squared reconstruction error on the held-out digits:")
    for name, value in errors.items():
        print(f"  {name:<28} {value:.4f}")
    print("saved:")
    for path in paths:
        print(f"  {path}")
    return 0
