"""``nablanet run cnn``: the chapter's rock-paper-scissors experiment (§7.4), end to end.

What the chapter does, step by step:

1. **Data.** The Rock Paper Scissors data set (2,520 training and 372 test images, 300×300
   RGB) when it is present -- the published ``rps.zip`` / ``rps-test-set.zip`` or their
   extracted folders in ``--data-dir``, ``$NABLANET_DATA_DIR`` or
   ``~/.nablanet/datasets/rock_paper_scissors`` -- and otherwise the generated stand-in that
   ships with nablanet (:mod:`nablanet.data.generated`, same sizes and classes, and a test
   split of hands unlike the training hands, as in the real data). The job says which it
   used; ``--download`` fetches the published archives (230 MB) first. The generated set is
   drawn once at 300×300 and cached compressed (14 MB); each run resizes it to
   ``--image-size`` on load.
2. **Preprocessing** as the chapter's ``preprocess``: ``tf.cast(image, tf.float32) / 255``,
   ``tf.image.resize(image, [128, 128])`` (bilinear); the training split is ``train[:70%]``,
   validation ``train[70%:]``, test ``test``; training data shuffled with a buffer of 1,000
   and everything batched by 32. Images are preprocessed once, as arrays, instead of in a
   ``map`` on every pass (the values are the same).
3. **Models** with one to four blocks ``Conv2D(16·2^k, (3, 3), activation='relu')`` +
   ``MaxPooling2D((2, 2))``, then ``Flatten``, ``Dense(128, activation='relu')``,
   ``Dense(3)``; compiled with ``'adam'``, ``SparseCategoricalCrossentropy(from_logits=True)``
   and ``metrics=['accuracy']``; trained for ``--epochs`` (10) with the chapter's
   ``EarlyStopping(monitor='val_loss', min_delta=0.001, patience=3, verbose=1, mode='auto',
   restore_best_weights=True)``; evaluated on the test split.
4. **Outputs** per model in ``--out`` (default ``runs/cnn``): ``cnn_<d>conv.safetensors``
   (``model.save``; reload with ``nablanet.models.load_model``), ``learning_curves_<d>conv.png``,
   ``correct_<d>conv.png`` and ``incorrect_<d>conv.png`` (the chapter's 5×5 prediction grids),
   ``confusion_<d>conv.png``; for the run ``val_accuracy_by_depth.png`` and ``results.json``.
   The progress lines, each model's test accuracy and a comparison table (with the chapter's
   own test accuracies on the real data) are printed.

Speed: the chapter's four models at 128×128, batch 32, up to 10 epochs each. By default BLAS
and numba use all cores (``--threads 0``, the libraries' own default): the convolution and
dense primitives split each batch over the BLAS thread count (``benchmarks/cnn.py`` measures
the step at each thread count; docs/performance.md has the figures). When other
processes share the cores, ``--threads 1`` can be faster, because OpenBLAS's idle threads
spin.

Several workers: ``mpiexec -n 2 nablanet run cnn`` runs the same job on two MPI workers
(:mod:`nablanet.distribute`): every batch of 32 is split among them, gradients are averaged
each step, and only worker 0 prints and writes the outputs. The global batch stays 32, so
the training is the one-worker training (same steps, same learning rate); ``--threads 0``
then means the machine's cores divided among its workers.

Usage::

    nablanet run cnn                                  # the chapter's settings
    nablanet run cnn --depths 1 4 --epochs 5 --out runs/cnn-quick
    nablanet run cnn --data-dir ~/data/rps            # the published data set
    nablanet run cnn --download                       # download it first (230 MB)
    mpiexec -n 2 nablanet run cnn                     # two workers, global batch 32
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from nablanet.utils import limit_threads

#: Filters of the k-th convolutional block (the chapter's 16, 32, 64, 128).
FILTERS = (16, 32, 64, 128)
#: The chapter's test accuracies on the published data (§7.4), by depth.
CHAPTER_TEST_ACCURACY = {1: 0.7151, 2: 0.7634, 3: 0.7930, 4: 0.9409}
CLASS_NAMES = ("rock", "paper", "scissors")
SHUFFLE_BUFFER_SIZE = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=10,
                        help="maximum epochs per model; early stopping may end sooner "
                             "(default 10, as the chapter)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--image-size", type=int, default=128,
                        help="side the images are resized to (default 128)")
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 4],
                        choices=[1, 2, 3, 4], metavar="D",
                        help="numbers of convolutional layers to train (default 1 2 3 4)")
    parser.add_argument("--out", "--output", dest="out", default="runs/cnn",
                        help="output folder (default runs/cnn)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with rps.zip and rps-test-set.zip (or the extracted rps/ "
                             "and rps-test-set/ folders); default: $NABLANET_DATA_DIR, then "
                             "~/.nablanet/datasets/rock_paper_scissors")
    parser.add_argument("--dataset", choices=["auto", "real", "generated"], default="auto",
                        help="'auto' (default) uses the real data when found and the generated "
                             "set otherwise; 'real' fails when the data is missing")
    parser.add_argument("--download", action="store_true",
                        help="download the published Rock Paper Scissors archives first "
                             "(230 MB, into --data-dir or the default folder) when they are "
                             "not on disk")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--max-train", type=int, default=None, metavar="N",
                        help="use only the first N training images (70%% train, 30%% "
                             "validation); for quick runs")
    parser.add_argument("--max-test", type=int, default=None, metavar="N",
                        help="use only the first N test images; for quick runs")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for BLAS and numba (default 0: the libraries' own "
                             "default, all cores, or under mpiexec the cores divided among "
                             "the machine's workers; 1 can be faster when other jobs share "
                             "the cores)")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1,
                        help="fit/evaluate verbosity (default 1: the progress lines)")


# -- data --------------------------------------------------------------------------------------
def _split_specs(max_train: int | None, max_test: int | None) -> list[str]:
    """The chapter's splits, or the same proportions of the first ``max_train`` images."""
    if max_train is None:
        train, val = "train[:70%]", "train[70%:]"
    else:
        cut = round(0.7 * max_train)
        train, val = f"train[:{cut}]", f"train[{cut}:{max_train}]"
    return [train, val, "test" if max_test is None else f"test[:{max_test}]"]


