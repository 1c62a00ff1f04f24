"""``Dataset``: a small, lazy, re-iterable input pipeline in the style of ``tf.data``.

A dataset is a recipe: every ``for`` loop over it starts the recipe from the beginning.
Elements are *structures* -- a single array, a tuple of arrays, or a dict of arrays -- and
iteration yields them as :class:`nablanet.Tensor` objects (tuples of Tensors for tuple
elements, dicts of Tensors for dict elements). Internally the pipeline passes NumPy arrays
between stages, so nothing is recorded by autograd and the per-element overhead stays small.

Transformations (``map``, ``shuffle``, ``batch``, ``take``, ``skip``, ``repeat``, ``cache``,
``concatenate``, ``unbatch``, ``filter``, ``prefetch``) return new datasets and never modify
the dataset they are called on.

Examples
--------
>>> import numpy as np
>>> from nablanet.data import Dataset
>>> ds = Dataset.from_tensor_slices((np.arange(6.0), np.arange(6) % 2))
>>> ds = ds.map(lambda x, y: (x * 10, y)).batch(4)
>>> [b[0].numpy().tolist() for b in ds]
[[0.0, 10.0, 20.0, 30.0], [40.0, 50.0]]
>>> int(ds.cardinality())
2
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from nablanet.autograd import Tensor, no_grad
from nablanet.random import make_generator

INFINITE_CARDINALITY = -1
"""``cardinality()`` of a dataset that never ends (``tf.data.INFINITE_CARDINALITY``)."""
UNKNOWN_CARDINALITY = -2
"""``cardinality()`` of a dataset whose length cannot be known without iterating it."""

AUTOTUNE = -1
"""Accepted wherever ``tf.data.AUTOTUNE`` is (``prefetch``, ``num_parallel_calls``)."""

__all__ = [
    "AUTOTUNE",
    "INFINITE_CARDINALITY",
    "UNKNOWN_CARDINALITY",
    "Dataset",
    "TensorSpec",
]


# -- element structures ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TensorSpec:
    """Shape and dtype of one component of a dataset element (``None`` = any size).

    Examples
    --------
    >>> TensorSpec((None, 3), "float32").is_compatible_with(np.zeros((5, 3), np.float32))
    True
    """

    shape: tuple[int | None, ...] | None = None
    dtype: Any = np.float32
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", np.dtype(self.dtype))
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(self.shape))

    def is_compatible_with(self, value: Any) -> bool:
        """Whether ``value`` has this spec's rank and (where given) its dimensions."""
        shape = np.shape(value)
        if self.shape is None:
            return True
        if len(shape) != len(self.shape):
            return False
        return all(d is None or d == s for d, s in zip(self.shape, shape))


def _is_structure(x: Any) -> bool:
    return isinstance(x, (tuple, dict))


def _map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    if isinstance(structure, tuple):
        return tuple(_map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: _map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def _flatten(structure: Any) -> list[Any]:
    if isinstance(structure, tuple):
        return [leaf for s in structure for leaf in _flatten(s)]
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in _flatten(v)]
    return [structure]


def _pack_like(structure: Any, leaves: Iterator[Any]) -> Any:
    if isinstance(structure, tuple):
        return tuple(_pack_like(s, leaves) for s in structure)
    if isinstance(structure, dict):
        return {k: _pack_like(v, leaves) for k, v in structure.items()}
    return next(leaves)


def _normalize_input(structure: Any) -> Any:
    """User structure -> internal structure: lists become tuples only at the top of a
    generator's output; Tensors and array-likes become ndarrays."""
    if isinstance(structure, tuple):
        return tuple(_normalize_input(s) for s in structure)
    if isinstance(structure, dict):
        return {k: _normalize_input(v) for k, v in structure.items()}
    return _to_array(structure)


def _to_array(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (str, bytes)) or (isinstance(x, (list, tuple)) and x and
                                       isinstance(x[0], (str, bytes))):
        return np.asarray(x)  # text: a NumPy string array
    return Tensor(x).data  # Python floats -> float32, ints -> int64, as nb.tensor does


