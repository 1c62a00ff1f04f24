"""The MPI runtime behind :mod:`nablanet.distribute`: start-up, the communicator, errors.

mpi4py is imported only when distribution is used: when the process was started by
``mpiexec`` with more than one worker (seen in the launcher's environment variables) or when
:func:`init` is called. A plain ``python script.py`` never imports it and is a one-worker run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["comm", "init", "is_distributed", "launched_size", "local_rank", "local_size", "rank",
           "size"]

INSTALL_HINT = "pip install 'nablanet[mpi]'"

#: Environment variables in which MPI launchers give the number of workers
#: (MPICH/Hydra and Intel MPI, Open MPI, PMIx-based launchers).
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")


class _State:
    comm: Any = None  # the world communicator once initialised
    rank = 0
    size = 1
    local_rank = 0
    local_size = 1
    #: Share of the global batch held by this worker in the current step (set by ``fit``);
    #: None means the plain average (1 / size).
    batch_share: float | None = None
    #: (training, validation) examples this worker saw in the current epoch of ``fit``.
    epoch_samples: tuple[int, int] | None = None
    allreduce_seconds = 0.0
    allreduce_calls = 0


state = _State()


def launched_size() -> int:
    """The number of workers the launcher announced (1 without ``mpiexec``); no MPI import."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


def is_distributed() -> bool:
    """True when more than one worker takes part (cheap; never imports mpi4py by itself)."""
    if state.comm is not None:
        return state.size > 1
    return launched_size() > 1


def _import_mpi() -> Any:
    try:
        import mpi4py

        if "mpi4py.MPI" not in sys.modules:  # nablanet calls MPI from the main thread only
            mpi4py.rc.thread_level = "funneled"
        from mpi4py import MPI
    except ImportError as error:  # mpi4py itself, or its MPI library, is missing
        raise ImportError(
            "nablanet.distribute needs mpi4py and an MPI runtime, which are not installed "
            f"(or the MPI library could not be loaded: {error}). Install them with "
            f"`{INSTALL_HINT}` (mpi4py and the MPICH wheel from PyPI)."
        ) from error
    except RuntimeError as error:  # mpi4py present, libmpi not loadable
        raise ImportError(
            f"nablanet.distribute: mpi4py could not load an MPI library ({error}). Install "
            f"one with `{INSTALL_HINT}`."
        ) from error
    return MPI


def init(abort_on_error: bool = True) -> None:
    """Start MPI (once) and read this worker's place: :func:`rank`, :func:`size`,
    :func:`local_rank`.

    Called implicitly under ``mpiexec`` (by ``fit`` and by every function of
    :mod:`nablanet.distribute`). Without ``mpiexec`` it gives a one-worker world. With
    ``abort_on_error`` (default) and more than one worker, an exception that reaches the top
    of a worker prints its traceback and calls ``MPI_Abort``, which ends every worker within
    seconds instead of leaving them waiting in a collective operation.

    Raises
    ------
    ImportError
        If mpi4py or an MPI runtime is missing; the message names ``pip install
        'nablanet[mpi]'``.
    """
    if state.comm is not None:
        return
    mpi = _import_mpi()
    world = mpi.COMM_WORLD
    state.rank, state.size = world.Get_rank(), world.Get_size()
    # Our own communicator: nablanet's messages never mix with the user's on COMM_WORLD.
    state.comm = world.Dup()
    node = world.Split_type(mpi.COMM_TYPE_SHARED, key=state.rank)
    state.local_rank, state.local_size = node.Get_rank(), node.Get_size()
    node.Free()
    if abort_on_error and state.size > 1:
        _install_abort_hook(world)


#: Seconds a failing worker waits, after writing its traceback, before ``MPI_Abort``.
ABORT_GRACE_S = 1.0


def _install_abort_hook(world: Any) -> None:
    previous = sys.excepthook

    def abort_all(kind: Any, value: Any, traceback: Any) -> None:
        sys.stderr.write(f"[nablanet.distribute] worker {state.rank} of {state.size} failed; "
                         "ending all workers.\n")
        previous(kind, value, traceback)
        sys.stderr.flush()
        sys.stdout.flush()
        # MPI_Abort tears down mpiexec's output forwarding at once: give it a moment to pass
        # the traceback on, or the user (and the tests) may never see why the run ended.
        time.sleep(ABORT_GRACE_S)
        world.Abort(1)

    sys.excepthook = abort_all


def quiet_worker() -> bool:
    """True on the workers other than rank 0 of a distributed run (they print nothing)."""
    return is_distributed() and rank() != 0


def mpiexec_path() -> str:
    """The ``mpiexec`` to launch workers with: the one installed with the ``mpich`` wheel
    (``pip install 'nablanet[mpi]'``), else the one next to this Python, else on ``PATH``.

    Raises
    ------
    FileNotFoundError
        If no ``mpiexec`` is found; the message names the install command.
    """
    import shutil
    from importlib import metadata

    candidates = []
    try:
        files = metadata.distribution("mpich").files or []
    except metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name == "mpiexec":
            candidates.append(Path(str(entry.locate())).resolve())
    candidates.append(Path(sys.executable).parent / "mpiexec")
    found = shutil.which("mpiexec")
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise FileNotFoundError(f"No mpiexec found. Install one with `{INSTALL_HINT}`.")


def comm() -> Any:
    """nablanet's communicator (a duplicate of ``MPI.COMM_WORLD``), starting MPI if needed."""
    init()
    return state.comm


def rank() -> int:
    """This worker's index, 0 .. size()-1 (0 in a one-worker run)."""
    if state.comm is None and launched_size() == 1:
        return 0
    init()
    return state.rank


def size() -> int:
    """The number of workers (1 without ``mpiexec``)."""
    if state.comm is None and launched_size() == 1:
        return 1
    init()
    return state.size


def local_rank() -> int:
    """This worker's index among the workers on the same machine (for thread or device
    placement)."""
    if state.comm is None and launched_size() == 1:
        return 0
    init()
    return state.local_rank


def local_size() -> int:
    """The number of workers on this machine."""
    if state.comm is None and launched_size() == 1:
        return 1
    init()
    return state.local_size


def timed_allreduce(buffer: Any) -> None:
    """Sum ``buffer`` over all workers, in place, and count the time spent."""
    from mpi4py import MPI

    start = time.perf_counter()
    state.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    state.allreduce_seconds += time.perf_counter() - start
    state.allreduce_calls += 1


def reduce_flags(buffer: Any, op: str = "sum") -> None:
    """Sum (or take the maximum of) a small integer ``buffer`` over all workers, in place."""
    from mpi4py import MPI

    state.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.MAX if op == "max" else MPI.SUM)


def check_same(value: Any, what: str) -> None:
    """Raise ValueError on every worker when ``value`` (picklable) differs between workers.

    Every worker gathers all values, so all of them raise together (no deadlock)."""
    if size() == 1:
        return
    values = state.comm.allgather(value)
    if any(v != values[0] for v in values[1:]):
        detail = "; ".join(f"worker {i}: {v}" for i, v in enumerate(values))
        raise ValueError(f"nablanet.distribute: the workers disagree on {what} ({detail}). "
                         "Every worker must run the same model on data of the same size.")
