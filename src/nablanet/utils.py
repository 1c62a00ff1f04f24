"""Utilities with Keras's names: ``set_random_seed``, ``to_categorical``, ``Progbar``."""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import threading
from typing import Any

import numpy as np

from nablanet.callbacks.progbar import Progbar
from nablanet.random import set_random_seed

__all__ = ["Progbar", "PyDataset", "keep_freed_memory", "limit_threads", "set_random_seed",
           "to_categorical", "freed_memory_kept"]


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels (``keras.utils.to_categorical``).

    A trailing axis of size 1 is dropped first; ``num_classes`` defaults to ``max(x) + 1``.

    Examples
    --------
    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    labels = np.asarray(getattr(x, "data", x))
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError("to_categorical: labels must be integers. Received non-integer "
                             "values.")
        labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: labels must be non-negative. Received: "
                         f"{labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"to_categorical: label {labels.max()} is outside the range "
                         f"[0, {num_classes}). Received: num_classes={num_classes}")
    out = np.zeros((*labels.shape, num_classes), dtype=np.float32)
    np.put_along_axis(out, labels[..., None].astype(np.int64), 1.0, axis=-1)
    return out


def numpy_blas() -> Any:
    """threadpoolctl's controller of the BLAS library NumPy itself calls (found once), or None.

    Several BLAS libraries may be loaded in one process -- SciPy's wheels bring their own
    OpenBLAS next to NumPy's, and the order in which threadpoolctl lists them varies from one
    process to the next (it follows ``PYTHONHASHSEED``). The one NumPy uses is the one inside
    NumPy's own package (``numpy.libs`` or ``numpy/.dylibs`` for wheels); otherwise the one
    whose version NumPy's build configuration names; otherwise, with a single BLAS loaded,
    that one.
    """
    if not _NUMPY_BLAS:
        _NUMPY_BLAS.append(_find_numpy_blas())
    return _NUMPY_BLAS[0]


_NUMPY_BLAS: list[Any] = []


def _find_numpy_blas() -> Any:
    try:
        from threadpoolctl import ThreadpoolController

        libraries = [lib for lib in ThreadpoolController().lib_controllers
                     if lib.user_api == "blas"]
    except Exception:  # pragma: no cover - threadpoolctl is a dependency
        return None
    package = os.path.realpath(os.path.dirname(np.__file__))
    homes = (package + os.sep, package + ".libs" + os.sep)  # numpy/ (.dylibs), numpy.libs/
    for lib in libraries:
        if os.path.realpath(lib.filepath).startswith(homes):
            return lib
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # type: ignore[index]
        version = str(blas.get("version", ""))
    except Exception:  # pragma: no cover - older NumPy
        version = ""
    matching = [lib for lib in libraries if version and lib.version == version]
    if len(matching) == 1:
        return matching[0]
    return libraries[0] if len(libraries) == 1 else None


class limit_threads:  # noqa: N801 - used like a function, as threadpoolctl's threadpool_limits
    """Limit every loaded BLAS library to ``threads`` threads (0: leave them alone).

    The limit is set when the object is made, so ``limit_threads(2)`` on its own limits the
    rest of the process; as a context manager, ``with limit_threads(1): ...`` restores the
    previous limits when the block ends (or on :meth:`restore`), never when the object is
    garbage collected. Every BLAS loaded at that moment gets the same limit (NumPy's own
    and, say, SciPy's), and nablanet's batch-split threads (:func:`numpy_blas`'s limit) follow
    it, so training with the same seed and the same ``threads`` is bit-identical from one
    process to the next whatever else is imported. numba's threading layer is never started
    (nablanet's compiled kernels run on its own Python threads), so frameworks imported later
    keep their own OpenMP runtime.

    On a machine whose cores are shared with other jobs, OpenBLAS's idle threads spin and can
    make small matrix products many times slower; one thread is then the faster choice.

    Examples
    --------
    >>> with limit_threads(1):
    ...     pass
    """

    def __init__(self, threads: int) -> None:
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) \
                or threads < 0:
            raise ValueError(f"limit_threads: threads must be 0 (no limit) or positive. "
                             f"Received: threads={threads!r}")
        self.threads = int(threads)
        self._previous: list[tuple[Any, int]] = []
        if self.threads:
            from threadpoolctl import ThreadpoolController

            for lib in ThreadpoolController().lib_controllers:
                if lib.user_api == "blas":
                    self._previous.append((lib, int(lib.num_threads)))
                    lib.set_num_threads(self.threads)

    def restore(self) -> None:
        """Put back the limits that were in place before this object was made."""
        for lib, threads in reversed(self._previous):
            lib.set_num_threads(threads)
        self._previous = []

    def __enter__(self) -> limit_threads:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.restore()


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc adapts its thresholds until mallopt sets one; they then stay where they are set. This is
# where the adaptation ends after the first freed block of 32 MiB or more (the ceiling of the
# mmap threshold on 64-bit systems, and twice that for the trim threshold).
_GLIBC_ADAPTED_MMAP_THRESHOLD = 32 << 20
_GLIBC_ADAPTED_TRIM_THRESHOLD = 64 << 20

