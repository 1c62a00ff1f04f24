"""Generated data sets and shared helpers of the chapter's recurrent-network jobs (§8).

One generator per task, each a pure function of its arguments and a NumPy generator:

* :func:`waveforms` — noisy sine / square / sawtooth waves of varying length (sequence to
  vector, ``nablanet run seq2vec``);
* :func:`damped_curves` — a damped oscillation from its parameters (vector to sequence,
  ``vec2seq``);
* :func:`noisy_signals` — a smooth signal and its noisy version, step by step (sequence to
  sequence, ``seq2seq``);
* :func:`addition_problems` — ``"57+8"`` → ``"65"`` as token ids (encoder–decoder,
  ``encoder-decoder``);
* :func:`recall_task` — remember the first symbol over a growing delay (long-term memory,
  ``memory``).

The jobs print their figures, save a plot and a ``summary.json`` (first and last training
loss, the final metrics, the time) in their output folder.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

WAVE_NAMES = ("sine", "square", "sawtooth")

# token ids of the addition task: 0 pads, digits are 1..10
PAD, PLUS, START, END = 0, 11, 12, 13
VOCABULARY = 14


def waveforms(n: int, min_length: int, max_length: int, noise: float,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` noisy periodic waves of random kind, period, phase and length.

    Returns ``x`` of shape ``(n, max_length, 1)`` (zero after each sequence's end), the
    ``lengths`` and the ``labels`` (0 sine, 1 square, 2 sawtooth). The amplitude varies too,
    and every value of a real step is shifted away from exactly 0 so that ``Masking(0.0)``
    masks only the padding.
    """
    labels = rng.integers(0, 3, n)
    lengths = rng.integers(min_length, max_length + 1, n)
    period = rng.uniform(8.0, 20.0, n)[:, None]
    phase = rng.uniform(0.0, 1.0, n)[:, None]
    amplitude = rng.uniform(0.6, 1.2, n)[:, None]
    cycles = np.arange(max_length)[None, :] / period + phase
    frac = cycles % 1.0
    waves = np.stack([np.sin(2 * np.pi * cycles), np.where(frac < 0.5, 1.0, -1.0),
                      2.0 * frac - 1.0])
    x = amplitude * waves[labels, np.arange(n)] + noise * rng.standard_normal((n, max_length))
    x[x == 0.0] = 1e-6
    x[np.arange(max_length)[None, :] >= lengths[:, None]] = 0.0
    return x[..., None].astype(np.float32), lengths, labels


