"""The one module that owns nablanet's worker threads and its control of BLAS threads.

The compiled kernels release the GIL (``nogil=True``) and so do NumPy's copies and GEMMs, so a
kernel's pass can be split over the batch and run on a few plain Python threads
(:func:`split_batch`; :func:`split_parts` when each chunk writes its own buffers, as the
compiled LSTM's weight-gradient accumulators). Their workers block on a queue while idle (no
spinning, unlike an OpenMP pool next to OpenBLAS's), and they use as many threads as NumPy's
BLAS is currently allowed (:func:`nablanet.utils.numpy_blas`: NumPy's own BLAS, whatever else
is loaded; ``threadpoolctl.threadpool_limits`` or :func:`nablanet.utils.limit_threads`
therefore limit both: at one thread everything runs serially in the caller). While a split
runs, that BLAS is set to one thread, so that a GEMM inside a chunk runs in that chunk's
thread: OpenBLAS's own workers keep spinning for a while after each threaded call and would
take the second core from the chunks (docs/performance.md has the measurements).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SPLIT_MIN_BYTES = 1 << 20  # smaller passes are not worth a hand-off to a thread
_BLAS_THREADS: list[Any] = []
_EXECUTOR: list[Any] = []
_SPLITTING: list[bool] = []  # non-empty while a split runs


def _blas_controller() -> Any:
    """threadpoolctl's controller of NumPy's OpenBLAS (found once), or None."""
    if not _BLAS_THREADS:
        from nablanet.utils import numpy_blas  # NumPy's own BLAS, not the first one listed

        _BLAS_THREADS.append(numpy_blas())
    return _BLAS_THREADS[0]


def worker_count() -> int:
    """How many threads a memory-bound pass may use: OpenBLAS's current limit (1 without it)."""
    controller = _blas_controller()
    if controller is None:  # pragma: no cover - NumPy without OpenBLAS
        return 1
    try:
        return max(1, int(controller.get_num_threads()))
    except Exception:  # pragma: no cover
        return 1


def split_batch(fn: Callable[[int, int], Any], n: int, nbytes: int) -> None:
    """Run ``fn(start, stop)`` over ``[0, n)`` in contiguous chunks, one per worker thread.

    ``nbytes`` is the memory the whole pass touches: passes under ~1 MB, or with one worker,
    run as one call in the caller's thread, and a GEMM inside such a small pass runs on that
    thread too (NumPy's BLAS held at one thread for the call: OpenBLAS's own threads would
    cost more than they save on it, and much more when another process holds the second
    core). ``fn`` must release the GIL to gain anything and must write disjoint parts of its
    output for disjoint ranges.
    """
    if nbytes >= SPLIT_MIN_BYTES:
        split_parts(lambda part, start, stop: fn(start, stop), n, min(worker_count(), n))
        return
    controller = _blas_controller()
    blas_threads = 1 if controller is None or _SPLITTING else controller.get_num_threads()
    if blas_threads == 1:
        fn(0, n)
        return
    controller.set_num_threads(1)
    try:
        fn(0, n)
    finally:
        controller.set_num_threads(blas_threads)


def split_parts(fn: Callable[[int, int, int], Any], n: int, parts: int) -> None:
    """Run ``fn(part, start, stop)`` for ``parts`` contiguous chunks of ``[0, n)`` at once: the
    first in the caller's thread, the others on the worker threads.

    ``part`` (``0 … parts-1``) lets each chunk write its own output buffer (per-part
    accumulators, summed by the caller afterwards). With one part, or inside a chunk of another
    split, it is one call ``fn(0, 0, n)`` in the caller's thread. While the chunks run, NumPy's
    BLAS is held at one thread (a GEMM inside a chunk runs in that chunk's thread).
    """
    parts = min(parts, n)
    if parts <= 1 or _SPLITTING:  # (a split inside a chunk runs as one call in its thread)
        fn(0, 0, n)
        return
    pool = _executor(parts - 1)
    bounds = [n * k // parts for k in range(parts + 1)]
    controller = _blas_controller()
    blas_threads = 1 if controller is None else controller.get_num_threads()
    if blas_threads != 1:  # GEMMs inside a chunk run in the chunk's own thread
        controller.set_num_threads(1)
    _SPLITTING.append(True)
    try:
        futures = [pool.submit(fn, k, bounds[k], bounds[k + 1]) for k in range(1, parts)]
        try:
            fn(0, bounds[0], bounds[1])
        finally:
            for future in futures:
                future.result()
    finally:
        _SPLITTING.pop()
        if blas_threads != 1:
            controller.set_num_threads(blas_threads)


def _executor(workers: int) -> Any:
    """The one pool of worker threads, grown when more are asked for than it has."""
    from concurrent.futures import ThreadPoolExecutor

    if _EXECUTOR and _EXECUTOR[0]._max_workers >= workers:
        return _EXECUTOR[0]
    if _EXECUTOR:  # the limit was raised since: a bigger pool
        _EXECUTOR[0].shutdown(wait=False)
        _EXECUTOR.clear()
    _EXECUTOR.append(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nablanet-split"))
    return _EXECUTOR[0]
