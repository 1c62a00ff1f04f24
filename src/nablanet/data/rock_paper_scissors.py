"""Reader for the Rock Paper Scissors data set (Laurence Moroney) in its published form.

The data set is published as two archives: ``rps.zip`` (training split, members
``rps/<class>/*.png``) and ``rps-test-set.zip`` (test split, members
``rps-test-set/<class>/*.png``), with classes ``rock``, ``paper`` and ``scissors``. Either the
archives or their extracted folders (``<data_dir>/rps/<class>/*.png``,
``<data_dir>/rps-test-set/<class>/*.png``) are read; :func:`download` fetches the archives
that are missing from their published URLs (as TFDS does), checked against their SHA-256
(:mod:`nablanet.data.download`).

The examples of a split are put in a fixed order that mixes the classes -- sorted by the MD5
hash of each member's path, the way TFDS orders examples when it prepares a data set -- so a
slice such as ``'train[:70%]'`` holds all three classes, and the zip and folder forms give the
same order.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nablanet.data.images import (
    ALLOWED_IMAGE_FORMATS,
    ImageDecodeError,
    decode_images,
    warn_skipped,
)

__all__ = ["CLASS_NAMES", "SPLIT_SOURCES", "default_search_dirs", "download", "read_split"]

CLASS_NAMES = ("rock", "paper", "scissors")
SPLIT_SOURCES = {"train": "rps", "test": "rps-test-set"}
HOMEPAGE = "https://laurencemoroney.com/datasets.html"


def default_search_dirs() -> list[Path]:
    """Where ``load('rock_paper_scissors')`` looks when ``data_dir`` is None, in order."""
    dirs = []
    env = os.environ.get("NABLANET_DATA_DIR")
    if env:
        dirs += [Path(env).expanduser() / "rock_paper_scissors", Path(env).expanduser()]
    dirs.append(Path.home() / ".nablanet" / "datasets" / "rock_paper_scissors")
    return dirs


@dataclass
class _Member:
    key: str  # e.g. "rps/rock/rock01-000.png": the same for the zip and the folder form
    label: int
    path: Path | None = None  # folder form
    archive: Path | None = None  # zip form


def _find_split(split: str, dirs: list[Path]) -> list[_Member] | None:
    prefix = SPLIT_SOURCES[split]
    pattern = re.compile(
        rf"^{re.escape(prefix)}/({'|'.join(CLASS_NAMES)})/[^/]+$", re.IGNORECASE
    )
    for d in dirs:
        folder = d / prefix
        if folder.is_dir() and any((folder / c).is_dir() for c in CLASS_NAMES):
            members = []
            for label, cls in enumerate(CLASS_NAMES):
                cdir = folder / cls
                if not cdir.is_dir():
                    continue
                for f in sorted(cdir.iterdir()):
                    if f.is_file() and f.name.lower().endswith(ALLOWED_IMAGE_FORMATS):
                        members.append(_Member(f"{prefix}/{cls}/{f.name}", label, path=f))
            return members
        archive = d / f"{prefix}.zip"
        if archive.is_file():
            with zipfile.ZipFile(archive) as zf:
                names = zf.namelist()
            members = []
            for name in names:
                if not pattern.match(name) or not name.lower().endswith(ALLOWED_IMAGE_FORMATS):
                    continue
                cls = name.split("/")[1].lower()
                members.append(_Member(name, CLASS_NAMES.index(cls), archive=archive))
            return members
    return None


def _manual_route(dirs: list[Path]) -> str:
    return (
        "To use the data set without a download, put the archives rps.zip and rps-test-set.zip "
        f"of the 'Rock Paper Scissors Dataset' by Laurence Moroney ({HOMEPAGE}) -- or their "
        f"extracted rps/ and rps-test-set/ folders -- in {dirs[0]} (or in a folder you pass as "
        "data_dir=, or name in $NABLANET_DATA_DIR). To run without the real data, use the "
        "generated stand-in that ships with nablanet: "
        "nablanet.data.load('rock_paper_scissors_generated', split=..., as_supervised=...)."
    )


def missing_data_message(split: str, dirs: list[Path]) -> str:
    prefix = SPLIT_SOURCES[split]
    looked = "\n".join(f"  - {d}" for d in dirs)
    return (
        f"rock_paper_scissors: could not find the {split!r} split ({prefix}.zip or an "
        f"extracted {prefix}/ folder with rock/, paper/, scissors/ subfolders). Looked in:\n"
        f"{looked}\n"
        "With download=True (tfds.load's default) the archives are downloaded (230 MB). "
        + _manual_route(dirs)
    )


MAX_MEMBER_BYTES = 32 << 20  # an image of the data set is ~100 KB; a larger member is refused


def _read_member(zf: zipfile.ZipFile, key: str, label: str, on_error: str) -> Any:
    """The bytes of one archive member, read in this thread (decoding runs on threads).

    A member whose declared size is above :data:`MAX_MEMBER_BYTES` is refused without being
    inflated, and at most that many bytes are ever read (a member that lies about its size
    stops there): a zip bomb cannot fill the memory. A refused member is an
    :class:`ImageDecodeError` -- raised, or skipped with the others when ``on_error='skip'``.
    """
    info = zf.getinfo(key)
    problem = None
    if info.file_size > MAX_MEMBER_BYTES:
        problem = f"declares {info.file_size} bytes uncompressed"
    else:
        with zf.open(info) as member:
            data = member.read(MAX_MEMBER_BYTES + 1)
        if len(data) > MAX_MEMBER_BYTES:
            problem = "inflates past its declared size"
    if problem is None:
        return data
    error = ImageDecodeError(f"Could not decode image file {label!r}: the archive member "
                             f"{problem} (more than {MAX_MEMBER_BYTES} bytes); refused as a "
                             "possible zip bomb.")
    if on_error == "raise":
        raise error

    def refuse() -> Any:
        raise error

    return refuse

def download(splits: tuple[str, ...] | list[str] = ("train", "test"),
             data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Download the published archives of ``splits`` that are not on disk yet.

    They go to ``data_dir`` or, by default, to the first folder of
    :func:`default_search_dirs` (``$NABLANET_DATA_DIR/rock_paper_scissors`` or
    ``~/.nablanet/datasets/rock_paper_scissors``), where ``load`` finds them. Returns the
    archives downloaded. Raises :class:`~nablanet.data.download.DownloadError` with one
    message naming the manual route and the generated set when a download fails (offline,
    say); a download whose SHA-256 is not the published one raises ``ValueError``.
    """
    from nablanet.data.download import REGISTRY, DownloadError, fetch

    dirs = [Path(data_dir).expanduser()] if data_dir is not None else default_search_dirs()
    fetched = []
    for split in splits:
        if split not in SPLIT_SOURCES:
            raise ValueError(f"rock_paper_scissors: unknown split {split!r}. "
                             f"Available: {list(SPLIT_SOURCES)}")
        if _find_split(split, dirs):
            continue
        name = f"{SPLIT_SOURCES[split]}.zip"
        try:
            fetched.append(fetch(name, dirs[0]))
        except DownloadError as exc:
            raise DownloadError(
                f"rock_paper_scissors: could not download {name} "
                f"({REGISTRY[name].size / 1e6:.0f} MB): {exc} " + _manual_route(dirs)
            ) from exc
    return fetched