def load_splits(args: argparse.Namespace) -> tuple[list[tuple[Any, np.ndarray]], str]:
    """``[(images, labels)]`` for train, validation and test (uint8 images) and a sentence
    saying which data set they come from."""
    from nablanet import data
    from nablanet.data import generated

    specs = _split_specs(args.max_train, args.max_test)
    if args.dataset in ("auto", "real"):
        if getattr(args, "download", False):
            from nablanet.data.download import DownloadError
            from nablanet.data.rock_paper_scissors import download

            try:
                download(data_dir=args.data_dir)
            except (DownloadError, ValueError) as exc:
                raise SystemExit(f"cnn: {exc}") from exc
        try:
            parts = data.load("rock_paper_scissors", split=specs, as_supervised=True,
                              batch_size=-1, data_dir=args.data_dir, download=False)
        except FileNotFoundError:
            if args.dataset == "real":
                raise
            from nablanet.data.rock_paper_scissors import default_search_dirs

            looked = [Path(args.data_dir)] if args.data_dir else default_search_dirs()
            note = (f"The Rock Paper Scissors data set (rps.zip, rps-test-set.zip or their "
                    f"folders) was not found in {', '.join(map(str, looked))}; using the "
                    f"generated stand-in instead (--download fetches the real data, 230 MB; "
                    f"see also --data-dir).")
        else:
            return ([(x.data, y.data) for x, y in parts],
                    f"Data: the Rock Paper Scissors data set (real images), splits {specs}.")
    else:
        note = "Using the generated stand-in (--dataset generated)."
    print(note, flush=True)
    size = args.image_size
    if args.max_train is None and args.max_test is None:
        # the whole set, resized to --image-size from the one cache (drawn once at 300x300)
        parts = data.load("rock_paper_scissors_generated", split=specs, as_supervised=True,
                          batch_size=-1, image_size=size)
        splits = [(x.data, y.data) for x, y in parts]
        drawn = (f"cached at {generated.CANONICAL_SIZE}x{generated.CANONICAL_SIZE} in "
                 f"{generated.cache_path(0)}, resized to {size}x{size}")
    else:  # a quick run: draw just the images asked for, at --image-size, no cache
        n_train = args.max_train or generated.SPLIT_SIZES["train"]
        n_test = args.max_test or generated.SPLIT_SIZES["test"]
        train = generated.generate_split("train", size, 0, num_examples=n_train)
        test = generated.generate_split("test", size, 0, num_examples=n_test)
        cut = round(0.7 * n_train)
        splits = [(train["image"][:cut], train["label"][:cut]),
                  (train["image"][cut:], train["label"][cut:]),
                  (test["image"], test["label"])]
        drawn = f"drawn at {size}x{size}"
    return splits, ("Data: generated rock-paper-scissors images (nablanet.data.generated, "
                    f"{drawn}; the test hands are unlike the training hands), splits {specs}.")