def damped_curves(n: int, steps: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    r"""Parameters and samples of :math:`y_t = A e^{-\lambda t} \sin(\omega t + \varphi)`.

    The parameter vector is :math:`(A, 10\lambda, \omega, \cos\varphi, \sin\varphi)` with
    :math:`A \in [0.5, 1.5]`, :math:`\lambda \in [0, 0.08]`, :math:`\omega \in [0.15, 0.6]`
    (radians per step); the curve has ``steps`` samples: ``(n, 5)`` and ``(n, steps, 1)``.
    """
    a = rng.uniform(0.5, 1.5, n)
    lam = rng.uniform(0.0, 0.08, n)
    omega = rng.uniform(0.15, 0.6, n)
    phi = rng.uniform(0.0, 2 * np.pi, n)
    t = np.arange(steps)[None, :]
    y = a[:, None] * np.exp(-lam[:, None] * t) * np.sin(omega[:, None] * t + phi[:, None])
    params = np.stack([a, 10 * lam, omega, np.cos(phi), np.sin(phi)], axis=1)
    return params.astype(np.float32), y[..., None].astype(np.float32)


def noisy_signals(n: int, steps: int, noise: float, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A smooth signal (sum of two random sines) and the same plus Gaussian noise of standard
    deviation ``noise``: ``(noisy, clean)``, both ``(n, steps, 1)``."""
    t = np.arange(steps)[None, :]
    clean = np.zeros((n, steps))
    for _ in range(2):
        omega = rng.uniform(0.05, 0.35, n)[:, None]
        clean += rng.uniform(0.3, 0.7, n)[:, None] * np.sin(omega * t
                                                            + rng.uniform(0, 2 * np.pi, n)[:, None])
    noisy = clean + noise * rng.standard_normal(clean.shape)
    return noisy[..., None].astype(np.float32), clean[..., None].astype(np.float32)


def encode_number(value: int) -> list[int]:
    """Digits as token ids (digit ``d`` is ``d + 1``)."""
    return [int(c) + 1 for c in str(value)]


def decode_tokens(tokens: Any) -> str:
    """Token ids back to text up to the first END (pads skipped)."""
    chars = []
    for tok in tokens:
        tok = int(tok)
        if tok == END:
            break
        if 1 <= tok <= 10:
            chars.append(str(tok - 1))
        elif tok == PLUS:
            chars.append("+")
    return "".join(chars)


def addition_problems(pairs: np.ndarray, digits: int) -> dict[str, np.ndarray]:
    """Token arrays of ``a+b`` → ``a+b`` 's sum for the integer ``pairs`` ``(n, 2)``.

    ``encoder`` ``(n, 2·digits+1)``: ``a``, ``+``, ``b``, right-padded with 0 (masked by
    ``Embedding(mask_zero=True)``); ``decoder_in`` ``(n, digits+2)``: START then the sum's
    digits (teacher forcing); ``target`` ``(n, digits+2)``: the sum's digits then END, padded
    with END. The input (2·digits+1 steps) and output (≤ digits+2 steps) lengths differ.
    """
    n = len(pairs)
    enc = np.zeros((n, 2 * digits + 1), dtype=np.int64)
    dec_in = np.full((n, digits + 2), END, dtype=np.int64)
    target = np.full((n, digits + 2), END, dtype=np.int64)
    for i, (a, b) in enumerate(pairs):
        tokens = encode_number(int(a)) + [PLUS] + encode_number(int(b))
        enc[i, :len(tokens)] = tokens
        out = encode_number(int(a) + int(b))
        dec_in[i, 0] = START
        dec_in[i, 1:len(out) + 1] = out
        target[i, :len(out)] = out
    return {"encoder": enc, "decoder_in": dec_in, "target": target}


def recall_task(n: int, length: int, symbols: int, rng: np.random.Generator,
                noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Remember the first symbol: step 0 holds a one-hot symbol (and a marker channel set to
    1), the next ``length - 1`` steps hold Gaussian noise of standard deviation ``noise`` on
    the symbol channels; the label is the first symbol. Chance level is ``1 / symbols``.
    Returns ``x`` ``(n, length, symbols + 1)`` and the labels."""
    labels = rng.integers(0, symbols, n)
    x = np.zeros((n, length, symbols + 1), dtype=np.float32)
    x[:, 1:, :symbols] = noise * rng.standard_normal((n, length - 1, symbols))
    x[np.arange(n), 0, labels] = 1.0
    x[:, 0, symbols] = 1.0
    return x, labels


# --- shared helpers of the jobs -------------------------------------------------------------


def add_common_arguments(parser: argparse.ArgumentParser, *, epochs: int, samples: int,
                         units: int, out: str) -> None:
    """``--epochs``, ``--samples``, ``--units``, ``--batch-size``, ``--seed``, ``--out``
    (alias ``--output``), ``--verbose``."""
    parser.add_argument("--epochs", type=int, default=epochs,
                        help=f"training epochs (default {epochs})")
    parser.add_argument("--samples", type=int, default=samples,
                        help=f"training sequences (default {samples})")
    parser.add_argument("--units", type=int, default=units,
                        help=f"recurrent units (default {units})")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", "--output", dest="out", default=out,
                        help=f"output folder (default {out})")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="progress output while training: 0 none, 1 progress bar, "
                             "2 one line per epoch (default 1)")


def announce(args: argparse.Namespace, text: str) -> None:
    """Print ``text`` (what is about to be trained) when ``--verbose`` is not 0."""
    if args.verbose:
        print(text, flush=True)


def check_positive(job: str, args: argparse.Namespace, *names: str) -> None:
    for name in names:
        value = getattr(args, name)
        if value < 1:
            raise SystemExit(f"{job}: --{name.replace('_', '-')} must be positive "
                             f"(got {value})")


class Timer:
    """Wall-clock seconds since creation (``Timer().seconds``)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def write_summary(out: Path, history: Any, seconds: float, **metrics: Any) -> dict[str, Any]:
    """Write ``summary.json`` (first/last training loss, metrics, seconds) and return it."""
    losses = history.history["loss"] if hasattr(history, "history") else list(history)
    summary = {"first_loss": float(losses[0]), "last_loss": float(losses[-1]),
               "seconds": round(float(seconds), 2),
               **{k: (float(v) if isinstance(v, (float, np.floating)) else v)
                  for k, v in metrics.items()}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