def read_split(
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    start: int = 0,
    stop: int | None = None,
    on_error: str = "raise",
) -> tuple[list[str], np.ndarray | list[np.ndarray], np.ndarray]:
    """Decode examples ``[start:stop]`` of ``split`` ('train' or 'test') in canonical order.

    Returns ``(keys, images, labels)``: member paths, a uint8 ``(n, H, W, 3)`` array (a list of
    arrays if the images differ in size) and int64 labels (rock 0, paper 1, scissors 2).
    Raises ``FileNotFoundError`` naming the places searched when the data is missing.
    """
    if split not in SPLIT_SOURCES:
        raise ValueError(
            f"rock_paper_scissors: unknown split {split!r}. Available: {list(SPLIT_SOURCES)}"
        )
    dirs = [Path(data_dir).expanduser()] if data_dir is not None else default_search_dirs()
    members = _find_split(split, dirs)
    if not members:
        raise FileNotFoundError(missing_data_message(split, dirs))
    members.sort(key=lambda m: hashlib.md5(m.key.encode()).hexdigest())
    members = members[start:stop]

    sources: list[object] = []
    archives: dict[Path, zipfile.ZipFile] = {}
    try:
        for m in members:
            if m.archive is not None:
                zf = archives.get(m.archive)
                if zf is None:
                    zf = archives[m.archive] = zipfile.ZipFile(m.archive)
                sources.append(_read_member(zf, m.key, f"{m.archive}:{m.key}", on_error))
            else:
                sources.append(m.path)
    finally:
        for zf in archives.values():
            zf.close()
    arrays, failed = decode_images(
        sources, names=[m.key if m.archive is None else f"{m.archive}:{m.key}" for m in members],
        on_error=on_error, what="rock_paper_scissors",
    )
    warn_skipped("rock_paper_scissors", failed, len(members))
    keep = [i for i, a in enumerate(arrays) if a is not None]
    images = [arrays[i] for i in keep]
    labels = np.asarray([members[i].label for i in keep], dtype=np.int64)
    keys = [members[i].key for i in keep]
    shapes = {a.shape for a in images}  # type: ignore[union-attr]
    if len(shapes) == 1:
        stacked = np.empty((len(images), *shapes.pop()), dtype=np.uint8)
        for i, a in enumerate(images):
            stacked[i] = a
        return keys, stacked, labels
    return keys, images, labels  # type: ignore[return-value]


def count_split(split: str, data_dir: str | os.PathLike[str] | None = None) -> int:
    """Number of image files in ``split`` (no decoding); raises when the data is missing."""
    dirs = [Path(data_dir).expanduser()] if data_dir is not None else default_search_dirs()
    members = _find_split(split, dirs)
    if not members:
        raise FileNotFoundError(missing_data_message(split, dirs))
    return len(members)
