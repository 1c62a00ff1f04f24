"""``nablanet run vae``: a variational autoencoder on the 8×8 digits (chapter §9.2).

A dense VAE with a ``--latent-dim`` code (2 by default, so the latent space can be drawn):
the encoder gives :math:`\\mu` and :math:`\\log\\sigma^2`, the ``Sampling`` layer draws
:math:`z = \\mu + \\sigma \\odot \\varepsilon` and the decoder maps :math:`z` to pixel
probabilities. The loss is the binary cross-entropy summed over the 64 pixels plus the KL
term :math:`-\\frac12\\sum(1 + \\log\\sigma^2 - \\mu^2 - \\sigma^2)`, averaged over the batch.

Saved: test reconstructions, samples :math:`g(z)` with :math:`z \\sim \\mathcal N(0, I)`
drawn from the prior, a traversal grid of the first two latent coordinates over the
normal quantiles 5%..95% (the others held at 0), and the loss curves.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import nablanet as nb
from nablanet.plotting import plot_image_grid, plot_series


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=60, help="epochs (default 60)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--latent-dim", type=int, default=2, help="size of z (default 2)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 64],
                        help="hidden units of the encoder (decoder mirrors them)")
    parser.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (default 1)")
    parser.add_argument("--grid", type=int, default=10, help="traversal grid size (default 10)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N digit images (default all 1797)")
    parser.add_argument("--learning-rate", type=float, default=2e-3,
                        help="Adam learning rate (default 2e-3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", "--output", dest="out", default="runs/vae",
                        help="output folder (default runs/vae)")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="progress output of fit (default 1)")


def _normal_quantiles(n: int) -> np.ndarray:
    """``n`` quantiles of N(0, 1) evenly spaced in probability from 5% to 95%."""
    from statistics import NormalDist

    return np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)])


def main(args: argparse.Namespace) -> int:
    from nablanet import optimizers
    from nablanet.data.digits import split_digits
    from nablanet.experiments.extras import require_extra
    from nablanet.generative import dense_vae

    if min(args.epochs, args.batch_size, args.latent_dim, args.grid) < 1:
        raise SystemExit("vae: --epochs, --batch-size, --latent-dim and --grid must be positive")
    require_extra("vae", "examples", "the 8x8 digits")
    out = Path(args.out)
    x_train, _, x_test, _ = split_digits(args.limit, args.seed)
    x_train = x_train.reshape(len(x_train), 64)
    x_test = x_test.reshape(len(x_test), 64)
    nb.set_random_seed(args.seed)
    vae = dense_vae(64, args.latent_dim, hidden_units=tuple(args.hidden), beta=args.beta)
    vae.compile(optimizer=optimizers.Adam(args.learning_rate))
    history = vae.fit(x_train, batch_size=args.batch_size, epochs=args.epochs,
                      validation_data=(x_test, x_test), verbose=args.verbose)
    logs = history.history
    test = vae.evaluate(x_test, batch_size=len(x_test), verbose=0, return_dict=True)
    print("test: " + " - ".join(f"{k}: {v:.4f}" for k, v in test.items()))
    rec = vae.reconstruct(x_test)
    print(f"test mean squared error of g(mu): {float(np.mean((rec - x_test) ** 2)):.4f}")

    paths = [plot_image_grid(np.concatenate([x_test[:10], rec[:10]]).reshape(-1, 8, 8),
                             out / "reconstructions.png",
                             title="VAE: test digits (top) and reconstructions g(mu) (bottom)",
                             columns=10)]
    paths.append(plot_image_grid(vae.sample(40).reshape(-1, 8, 8), out / "prior_samples.png",
                                 title="VAE: samples g(z), z ~ N(0, I)", columns=10))
    q = _normal_quantiles(args.grid)
    z = np.zeros((args.grid * args.grid, args.latent_dim), np.float32)
    rows, cols = np.meshgrid(q[::-1], q, indexing="ij")
    z[:, 0] = cols.ravel()
    if args.latent_dim > 1:
        z[:, 1] = rows.ravel()
    paths.append(plot_image_grid(vae.decode(z).reshape(-1, 8, 8), out / "latent_traversal.png",
                                 title="VAE: latent traversal (z1 left to right, z2 bottom to "
                                       "top, normal quantiles 5%..95%)", columns=args.grid))
    series = {k: v for k, v in logs.items()}
    paths.append(plot_series(series, out / "losses.png", "VAE: loss terms per epoch",
                             xlabel="epoch", ylabel="nats per image"))
    print("saved:")
    for path in paths:
        print(f"  {path}")
    return 0
