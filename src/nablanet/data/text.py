"""``text_dataset_from_directory``: a dataset of text files and labels, as in Keras.

Texts come out as NumPy string arrays (``str``, decoded as UTF-8): nablanet's Tensors are
numeric, so a Dataset passes string components through as arrays (Keras gives ``tf.string``
tensors, or Python strings with ``format='grain'``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nablanet.data.dataset import Dataset
from nablanet.data.dataset_utils import get_training_or_validation_split

__all__ = ["text_dataset_from_directory"]


def _text_files(directory: str, follow_links: bool) -> list[str]:
    """``.txt`` files under ``directory`` (recursively), as sorted relative paths."""
    found = []
    for root, dirs, files in os.walk(directory, followlinks=follow_links):
        dirs.sort()
        found += [os.path.relpath(os.path.join(root, f), directory) for f in files
                  if f.lower().endswith(".txt")]
    return sorted(found)


def _check_validation_split(validation_split: float | None, subset: str | None,
                            shuffle: bool, seed: int | None) -> None:
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide "
                         "a `seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")


def text_dataset_from_directory(
    directory: str | os.PathLike[str],
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    batch_size: int | None = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    format: str = "tf",  # noqa: A002 - Keras's name
    verbose: bool = True,
) -> Dataset | list[Dataset]:
    """A dataset of ``.txt`` files (and labels) from a directory tree, as in Keras.

    With ``labels='inferred'`` the directory holds one subdirectory per class (files found
    recursively inside it); classes are the sorted subdirectory names, or ``class_names``
    (a subset, in the order given). With ``labels=None`` (or ``label_mode=None``) every
    ``.txt`` file under ``directory`` is used and the elements are the texts alone.

    Parameters
    ----------
    directory : path
    labels : 'inferred', None, or a list of ints (one per file, in sorted path order)
    label_mode : {'int', 'categorical', 'binary', None}
        int32 indices, float32 one-hot vectors, float32 ``(..., 1)`` 0/1 values, or no labels.
    class_names : list of str, optional
    batch_size : int or None
    max_length : int, optional
        Keep only the first ``max_length`` characters of each text.
    shuffle : bool
        Shuffle the file order once (with ``seed``) and each epoch's elements (a buffer of
        ``8 * batch_size``).
    seed : int, optional
    validation_split : float, optional
        The last ``int(validation_split * n)`` files (after shuffling) are the validation
        subset.
    subset : {'training', 'validation', 'both'}, optional
    follow_links : bool
    format : 'tf'
        Keras's ``'grain'`` makes a Grain dataset; nablanet makes its own Dataset.
    verbose : bool
        Print how many files (and classes) were found.

    Returns
    -------
    Dataset (``[training, validation]`` for ``subset='both'``) with a ``class_names``
    attribute; elements ``(texts, labels)`` or ``texts``.
    """
    directory = os.fspath(directory)
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size "
                "as the number of text files in the target directory. If you wish to infer the "
                "labels from the subdirectory names in the target directory, pass "
                '`labels="inferred"`. If you wish to get a dataset that only contains text '
                f"samples (no labels), pass `labels=None`. Received: labels={labels}")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", '
                         f"or None. Received: label_mode={label_mode}")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if format == "grain":
        raise ValueError("text_dataset_from_directory: format='grain' makes a Grain dataset, "
                         "which nablanet does not have; use format='tf' (the default).")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    _check_validation_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(np.random.randint(1_000_000))

    # -- index the files (Keras's order: class by class, sorted paths) ------------------------
    names: list[str] | None
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the "
                                 f"subdirectories of the target directory. Expected: {subdirs} "
                                 f"(or a subset of it), but received: class_names={class_names}")
            subdirs = list(class_names)
        names = subdirs
        paths, label_list = [], []
        for index, sub in enumerate(subdirs):
            files = _text_files(os.path.join(directory, sub), follow_links)
            paths += [os.path.join(directory, sub, f) for f in files]
            label_list += [index] * len(files)
        label_array: np.ndarray | None = np.asarray(label_list, dtype=np.int32)
    else:
        if class_names is not None:
            raise ValueError(
                "When `labels=None` (no labels), argument `class_names` cannot be specified."
                if labels is None else
                "When argument `labels` is specified, argument `class_names` cannot be "
                "specified (the `class_names` will be the sorted list of labels).")
        paths = [os.path.join(directory, f) for f in _text_files(directory, follow_links)]
        if labels is None:
            names, label_array = None, None
        else:
            if len(labels) != len(paths):
                raise ValueError("Expected the lengths of `labels` to match the number of files "
                                 f"in the target directory. len(labels) is {len(labels)} while "
                                 f"we found {len(paths)} files in directory {directory}.")
            names = [str(v) for v in sorted(set(labels))]  # type: ignore[arg-type]
            label_array = np.asarray(labels, dtype=np.int32)
    if verbose:
        if label_array is None:
            print(f"Found {len(paths)} files.")
        else:
            print(f"Found {len(paths)} files belonging to {len(names or [])} classes.")
    if shuffle:
        order = np.arange(len(paths))
        np.random.RandomState(seed).shuffle(order)
        paths = [paths[i] for i in order]
        if label_array is not None:
            label_array = label_array[order]
    if label_mode == "binary" and len(names or []) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={names}")

    wanted: list[str | None] = ["training", "validation"] if subset == "both" else [subset]
    results = []
    for part in wanted:
        part_paths, part_labels = get_training_or_validation_split(
            paths, label_array, validation_split, part, verbose)
        if not part_paths:
            what = f"{part} " if subset == "both" else ""
            raise ValueError(f"No {what}text files found in directory {directory}. "
                             "Allowed format: .txt")
        ds = _text_dataset(part_paths, part_labels, label_mode, len(names or []), max_length)
        if shuffle and not (subset == "both" and part == "validation"):
            ds = ds.shuffle(8 * batch_size if batch_size else 1024, seed=seed)
        if batch_size is not None:
            ds = ds.batch(batch_size)
        ds.class_names = names  # type: ignore[attr-defined]
        results.append(ds)
    return results if subset == "both" else results[0]


def _text_dataset(paths: list[str], labels: np.ndarray | None, label_mode: str | None,
                  num_classes: int, max_length: int | None) -> Dataset:
    label_values: np.ndarray | None
    if labels is None or label_mode is None:
        label_values = None
    elif label_mode == "int":
        label_values = labels.astype(np.int32)
    elif label_mode == "binary":
        label_values = labels.astype(np.float32)[:, None]
    else:
        label_values = np.eye(num_classes, dtype=np.float32)[labels]

    def read(path: str) -> np.ndarray:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return np.asarray(text if max_length is None else text[:max_length])

    def make_iterator() -> Iterator[Any]:
        for i, path in enumerate(paths):
            yield read(path) if label_values is None else (read(path), label_values[i])

    return Dataset(make_iterator, len(paths))