def preprocess(images: Any, image_size: int, chunk: int = 256) -> np.ndarray:
    """The chapter's ``preprocess`` on a whole split: ``cast(image, float32) / 255`` then
    ``resize(image, [size, size])`` (bilinear), in chunks to bound memory."""
    from nablanet.data import cast, resize

    out = np.empty((len(images), image_size, image_size, 3), dtype=np.float32)
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk]
        if isinstance(part, list):  # images of different sizes: one at a time
            for i, image in enumerate(part):
                scaled = cast(image, np.float32) / 255.0
                out[start + i] = resize(scaled, [image_size, image_size]).data
            continue
        scaled = cast(part, np.float32) / 255.0
        out[start:start + len(part)] = resize(scaled, [image_size, image_size]).data
    return out


# -- models ------------------------------------------------------------------------------------
def min_image_size(depth: int) -> int:
    """Smallest input side that ``depth`` blocks of 3×3 'valid' conv + 2×2 pool accept."""
    size = 1
    for _ in range(depth):
        size = 2 * size + 2
    return size


def build_model(depth: int, image_size: int) -> Any:
    """The chapter's model with ``depth`` convolutional layers, compiled as the chapter does."""
    from nablanet import layers, losses, models

    stack: list[Any] = [layers.Input(shape=(image_size, image_size, 3))]
    for filters in FILTERS[:depth]:
        stack += [layers.Conv2D(filters, (3, 3), activation="relu"),
                  layers.MaxPooling2D((2, 2))]
    stack += [layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(3)]
    model = models.Sequential(stack, name=f"cnn_{depth}conv")
    model.compile(optimizer="adam",
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def chapter_early_stopping() -> Any:
    """The chapter's callback: stop when ``val_loss`` has not improved by 0.001 for 3 epochs."""
    from nablanet.callbacks import EarlyStopping

    return EarlyStopping(monitor="val_loss", min_delta=0.001, patience=3, verbose=1,
                         mode="auto", restore_best_weights=True)


# -- the job -----------------------------------------------------------------------------------
def _check_args(args: argparse.Namespace) -> None:
    for name in ("epochs", "batch_size", "image_size"):
        if getattr(args, name) < 1:
            raise SystemExit(f"cnn: --{name.replace('_', '-')} must be a positive integer. "
                             f"Received: {getattr(args, name)}")
    if args.threads < 0:
        raise SystemExit(f"cnn: --threads must be 0 (the libraries' default) or a positive "
                         f"integer. Received: {args.threads}")
    for name in ("max_train", "max_test"):
        value = getattr(args, name)
        if value is not None and value < (4 if name == "max_train" else 1):
            raise SystemExit(f"cnn: --{name.replace('_', '-')} must be at least "
                             f"{4 if name == 'max_train' else 1}. Received: {value}")
    if getattr(args, "download", False) and args.dataset == "generated":
        raise SystemExit("cnn: --download fetches the real data set; it does not go with "
                         "--dataset generated")
    deepest = max(args.depths)
    if args.image_size < min_image_size(deepest):
        raise SystemExit(f"cnn: --image-size {args.image_size} is too small for {deepest} "
                         f"convolutional layers (3x3 conv + 2x2 pool each); it needs at "
                         f"least {min_image_size(deepest)}")


def main(args: argparse.Namespace) -> int:
    _check_args(args)
    from nablanet import distribute

    threads = args.threads
    if not distribute.is_distributed():
        with limit_threads(threads):
            return _run(args)
    # Under mpiexec: the cores of a machine are shared by its workers, and only worker 0
    # prints and writes (fit splits every batch of 32 among the workers).
    if threads == 0:
        threads = max(1, (os.cpu_count() or 1) // distribute.local_size())
    with limit_threads(threads), contextlib.ExitStack() as stack:
        if distribute.rank() != 0:
            stack.enter_context(contextlib.redirect_stdout(open(os.devnull, "w")))  # noqa: SIM115
        else:
            print(f"{distribute.size()} workers, {threads} thread(s) each; the global batch "
                  f"of {args.batch_size} is split among them.", flush=True)
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import nablanet as nb
    from nablanet import plotting
    from nablanet.data import Dataset

    started = time.perf_counter()
    writer = nb.distribute.rank() == 0  # under mpiexec only worker 0 writes files
    out = Path(args.out)
    if writer:
        out.mkdir(parents=True, exist_ok=True)
    nb.set_random_seed(args.seed)  # tf.keras.utils.set_random_seed(42)

    splits, source = load_splits(args)
    print(source)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
        (preprocess(images, args.image_size), np.asarray(labels, dtype=np.int64))
        for images, labels in splits
    )
    print(f"train {len(y_train)}, validation {len(y_val)}, test {len(y_test)} images, resized "
          f"to {args.image_size}x{args.image_size}; batch size {args.batch_size}; "
          f"prepared in {time.perf_counter() - started:.1f}s", flush=True)

    ds_train = Dataset.from_tensor_slices((x_train, y_train)).shuffle(
        SHUFFLE_BUFFER_SIZE).batch(args.batch_size)
    ds_val = Dataset.from_tensor_slices((x_val, y_val)).batch(args.batch_size)
    ds_test = Dataset.from_tensor_slices((x_test, y_test)).batch(args.batch_size)

    results: list[dict[str, Any]] = []
    curves: dict[str, list[float]] = {}
    for depth in sorted(set(args.depths)):
        tag = f"{depth}conv"
        model = build_model(depth, args.image_size)
        print(f"\n=== {depth} convolutional layer{'s' if depth > 1 else ''} "
              f"(filters {', '.join(map(str, FILTERS[:depth]))}; "
              f"{model.count_params():,} parameters) ===", flush=True)
        early_stop = chapter_early_stopping()
        start = time.perf_counter()
        history = model.fit(ds_train, epochs=args.epochs, validation_data=ds_val,
                            callbacks=[early_stop], verbose=args.verbose)
        train_seconds = time.perf_counter() - start
        test_loss, test_accuracy = model.evaluate(ds_test, verbose=args.verbose)
        print(f"{depth} conv: test loss {test_loss:.4f}, test accuracy {test_accuracy:.4f}",
              flush=True)

        logits = model.predict(x_test, batch_size=args.batch_size, verbose=0)
        predicted = np.argmax(logits, axis=1)
        true_labels, predicted_labels = y_test.tolist(), predicted.tolist()
        correct = np.where(predicted == y_test)[0].tolist()
        incorrect = np.where(predicted != y_test)[0].tolist()
        files = {
            "model": out / f"cnn_{tag}.safetensors",
            "learning_curves": out / f"learning_curves_{tag}.png",
            "correct": out / f"correct_{tag}.png",
            "incorrect": out / f"incorrect_{tag}.png",
            "confusion": out / f"confusion_{tag}.png",
        }
        title = f"{depth} convolutional layer{'s' if depth > 1 else ''}"
        matrix = plotting.confusion_matrix(true_labels, predicted_labels, len(CLASS_NAMES))
        if writer:
            model.save(files["model"])
            plotting.plot_learning_curves(history, files["learning_curves"], title=title)
            plotting.plot_predictions(x_test, true_labels, predicted_labels, correct,
                                      f"Correct Predictions ({title})", files["correct"],
                                      class_names=CLASS_NAMES)
            plotting.plot_predictions(x_test, true_labels, predicted_labels, incorrect,
                                      f"Incorrect Predictions ({title})", files["incorrect"],
                                      class_names=CLASS_NAMES)
            plotting.plot_confusion_matrix(matrix, files["confusion"],
                                           class_names=CLASS_NAMES,
                                           title=f"Confusion matrix, test set ({title})")
        logs = history.history
        epochs_run = len(logs["loss"])
        best_epoch = int(np.argmin(logs["val_loss"])) + 1
        curves[f"{depth} conv"] = list(logs["val_accuracy"])
        results.append({
            "depth": depth, "filters": list(FILTERS[:depth]), "params": model.count_params(),
            "epochs_run": epochs_run, "best_epoch": best_epoch,
            "best_val_loss": float(logs["val_loss"][best_epoch - 1]),
            "best_val_accuracy": float(logs["val_accuracy"][best_epoch - 1]),
            "test_loss": float(test_loss), "test_accuracy": float(test_accuracy),
            "chapter_test_accuracy": CHAPTER_TEST_ACCURACY[depth],
            "train_seconds": train_seconds,
            "seconds_per_epoch": train_seconds / max(epochs_run, 1),
            "confusion_matrix": matrix.tolist(),
            "history": {k: [float(v) for v in vals] for k, vals in logs.items()},
            "files": {k: str(v) for k, v in files.items()},
        })
        print(f"saved {files['model']}, {files['learning_curves'].name}, "
              f"{files['correct'].name}, {files['incorrect'].name}, "
              f"{files['confusion'].name}", flush=True)

    if writer and (len(curves) > 1 or any(len(v) > 1 for v in curves.values())):
        plotting.plot_series(curves, out / "val_accuracy_by_depth.png",
                             "Validation accuracy by number of convolutional layers",
                             xlabel="epoch", ylabel="val_accuracy")
    total = time.perf_counter() - started
    summary = {"data": source, "image_size": args.image_size, "batch_size": args.batch_size,
               "epochs": args.epochs, "seed": args.seed, "total_seconds": total,
               "models": results}
    if writer:
        (out / "results.json").write_text(json.dumps(summary, indent=2))

    print("\nComparison (test accuracy of the restored best weights; the chapter's is on the "
          "real data)")
    print(f"{'conv layers':>11} {'params':>11} {'epochs':>6} {'best':>4} {'val_loss':>9} "
          f"{'val_acc':>7} {'test_loss':>9} {'test_acc':>8} {'chapter':>7} {'s/epoch':>7}")
    for r in results:
        print(f"{r['depth']:>11} {r['params']:>11,} {r['epochs_run']:>6} {r['best_epoch']:>4} "
              f"{r['best_val_loss']:>9.4f} {r['best_val_accuracy']:>7.4f} "
              f"{r['test_loss']:>9.4f} {r['test_accuracy']:>8.4f} "
              f"{r['chapter_test_accuracy']:>7.4f} {r['seconds_per_epoch']:>7.1f}")
    print(f"\nFigures, models and results.json are in {out.resolve()}; total time {total:.0f}s.")
    return 0
