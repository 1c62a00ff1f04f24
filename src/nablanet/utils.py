"""Utilities with Keras's names: ``set_random_seed``, ``to_categorical``, ``Progbar``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from nablanet.callbacks.progbar import Progbar
from nablanet.random import set_random_seed

__all__ = ["Progbar", "limit_threads", "set_random_seed", "to_categorical"]


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
