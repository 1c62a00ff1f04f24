"""Turning the ``x, y, sample_weight`` given to ``fit``/``evaluate``/``predict`` into batches.

Two kinds of input are accepted:

* **arrays** -- NumPy arrays, Tensors, nested lists of numbers, or a list/tuple/dict of those
  for models with several inputs (outputs). They are validated once (same number of samples,
  not empty, finite), float64 is converted to float32 once, and batches are slices (views)
  or, when shuffling, gathers by a permutation drawn from nablanet's seeded generator.
* **iterables of batches** -- a :class:`nablanet.data.Dataset`, a
  :class:`nablanet.utils.PyDataset`, a re-iterable object such as a list of batches, or a
  one-shot iterator such as a generator, yielding ``x``, ``(x,)``, ``(x, y)`` or
  ``(x, y, sample_weight)`` per batch. ``Dataset.cardinality()``, ``PyDataset.num_batches``
  or ``len()`` give the number of batches when known.

Epochs follow Keras 3. Without ``steps_per_epoch`` an epoch is one pass over the data. With
it, the batches continue across epochs, and an epoch ends after ``steps_per_epoch`` batches
or when the current pass runs out (with Keras's "ran out of data" warning); the next epoch
starts a fresh pass. A one-shot iterator has only one pass: once it is exhausted the handler
warns and sets :attr:`DataHandler.exhausted`, and ``fit`` stops training.

A batch is handed to ``train_step`` packed as Keras packs it: ``x`` alone when there is no
``y`` (and ``x`` is a single array), else a tuple ``(x, y)`` or ``(x, y, sample_weight)``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.random import generator

__all__ = ["DataHandler", "pack_x_y_sample_weight", "unpack_x_y_sample_weight"]


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from a packed batch (missing parts are None)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`. "
        f"Received a tuple of length {len(data)}"
    )


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The inverse of :func:`unpack_x_y_sample_weight` (Keras's packing)."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _map(fn: Any, structure: Any) -> Any:
    if structure is None:
        return None
    if isinstance(structure, (list, tuple)) and not _is_leaf_list(structure):
        return type(structure)(_map(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: _map(fn, v) for k, v in structure.items()}
    return fn(structure)


def _is_leaf_list(value: Any) -> bool:
    """A (nested) list of Python numbers -- one array written as lists, not a list of arrays."""
    if not isinstance(value, list) or not value:
        return False
    first: Any = value
    while isinstance(first, list) and first:
        first = first[0]
    return isinstance(first, (int, float, bool, np.number))


def flatten(structure: Any) -> list[Any]:
    """The leaves of a nested list/tuple/dict structure, in order."""
    if structure is None:
        return []
    if isinstance(structure, (list, tuple)) and not _is_leaf_list(structure):
        return [leaf for s in structure for leaf in flatten(s)]
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in flatten(v)]
    return [structure]


def _to_array(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        array = value.data
    else:
        array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    if array.dtype.kind == "O":
        raise ValueError(f"Unsupported data of type {type(value).__name__}: cannot make a "
                         "numeric array of it.")
    return array


def _is_py_dataset(value: Any) -> bool:
    """A Keras-style ``PyDataset``: batches by index, ``num_batches`` batches per epoch."""
    from nablanet.utils import PyDataset

    return isinstance(value, PyDataset)


def is_array_like(value: Any) -> bool:
    """Whether ``value`` is array data (or a structure of arrays), not an iterable of batches."""
    if isinstance(value, (np.ndarray, Tensor, int, float, np.number)):
        return True
    if isinstance(value, dict):
        return all(is_array_like(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        if not value:
            return True
        return all(is_array_like(v) or isinstance(v, (int, float, list)) for v in value)
    return False


def check_finite(array: np.ndarray, name: str, where: str) -> None:
    """Raise when a floating array holds NaN or inf (cheap: one pass)."""
    if array.dtype.kind in "fc" and array.size and not np.isfinite(array).all():
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise ValueError(
            f"{where}: the {name} data contains NaN or infinite values ({bad} of "
            f"{array.size} entries). Clean or impute them before calling {where}()."
        )


class DataHandler:
    """Batches for one of ``fit``/``evaluate``/``predict`` (see the module docstring).

    Parameters
    ----------
    x, y, sample_weight
        The data as given by the user.
    batch_size : int, optional
        Batch size for arrays (32 when None).
    steps : int, optional
        Batches per epoch (``steps_per_epoch``); for arrays the batches then continue
        across epochs, restarting (and reshuffling) when the data are exhausted.
    shuffle : bool or 'batch'
        Shuffle arrays each epoch (``'batch'``: shuffle the order of batch-sized chunks).
    class_weight : dict, optional
        Per-class weights folded into the sample weights (single output only).
    where : str
        ``'fit'``, ``'evaluate'`` or ``'predict'`` (for messages).
    """

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None,
                 batch_size: int | None = None, steps: int | None = None,
                 shuffle: bool | str = False, class_weight: dict[Any, float] | None = None,
                 where: str = "fit", check_batch: Any = None) -> None:
        self.where = where
        #: ``check(x, y, sample_weight)`` run on every batch of a dataset as it arrives.
        self.check_batch = check_batch
        self.shuffle = shuffle
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer))
                                       or batch_size <= 0):
            raise ValueError(f"{where}: batch_size must be a positive integer. "
                             f"Received: batch_size={batch_size!r}")
        if steps is not None and (not isinstance(steps, (int, np.integer)) or steps <= 0):
            raise ValueError(f"{where}: the number of steps must be a positive integer. "
                             f"Received: steps={steps!r}")
        if x is None:
            raise ValueError(f"{where}: no input data given (x is None).")
        self.batch_size = int(batch_size or 32)
        self._steps_arg = int(steps) if steps is not None else None
        self._iterator: Iterator[Any] | None = None
        self._seen = 0
        #: True once a one-shot iterator has no batches left (``fit`` then stops).
        self.exhausted = False
        #: Batches in one pass, when known (learned after the first pass otherwise).
        self.num_batches: int | None = None
        if is_array_like(x):
            self.kind = "arrays"
            self._setup_arrays(x, y, sample_weight, class_weight)
        else:
            if y is not None:
                raise ValueError(f"{where}: `y` argument is not supported when using a dataset "
                                 "or an iterable of batches as input (it must yield (x, y)).")
            if sample_weight is not None:
                raise ValueError(f"{where}: `sample_weight` argument is not supported when "
                                 "using a dataset as input (yield (x, y, sample_weight)).")
            if not hasattr(x, "__iter__") and not _is_py_dataset(x):
                raise ValueError(f"{where}: unrecognized data type: x={type(x).__name__}. "
                                 "Expected NumPy arrays, Tensors or a Dataset.")
            self.kind = "iterable"
            self.dataset = x
            self.class_weight = class_weight
            self._one_shot = not _is_py_dataset(x) and iter(x) is x
            cardinality = None
            if _is_py_dataset(x):
                value = x.num_batches
                cardinality = None if value is None else int(value)
                if cardinality is None and steps is None:
                    raise ValueError(f"{where}: the PyDataset is infinite (num_batches is "
                                     "None); pass steps_per_epoch (or steps).")
            elif hasattr(x, "cardinality"):
                value = int(x.cardinality())
                cardinality = value if value >= 0 else None
                if value == -1 and steps is None:
                    raise ValueError(f"{where}: the dataset is infinite; pass "
                                     "steps_per_epoch (or steps) to say how long an epoch is.")
            elif hasattr(x, "__len__"):
                cardinality = len(x)
            if cardinality == 0:
                raise ValueError(f"{where}: the dataset is empty (it yields no batches).")
            self.num_batches = cardinality
            self.steps = self._steps_arg if self._steps_arg is not None else cardinality

    # -- arrays --------------------------------------------------------------------------------
    def _setup_arrays(self, x: Any, y: Any, sample_weight: Any,
                      class_weight: dict[Any, float] | None) -> None:
        where = self.where
        self.x = _map(_to_array, x)
        self.y = _map(_to_array, y)
        sw = _map(_to_array, sample_weight)
        sizes = {}
        for name, part in (("x", self.x), ("y", self.y), ("sample_weight", sw)):
            leaves = flatten(part)
            for leaf in leaves:
                if leaf.ndim == 0:
                    raise ValueError(f"{where}: {name} must have a batch axis. Received a scalar "
                                     f"{name}.")
            if leaves:
                sizes[name] = [len(leaf) for leaf in leaves]
        all_sizes = {n for s in sizes.values() for n in s}
        if len(all_sizes) > 1:
            detail = "\n".join(f"'{k}' sizes: {', '.join(map(str, v))}" for k, v in sizes.items())
            raise ValueError(
                "Data cardinality is ambiguous. Make sure all arrays contain the same number "
                f"of samples.\n{detail}"
            )
        self.num_samples = all_sizes.pop() if all_sizes else 0
        if self.num_samples == 0:
            shapes = [tuple(a.shape) for a in flatten(self.x)]
            raise ValueError(f"{where}: the data is empty (0 samples). Received: x with "
                             f"shape {shapes[0] if len(shapes) == 1 else shapes}")
        for leaf in flatten(self.x):
            check_finite(leaf, "input (x)", where)
        for leaf in flatten(self.y):
            check_finite(leaf, "target (y)", where)
        if class_weight is not None:
            sw = self._fold_class_weight(class_weight, sw)
        for leaf in flatten(sw):
            check_finite(leaf, "sample_weight", where)
        self.sample_weight = sw
        self._one_shot = False
        self.num_batches = math.ceil(self.num_samples / self.batch_size)
        self.steps = self._steps_arg or self.num_batches

    def _fold_class_weight(self, class_weight: dict[Any, float], sw: Any) -> np.ndarray:
        ys = flatten(self.y)
        if len(ys) != 1:
            raise ValueError(f"{self.where}: `class_weight` is only supported for models with "
                             "a single output.")
        y = ys[0]
        if y.ndim >= 2 and y.shape[-1] > 1:
            classes = np.argmax(y, axis=-1).reshape(len(y), -1)[:, 0]
        else:
            classes = y.reshape(len(y), -1)[:, 0].astype(np.int64)
        table = {int(k): float(v) for k, v in class_weight.items()}
        weights = np.array([table.get(int(c), 1.0) for c in classes], dtype=np.float32)
        if sw is not None:
            weights = weights * flatten(sw)[0].reshape(len(y), -1)[:, 0]
        return weights

    def _slice(self, index: Any) -> Any:
        def take(a: np.ndarray) -> Tensor:
            return Tensor(a[index])

        x = _map(take, self.x)
        y = _map(take, self.y)
        sw = _map(take, self.sample_weight)
        return pack_x_y_sample_weight(x, y, sw)

    def _array_pass(self) -> Iterator[Any]:
        """The batches of one pass (epoch) over the arrays, shuffled as asked."""
        n, bs = self.num_samples, self.batch_size
        if self.shuffle == "batch":
            starts = np.arange(0, n, bs)
            for i in generator().permutation(len(starts)):
                yield self._slice(slice(int(starts[i]), min(int(starts[i]) + bs, n)))
        elif self.shuffle:
            perm = generator().permutation(n)
            for start in range(0, n, bs):
                yield self._slice(perm[start:start + bs])
        else:
            for start in range(0, n, bs):
                yield self._slice(slice(start, min(start + bs, n)))

    # -- iterables -----------------------------------------------------------------------------
    def _convert(self, element: Any) -> Any:
        x, y, sw = unpack_x_y_sample_weight(element)
        if self.check_batch is not None:
            self.check_batch(x, y, sw)
        for leaf in flatten(x):
            check_finite(np.asarray(getattr(leaf, "data", leaf)), "input (x)", self.where)
        if self.class_weight is not None and y is not None:
            y_arr = np.asarray(getattr(y, "data", y))
            classes = (np.argmax(y_arr, axis=-1) if y_arr.ndim >= 2 and y_arr.shape[-1] > 1
                       else y_arr.reshape(len(y_arr), -1)[:, 0].astype(np.int64))
            weights = np.array([float(self.class_weight.get(int(c), 1.0)) for c in classes],
                               dtype=np.float32)
            if sw is not None:
                weights = weights * np.asarray(getattr(sw, "data", sw)).reshape(len(y_arr))
            sw = Tensor(weights)
        if y is None and isinstance(element, tuple) and len(element) == 1:
            return element
        if y is None:
            return element
        return pack_x_y_sample_weight(x, y, sw)

    def _iterable_pass(self) -> Iterator[Any]:
        """The batches of one pass over a dataset (the rest of a one-shot iterator)."""
        if _is_py_dataset(self.dataset):
            indices = range(self.num_batches) if self.num_batches is not None \
                else itertools.count()
            for index in indices:
                yield self._convert(self.dataset[index])
            return
        for element in self.dataset:
            yield self._convert(element)

    def _fresh_pass(self) -> Iterator[Any]:
        return self._array_pass() if self.kind == "arrays" else self._iterable_pass()

    def _ran_out(self) -> None:
        warnings.warn(
            "Your input ran out of data; interrupting training. Make sure that your dataset "
            "or generator can generate at least `steps_per_epoch * epochs` batches. You may "
            "need to use the `.repeat()` function when building your dataset.", stacklevel=4)

    def _end_of_pass(self) -> None:
        self._iterator, self._seen = None, 0
        if _is_py_dataset(self.dataset if self.kind == "iterable" else None):
            self.dataset.on_epoch_end()

    # -- epochs --------------------------------------------------------------------------------
    def epoch(self) -> Iterator[tuple[int, Any]]:
        """``(step, batch)`` pairs of one epoch (see the module docstring)."""
        if self.exhausted:
            return
        produced = 0
        if self._steps_arg is None:
            for produced, batch in enumerate(self._fresh_pass(), start=1):
                yield produced - 1, batch
            self._end_of_pass()
            if self.num_batches is None and produced:
                self.num_batches = self.steps = produced
        else:
            for step in range(self._steps_arg):
                if self.num_batches is not None and self._seen >= self.num_batches:
                    self._ran_out()
                    self._end_of_pass()
                    break
                if self._iterator is None:
                    self._iterator = self._fresh_pass()
                try:
                    batch = next(self._iterator)
                except StopIteration:
                    if self.num_batches is None and self._seen:
                        self.num_batches = self._seen
                    self._end_of_pass()
                    if produced:
                        self._ran_out()
                    break
                self._seen += 1
                produced += 1
                yield step, batch
            if self.num_batches is not None and self._seen >= self.num_batches:
                self._end_of_pass()
        if produced == 0:
            if not self._one_shot or self.num_batches is None:
                raise ValueError(f"{self.where}: the dataset is empty (it yields no batches).")
            self._ran_out()
            self.exhausted = True

    def first_x(self) -> Any:
        """The ``x`` arrays (arrays input) for up-front checks, else None."""
        return self.x if self.kind == "arrays" else None
