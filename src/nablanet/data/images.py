"""Reading images: Pillow decoding into uint8 arrays, and Keras's
``image_dataset_from_directory``.

Decoding is done once, in one pass over the files (several files at a time on threads,
since Pillow releases the GIL while it decompresses), and the pixels are kept as uint8; the
resize to the requested size happens per element when the dataset is iterated.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image

from nablanet.data.dataset import Dataset
from nablanet.data.image_ops import resize
from nablanet.random import make_generator

__all__ = [
    "ALLOWED_IMAGE_FORMATS",
    "ImageDecodeError",
    "decode_image",
    "decode_images",
    "image_dataset_from_directory",
]

ALLOWED_IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_COLOR_MODES = {"rgb": ("RGB", 3), "rgba": ("RGBA", 4), "grayscale": ("L", 1)}


class ImageDecodeError(ValueError):
    """An image file could not be read or decoded; the message names the file."""


def decode_image(source: Any, color_mode: str = "rgb", name: str | None = None) -> np.ndarray:
    """Decode an image file into a uint8 ``(height, width, channels)`` array.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
    color_mode : {'rgb', 'rgba', 'grayscale'}
        Channels of the result: 3, 4 or 1. An alpha channel is dropped for ``'rgb'``
        (the colour values are kept as stored, as TensorFlow's ``decode_png(channels=3)`` does).
    name : str, optional
        What to call the file in an error message (defaults to the path).

    Raises
    ------
    ImageDecodeError
        If the file cannot be opened or decoded; the message names the file.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGBA", (4, 2), (10, 20, 30, 0)).save(buf, "PNG")
    >>> decode_image(buf.getvalue()).shape
    (2, 4, 3)
    """
    if color_mode not in _COLOR_MODES:
        raise ValueError(
            f"color_mode must be one of {list(_COLOR_MODES)}. Received: color_mode={color_mode!r}"
        )
    mode, channels = _COLOR_MODES[color_mode]
    label = name if name is not None else (
        os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<image bytes>"
    )
    opened_here = None
    try:
        stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        if isinstance(source, (str, os.PathLike)):
            stream = opened_here = _open_regular(source)
        with Image.open(stream) as opened:
            opened.load()
            img: Image.Image = opened
            if img.mode == "P" and "transparency" in img.info:
                img = img.convert("RGBA")
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr16 = np.asarray(img, dtype=np.float64)
                top = 65535.0 if img.mode.startswith("I;16") else max(arr16.max(), 1.0)
                img = Image.fromarray((arr16 * (255.0 / top) + 0.5).astype(np.uint8), "L")
            if img.mode != mode:
                img = img.convert(mode)
            array = np.asarray(img, dtype=np.uint8)
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, zlib.error...
        raise ImageDecodeError(f"Could not decode image file {label!r}: {exc}") from exc
    finally:
        if opened_here is not None:
            opened_here.close()
    if channels == 1:
        array = array[:, :, None]
    return array


def _open_regular(path: str | os.PathLike[str]) -> Any:
    """Open ``path`` for reading if it is a regular file (checked on the open descriptor, so
    a FIFO or device named ``*.png`` is refused instead of blocking the loader for ever)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"not a regular file (a FIFO, socket or device): {os.fspath(path)!r}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def decode_images(
    sources: Sequence[Any],
    names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    on_error: str = "raise",
    threads: int | None = None,
    what: str = "decode_images",
) -> tuple[list[np.ndarray | None], list[str]]:
    """Decode many images in one pass; return ``(arrays, failed_names)``.

    ``arrays[i]`` is ``None`` for a file that failed when ``on_error='skip'``; with
    ``on_error='raise'`` the first failure raises :class:`ImageDecodeError`.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"{what}: on_error must be 'raise' or 'skip'. Received: {on_error!r}")
    names = list(names) if names is not None else [
        os.fspath(s) if isinstance(s, (str, os.PathLike)) else f"<image {i}>"
        for i, s in enumerate(sources)
    ]

    def one(i: int) -> np.ndarray | None:
        try:
            src = sources[i]
            if callable(src):
                src = src()
            return decode_image(src, color_mode, names[i])
        except ImageDecodeError:
            if on_error == "raise":
                raise
            return None

    workers = threads if threads is not None else min(4, os.cpu_count() or 1)
    if workers > 1 and len(sources) > 8:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            arrays = list(pool.map(one, range(len(sources)), chunksize=16))
    else:
        arrays = [one(i) for i in range(len(sources))]
    failed = [names[i] for i, a in enumerate(arrays) if a is None]
    return arrays, failed


def warn_skipped(what: str, failed: list[str], total: int) -> None:
    """Emit the single warning that reports every skipped file."""
    if not failed:
        return
    shown = ", ".join(repr(f) for f in failed[:5])
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    warnings.warn(
        f"{what}: skipped {len(failed)} of {total} image files that could not be decoded: "
        f"{shown}{more}.",
        RuntimeWarning,
        stacklevel=3,
    )


def _identity(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def _list_files(directory: str, follow_links: bool,
                seen: set[tuple[int, int]] | None = None) -> list[str]:
    """Image files under ``directory`` (recursively), as sorted relative paths.

    With ``follow_links`` every real directory and file is visited once: a symbolic link
    back to a parent (a loop) or a second link to the same folder or file adds nothing.
    ``seen`` (shared by the walks of one call) holds the directories and files already
    visited, or not to be entered (the other class folders); ``directory`` itself is always
    walked.
    """
    found = []
    seen = set() if seen is None else seen
    for root, dirs, files in os.walk(directory, followlinks=follow_links):
        dirs.sort()
        if follow_links:
            here = _identity(root)
            if here in seen and root != directory:
                dirs[:] = []
                continue
            seen.add(here)
        for fname in sorted(files):
            if not fname.lower().endswith(ALLOWED_IMAGE_FORMATS):
                continue
            path = os.path.join(root, fname)
            if follow_links:
                try:
                    info = os.stat(path)
                except OSError:  # a dangling link: reported when it is decoded
                    info = None
                if info is not None:
                    if (info.st_dev, info.st_ino) in seen:
                        continue
                    seen.add((info.st_dev, info.st_ino))
            found.append(os.path.relpath(path, directory))
    return sorted(found)


def _smart_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The largest centred crop of ``image`` with aspect ratio ``width / height`` (Keras)."""
    h, w = image.shape[:2]
    crop_h = max(min(h, int(w * height / width)), 1)
    crop_w = max(min(w, int(h * width / height)), 1)
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    return image[top:top + crop_h, left:left + crop_w]


