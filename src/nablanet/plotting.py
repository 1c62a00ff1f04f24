"""The chapter's figures: learning curves, prediction grids, confusion matrices, comparisons.

Every function saves a PNG, closes its figure and returns the path. Outside a notebook
matplotlib's non-interactive Agg backend is selected (no window opens on a desktop, nothing
fails on a headless machine); inside a Jupyter kernel the notebook's own backend is left as
it is, so the notebook's inline figures keep working after ``nablanet.plotting`` is imported.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 100) -> Path:
    """Save ``fig`` as a PNG at ``path`` atomically (temporary file, then rename) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent, prefix=f".{path.stem}-")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _history_dict(history: Any) -> Mapping[str, Sequence[float]]:
    return history.history if hasattr(history, "history") else history


def plot_learning_curves(history: Any, path: str | os.PathLike[str],
                         title: str | None = None) -> Path:
    """Loss and accuracy per epoch for training and validation, as in the chapter's §7.4.

    ``history`` is a ``History`` (from ``fit``) or its ``history`` dict. One panel per
    metric that has values (``loss``, then each other metric), each with its ``val_`` twin.
    """
    logs = _history_dict(history)
    names = [k for k in logs if not k.startswith("val_")]
    if not names:
        raise ValueError("plot_learning_curves: the history holds no metrics")
    names.sort(key=lambda k: (k != "loss", k))
    fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], marker="o", label=name)
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], marker="o", label=f"val_{name}")
        ax.set_title(f"{name.capitalize()} evolution during training")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.replace("_", " "))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_predictions(images: np.ndarray, true_labels: Sequence[int],
                     predicted_labels: Sequence[int], indices: Sequence[int], title: str,
                     path: str | os.PathLike[str], class_names: Sequence[str] | None = None,
                     count: int = 25) -> Path:
    """A 5×5 grid of the first ``count`` images at ``indices`` with true and predicted labels.

    This is the chapter's ``plot_predictions``; images are HWC floats in [0, 1] or uint8.
    Each caption is two lines (``true: ...`` over ``predicted: ...``, green when they agree,
    red otherwise) so that neighbouring captions never run together.
    """
    def label(i: int) -> str:
        return class_names[i] if class_names is not None else str(i)

    indices = list(indices)[:count]
    columns = 5
    rows = max(1, int(np.ceil(len(indices) / columns)))
    fig = plt.figure(figsize=(2.2 * columns, 2.5 * rows + 0.6), layout="constrained")
    for k, index in enumerate(indices):
        ax = fig.add_subplot(rows, columns, k + 1)
        image = np.asarray(images[index])
        ax.imshow(np.clip(image, 0, 1) if image.dtype.kind == "f" else image)
        colour = "green" if true_labels[index] == predicted_labels[index] else "red"
        ax.set_title(f"true: {label(int(true_labels[index]))}\n"
                     f"predicted: {label(int(predicted_labels[index]))}", fontsize=9,
                     color=colour)
        ax.axis("off")
    if not indices:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no images in this group", ha="center", va="center")
        ax.axis("off")
    fig.suptitle(title)
    return save_figure(fig, path)


def confusion_matrix(true_labels: Sequence[int], predicted_labels: Sequence[int],
                     num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of class ``i`` predicted as class ``j``.

    Examples
    --------
    >>> confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], 3).tolist()
    [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    """
    true = np.asarray(true_labels, dtype=np.int64)
    predicted = np.asarray(predicted_labels, dtype=np.int64)
    if true.shape != predicted.shape:
        raise ValueError(f"confusion_matrix: {true.shape} labels but "
                         f"{predicted.shape} predictions")
    for name, labels in (("true", true), ("predicted", predicted)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} labels must lie in [0, {num_classes}); "
                             f"got range [{labels.min()}, {labels.max()}]")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    return matrix


def plot_confusion_matrix(matrix: np.ndarray, path: str | os.PathLike[str],
                          class_names: Sequence[str] | None = None,
                          title: str = "Confusion matrix") -> Path:
    """Draw a confusion matrix with counts in the cells (rows: true class, columns: predicted)."""
    matrix = np.asarray(matrix)
    n = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    fig, ax = plt.subplots(figsize=(1.2 * n + 2, 1.2 * n + 1.5))
    ax.imshow(matrix, cmap="Blues")
    for i in range(n):
        for j in range(n):
            colour = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=colour)
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return save_figure(fig, path)


def plot_series(series: Mapping[str, Sequence[float]], path: str | os.PathLike[str],
                title: str, xlabel: str = "step", ylabel: str = "loss",
                log_y: bool = False, x: Sequence[float] | None = None) -> Path:
    """Several named curves on one axis (loss curves of optimisers, accuracies by depth...).

    The curves are drawn at ``x`` (e.g. layer counts ``[1, 2, 3, 4, 6]``, each marked on the
    axis when there are at most 12), or at 1, 2, 3, ... (epochs, steps) when ``x`` is None.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, values in series.items():
        if x is None:
            ax.plot(np.arange(1, len(values) + 1), values, label=name)
        else:
            if len(x) != len(values):
                raise ValueError(f"plot_series: {len(x)} x values for the {len(values)} "
                                 f"values of {name!r}")
            ax.plot(x, values, "o-" if len(x) <= 20 else "-", label=name)
    if x is not None and len(x) <= 12:
        ax.set_xticks(list(x))  # few values (layer counts): mark each one
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def plot_image_grid(images: np.ndarray, path: str | os.PathLike[str], title: str = "",
                    columns: int = 8, labels: Sequence[str] | None = None,
                    cmap: str | None = None) -> Path:
    """Images (N, H, W) or (N, H, W, C) in a grid, optionally captioned (samples,
    reconstructions)."""
    images = np.asarray(images)
    n = len(images)
    rows = max(1, int(np.ceil(n / columns)))
    fig = plt.figure(figsize=(1.5 * columns, 1.5 * rows + (0.5 if title else 0)))
    for k in range(n):
        ax = fig.add_subplot(rows, columns, k + 1)
        image = images[k]
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(np.clip(image, 0, 1) if image.dtype.kind == "f" else image,
                  cmap=cmap or ("gray" if image.ndim == 2 else None))
        if labels is not None:
            ax.set_title(labels[k], fontsize=7)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
