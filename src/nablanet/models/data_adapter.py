"""Turning the ``x, y, sample_weight`` given to ``fit``/``evaluate``/``predict`` into batches.

Two kinds of input are accepted:

* **arrays** -- NumPy arrays, Tensors, nested lists of numbers, or a list/tuple/dict of those
  for models with several inputs (outputs). They are validated once (same number of samples,
  not empty, finite), float64 is converted to float32 once, and batches are slices (views)
  or, when shuffling, gathers by a permutation drawn from nablanet's seeded generator.
* **iterables of batches** -- a :class:`nablanet.data.Dataset` (or any re-iterable object,
  such as a list of batches) that yields ``x``, ``(x,)``, ``(x, y)`` or
  ``(x, y, sample_weight)`` per batch. ``Dataset.cardinality()`` gives the number of steps
  when known.

A batch is handed to ``train_step`` packed as Keras packs it: ``x`` alone when there is no
``y`` (and ``x`` is a single array), else a tuple ``(x, y)`` or ``(x, y, sample_weight)``.
"""

from __future__ import annotations

import math
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
                 where: str = "fit") -> None:
        self.where = where
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
        self._pending_position = 0
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
            if not hasattr(x, "__iter__"):
                raise ValueError(f"{where}: unrecognized data type: x={type(x).__name__}. "
                                 "Expected NumPy arrays, Tensors or a Dataset.")
            self.kind = "iterable"
            self.dataset = x
            self.class_weight = class_weight
            cardinality = None
            if hasattr(x, "cardinality"):
                value = int(x.cardinality())
                cardinality = value if value >= 0 else None
                if value == -1 and steps is None:
                    raise ValueError(f"{where}: the dataset is infinite; pass "
                                     "steps_per_epoch (or steps) to say how long an epoch is.")
            elif hasattr(x, "__len__"):
                cardinality = len(x)
            if cardinality == 0:
                raise ValueError(f"{where}: the dataset is empty (it yields no batches).")
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
        self.steps = self._steps_arg or math.ceil(self.num_samples / self.batch_size)

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

    def _array_batches(self) -> Iterator[Any]:
        """An endless stream of batches, one pass (epoch) of the data after another."""
        n, bs = self.num_samples, self.batch_size
        while True:
            if self.shuffle == "batch":
                starts = np.arange(0, n, bs)
                order = generator().permutation(len(starts))
                for i in order:
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

    def _iterable_batches(self) -> Iterator[Any]:
        while True:
            produced = False
            for element in self.dataset:
                produced = True
                yield self._convert(element)
            if not produced:
                raise ValueError(f"{self.where}: the dataset is empty (it yields no batches).")
            if self._steps_arg is None:
                return

    # -- epochs --------------------------------------------------------------------------------
    def epoch(self) -> Iterator[tuple[int, Any]]:
        """``(step, batch)`` pairs of one epoch."""
        if self._steps_arg is not None:
            # steps_per_epoch given: the stream continues where the last epoch stopped.
            if self._iterator is None:
                self._iterator = (self._array_batches() if self.kind == "arrays"
                                  else self._iterable_batches())
            for step in range(self._steps_arg):
                yield step, next(self._iterator)
            return
        if self.kind == "arrays":
            assert self.steps is not None  # set from the number of samples
            stream = self._array_batches()
            for step in range(self.steps):
                yield step, next(stream)
            return
        step = -1
        for step, batch in enumerate(self._iterable_batches()):
            yield step, batch
        if step < 0:
            raise ValueError(f"{self.where}: the dataset is empty (it yields no batches).")
        if self.steps is None:
            self.steps = step + 1

    def first_x(self) -> Any:
        """The ``x`` arrays (arrays input) for up-front checks, else None."""
        return self.x if self.kind == "arrays" else None