def _validate_split(validation_split: float | None, subset: str | None, shuffle: bool,
                    seed: int | None) -> None:
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(
            "`validation_split` must be between 0 and 1. "
            f"Received: validation_split={validation_split}"
        )
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(
            '`subset` must be either "training", "validation" or "both". '
            f"Received: subset={subset!r}"
        )
    if (validation_split is None) != (subset is None):
        raise ValueError(
            "If `subset` is set, `validation_split` must be set, and inversely. "
            f"Received: validation_split={validation_split}, subset={subset!r}"
        )
    if validation_split is not None and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and "
            "validation subset."
        )


def image_dataset_from_directory(
    directory: str | os.PathLike[str],
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    verbose: bool = True,
    on_error: str = "raise",
) -> Dataset | list[Dataset]:
    """A dataset of images (and labels) from a directory tree, as in Keras.

    With ``labels='inferred'`` the directory holds one subdirectory per class
    (``directory/<class>/*.png``); classes are the sorted subdirectory names (or
    ``class_names``, which fixes their order) and labels are class indices. Files with the
    extensions ``.bmp .gif .jpeg .jpg .png`` are used. Images are decoded once (in one pass,
    keeping uint8 pixels) and resized to ``image_size`` when the dataset is iterated; they come
    out as float32 in ``[0, 255]`` with shape ``(batch, height, width, channels)``.

    Parameters
    ----------
    directory : path
    labels : 'inferred', None, or a list of ints (one per file, in sorted path order)
    label_mode : {'int', 'categorical', 'binary', None}
        int32 indices, float32 one-hot vectors, float32 ``(…, 1)`` 0/1 values, or no labels.
    class_names : list of str, optional
    color_mode : {'rgb', 'rgba', 'grayscale'}
    batch_size : int or None
        None gives single (unbatched) elements.
    image_size : (height, width)
    shuffle : bool
        Shuffle the file order (with ``seed``) and each epoch's batches (buffer
        ``8 * batch_size``).
    seed : int, optional
        Required with ``validation_split`` when shuffling. When None, drawn from nablanet's
        generator (``nb.set_random_seed`` makes it reproducible).
    validation_split : float in (0, 1), optional
        The last ``int(validation_split * n)`` files (after shuffling) form the validation
        subset.
    subset : {'training', 'validation', 'both'}, optional
        ``'both'`` returns ``[training, validation]``.
    interpolation : {'bilinear', 'nearest'}
    follow_links : bool
    crop_to_aspect_ratio : bool
        Resize the largest centred crop with the target aspect ratio instead of distorting.
    verbose : bool
        Print how many files and classes were found, as Keras does.
    on_error : {'raise', 'skip'}
        *nablanet extension.* ``'raise'`` (default): an unreadable or corrupt image raises
        :class:`ImageDecodeError` naming the file. ``'skip'``: such files are left out and one
        ``RuntimeWarning`` reports how many (and which) were skipped.

    Returns
    -------
    Dataset, or [Dataset, Dataset] for ``subset='both'``
        Elements ``(images, labels)``, or ``images`` alone when there are no labels. The
        dataset has a ``class_names`` attribute and a ``file_paths`` attribute.
    """
    directory = os.fspath(directory)
    what = "image_dataset_from_directory"
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{what}: directory {directory!r} does not exist.")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", or None. '
            f"Received: label_mode={label_mode!r}"
        )
    if color_mode not in _COLOR_MODES:
        raise ValueError(
            '`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
            f"Received: color_mode={color_mode!r}"
        )
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(
            f"{what}: interpolation must be 'bilinear' or 'nearest'. "
            f"Received: interpolation={interpolation!r}"
        )
    if labels is None or labels == "inferred":
        pass
    elif isinstance(labels, str) or not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError(
            "`labels` argument should be a list/tuple of integer labels, of the same size as "
            "the number of image files in the target directory, or the string 'inferred', or "
            f"None. Received: labels={labels!r}"
        )
    if labels is None:
        label_mode = None
    if class_names is not None and labels != "inferred":
        raise ValueError(
            "You can only pass `class_names` if `labels='inferred'`. "
            f"Received: labels={labels!r}, and class_names={class_names}"
        )
    height, width = int(image_size[0]), int(image_size[1])
    _validate_split(validation_split, subset, shuffle, seed)

    # -- index the files ----------------------------------------------------------------------
    if labels == "inferred":
        subdirs = sorted(
            d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d))
        )
        if class_names is not None:
            if sorted(class_names) != subdirs:
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories of "
                    f"the target directory. Expected: {subdirs}, but received: "
                    f"{list(class_names)}"
                )
            names = list(class_names)
        else:
            names = subdirs
        paths: list[str] = []
        label_list: list[int] = []
        # (a link from one class folder to the root or another class adds nothing)
        not_again = {_identity(d) for d in [directory, *(os.path.join(directory, c)
                                                          for c in names)]}
        for index, cls in enumerate(names):
            files = _list_files(os.path.join(directory, cls), follow_links, not_again)
            paths.extend(os.path.join(directory, cls, f) for f in files)
            label_list.extend([index] * len(files))
    else:
        names = []
        paths = [os.path.join(directory, f) for f in _list_files(directory, follow_links)]
        label_list = [] if labels is None else [int(v) for v in labels]  # type: ignore[union-attr]
        if labels is not None:
            if len(label_list) != len(paths):
                raise ValueError(
                    "Expected the lengths of `labels` to match the number of files in the "
                    f"target directory. len(labels) is {len(label_list)} while we found "
                    f"{len(paths)} files in directory {directory}."
                )
            names = [str(i) for i in range(max(label_list, default=-1) + 1)]
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={names}"
        )
    if verbose:
        if labels == "inferred" or labels is not None:
            print(f"Found {len(paths)} files belonging to {len(names)} classes.")
        else:
            print(f"Found {len(paths)} files.")

    # -- shuffle the file order, then split off validation -----------------------------------
    if seed is None:
        seed = int(make_generator(None).integers(1_000_000))
    order = np.arange(len(paths))
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(paths))
    paths = [paths[i] for i in order]
    label_array = np.asarray([label_list[i] for i in order], dtype=np.int64) if label_list else (
        np.zeros(len(paths), np.int64))

    n_val = 0 if validation_split is None else int(validation_split * len(paths))
    subsets = {"training": slice(0, len(paths) - n_val), "validation": slice(len(paths) - n_val,
                                                                             len(paths))}
    wanted = ["training", "validation"] if subset == "both" else [subset or "training"]
    if subset is None:
        subsets["training"] = slice(0, len(paths))
    needed = sorted({i for s in wanted for i in range(len(paths))[subsets[s]]})

    arrays, failed = decode_images(
        [paths[i] for i in needed], color_mode=color_mode, on_error=on_error, what=what
    )
    warn_skipped(what, failed, len(needed))
    decoded = dict(zip(needed, arrays))

    results = []
    for s in wanted:
        keep = [i for i in range(len(paths))[subsets[s]] if decoded[i] is not None]
        if subset is not None and verbose:
            print(f"Using {len(keep)} files for {s}.")
        # none is None: the files that failed were left out of keep
        images: list[np.ndarray] = [decoded[i] for i in keep]  # type: ignore[misc]
        ds = _directory_dataset(
            images, label_array[keep], label_mode, len(names), (height, width), interpolation,
            crop_to_aspect_ratio, batch_size, shuffle, seed,
        )
        ds.class_names = list(names)  # type: ignore[attr-defined]
        ds.file_paths = [paths[i] for i in keep]  # type: ignore[attr-defined]
        results.append(ds)
    return results if subset == "both" else results[0]


def _directory_dataset(
    images: list[np.ndarray],
    labels: np.ndarray,
    label_mode: str | None,
    num_classes: int,
    size: tuple[int, int],
    interpolation: str,
    crop: bool,
    batch_size: int | None,
    shuffle: bool,
    seed: int,
) -> Dataset:
    if label_mode == "int":
        label_values: np.ndarray | None = labels.astype(np.int32)
    elif label_mode == "categorical":
        label_values = np.eye(max(num_classes, 1), dtype=np.float32)[labels]
    elif label_mode == "binary":
        label_values = labels.astype(np.float32)[:, None]
    else:
        label_values = None

    def load(i: int) -> np.ndarray:
        image = images[i]
        if crop:
            image = _smart_crop(image, *size)
        return resize(image, size, method=interpolation).data.astype(np.float32, copy=False)

    def make_iterator() -> Any:
        if label_values is None:
            return (load(i) for i in range(len(images)))
        return ((load(i), label_values[i]) for i in range(len(images)))

    ds = Dataset(make_iterator, len(images))
    if shuffle:
        ds = ds.shuffle(8 * batch_size if batch_size else 1024, seed=seed)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    return ds
