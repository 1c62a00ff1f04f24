"""``load``: TFDS-style access to the data sets nablanet knows by name.

=================================  =========================================================
name                               source
=================================  =========================================================
``rock_paper_scissors``            the published archives ``rps.zip`` / ``rps-test-set.zip``
                                   (or their extracted folders), downloaded when missing
``rock_paper_scissors_generated``  drawn by :mod:`nablanet.data.generated`, cached as .npz
=================================  =========================================================

Both have splits ``'train'`` (2,520 images) and ``'test'`` (372), features ``image`` (uint8,
height x width x 3) and ``label`` (int64; rock 0, paper 1, scissors 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nablanet.autograd import Tensor
from nablanet.data import generated as _generated
from nablanet.data import rock_paper_scissors as _rps
from nablanet.data.dataset import Dataset, TensorSpec
from nablanet.data.splits import ReadSlice, parse_split, resolve_split
from nablanet.random import make_generator

__all__ = ["ClassLabel", "DatasetInfo", "SplitInfo", "builder_names", "load"]


@dataclass(frozen=True)
class ClassLabel:
    """An integer class feature with names (``tfds.features.ClassLabel``)."""

    names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def int2str(self, index: int) -> str:
        return self.names[int(index)]

    def str2int(self, name: str) -> int:
        return self.names.index(name)


@dataclass(frozen=True)
class SplitInfo:
    name: str
    num_examples: int


@dataclass
class DatasetInfo:
    """What ``load(..., with_info=True)`` returns next to the data (``tfds.core.DatasetInfo``)."""

    name: str
    version: str
    description: str
    features: dict[str, Any]
    splits: dict[str, SplitInfo]
    supervised_keys: tuple[str, str] = ("image", "label")
    homepage: str = ""
    citation: str = ""
    data_dir: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


_BUILDERS = ("rock_paper_scissors", "rock_paper_scissors_generated")


def builder_names() -> list[str]:
    """The names ``load`` accepts (``tfds.list_builders``)."""
    return list(_BUILDERS)


def load(
    name: str,
    split: str | Sequence[str] | None = None,
    as_supervised: bool = False,
    shuffle_files: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    with_info: bool = False,
    batch_size: int | None = None,
    *,
    image_size: int | None = None,
    seed: int = 0,
    on_error: str = "raise",
    download: bool = True,
) -> Any:
    """Load a named data set as :class:`Dataset` objects, like ``tfds.load``.

    Parameters
    ----------
    name : {'rock_paper_scissors', 'rock_paper_scissors_generated'}
    split : str, list of str, or None
        A TFDS split string (``'train'``, ``'train[:70%]'``, ``'train[70%:]'``,
        ``'test[-10:]'``, ``'train[:10%]+test'``; see :mod:`nablanet.data.splits`), a list of
        them (a list of datasets is returned), or None for a dict of all splits.
    as_supervised : bool
        Elements ``(image, label)`` instead of ``{'image': image, 'label': label}``.
    shuffle_files : bool
        Shuffle the order in which the examples (one file each) are read, differently on each
        pass; the order is drawn from nablanet's generator at ``load`` time, so
        ``nb.set_random_seed`` makes it reproducible. Slices always select the same examples.
    data_dir : path, optional
        ``rock_paper_scissors``: the folder holding ``rps.zip`` and ``rps-test-set.zip`` or the
        extracted ``rps/`` and ``rps-test-set/`` folders (default: ``$NABLANET_DATA_DIR``, then
        ``~/.nablanet/datasets/rock_paper_scissors``). ``rock_paper_scissors_generated``: the
        cache folder of the .npz files.
    with_info : bool
        Also return a :class:`DatasetInfo`.
    batch_size : int, optional
        Batch the datasets; ``-1`` returns each split as one batch of Tensors.
    image_size : int, optional
        *Generated set only*: side of the square images (default 300, as published).
    seed : int
        *Generated set only*: the generation seed.
    on_error : {'raise', 'skip'}
        *Real set only*: what to do with an undecodable file (see
        :func:`nablanet.data.image_dataset_from_directory`).
    download : bool
        *Real set only*: download the published archives of the requested splits that are
        missing (into ``data_dir`` or the first default folder), as TFDS does; False only reads
        what is on disk.

    Returns
    -------
    Dataset, list of Dataset, or dict of Dataset (and DatasetInfo when ``with_info``)

    Raises
    ------
    FileNotFoundError
        ``rock_paper_scissors`` with ``download=False`` whose archives are missing; the message
        says where nablanet looked and how to obtain the data (or to use the generated set).
    nablanet.data.download.DownloadError
        A download failed (offline, say); the message names the manual route and the
        generated set.
    """
    if name not in _BUILDERS:
        raise ValueError(f"load: unknown data set {name!r}. Available: {list(_BUILDERS)}")
    if name == "rock_paper_scissors" and image_size is not None:
        raise ValueError(
            "load: image_size applies to 'rock_paper_scissors_generated' only; resize the real "
            "images in a map. Received: image_size={image_size}"
        )

    if name == "rock_paper_scissors_generated":
        size = 300 if image_size is None else int(image_size)
        arrays = _generated.load_arrays(size, seed, data_dir)
        sizes = {s: len(arrays[s]["label"]) for s in _generated.SPLIT_SIZES}

        def fetch(s: str, start: int, stop: int) -> tuple[Any, np.ndarray]:
            return arrays[s]["image"][start:stop], arrays[s]["label"][start:stop]

        description = (
            "Procedurally drawn hands playing rock, paper, scissors (nablanet.data.generated): "
            "a stand-in for the Rock Paper Scissors data set that needs no download."
        )
        version, homepage = _generated.VERSION, ""
        shape: tuple[int | None, ...] = (size, size, 3)
    else:
        # count the files of each split; only the splits the request names must exist
        wanted = _named_splits(split, list(_rps.SPLIT_SOURCES))
        if download:
            _rps.download([s for s in _rps.SPLIT_SOURCES if s in wanted], data_dir)
        sizes = {}
        for s in _rps.SPLIT_SOURCES:
            try:
                sizes[s] = _rps.count_split(s, data_dir)
            except FileNotFoundError:
                if s in wanted:
                    raise
        cache: dict[str, tuple[int, Any, np.ndarray]] = {}

        def fetch(s: str, start: int, stop: int) -> tuple[Any, np.ndarray]:
            return cache[s][1][start - cache[s][0]:stop - cache[s][0]], cache[s][2][
                start - cache[s][0]:stop - cache[s][0]]

        description = (
            "Rock Paper Scissors (Laurence Moroney): computer-generated images of hands "
            "playing rock, paper, scissors, 300x300 RGB."
        )
        version, homepage = "3.0.0", _rps.HOMEPAGE
        shape = (300, 300, 3)

    if split is None:
        specs: list[str] = list(sizes)
    elif isinstance(split, str):
        specs = [split]
    elif isinstance(split, (list, tuple)) and all(isinstance(s, str) for s in split):
        specs = list(split)
    else:
        raise TypeError(
            f"load: split must be a string, a list of strings or None. Received: split={split!r}"
        )
    resolved = [resolve_split(s, sizes) for s in specs]

    if name == "rock_paper_scissors":
        # decode each split once: only the range the requested slices need, or (when files may
        # be skipped, which shifts positions) the whole split, after which slices are resolved
        # against the number of files that decoded
        for s in sizes:
            parts = [p for r in resolved for p in r if p.split == s and p.num_examples > 0]
            if not parts:
                cache[s] = (0, np.zeros((0, *shape), np.uint8), np.zeros(0, np.int64))
                continue
            lo, hi = min(p.start for p in parts), max(p.stop for p in parts)
            if on_error == "skip":
                lo, hi = 0, sizes[s]
            _, images, labels = _rps.read_split(s, data_dir, lo, hi, on_error=on_error)
            cache[s] = (lo, images, labels)
            if on_error == "skip":
                sizes[s] = len(labels)
        if on_error == "skip":
            resolved = [resolve_split(sp, sizes) for sp in specs]

    base_seed = int(make_generator(None).integers(2**63)) if shuffle_files else 0
    datasets = [
        _make_dataset(parts, fetch, as_supervised, shuffle_files, base_seed + i, batch_size)
        for i, parts in enumerate(resolved)
    ]

    if split is None:
        result: Any = dict(zip(specs, datasets))
    elif isinstance(split, str):
        result = datasets[0]
    else:
        result = datasets
    if not with_info:
        return result
    info = DatasetInfo(
        name=name,
        version=version,
        description=description,
        features={"image": TensorSpec(shape, np.uint8), "label": ClassLabel(_rps.CLASS_NAMES)},
        splits={s: SplitInfo(s, n) for s, n in sizes.items()},
        homepage=homepage,
        data_dir=None if data_dir is None else os.fspath(data_dir),
    )
    return result, info


def _named_splits(split: Any, all_splits: list[str]) -> set[str]:
    """The split names a request refers to (every split for None or 'all')."""
    if split is None:
        return set(all_splits)
    specs = [split] if isinstance(split, str) else list(split)
    names = set()
    for spec in specs:
        for part in parse_split(spec):
            names.update(all_splits if part.split == "all" else [part.split])
    return names


def _make_dataset(
    parts: list[ReadSlice],
    fetch: Any,
    as_supervised: bool,
    shuffle_files: bool,
    seed: int,
    batch_size: int | None,
) -> Any:
    pieces = [fetch(p.split, p.start, p.stop) for p in parts]
    total = sum(len(lab) for _, lab in pieces)

    def element(images: Any, labels: np.ndarray, i: int) -> Any:
        if as_supervised:
            return images[i], labels[i]
        return {"image": images[i], "label": labels[i]}

    if batch_size == -1:
        images = [im if isinstance(im, np.ndarray) else np.stack(im) for im, _ in pieces]
        img = images[0] if len(images) == 1 else np.concatenate(images)
        lab = np.concatenate([lab for _, lab in pieces])
        if as_supervised:
            return Tensor(img), Tensor(lab)
        return {"image": Tensor(img), "label": Tensor(lab)}

    index = [(k, i) for k, (_, lab) in enumerate(pieces) for i in range(len(lab))]
    epochs = iter(range(1 << 62))

    def make_iterator() -> Iterator[Any]:
        order: Sequence[int] = range(total)
        if shuffle_files:
            order = np.random.default_rng([seed, next(epochs)]).permutation(total).tolist()
        for j in order:
            k, i = index[j]
            yield element(pieces[k][0], pieces[k][1], i)

    ds = Dataset(make_iterator, total)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    return ds