def _to_tensor(x: np.ndarray) -> Any:
    """A numeric component as a Tensor; text (string / object arrays) stays a NumPy array,
    since Tensors are numeric (``tf.string`` tensors have no nablanet counterpart)."""
    return x if x.dtype.kind in "OSU" else Tensor(x)


def _to_tensor_structure(element: Any) -> Any:
    if isinstance(element, np.ndarray):  # fast path for the common case
        return _to_tensor(element)
    return _map_structure(_to_tensor, element)


def _spec_of(element: Any, batched_unknown: bool = False) -> Any:
    def leaf(a: np.ndarray) -> TensorSpec:
        shape: tuple[int | None, ...] = a.shape
        if batched_unknown and shape:
            shape = (None, *shape[1:])
        return TensorSpec(shape, a.dtype)

    return _map_structure(leaf, element)


def _describe(structure: Any) -> str:
    if isinstance(structure, tuple):
        return "(" + ", ".join(_describe(s) for s in structure) + ")"
    if isinstance(structure, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in structure.items()) + "}"
    return f"{structure.dtype}{list(structure.shape)}"


# -- the dataset ----------------------------------------------------------------------------------
class Dataset:
    """A re-iterable sequence of elements built from a source and a chain of transformations.

    Construct one with :meth:`from_tensor_slices`, :meth:`from_generator` or :meth:`range`
    (or a loader such as :func:`nablanet.data.load`) and chain transformations. Iterating yields
    Tensors; :meth:`as_numpy_iterator` yields NumPy arrays.

    Parameters
    ----------
    make_iterator : callable
        Returns a fresh iterator over the elements (structures of ndarrays) each time it is
        called. Users rarely call the constructor directly.
    cardinality : int
        Number of elements, or ``INFINITE_CARDINALITY`` / ``UNKNOWN_CARDINALITY``.
    spec : structure of TensorSpec, optional
        The element spec when it is known without iterating.
    """

    #: Set on the result of :meth:`batch` (and kept by ``prefetch``): the batch size, which
    #: ``split_dataset`` uses to re-batch its halves as Keras does.
    _batch_size: int | None = None

    def __init__(
        self,
        make_iterator: Callable[[], Iterator[Any]],
        cardinality: int = UNKNOWN_CARDINALITY,
        spec: Any = None,
    ) -> None:
        self._make_iterator = make_iterator
        self._cardinality = int(cardinality)
        self._spec = spec

    # -- sources ----------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any, name: str | None = None) -> Dataset:
        """Slice array(s) along their first axis: element ``i`` is ``tensors[i]``.

        Parameters
        ----------
        tensors : array_like, Tensor, tuple or dict of them
            A tuple makes tuple elements and a dict makes dict elements; a list is treated as
            one array (as in TensorFlow). All components must have the same first dimension.

        Examples
        --------
        >>> ds = Dataset.from_tensor_slices({"x": np.ones((3, 2)), "y": [0, 1, 2]})
        >>> [int(e["y"]) for e in ds]
        [0, 1, 2]
        """
        data = _normalize_input(tensors)
        leaves = _flatten(data)
        if not leaves:
            raise ValueError("from_tensor_slices: received an empty structure.")
        for leaf in leaves:
            if leaf.ndim == 0:
                raise ValueError(
                    "from_tensor_slices: every component needs at least one dimension to "
                    f"slice. Received a scalar of dtype {leaf.dtype}."
                )
        lengths = {leaf.shape[0] for leaf in leaves}
        if len(lengths) != 1:
            raise ValueError(
                "from_tensor_slices: all components must have the same size in their first "
                f"dimension. Received: {_describe(data)}"
            )
        n = lengths.pop()

        if isinstance(data, np.ndarray):
            array = data

            def make_iterator() -> Iterator[Any]:
                return iter(array)
        else:
            def make_iterator() -> Iterator[Any]:
                flat = _flatten(data)
                return (_pack_like(data, iter([leaf[i] for leaf in flat])) for i in range(n))

        spec = _map_structure(lambda a: TensorSpec(a.shape[1:], a.dtype), data)
        return Dataset(make_iterator, n, spec)

    @staticmethod
    def from_tensors(tensors: Any) -> Dataset:
        """A dataset with one element: ``tensors`` itself."""
        data = _normalize_input(tensors)
        return Dataset(lambda: iter([data]), 1, _spec_of(data))

    @staticmethod
    def from_generator(
        generator: Callable[..., Iterable[Any]],
        output_signature: Any = None,
        output_types: Any = None,
        output_shapes: Any = None,
        args: tuple[Any, ...] | None = None,
    ) -> Dataset:
        """Elements produced by calling ``generator(*args)`` afresh for each iteration.

        Parameters
        ----------
        generator : callable
            Returns an iterable of elements (arrays, tuples or dicts of arrays).
        output_signature : structure of TensorSpec, optional
            When given, each component is converted to the spec's dtype and its shape checked
            (a ``None`` dimension matches any size); a mismatch raises ``ValueError``.
        output_types, output_shapes : optional
            The older TensorFlow form of ``output_signature``.
        args : tuple, optional
            Positional arguments for ``generator``.

        Examples
        --------
        >>> def gen():
        ...     for i in range(3):
        ...         yield i, np.full(2, i)
        >>> ds = Dataset.from_generator(gen, output_signature=(TensorSpec((), "int64"),
        ...                                                   TensorSpec((2,), "float32")))
        >>> [(int(a), b.numpy().dtype.name) for a, b in ds]
        [(0, 'float32'), (1, 'float32'), (2, 'float32')]
        """
        if not callable(generator):
            raise TypeError(
                "from_generator: generator must be a callable that returns an iterable. "
                f"Received: generator={generator!r}"
            )
        signature = output_signature
        if signature is None and output_types is not None:
            shapes = output_shapes
            if shapes is None:
                signature = _map_structure(lambda t: TensorSpec(None, t), _tuplify(output_types))
            else:
                signature = _zip_specs(_tuplify(output_types), _tuplify(shapes))
        elif signature is not None:
            signature = _tuplify(signature)
        call_args = tuple(args or ())

        def convert(element: Any) -> Any:
            element = _normalize_input(_tuplify(element))
            if signature is None:
                return element
            return _apply_signature(element, signature)

        def make_iterator() -> Iterator[Any]:
            return map(convert, iter(generator(*call_args)))

        return Dataset(make_iterator, UNKNOWN_CARDINALITY, signature)

    @staticmethod
    def range(*args: int, dtype: Any = np.int64) -> Dataset:
        """Like Python's ``range``: ``Dataset.range(5)``, ``Dataset.range(2, 10, 3)``.

        Examples
        --------
        >>> [int(x) for x in Dataset.range(2, 10, 3)]
        [2, 5, 8]
        """
        r = range(*args)
        dt = np.dtype(dtype)

        def make_iterator() -> Iterator[Any]:
            return (np.asarray(i, dtype=dt) for i in r)

        return Dataset(make_iterator, len(r), TensorSpec((), dt))

    @staticmethod
    def zip(*datasets: Any) -> Dataset:
        """Pair up elements of several datasets (stops at the shortest).

        Examples
        --------
        >>> a, b = Dataset.range(3), Dataset.range(10, 12)
        >>> [(int(x), int(y)) for x, y in Dataset.zip(a, b)]
        [(0, 10), (1, 11)]
        """
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list)):
            datasets = tuple(datasets[0])
        for d in datasets:
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip: expected Dataset objects. Received: {d!r}")

        def make_iterator() -> Iterator[Any]:
            return zip(*(d._make_iterator() for d in datasets))

        cards = [d._cardinality for d in datasets]
        finite = [c for c in cards if c >= 0]
        if finite:
            card = min(finite) if UNKNOWN_CARDINALITY not in cards else UNKNOWN_CARDINALITY
            if UNKNOWN_CARDINALITY in cards and min(finite) == 0:
                card = 0
        elif UNKNOWN_CARDINALITY in cards:
            card = UNKNOWN_CARDINALITY
        else:
            card = INFINITE_CARDINALITY
        return Dataset(make_iterator, card)

    # -- iteration --------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        """Iterate from the start, yielding Tensors (tuples / dicts of Tensors)."""
        return map(_to_tensor_structure, self._make_iterator())

    def as_numpy_iterator(self) -> Iterator[Any]:
        """Iterate from the start, yielding NumPy arrays (tuples / dicts of arrays).

        Examples
        --------
        >>> list(Dataset.range(3).as_numpy_iterator())
        [array(0), array(1), array(2)]
        """
        return self._make_iterator()

    def cardinality(self) -> int:
        """The number of elements, ``INFINITE_CARDINALITY`` (-1) or ``UNKNOWN_CARDINALITY`` (-2).

        Examples
        --------
        >>> Dataset.range(10).batch(3).cardinality()
        4
        >>> Dataset.range(10).repeat().cardinality()
        -1
        """
        return self._cardinality

    def __len__(self) -> int:
        if self._cardinality == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if self._cardinality == UNKNOWN_CARDINALITY:
            raise TypeError(
                "The dataset length is unknown (use cardinality(), or iterate to count)."
            )
        return self._cardinality

    def __bool__(self) -> bool:  # a dataset object is always truthy, even if empty
        return True

    @property
    def element_spec(self) -> Any:
        """Structure of :class:`TensorSpec` describing one element.

        Known without iterating for sources; otherwise read from the first element (which
        runs the pipeline for one element).
        """
        if self._spec is None:
            first = next(iter(self._make_iterator()), None)
            if first is None:
                raise ValueError("element_spec: the dataset is empty.")
            self._spec = _spec_of(first)
        return self._spec

    def __repr__(self) -> str:
        card = {INFINITE_CARDINALITY: "infinite", UNKNOWN_CARDINALITY: "unknown"}.get(
            self._cardinality, str(self._cardinality)
        )
        return f"<Dataset cardinality={card}>"

    # -- transformations --------------------------------------------------------------------------
    def map(
        self,
        map_func: Callable[..., Any],
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
    ) -> Dataset:
        """Apply ``map_func`` to each element.

        The element's components are passed as Tensors: a tuple element ``(a, b)`` is passed as
        ``map_func(a, b)``, a dict or single array as one argument. ``map_func`` may return
        Tensors, arrays or Python numbers in any structure (a list is taken as a tuple). It runs
        under :func:`nablanet.no_grad`. ``num_parallel_calls`` and ``deterministic`` are
        accepted for compatibility; the map runs sequentially and in order.

        Examples
        --------
        >>> ds = Dataset.from_tensor_slices(([1.0, 2.0], [0, 1])).map(lambda x, y: (x + 1, y))
        >>> [float(x) for x, _ in ds]
        [2.0, 3.0]
        """
        if not callable(map_func):
            raise TypeError(f"map: map_func must be callable. Received: {map_func!r}")
        parent = self._make_iterator

        def apply(element: Any) -> Any:
            with no_grad():
                if isinstance(element, np.ndarray):
                    out = map_func(Tensor(element))
                elif isinstance(element, tuple):
                    out = map_func(*_map_structure(_to_tensor, element))
                else:
                    out = map_func(_map_structure(_to_tensor, element))
            return _normalize_input(_tuplify(out))

        def make_iterator() -> Iterator[Any]:
            return map(apply, parent())

        return Dataset(make_iterator, self._cardinality)

    def filter(self, predicate: Callable[..., Any], name: str | None = None) -> Dataset:
        """Keep the elements for which ``predicate`` (called like ``map_func``) is true.

        Examples
        --------
        >>> [int(x) for x in Dataset.range(6).filter(lambda x: x >= 3)]
        [3, 4, 5]
        """
        parent = self._make_iterator

        def keep(element: Any) -> bool:
            with no_grad():
                if isinstance(element, tuple):
                    out = predicate(*_map_structure(_to_tensor, element))
                else:
                    out = predicate(_to_tensor_structure(element))
            return bool(_to_array(out))

        def make_iterator() -> Iterator[Any]:
            return filter(keep, parent())

        card = INFINITE_CARDINALITY if self._cardinality == INFINITE_CARDINALITY else (
            UNKNOWN_CARDINALITY)
        return Dataset(make_iterator, card, self._spec)

    def shuffle(
        self,
        buffer_size: int,
        seed: int | None = None,
        reshuffle_each_iteration: bool = True,
        name: str | None = None,
    ) -> Dataset:
        """Randomly shuffle the elements with a buffer of ``buffer_size`` elements.

        As in ``tf.data``: the buffer is filled with the first ``buffer_size`` elements; each
        output is drawn uniformly from the buffer and its slot refilled with the next input
        element. A buffer at least as large as the dataset gives a uniform permutation.

        The random stream comes from ``seed`` when given, otherwise from nablanet's generator
        at the time ``shuffle`` is called (so ``nb.set_random_seed`` makes it reproducible).
        With ``reshuffle_each_iteration=True`` each pass over the dataset uses a different,
        but reproducible, order; with ``False`` every pass repeats the first order.

        Examples
        --------
        >>> ds = Dataset.range(5).shuffle(5, seed=1)
        >>> sorted(int(x) for x in ds)
        [0, 1, 2, 3, 4]
        """
        if isinstance(buffer_size, Tensor):
            buffer_size = int(buffer_size.item())
        if not isinstance(buffer_size, (int, np.integer)) or isinstance(buffer_size, bool) or (
            buffer_size < 1 and buffer_size != AUTOTUNE
        ):
            raise ValueError(
                "shuffle: buffer_size must be a positive integer. "
                f"Received: buffer_size={buffer_size!r}"
            )
        size = int(buffer_size)
        if size == AUTOTUNE:
            size = 1024
        base_seed = int(make_generator(seed).integers(2**63)) if seed is None else int(seed)
        parent = self._make_iterator
        counter = itertools.count()

        def make_iterator() -> Iterator[Any]:
            epoch = next(counter) if reshuffle_each_iteration else 0
            rng = np.random.default_rng([base_seed, epoch])
            return _shuffle_buffer(parent(), size, rng)

        return Dataset(make_iterator, self._cardinality, self._spec)

    def batch(
        self,
        batch_size: int,
        drop_remainder: bool = False,
        num_parallel_calls: int | None = None,
        deterministic: bool | None = None,
        name: str | None = None,
    ) -> Dataset:
        """Stack ``batch_size`` consecutive elements into one (a new leading axis).

        The last batch is smaller unless ``drop_remainder=True``. Components must have equal
        shapes within a batch.

        Examples
        --------
        >>> [b.numpy().tolist() for b in Dataset.range(5).batch(2)]
        [[0, 1], [2, 3], [4]]
        """
        if isinstance(batch_size, Tensor):
            batch_size = int(batch_size.item())
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or (
            batch_size < 1
        ):
            raise ValueError(
                f"batch: batch_size must be a positive integer. Received: batch_size={batch_size!r}"
            )
        size = int(batch_size)
        parent = self._make_iterator

        def make_iterator() -> Iterator[Any]:
            it = parent()
            while True:
                chunk = list(itertools.islice(it, size))
                if not chunk or (drop_remainder and len(chunk) < size):
                    return
                yield _stack(chunk)

        c = self._cardinality
        if c >= 0:
            c = c // size if drop_remainder else -(-c // size)
        spec = None
        if self._spec is not None:
            lead = size if drop_remainder else None
            spec = _map_structure(
                lambda s: TensorSpec(None if s.shape is None else (lead, *s.shape), s.dtype),
                self._spec,
            )
        batched = Dataset(make_iterator, c, spec)
        batched._batch_size = size
        return batched

    def unbatch(self, name: str | None = None) -> Dataset:
        """Split each element along its first axis into separate elements (inverse of batch).

        Examples
        --------
        >>> [int(x) for x in Dataset.range(5).batch(2).unbatch()]
        [0, 1, 2, 3, 4]
        """
        parent = self._make_iterator

        def make_iterator() -> Iterator[Any]:
            for element in parent():
                leaves = _flatten(element)
                n = leaves[0].shape[0] if leaves[0].ndim else 0
                for i in range(n):
                    yield _pack_like(element, iter([leaf[i] for leaf in leaves]))

        card = INFINITE_CARDINALITY if self._cardinality == INFINITE_CARDINALITY else (
            UNKNOWN_CARDINALITY)
        spec = None
        if self._spec is not None:
            spec = _map_structure(
                lambda s: TensorSpec(None if s.shape is None else s.shape[1:], s.dtype),
                self._spec,
            )
        return Dataset(make_iterator, card, spec)

    def take(self, count: int, name: str | None = None) -> Dataset:
        """The first ``count`` elements (all of them when ``count`` is -1).

        Examples
        --------
        >>> [int(x) for x in Dataset.range(10).take(3)]
        [0, 1, 2]
        """
        count = _count_arg("take", count)
        parent = self._make_iterator
        if count < 0:
            return Dataset(parent, self._cardinality, self._spec)

        def make_iterator() -> Iterator[Any]:
            return itertools.islice(parent(), count)

        c = self._cardinality
        if c == INFINITE_CARDINALITY:
            c = count
        elif c >= 0:
            c = min(c, count)
        elif count == 0:
            c = 0
        return Dataset(make_iterator, c, self._spec)

    def skip(self, count: int, name: str | None = None) -> Dataset:
        """All but the first ``count`` elements (-1 skips everything).

        Examples
        --------
        >>> [int(x) for x in Dataset.range(5).skip(3)]
        [3, 4]
        """
        count = _count_arg("skip", count)
        parent = self._make_iterator
        if count < 0:
            return Dataset(lambda: iter(()), 0, self._spec)

        def make_iterator() -> Iterator[Any]:
            return itertools.islice(parent(), count, None)

        c = self._cardinality
        if c >= 0:
            c = max(c - count, 0)
        return Dataset(make_iterator, c, self._spec)

    def repeat(self, count: int | None = None, name: str | None = None) -> Dataset:
        """Repeat the dataset ``count`` times (forever when ``count`` is None or -1).

        Each repetition is a fresh pass (a shuffled dataset reshuffles).

        Examples
        --------
        >>> [int(x) for x in Dataset.range(2).repeat(3)]
        [0, 1, 0, 1, 0, 1]
        """
        count = -1 if count is None else _count_arg("repeat", count)
        parent = self._make_iterator

        def make_iterator() -> Iterator[Any]:
            passes = itertools.count() if count < 0 else range(count)
            for _ in passes:
                produced = False
                for element in parent():
                    produced = True
                    yield element
                if not produced:  # an empty dataset repeated forever is empty
                    return

        c = self._cardinality
        if c == 0 or count == 0:
            c = 0
        elif count < 0:
            c = INFINITE_CARDINALITY if c != UNKNOWN_CARDINALITY else UNKNOWN_CARDINALITY
        elif c >= 0:
            c = c * count
        return Dataset(make_iterator, c, self._spec)

    def cache(self, filename: str = "", name: str | None = None) -> Dataset:
        """Remember the elements of the first complete pass in memory and replay them.

        A pass that stops early (e.g. through ``take``) is not cached, as in ``tf.data``.
        Only in-memory caching is supported: a non-empty ``filename`` raises ``ValueError``.

        Examples
        --------
        >>> calls = []
        >>> ds = Dataset.range(3).map(lambda x: calls.append(1) or x).cache()
        >>> _ = list(ds); _ = list(ds)
        >>> len(calls)
        3
        """
        if filename:
            raise ValueError(
                "cache: nablanet caches in memory only; pass no filename. "
                f"Received: filename={filename!r}"
            )
        parent = self._make_iterator
        store: dict[str, list[Any]] = {}

        def make_iterator() -> Iterator[Any]:
            if "elements" in store:
                yield from store["elements"]
                return
            recorded = []
            for element in parent():
                recorded.append(element)
                yield element
            store["elements"] = recorded

        return Dataset(make_iterator, self._cardinality, self._spec)

    def concatenate(self, dataset: Dataset, name: str | None = None) -> Dataset:
        """The elements of this dataset followed by those of ``dataset``.

        Examples
        --------
        >>> [int(x) for x in Dataset.range(2).concatenate(Dataset.range(5, 7))]
        [0, 1, 5, 6]
        """
        if not isinstance(dataset, Dataset):
            raise TypeError(f"concatenate: expected a Dataset. Received: {dataset!r}")
        first, second = self._make_iterator, dataset._make_iterator

        def make_iterator() -> Iterator[Any]:
            return itertools.chain(first(), second())

        a, b = self._cardinality, dataset._cardinality
        if INFINITE_CARDINALITY in (a, b):
            c = INFINITE_CARDINALITY
        elif UNKNOWN_CARDINALITY in (a, b):
            c = UNKNOWN_CARDINALITY
        else:
            c = a + b
        return Dataset(make_iterator, c, self._spec)

    def prefetch(self, buffer_size: int = AUTOTUNE, name: str | None = None) -> Dataset:
        """Return an equivalent dataset (a no-op in nablanet).

        ``tf.data`` prepares elements in a background thread; nablanet produces them on demand
        in the consuming thread, because its NumPy kernels already use the cores and
        autograd's grad mode is global state a producer thread must not touch. The call is
        accepted so pipelines written for ``tf.data`` run unchanged.
        """
        if isinstance(buffer_size, Tensor):
            buffer_size = int(buffer_size.item())
        if buffer_size is not None and buffer_size < 0 and buffer_size != AUTOTUNE:
            raise ValueError(
                "prefetch: buffer_size must be non-negative or AUTOTUNE. "
                f"Received: buffer_size={buffer_size!r}"
            )
        same = Dataset(self._make_iterator, self._cardinality, self._spec)
        same._batch_size = self._batch_size
        return same

    def enumerate(self, start: int = 0, name: str | None = None) -> Dataset:
        """Pair each element with its index: ``(i, element)``.

        Examples
        --------
        >>> [(int(i), int(x)) for i, x in Dataset.range(3, 5).enumerate()]
        [(0, 3), (1, 4)]
        """
        parent = self._make_iterator

        def make_iterator() -> Iterator[Any]:
            return ((np.asarray(i, np.int64), e) for i, e in enumerate(parent(), start))

        return Dataset(make_iterator, self._cardinality)

    def shard(self, num_shards: int, index: int, name: str | None = None) -> Dataset:
        """Every ``num_shards``-th element, starting at element ``index`` (``tf.data``'s
        meaning): element ``i`` belongs to shard ``i % num_shards``.

        For data-parallel training, ``ds.shard(distribute.size(), distribute.rank())``
        gives each worker a disjoint part; the shards of all indices together are the whole
        dataset. Shard before shuffling and batching so each worker shuffles its own part.

        Examples
        --------
        >>> [int(x) for x in Dataset.range(10).shard(3, 1)]
        [1, 4, 7]
        """
        for arg, value in (("num_shards", num_shards), ("index", index)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise TypeError(f"shard: {arg} must be an integer. Received: {arg}={value!r}")
        if num_shards < 1:
            raise ValueError(f"shard: num_shards must be at least 1. Received: "
                             f"num_shards={num_shards}")
        if not 0 <= index < num_shards:
            raise ValueError(f"shard: index must be in [0, num_shards) = [0, {num_shards}). "
                             f"Received: index={index}")
        parent, step, first = self._make_iterator, int(num_shards), int(index)

        def make_iterator() -> Iterator[Any]:
            return itertools.islice(parent(), first, None, step)

        c = self._cardinality
        if c >= 0:
            c = max(0, (c - first + step - 1) // step)
        return Dataset(make_iterator, c, self._spec)


# -- helpers --------------------------------------------------------------------------------------
def _tuplify(x: Any) -> Any:
    """A list at the top of a returned structure means a tuple (as tf.data treats it)."""
    return tuple(x) if isinstance(x, list) else x


def _zip_specs(types: Any, shapes: Any) -> Any:
    if isinstance(types, tuple):
        return tuple(_zip_specs(t, s) for t, s in zip(types, shapes))
    if isinstance(types, dict):
        return {k: _zip_specs(types[k], shapes[k]) for k in types}
    return TensorSpec(None if shapes is None else tuple(shapes), types)


def _apply_signature(element: Any, signature: Any) -> Any:
    if isinstance(signature, TensorSpec):
        if _is_structure(element):
            raise ValueError(
                f"from_generator: the generator produced {_describe(element)}, which does not "
                f"match the output signature {signature}."
            )
        value = element.astype(signature.dtype, copy=False)
        if not signature.is_compatible_with(value):
            raise ValueError(
                f"from_generator: a generated component has shape {value.shape}, which is not "
                f"compatible with the expected shape {signature.shape}."
            )
        return value
    if isinstance(signature, tuple) and isinstance(element, tuple) and (
        len(signature) == len(element)
    ):
        return tuple(_apply_signature(e, s) for e, s in zip(element, signature))
    if isinstance(signature, dict) and isinstance(element, dict) and (
        set(signature) == set(element)
    ):
        return {k: _apply_signature(element[k], signature[k]) for k in signature}
    raise ValueError(
        f"from_generator: the generator produced {_describe(element)}, which does not match "
        f"the output signature {signature}."
    )


def _count_arg(method: str, count: Any) -> int:
    if isinstance(count, Tensor):
        count = count.item()
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < -1:
        raise ValueError(
            f"{method}: count must be an integer >= -1. Received: count={count!r}"
        )
    return int(count)


def _stack(elements: list[Any]) -> Any:
    first = elements[0]
    if isinstance(first, np.ndarray):
        return _stack_leaf(elements)
    flat = [_flatten(e) for e in elements]
    stacked = [_stack_leaf(list(column)) for column in zip(*flat)]
    return _pack_like(first, iter(stacked))


def _stack_leaf(arrays: list[np.ndarray]) -> np.ndarray:
    try:
        return np.stack(arrays)
    except ValueError:
        shapes = sorted({a.shape for a in arrays})
        raise ValueError(
            "batch: cannot batch elements whose components have different shapes "
            f"(found {shapes}); resize them to one shape first (e.g. with a map)."
        ) from None


def _shuffle_buffer(source: Iterator[Any], size: int, rng: np.random.Generator) -> Iterator[Any]:
    """tf.data's shuffle buffer: draw uniformly from the buffer, refill from the source."""
    buffer = list(itertools.islice(source, size))
    uniforms = rng.random(256)
    k = 0
    for element in source:
        if k == len(uniforms):
            uniforms, k = rng.random(256), 0
        i = int(uniforms[k] * len(buffer))
        k += 1
        yield buffer[i]
        buffer[i] = element
    while buffer:
        if k == len(uniforms):
            uniforms, k = rng.random(256), 0
        i = int(uniforms[k] * len(buffer))
        k += 1
        buffer[i], buffer[-1] = buffer[-1], buffer[i]
        yield buffer.pop()
