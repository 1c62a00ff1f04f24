"""``nablanet run gan``: generative adversarial networks (chapter §9.1).

Two GANs trained with :class:`nablanet.generative.GAN` (alternating discriminator and
generator steps, each network with its own Adam optimizer):

1. **2-D mixture of Gaussians**: ``--modes`` Gaussians (std ``--mode-std``) on a circle of
   radius 2. The generator starts as a blob near the origin; the figure shows real and
   generated samples at several points of training, and the mean distance from a generated
   sample to its nearest mode (printed per snapshot) falls as the samples move onto the
   modes.
2. **8×8 digits** (scikit-learn's bundled handwritten digits, scaled to [-1, 1]): a small
   dense GAN trained for 200 epochs (5,600 steps; about a minute on two cores), after which
   most samples are recognisable digits; a grid generated from the same noise is saved at
   ``--snapshots`` points of training (``digits_epoch_NNN.png``), so the digits can be
   watched forming out of noise, next to real ones (``digits_real.png``).

The progress line shows ``d_loss``, ``g_loss`` and the mean discriminator outputs ``D(x)`` on
real and ``D(G(z))`` on generated samples (both tend to 1/2 at equilibrium).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import nablanet as nb
from nablanet.callbacks import Callback
from nablanet.experiments.extras import require_extra
from nablanet.plotting import plot_image_grid, plot_series, save_figure


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--part", choices=("mixture", "digits", "both"), default="both",
                        help="which GAN(s) to train (default both)")
    parser.add_argument("--epochs", type=int, default=60,
                        help="epochs of the 2-D mixture GAN (default 60)")
    parser.add_argument("--digits-epochs", type=int, default=200,
                        help="epochs of the digits GAN (default 200)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--samples", type=int, default=2048,
                        help="size of the 2-D training set (default 2048)")
    parser.add_argument("--modes", type=int, default=8, help="Gaussians in the mixture (default 8)")
    parser.add_argument("--mode-std", type=float, default=0.05,
                        help="standard deviation of each Gaussian (default 0.05)")
    parser.add_argument("--digits-limit", type=int, default=None,
                        help="use only the first N digit images (default all 1797)")
    parser.add_argument("--latent-dim", type=int, default=None,
                        help="noise size (default 8 for the mixture, 32 for digits)")
    parser.add_argument("--generator-loss", choices=("non_saturating", "minimax"),
                        default="non_saturating", help="generator objective")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="Adam learning rate (default 1e-3 mixture, 5e-4 digits)")
    parser.add_argument("--snapshots", type=int, default=4,
                        help="training points shown in the mixture figure, and digit grids "
                             "saved (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", "--output", dest="out", default="runs/gan",
                        help="output folder (default runs/gan)")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="progress output of fit (default 1)")


def gaussian_mixture(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from ``modes`` Gaussians on a circle; returns ``(points, centres)``."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(modes) / modes
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    points = centres[rng.integers(0, modes, n)] + std * rng.standard_normal((n, 2))
    return points.astype(np.float32), centres.astype(np.float32)


def mode_distance(samples: np.ndarray, centres: np.ndarray) -> float:
    """Mean Euclidean distance from each sample to its nearest mode centre."""
    d = np.sqrt(((samples[:, None, :] - centres[None]) ** 2).sum(-1))
    return float(d.min(axis=1).mean())


def modes_covered(samples: np.ndarray, centres: np.ndarray, std: float) -> int:
    """Modes with at least 1% of the samples within 3 standard deviations (+0.1)."""
    d = np.sqrt(((samples[:, None, :] - centres[None]) ** 2).sum(-1))
    near = d.argmin(axis=1)[d.min(axis=1) < 3 * std + 0.1]
    counts = np.bincount(near, minlength=len(centres))
    return int((counts >= 0.01 * len(samples)).sum())


def _dense(units: int, *extra: Any) -> list[Any]:
    from nablanet import layers

    return [layers.Dense(units), layers.LeakyReLU(0.2), *extra]


def mixture_gan(latent_dim: int = 8, learning_rate: float = 1e-3,
                generator_loss: str = "non_saturating") -> Any:
    """The 2-D GAN: two 64-unit hidden layers in each network (compiled)."""
    from nablanet import layers, optimizers
    from nablanet.generative import GAN
    from nablanet.models.sequential import Sequential

    generator = Sequential([layers.Input(shape=(latent_dim,)),
                            layers.Dense(64, activation="relu"),
                            layers.Dense(64, activation="relu"), layers.Dense(2)],
                           name="generator")
    discriminator = Sequential([layers.Input(shape=(2,)), *_dense(64), *_dense(64),
                                layers.Dense(1)], name="discriminator")
    gan = GAN(discriminator, generator, latent_dim=latent_dim)
    gan.compile(d_optimizer=optimizers.Adam(learning_rate, beta_1=0.5),
                g_optimizer=optimizers.Adam(learning_rate, beta_1=0.5),
                generator_loss=generator_loss)
    return gan


def digits_gan(latent_dim: int = 32, learning_rate: float = 5e-4,
               generator_loss: str = "non_saturating") -> Any:
    """The digits GAN: dense networks on 64 pixels in [-1, 1] (tanh output)."""
    from nablanet import layers, optimizers
    from nablanet.generative import GAN
    from nablanet.models.sequential import Sequential

    generator = Sequential([layers.Input(shape=(latent_dim,)), *_dense(128), *_dense(128),
                            layers.Dense(64, activation="tanh")], name="generator")
    discriminator = Sequential([layers.Input(shape=(64,)), *_dense(128, layers.Dropout(0.3)),
                                *_dense(64), layers.Dense(1)], name="discriminator")
    gan = GAN(discriminator, generator, latent_dim=latent_dim)
    gan.compile(d_optimizer=optimizers.Adam(learning_rate, beta_1=0.5),
                g_optimizer=optimizers.Adam(learning_rate, beta_1=0.5),
                generator_loss=generator_loss)
    return gan


class _Snapshots(Callback):
    """Records generated samples (fixed noise) and their distance to the modes."""

    def __init__(self, gan: Any, z: np.ndarray, centres: np.ndarray, at: set[int]) -> None:
        super().__init__()
        self.gan, self.z, self.centres, self.at = gan, z, centres, at
        self.samples: list[tuple[int, np.ndarray]] = []
        self.distances: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        samples = self.gan.sample(len(self.z), z=self.z)
        self.distances.append(mode_distance(samples, self.centres))
        if epoch + 1 in self.at:
            self.samples.append((epoch + 1, samples))


def run_mixture(args: argparse.Namespace, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    x, centres = gaussian_mixture(args.samples, args.modes, std=args.mode_std, seed=args.seed)
    nb.set_random_seed(args.seed)
    gan = mixture_gan(args.latent_dim or 8, args.learning_rate or 1e-3, args.generator_loss)
    z = gan.latent_noise(1000)
    start = gan.sample(len(z), z=z)
    d0 = mode_distance(start, centres)
    count = max(1, min(args.snapshots, args.epochs))
    at = {int(round(args.epochs * (i + 1) / count)) for i in range(count)}
    snaps = _Snapshots(gan, z, centres, at)
    print(f"2-D mixture: {args.modes} Gaussians (std {args.mode_std}) on a circle of radius 2, "
          f"{args.samples} samples")
    history = gan.fit(x, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose,
                      callbacks=[snaps])
    print("mean distance of generated samples to the nearest mode:")
    print(f"  epoch {0:>3}: {d0:.3f}")
    for epoch, samples in snaps.samples:
        print(f"  epoch {epoch:>3}: {mode_distance(samples, centres):.3f} "
              f"({modes_covered(samples, centres, args.mode_std)}/{args.modes} modes covered)")
    panels = [(0, start)] + snaps.samples
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, (epoch, samples) in zip(axes[0], panels):
        ax.scatter(x[:1000, 0], x[:1000, 1], s=3, c="tab:blue", alpha=0.4, label="real")
        ax.scatter(samples[:, 0], samples[:, 1], s=3, c="tab:orange", alpha=0.5,
                   label="generated")
        ax.set_title(f"epoch {epoch}: distance {mode_distance(samples, centres):.2f}",
                     fontsize=9)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(loc="upper left", fontsize=7, markerscale=3)
    fig.suptitle("GAN on a 2-D mixture of Gaussians: real vs generated samples")
    paths = [save_figure(fig, out / "mixture_samples.png")]
    paths.append(plot_series({"distance to nearest mode": [d0] + snaps.distances},
                             out / "mixture_distance.png",
                             "Generated samples approach the modes",
                             xlabel="epoch (0: before training)",
                             ylabel="mean distance to the nearest mode",
                             x=list(range(len(snaps.distances) + 1))))
    logs = history.history
    paths.append(plot_series({"d_loss": logs["d_loss"], "g_loss": logs["g_loss"],
                              "D(x)": logs["D(x)"], "D(G(z))": logs["D(G(z))"]},
                             out / "mixture_losses.png", "2-D GAN: losses and scores",
                             xlabel="epoch", ylabel="value"))
    return paths


class _DigitGrids(Callback):
    """Saves a grid of digits generated from fixed noise after each epoch in ``at``."""

    def __init__(self, gan: Any, z: np.ndarray, out: Path, at: set[int]) -> None:
        super().__init__()
        self.gan, self.z, self.out, self.at = gan, z, out, at
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch + 1 not in self.at:
            return
        images = (self.gan.sample(len(self.z), z=self.z).reshape(-1, 8, 8) + 1.0) / 2.0
        self.paths.append(plot_image_grid(images, self.out / f"digits_epoch_{epoch + 1:03d}.png",
                                          title=f"GAN samples after epoch {epoch + 1}",
                                          columns=8))


def run_digits(args: argparse.Namespace, out: Path) -> list[Path]:
    from nablanet.data.digits import load_digit_images

    images, _ = load_digit_images(args.digits_limit)
    x = (images.reshape(len(images), 64) * 2.0 - 1.0).astype(np.float32)
    nb.set_random_seed(args.seed)
    gan = digits_gan(args.latent_dim or 32, args.learning_rate or 5e-4, args.generator_loss)
    count = max(1, min(args.snapshots, args.digits_epochs))
    at = {int(round(args.digits_epochs * (i + 1) / count)) for i in range(count)}
    grids = _DigitGrids(gan, gan.latent_noise(32), out, at)
    print(f"8x8 digits: {len(x)} images")
    real = plot_image_grid(images[:32, ..., 0], out / "digits_real.png",
                           title="Real digits (for comparison with the samples)", columns=8)
    history = gan.fit(x, batch_size=args.batch_size, epochs=args.digits_epochs,
                      verbose=args.verbose, callbacks=[grids])
    logs = history.history
    loss_path = plot_series({"d_loss": logs["d_loss"], "g_loss": logs["g_loss"],
                             "D(x)": logs["D(x)"], "D(G(z))": logs["D(G(z))"]},
                            out / "digits_losses.png", "Digits GAN: losses and scores",
                            xlabel="epoch", ylabel="value")
    return [real, *grids.paths, loss_path]


def main(args: argparse.Namespace) -> int:
    for name in ("epochs", "digits_epochs", "batch_size", "samples", "modes", "snapshots"):
        if getattr(args, name) < 1:
            raise SystemExit(f"gan: --{name.replace('_', '-')} must be positive")
    if args.part in ("digits", "both"):  # before the mixture GAN trains
        require_extra("gan", "examples", "the 8x8 digits of --part digits")
    out = Path(args.out)
    paths: list[Path] = []
    if args.part in ("mixture", "both"):
        paths += run_mixture(args, out)
    if args.part in ("digits", "both"):
        paths += run_digits(args, out)
    print("saved:")
    for path in paths:
        print(f"  {path}")
    return 0
