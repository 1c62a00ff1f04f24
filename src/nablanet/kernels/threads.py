"""The one module that owns nablanet's worker threads and its control of BLAS threads.

The compiled kernels release the GIL (``nogil=True``) and so do NumPy's copies and GEMMs, so a
kernel's pass can be split over the batch and run on a few plain Python threads
(:func:`split_batch`; :func:`split_parts` when each chunk writes its own buffers, as the
compiled LSTM's weight-gradient accumulators). Their persistent workers block on a queue while
idle (no spinning, unlike an OpenMP pool next to OpenBLAS's), and they use as many threads as
NumPy's BLAS is currently allowed (:func:`nablanet.utils.numpy_blas`: NumPy's own BLAS, whatever
else is loaded; ``threadpoolctl.threadpool_limits`` or :func:`nablanet.utils.limit_threads`
therefore limit both: at one thread everything runs serially in the caller). While a split
runs, that BLAS is set to one thread, so that a GEMM inside a chunk runs in that chunk's
thread: OpenBLAS's own workers keep spinning for a while after each threaded call and would
take the second core from the chunks (docs/performance.md has the measurements).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any

SPLIT_MIN_BYTES = 1 << 20  # smaller passes are not worth a hand-off to a thread
_BLAS_THREADS: list[Any] = []
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
    # a split inside a chunk (or in another thread while one runs) is one call in its thread
    if parts <= 1 or _SPLITTING or not _SPLIT_LOCK.acquire(blocking=False):
        fn(0, 0, n)
        return
    try:
        _split(fn, n, parts)
    finally:
        _SPLIT_LOCK.release()


def _split(fn: Callable[[int, int, int], Any], n: int, parts: int) -> None:
    workers = _workers(parts - 1)
    bounds = [n * k // parts for k in range(parts + 1)]
    controller = _blas_controller()
    blas_threads = 1 if controller is None else controller.get_num_threads()
    if blas_threads != 1:  # GEMMs inside a chunk run in the chunk's own thread
        controller.set_num_threads(1)
    _SPLITTING.append(True)
    try:
        for k in range(1, parts):
            workers[k - 1].submit(fn, k, bounds[k], bounds[k + 1])
        error: BaseException | None = None
        try:
            fn(0, bounds[0], bounds[1])
        except BaseException as exc:  # (the workers' chunks are waited for all the same)
            error = exc
        for worker in workers[:parts - 1]:
            failed = worker.result()
            error = error or failed
        if error is not None:
            raise error
    finally:
        _SPLITTING.pop()
        if blas_threads != 1:
            controller.set_num_threads(blas_threads)


class _Worker:
    """One persistent worker thread: takes ``(fn, part, start, stop)`` from its inbox, puts
    None (done) or the exception raised into its outbox. Both are C-level ``SimpleQueue`` s:
    a hand-off is one lock release each way, cheaper than a ``ThreadPoolExecutor``'s future
    and condition variable. An idle worker blocks (no polling: a thread polling for work
    with ``time.sleep(0)`` takes the GIL from the chunk running Python code, and measured
    slower)."""

    def __init__(self, number: int) -> None:
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.outbox: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
        self.pending = 0  # chunks handed over whose outcome the caller has not taken yet
        threading.Thread(target=self._serve, name=f"nablanet-split-{number}",
                         daemon=True).start()

    def submit(self, fn: Callable[[int, int, int], Any], part: int, start: int, stop: int
               ) -> None:
        while self.pending:  # (an interrupted split left one behind: wait for it first)
            self.result()
        self.pending += 1
        self.inbox.put((fn, part, start, stop))

    def result(self) -> BaseException | None:
        """Wait for the chunk handed over: None, or the exception it raised."""
        outcome = self.outbox.get()
        self.pending -= 1
        return outcome

    def _serve(self) -> None:
        while True:
            fn, part, start, stop = self.inbox.get()
            try:
                fn(part, start, stop)
            except BaseException as exc:
                self.outbox.put(exc)
            else:
                self.outbox.put(None)
            del fn  # (the chunk's closure is not kept alive while idle)


_WORKERS: list[_Worker] = []
_SPLIT_LOCK = threading.Lock()


def _workers(count: int) -> list[_Worker]:
    """The worker threads, started when first needed (more when the thread limit is raised)."""
    while len(_WORKERS) < count:
        _WORKERS.append(_Worker(len(_WORKERS) + 1))
    return _WORKERS


def _forget_workers() -> None:  # a forked child has none of its parent's threads
    global _SPLIT_LOCK
    _WORKERS.clear()
    _SPLITTING.clear()
    _SPLIT_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)