#: Whether :meth:`Model.fit <nablanet.models.Model.fit>` keeps freed memory while it trains
#: (:class:`freed_memory_kept`), as ``evaluate``, ``predict`` and the one-batch calls
#: (``train_on_batch``, ``test_on_batch``, ``predict_on_batch``) do for their own duration. Set
#: to False to leave glibc's allocator alone.
FIT_KEEPS_FREED_MEMORY = True


class _AllocatorState:
    lock = threading.Lock()
    process_wide = False  # keep_freed_memory() was called: nothing is restored
    depth = 0  # freed_memory_kept blocks currently open


@functools.cache
def _glibc() -> Any:
    """The C library when it is glibc (the only one with these mallopt parameters), else None
    (looked up once: a one-batch call sets the thresholds twice)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL(None)


def _set_malloc_thresholds(mmap_threshold: int, trim_threshold: int) -> bool:
    libc = _glibc()
    if libc is None:
        return False
    applied = libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))
    applied &= libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
    return bool(applied)


def _release_free_memory() -> None:
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _check_threshold(where: str, threshold: Any) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or \
            not 0 < threshold < 1 << 31:
        raise ValueError(f"{where}: threshold must be a positive number of bytes "
                         f"below 2**31. Received: threshold={threshold!r}")
    return int(threshold)


def keep_freed_memory(threshold: int = 1 << 30) -> bool:
    """Let glibc's malloc keep freed blocks of up to ``threshold`` bytes for reuse, for good.

    By default glibc serves every allocation above its mmap threshold (which adapts, up to
    32 MB) with fresh pages from the kernel, unmaps them again on free, and returns free memory
    at the top of the heap once it exceeds twice that threshold. A training step allocates and
    frees tens of MB of activations and gradients, so each step the kernel maps, zeroes and
    faults in those pages again: about 8,500 page faults per step of the chapter's four-conv
    model. Raising both thresholds to ``threshold`` keeps the memory in the process for the
    next step (docs/performance.md has the measured gain), while the peak resident memory
    grows (the freed blocks are kept, not returned).

    :meth:`Model.fit <nablanet.models.Model.fit>` does this by itself for the duration of
    training (:class:`freed_memory_kept`), and ``train_on_batch`` and the other one-batch
    calls for their own duration. This function makes it permanent, for the whole process, so
    that other code (a hand-written loop with :class:`nablanet.autograd.GradientTape`) gains;
    nablanet's calls then leave the setting alone. The ``nablanet`` command calls it at
    start-up. It changes the whole process's allocator (PyTorch in the same process gains as
    well), and does nothing where the C library is not glibc.

    Returns True when the setting was applied, False on other C libraries.

    Examples
    --------
    >>> keep_freed_memory()  # doctest: +SKIP
    True
    """
    threshold = _check_threshold("keep_freed_memory", threshold)
    with _AllocatorState.lock:
        applied = _set_malloc_thresholds(threshold, threshold)
        _AllocatorState.process_wide |= applied
    return applied


class freed_memory_kept:  # noqa: N801 - a context manager, as limit_threads
    """Keep freed memory for reuse (:func:`keep_freed_memory`) until the block ends.

    :meth:`Model.fit <nablanet.models.Model.fit>` trains inside one of these, so that a
    user's own script trains as fast as the ``nablanet`` command without calling anything
    (skipped when :data:`FIT_KEEPS_FREED_MEMORY` is False). On entry glibc's mmap and trim
    thresholds are raised to ``threshold``; when the outermost block ends (blocks nest, and
    concurrent fits share one), they are set back and the memory that training kept is
    returned to the system (``malloc_trim``).

    glibc can neither report its thresholds nor resume adapting them once they are set, so
    "set back" means: to where glibc's own adaptation leaves them after the first freed block
    of 32 MiB or more (mmap threshold 32 MiB, trim threshold 64 MiB) -- the state of any
    process that has freed one activation of a model of this size. Nothing is changed when
    :func:`keep_freed_memory` has set the allocator for the whole process, or where the C
    library is not glibc, or with ``enabled=False``; :attr:`applied` says whether this block
    changed anything.

    With ``release=False`` the thresholds are set back but nothing is returned: what the
    block freed stays in the heap for the next block, up to what glibc's set-back trim
    threshold (64 MiB of free memory at the top of the heap) allows. The one-batch calls
    (``train_on_batch`` in a user's own loop, ``predict`` on one batch) run in such blocks:
    the next call reuses the memory instead of faulting in fresh pages (docs/performance.md).

    Examples
    --------
    >>> with freed_memory_kept():
    ...     pass
    """

    def __init__(self, threshold: int = 1 << 30, enabled: bool = True,
                 release: bool = True) -> None:
        threshold = _check_threshold("freed_memory_kept", threshold)
        self.applied = False
        self.release = release
        with _AllocatorState.lock:
            if not enabled or _AllocatorState.process_wide:
                return
            if _AllocatorState.depth == 0:
                if not _set_malloc_thresholds(threshold, threshold):
                    return
            _AllocatorState.depth += 1
            self.applied = True

    def restore(self) -> None:
        """End the block now (idempotent)."""
        with _AllocatorState.lock:
            if not self.applied:
                return
            self.applied = False
            _AllocatorState.depth -= 1
            if _AllocatorState.depth or _AllocatorState.process_wide:
                return
            _set_malloc_thresholds(_GLIBC_ADAPTED_MMAP_THRESHOLD, _GLIBC_ADAPTED_TRIM_THRESHOLD)
            if self.release:
                _release_free_memory()

    def __enter__(self) -> freed_memory_kept:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.restore()


class PyDataset:
    """Batches by index, for ``fit``/``evaluate``/``predict`` (``keras.utils.PyDataset``).

    Subclasses implement ``__getitem__(index)`` returning one batch (``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``) and ``__len__`` (the number of batches), or override
    :attr:`num_batches` (None for an infinite dataset, used with ``steps_per_epoch``).
    :meth:`on_epoch_end` is called after every pass, e.g. to reshuffle.

    ``workers``, ``use_multiprocessing`` and ``max_queue_size`` are accepted for Keras
    compatibility; batches are produced in the calling thread, one at a time.

    Examples
    --------
    >>> import numpy as np
    >>> class Ones(PyDataset):
    ...     def __len__(self):
    ...         return 3
    ...     def __getitem__(self, index):
    ...         return np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32)
    >>> Ones().num_batches
    3
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index).")

    @property
    def num_batches(self) -> int | None:
        """The number of batches in one pass: ``len(self)`` unless overridden."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement `__len__` or "
                                  "override the `num_batches` property.")

    def on_epoch_begin(self) -> None:
        """Called before every pass."""

    def on_epoch_end(self) -> None:
        """Called after every pass."""


# Keras's data utilities live in nablanet.data; they are keras.utils names too.
from nablanet.data import (  # noqa: E402
    array_to_img,
    image_dataset_from_directory,
    img_to_array,
    load_img,
    pad_sequences,
    save_img,
    split_dataset,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)

__all__ += [
    "array_to_img", "image_dataset_from_directory", "img_to_array", "load_img", "pad_sequences",
    "save_img", "split_dataset", "text_dataset_from_directory", "timeseries_dataset_from_array",
]

from nablanet.data.download import get_file  # noqa: E402  (keras.utils.get_file)

__all__ += ["get_file"]
