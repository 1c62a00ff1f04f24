"""``nablanet run compress``: compress the one-conv rock-paper-scissors model's Dense layer.

The chapter's one-conv model (§7.4: ``Conv2D(16, 3)`` + ``MaxPooling2D(2)``, ``Flatten``,
``Dense(128, relu)``, ``Dense(3)``) keeps 8.1 of its 8.13 M weights in the ``Dense(128)``
layer (63·63·16 = 63,504 inputs at 128×128). This job

1. trains that model as ``nablanet run cnn --depths 1`` does (same data, preprocessing,
   optimiser and early stopping) and measures its test accuracy and training-step time;
2. for each TT rank in ``--ranks``, replaces the Dense layer by a
   :class:`~nablanet.layers.TTDense` initialised from the TT-matrix decomposition of the
   trained kernel (:func:`~nablanet.layers.decomposed.compress_layer`; the kernel is viewed
   as a (63, 63, 16) × (8, 4, 4) TT-matrix, so the cores follow the image's rows, columns and
   channels), evaluates it, fine-tunes the whole model for ``--fine-tune-epochs`` and
   evaluates again;
3. prints a table (weights in the layer, compression, test accuracy before and after
   fine-tuning, training-step time), writes ``results.json`` and plots test accuracy and
   step time against the number of weights in the layer, with the uncompressed model as the
   reference line (``compression.png`` in ``--out``, default ``runs/compress``).

Usage::

    nablanet run compress                                   # the chapter's settings
    nablanet run compress --ranks 2 8 --max-train 60 --max-test 30 --image-size 32 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from nablanet.utils import limit_threads

#: TT ranks tried by default.
DEFAULT_RANKS = (2, 4, 8, 16, 32)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ranks", type=int, nargs="+", default=list(DEFAULT_RANKS),
                        metavar="R", help="TT ranks of the compressed Dense layer "
                                          f"(default {' '.join(map(str, DEFAULT_RANKS))})")
    parser.add_argument("--epochs", type=int, default=10,
                        help="maximum epochs to train the uncompressed model (early stopping "
                             "as the chapter; default 10)")
    parser.add_argument("--fine-tune-epochs", type=int, default=1,
                        help="epochs of fine-tuning per compressed model (default 1)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--image-size", type=int, default=128,
                        help="side the images are resized to (default 128)")
    parser.add_argument("--out", "--output", dest="out", default="runs/compress",
                        help="output folder (default runs/compress)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the Rock Paper Scissors archives (see nablanet run "
                             "cnn --help)")
    parser.add_argument("--dataset", choices=["auto", "real", "generated"], default="auto",
                        help="'auto' (default): real data when found, else the generated set")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--max-train", type=int, default=None, metavar="N",
                        help="use only the first N training images (for quick runs)")
    parser.add_argument("--max-test", type=int, default=None, metavar="N",
                        help="use only the first N test images (for quick runs)")
    parser.add_argument("--timing-steps", type=int, default=10,
                        help="training steps timed per model (median; default 10)")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for BLAS and numba (default 0: all cores)")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1,
                        help="fit/evaluate verbosity (default 1)")


def _check_args(args: argparse.Namespace) -> None:
    for name in ("epochs", "fine_tune_epochs", "batch_size", "image_size", "timing_steps"):
        if getattr(args, name) < 1:
            raise SystemExit(f"compress: --{name.replace('_', '-')} must be a positive "
                             f"integer. Received: {getattr(args, name)}")
    if any(r < 1 for r in args.ranks):
        raise SystemExit(f"compress: --ranks must be positive integers. Received: {args.ranks}")
    if args.image_size < 4:
        raise SystemExit(f"compress: --image-size must be at least 4. "
                         f"Received: {args.image_size}")
    if args.max_train is not None and args.max_train < 4:
        raise SystemExit(f"compress: --max-train must be at least 4. Received: {args.max_train}")
    if args.max_test is not None and args.max_test < 1:
        raise SystemExit(f"compress: --max-test must be at least 1. Received: {args.max_test}")


def step_seconds(model: Any, x: np.ndarray, y: np.ndarray, steps: int) -> float:
    """Median wall time of one training step (``train_on_batch``) on a fixed batch."""
    model.train_on_batch(x, y)  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def plot(results: list[dict[str, Any]], reference: dict[str, Any], path: Path) -> None:
    """Test accuracy and step time against the weights in the layer, reference lines dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights = [r["layer_weights"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(weights, [r["test_accuracy"] for r in results], "o-", label="TT, fine-tuned")
    left.plot(weights, [r["test_accuracy_before_fine_tuning"] for r in results], "s:",
              alpha=0.7, label="TT, before fine-tuning")
    left.axhline(reference["test_accuracy"], color="k", ls="--",
                 label=f"Dense ({reference['layer_weights']:,} weights)")
    left.set_xscale("log")
    left.set_xlabel("weights in the compressed layer")
    left.set_ylabel("test accuracy")
    left.set_title("Test accuracy")
    left.legend(fontsize=8)
    right.plot(weights, [1e3 * r["step_seconds"] for r in results], "o-", label="TT")
    right.axhline(1e3 * reference["step_seconds"], color="k", ls="--", label="Dense")
    right.set_xscale("log")
    right.set_xlabel("weights in the compressed layer")
    right.set_ylabel("training step (ms)")
    right.set_title("Training-step time")
    right.legend(fontsize=8)
    left.grid(alpha=0.3)
    right.grid(alpha=0.3)
    fig.suptitle("One-conv model: its Dense(128) layer as a TT-matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(args: argparse.Namespace) -> int:
    _check_args(args)
    with limit_threads(args.threads):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import nablanet as nb
    from nablanet import layers, losses
    from nablanet.data import Dataset
    from nablanet.experiments import cnn
    from nablanet.layers.decomposed import balanced_factors, compress_layer

    started = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    nb.set_random_seed(args.seed)
    splits, source = cnn.load_splits(args)
    print(source)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
        (cnn.preprocess(images, args.image_size), np.asarray(labels, dtype=np.int64))
        for images, labels in splits)
    ds_train = Dataset.from_tensor_slices((x_train, y_train)).shuffle(
        cnn.SHUFFLE_BUFFER_SIZE).batch(args.batch_size)
    ds_val = Dataset.from_tensor_slices((x_val, y_val)).batch(args.batch_size)
    ds_test = Dataset.from_tensor_slices((x_test, y_test)).batch(args.batch_size)
    batch = min(args.batch_size, len(y_train))
    x_step, y_step = x_train[:batch], y_train[:batch]

    model = cnn.build_model(1, args.image_size)
    dense = next(layer for layer in model.layers if isinstance(layer, layers.Dense))
    print(f"\n=== the one-conv model: {model.count_params():,} weights, "
          f"{dense.count_params():,} in {dense.name} ===", flush=True)
    model.fit(ds_train, epochs=args.epochs, validation_data=ds_val,
              callbacks=[cnn.chapter_early_stopping()], verbose=args.verbose)
    _, accuracy = model.evaluate(ds_test, verbose=args.verbose)
    reference = {"layer_weights": dense.count_params(), "total_weights": model.count_params(),
                 "test_accuracy": float(accuracy),
                 "step_seconds": step_seconds(model, x_step, y_step, args.timing_steps)}
    print(f"uncompressed: test accuracy {accuracy:.4f}, step "
          f"{1e3 * reference['step_seconds']:.1f} ms", flush=True)

    # The Dense input is the flattened (rows, columns, channels) of the pooled feature map.
    side = (args.image_size - 2) // 2
    input_factors = (side, side, cnn.FILTERS[0])
    output_factors = balanced_factors(dense.units, 3)
    results = []
    for rank in args.ranks:
        compressed = compress_layer(model, dense, rank=rank, input_factors=input_factors,
                                    output_factors=output_factors)
        compressed.compile(optimizer="adam",
                           loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                           metrics=["accuracy"])
        tt = compressed.layers[model.layers.index(dense)]
        print(f"\n=== TT rank {rank}: ranks {tt.tt_ranks}, {tt.count_params():,} weights "
              f"({dense.count_params() / tt.count_params():.0f}x fewer) ===", flush=True)
        _, before = compressed.evaluate(ds_test, verbose=0)
        start = time.perf_counter()
        compressed.fit(ds_train, epochs=args.fine_tune_epochs, verbose=args.verbose)
        tune_seconds = time.perf_counter() - start
        _, after = compressed.evaluate(ds_test, verbose=0)
        seconds = step_seconds(compressed, x_step, y_step, args.timing_steps)
        results.append({"rank": rank, "tt_ranks": list(tt.tt_ranks),
                        "layer_weights": tt.count_params(),
                        "total_weights": compressed.count_params(),
                        "compression": dense.count_params() / tt.count_params(),
                        "test_accuracy_before_fine_tuning": float(before),
                        "test_accuracy": float(after), "step_seconds": seconds,
                        "fine_tune_seconds": tune_seconds})
        print(f"rank {rank}: test accuracy {before:.4f} before, {after:.4f} after fine-tuning; "
              f"step {1e3 * seconds:.1f} ms", flush=True)

    plot(results, reference, out / "compression.png")
    total = time.perf_counter() - started
    (out / "results.json").write_text(json.dumps(
        {"data": source, "image_size": args.image_size, "batch_size": args.batch_size,
         "epochs": args.epochs, "fine_tune_epochs": args.fine_tune_epochs, "seed": args.seed,
         "input_factors": list(input_factors), "output_factors": list(output_factors),
         "uncompressed": reference, "compressed": results, "total_seconds": total}, indent=2))
    print("\nDense(128) of the one-conv model as a TT-matrix "
          f"({' x '.join(map(str, input_factors))}) x ({' x '.join(map(str, output_factors))})")
    print(f"{'layer':>10} {'weights':>10} {'fewer':>7} {'acc before':>10} {'test acc':>8} "
          f"{'Δ acc':>7} {'step ms':>8}")
    print(f"{'Dense':>10} {reference['layer_weights']:>10,} {1:>6}x {'':>10} "
          f"{reference['test_accuracy']:>8.4f} {'':>7} {1e3 * reference['step_seconds']:>8.1f}")
    for r in results:
        delta = 100 * (r["test_accuracy"] - reference["test_accuracy"])
        print(f"{'TT r=' + str(r['rank']):>10} {r['layer_weights']:>10,} "
              f"{r['compression']:>6.0f}x {r['test_accuracy_before_fine_tuning']:>10.4f} "
              f"{r['test_accuracy']:>8.4f} {delta:>+6.1f}p {1e3 * r['step_seconds']:>8.1f}")
    print(f"\ncompression.png and results.json are in {out.resolve()}; total time {total:.0f}s.")
    return 0
