"""Utilities with Keras's names: ``set_random_seed``, ``to_categorical``, ``Progbar``."""

from __future__ import annotations

import ctypes
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from nablanet.callbacks.progbar import Progbar
from nablanet.random import set_random_seed

__all__ = ["Progbar", "keep_freed_memory", "limit_threads", "set_random_seed", "to_categorical"]


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


@contextmanager
def limit_threads(threads: int) -> Iterator[None]:
    """Run the block with BLAS and numba limited to ``threads`` threads (0: leave them alone).

    On a machine whose cores are shared with other jobs, OpenBLAS's idle threads spin and can
    make small matrix products many times slower; one thread is then the faster choice.

    Examples
    --------
    >>> with limit_threads(1):
    ...     pass
    """
    if threads < 0:
        raise ValueError(f"limit_threads: threads must be 0 (no limit) or positive. "
                         f"Received: threads={threads}")
    if threads == 0:
        yield
        return
    import numba
    from threadpoolctl import threadpool_limits

    previous = numba.get_num_threads()
    available = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # set at import
    numba.set_num_threads(max(1, min(threads, available)))
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(threshold: int = 1 << 30) -> bool:
    """Let glibc's malloc keep freed blocks of up to ``threshold`` bytes for reuse.

    By default glibc serves every allocation above its mmap threshold (which adapts, up to
    32 MB) with fresh pages from the kernel, unmaps them again on free, and returns free memory
    at the top of the heap once it exceeds twice that threshold. A training step allocates and
    frees tens of MB of activations and gradients, so each step the kernel maps, zeroes and
    faults in those pages again: about 8,500 page faults per step of the chapter's four-conv
    model. Raising both thresholds to ``threshold`` keeps the memory in the process for the
    next step; measured here, a training step of that model runs 10-25% faster and a short
    ``nablanet run cnn`` 12-15% faster, while the peak resident memory grows by about 20%
    (the freed blocks are kept, not returned).

    The ``nablanet`` command calls this at start-up; a script can call it once before
    training. It changes the whole process's allocator (PyTorch in the same process gains as
    well), and does nothing where the C library is not glibc.

    Returns True when the setting was applied, False on other C libraries.

    Examples
    --------
    >>> keep_freed_memory()  # doctest: +SKIP
    True
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or \
            not 0 < threshold < 1 << 31:
        raise ValueError(f"keep_freed_memory: threshold must be a positive number of bytes "
                         f"below 2**31. Received: threshold={threshold!r}")
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    applied = libc.mallopt(_M_MMAP_THRESHOLD, int(threshold))
    applied &= libc.mallopt(_M_TRIM_THRESHOLD, int(threshold))
    return bool(applied)

from nablanet.data.download import get_file  # noqa: E402  (keras.utils.get_file)

__all__ += ["get_file"]
