"""nablanet's worker threads (kernels/threads.py): persistent workers, exceptions, nesting,
concurrent callers, idle cost, and NumPy's own BLAS found whatever was imported first."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from nablanet.kernels import threads
from nablanet.utils import limit_threads


def _parts(n: int, parts: int) -> list[tuple[int, int, int, str]]:
    seen: list[tuple[int, int, int, str]] = []
    lock = threading.Lock()

    def chunk(part: int, start: int, stop: int) -> None:
        with lock:
            seen.append((part, start, stop, threading.current_thread().name))

    threads.split_parts(chunk, n, parts)
    return sorted(seen)


def test_split_parts_covers_range_on_persistent_workers() -> None:
    with limit_threads(2):
        first = _parts(7, 3)
        assert [(p, a, z) for p, a, z, _ in first] == [(0, 0, 2), (1, 2, 4), (2, 4, 7)]
        assert first[0][3] == threading.current_thread().name  # part 0: the caller
        assert all(name.startswith("nablanet-split") for *_, name in first[1:])
        assert len({name for *_, name in first}) == 3
        second = _parts(7, 3)
        assert [s[3] for s in second] == [f[3] for f in first]  # the same threads again
        assert threads.worker_count() == 2  # the limit is back after the split


def test_worker_exception_is_raised_in_the_caller_and_the_workers_recover() -> None:
    def boom(part: int, start: int, stop: int) -> None:
        if part == 1:
            raise ValueError(f"chunk {start}:{stop} failed")

    with limit_threads(2):
        with pytest.raises(ValueError, match="chunk 2:4 failed"):
            threads.split_parts(boom, 4, 2)
        assert threads.worker_count() == 2
        assert [(p, a, z) for p, a, z, _ in _parts(4, 2)] == [(0, 0, 2), (1, 2, 4)]


def test_caller_exception_waits_for_the_other_chunks() -> None:
    finished: list[int] = []

    def chunk(part: int, start: int, stop: int) -> None:
        if part == 0:
            raise RuntimeError("caller's chunk failed")
        time.sleep(0.05)
        finished.append(part)

    with limit_threads(2):
        with pytest.raises(RuntimeError, match="caller's chunk failed"):
            threads.split_parts(chunk, 2, 2)
        assert finished == [1]  # not left running behind the caller's back
        assert [(p, a, z) for p, a, z, _ in _parts(2, 2)] == [(0, 0, 1), (1, 1, 2)]


def test_an_outcome_left_behind_is_waited_for_before_the_next_chunk() -> None:
    with limit_threads(2):
        threads.split_parts(lambda *args: None, 2, 2)  # the worker exists
        worker = threads._WORKERS[0]
        done: list[str] = []
        worker.submit(lambda *args: (time.sleep(0.05), done.append("old")), 1, 0, 1)
        # (as if a split were interrupted before it took this chunk's outcome)
        threads.split_parts(lambda part, a, z: done.append(f"new{part}") if part else None,
                            2, 2)
        assert done == ["old", "new1"]
        assert worker.pending == 0


def test_nested_and_concurrent_splits_run_in_one_thread() -> None:
    inner: list[tuple[int, int, int, str]] = []

    def outer(part: int, start: int, stop: int) -> None:
        if part == 0:
            inner.extend(_parts(5, 2))

    with limit_threads(2):
        threads.split_parts(outer, 2, 2)
        assert [(p, a, z) for p, a, z, _ in inner] == [(0, 0, 5)]

        started, release = threading.Event(), threading.Event()
        other: list[list[tuple[int, int, int, str]]] = []

        def holding(part: int, start: int, stop: int) -> None:
            if part == 0:
                started.set()
                release.wait(5)

        caller = threading.Thread(target=threads.split_parts, args=(holding, 2, 2))
        caller.start()
        started.wait(5)
        other.append(_parts(6, 2))  # another thread's split while one runs: serial
        release.set()
        caller.join(5)
        assert [(p, a, z) for p, a, z, _ in other[0]] == [(0, 0, 6)]


def test_idle_workers_do_not_use_the_cpu() -> None:
    """The workers' own CPU clocks (not the process's: OpenBLAS's threads may still spin
    after an earlier test's product) stand still while they wait for work."""
    with limit_threads(2):
        for _ in range(20):
            threads.split_parts(lambda *args: None, 2, 2)
    workers = [t for t in threading.enumerate() if t.name.startswith("nablanet-split")]
    assert workers
    clocks = [time.pthread_getcpuclockid(t.ident) for t in workers]  # type: ignore[arg-type]

    def busy() -> float:
        return sum(time.clock_gettime(clock) for clock in clocks)

    start = busy()
    time.sleep(0.3)
    assert busy() - start < 0.05


def test_numpy_blas_is_found_with_torch_and_scipy_imported_first() -> None:
    script = (
        "import os\n"
        "cores = os.sched_getaffinity(0)\n"
        "def knobs():\n"
        "    return {k: v for k, v in os.environ.items() if k.startswith(('OMP_', 'OPENBLAS'))}\n"
        "before = knobs()\n"
        "import torch, scipy.linalg, numpy as np\n"
        "from nablanet.kernels import threads\n"
        "path = os.path.realpath(threads._blas_controller().filepath)\n"
        "home = os.path.realpath(os.path.dirname(np.__file__))\n"
        "assert path.startswith((home + os.sep, home + '.libs' + os.sep)), path\n"
        "assert os.sched_getaffinity(0) == cores  # no import pinned the process\n"
        "assert knobs() == before  # nor set OpenMP's or OpenBLAS's threads\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
