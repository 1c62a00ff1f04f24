"""Data-parallel training on several workers with MPI, the way Horovod and ChainerMN do it.

Every worker runs the same script on its part of every batch; after each backward pass the
gradients are averaged over the workers with one allreduce, so all workers apply the same
update and their weights stay identical. Start N workers with ``mpiexec``::

    mpiexec -n 2 python train.py
    mpiexec -n 2 nablanet run cnn

A script run without ``mpiexec`` is a one-worker run and behaves exactly as before;
``import nablanet`` never imports mpi4py -- only using distribution does (``init()``, or
``fit`` under ``mpiexec``). Install the MPI pieces with ``pip install 'nablanet[mpi]'``
(mpi4py and the MPICH wheel).

``Model.fit`` distributes by itself under ``mpiexec`` (see
:mod:`nablanet.distribute.training`): each global batch is split among the workers, the
optimizer averages gradients, the weights and optimizer state of worker 0 are broadcast at
the start, epoch metrics are averaged, and only worker 0 prints and writes files. The
pieces are public for custom training loops:

* :func:`init`, :func:`rank`, :func:`size`, :func:`local_rank`, :func:`local_size`;
* :func:`DistributedOptimizer` -- gradient averaging with one fused allreduce per step;
* :func:`broadcast_variables`, :class:`BroadcastGlobalVariablesCallback`,
  :class:`MetricAverageCallback`;
* ``BatchNormalization(synchronized=True)`` uses :mod:`nablanet.distribute.batchnorm`.
"""

from __future__ import annotations

from typing import Any

from nablanet.distribute._runtime import (
    init,
    is_distributed,
    local_rank,
    local_size,
    mpiexec_path,
    rank,
    size,
)
from nablanet.distribute.optimizer import DistributedOptimizer

__all__ = [
    "BroadcastGlobalVariablesCallback",
    "DistributedOptimizer",
    "MetricAverageCallback",
    "allreduce_seconds",
    "broadcast_optimizer_state",
    "broadcast_variables",
    "init",
    "is_distributed",
    "local_rank",
    "local_size",
    "mpiexec_path",
    "rank",
    "size",
]

_CALLBACK_NAMES = ("BroadcastGlobalVariablesCallback", "MetricAverageCallback",
                   "broadcast_optimizer_state", "broadcast_variables")


def allreduce_seconds() -> tuple[float, int]:
    """Total seconds spent in nablanet's allreduce calls so far, and their number."""
    from nablanet.distribute._runtime import state

    return state.allreduce_seconds, state.allreduce_calls


def __getattr__(name: str) -> Any:
    # The callbacks module imports nablanet.callbacks; loaded on first use.
    if name in _CALLBACK_NAMES:
        from nablanet.distribute import callbacks

        return getattr(callbacks, name)
    raise AttributeError(f"module 'nablanet.distribute' has no attribute {name!r}")
