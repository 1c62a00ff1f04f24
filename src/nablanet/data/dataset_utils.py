"""``split_dataset``: cut a dataset in two (``keras.utils.split_dataset``).

The input is a :class:`~nablanet.data.Dataset` (batched or not), a tuple or list of arrays
with the same first dimension (one component each, as Keras reads them), a single array, or
any object with ``__len__`` and ``__getitem__`` (a ``torch.utils.data.Dataset``). Its elements
are gathered in a list, optionally shuffled, and the first ``left_size`` / last
``right_size`` of them become two unbatched Datasets (batched again with the input's batch
size when the input was a batched Dataset).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from nablanet.data.dataset import Dataset, _flatten, _pack_like

__all__ = ["get_training_or_validation_split", "split_dataset"]


def get_training_or_validation_split(samples: Any, labels: Any,
                                    validation_split: float | None, subset: str | None,
                                    verbose: bool = True) -> tuple[Any, Any]:
    """``samples`` and ``labels`` restricted to a subset: the validation subset is the last
    ``int(validation_split * len(samples))`` of them, the training subset the rest (Keras's
    rule; a ``validation_split`` that rounds to no sample leaves everything for training).

    Examples
    --------
    >>> get_training_or_validation_split(list(range(10)), None, 0.2, "validation", False)
    ([8, 9], None)
    """
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    num_train = len(samples) - num_val
    if subset == "training":
        where = slice(0, num_train)
    elif subset == "validation":
        where = slice(num_train, len(samples))
    else:
        raise ValueError(f'`subset` must be either "training" or "validation", received: '
                         f"{subset}")
    if verbose:
        print(f"Using {where.stop - where.start} files for {subset}.")
    return samples[where], None if labels is None else labels[where]


def _split_sizes(left_size: Any, right_size: Any, total: int) -> tuple[int, int]:
    """Keras's rules: a float is a fraction (rounded), an int a count; None is the rest."""
    kinds = (type(left_size), type(right_size))
    if left_size is not None and kinds[0] not in (int, float):
        raise TypeError("Invalid `left_size` Type. Expected: int or float or None, "
                        f"Received: type(left_size)={kinds[0]}.")
    if right_size is not None and kinds[1] not in (int, float):
        raise TypeError("Invalid `right_size` Type. Expected: int or float or None, "
                        f"Received: type(right_size)={kinds[1]}.")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the "
                         "split sizes must be non-zero.")
    for name, size, kind in (("left_size", left_size, kinds[0]),
                             ("right_size", right_size, kinds[1])):
        if (kind is int and not 0 < size < total) or (kind is float and not 0 < size < 1):
            raise ValueError(f"`{name}` should be either a positive integer smaller than "
                             f"{total}, or a float within the range `[0, 1]`. Received: "
                             f"{name}={size}")
    if kinds == (float, float) and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must be "
                         "less than or equal to 1.")
    left = round(left_size * total) if kinds[0] is float else left_size
    right = round(right_size * total) if kinds[1] is float else right_size
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the "
                         f"{total}. Received: left_size + right_size = {left + right} and "
                         f"total_length = {total}")
    for size, side in ((left, "left"), (right, "right")):
        if size == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left} and "
                             f"`right_size`={right}. Resulting {side} side dataset split will "
                             "be empty. Adjust any of the aforementioned parameters")
    return int(left), int(right)


def _elements(dataset: Any) -> tuple[list[Any], int | None]:
    """The elements of ``dataset`` as a list of NumPy structures, and its batch size."""
    if isinstance(dataset, Dataset):
        batch_size = getattr(dataset, "_batch_size", None)
        elements = list(dataset.as_numpy_iterator())
        return elements, batch_size
    if isinstance(dataset, (tuple, list)):
        arrays = tuple(np.asarray(getattr(a, "data", a)) for a in dataset)
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            raise ValueError("split_dataset: all arrays must have the same length. Received "
                             f"lengths {[len(a) for a in arrays]}")
        return [tuple(a[i] for a in arrays) for i in range(lengths.pop())], None
    if isinstance(dataset, np.ndarray) or hasattr(dataset, "data") and isinstance(
            getattr(dataset, "data", None), np.ndarray):
        array = np.asarray(getattr(dataset, "data", dataset))
        return list(array), None
    if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        return [_to_numpy(dataset[i]) for i in range(len(dataset))], None
    raise TypeError("The `dataset` argument must be either a `tf.data.Dataset`-like nablanet "
                    "Dataset, a list/tuple of arrays, or an indexable dataset (with `__len__` and "
                    f"`__getitem__`). Received: dataset={dataset!r} of type {type(dataset)}")


def _to_numpy(element: Any) -> Any:
    if isinstance(element, dict):
        return {k: _to_numpy(v) for k, v in element.items()}
    if isinstance(element, (tuple, list)):
        return tuple(_to_numpy(v) for v in element)
    if hasattr(element, "numpy"):
        return np.asarray(element.numpy())
    return np.asarray(element)


def _from_elements(elements: list[Any]) -> Dataset:
    """An unbatched Dataset over ``elements`` (stacked into arrays per component)."""
    first = elements[0]
    leaves = [np.stack([np.asarray(v) for v in column])
              for column in zip(*(_flatten(e) for e in elements))]
    structure = _pack_like(first, iter(leaves))
    return Dataset.from_tensor_slices(structure)


def split_dataset(dataset: Any, left_size: int | float | None = None,
                  right_size: int | float | None = None, shuffle: bool = False,
                  seed: int | None = None, preferred_backend: str | None = None
                  ) -> tuple[Dataset, Dataset]:
    """Split ``dataset`` into a left and a right :class:`~nablanet.data.Dataset`.

    Parameters
    ----------
    dataset : Dataset, tuple/list of arrays, array, or indexable dataset
    left_size, right_size : int, float or None
        A float in (0, 1) is a fraction of the elements (rounded), an int a count; None
        is the complement of the other (at least one is required).
    shuffle : bool
        Shuffle the elements (with ``seed``) before splitting.
    seed : int, optional
    preferred_backend : None, 'tensorflow' or 'torch'
        Accepted for Keras compatibility; the result is always nablanet's Dataset.

    Examples
    --------
    >>> left, right = split_dataset((np.arange(10), np.arange(10) * 2), left_size=0.8)
    >>> int(left.cardinality()), int(right.cardinality())
    (8, 2)
    """
    if preferred_backend not in (None, "tensorflow", "torch"):
        raise ValueError("`preferred_backend` must be None, 'tensorflow' or 'torch'. "
                         f"Received: preferred_backend={preferred_backend!r}")
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         "Received: left_size=None and right_size=None")
    elements, batch_size = _elements(dataset)
    if isinstance(dataset, Dataset) and batch_size is not None:
        elements = [e for batch in elements for e in _unbatch(batch)]
    if shuffle:
        if seed is None:
            seed = random.randint(0, int(1e6))
        random.Random(seed).shuffle(elements)
    left, right = _split_sizes(left_size, right_size, len(elements))
    left_ds = _from_elements(elements[:left])
    right_ds = _from_elements(elements[-right:])
    if batch_size is not None:
        left_ds, right_ds = left_ds.batch(batch_size), right_ds.batch(batch_size)
    return left_ds, right_ds


def _unbatch(batch: Any) -> list[Any]:
    leaves = _flatten(batch)
    return [_pack_like(batch, iter([leaf[i] for leaf in leaves])) for i in range(len(leaves[0]))]
