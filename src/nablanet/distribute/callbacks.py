"""Broadcasting weights and averaging metrics across workers (Horovod's callback names)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from nablanet.callbacks.base import Callback
from nablanet.distribute import _runtime

__all__ = [
    "BroadcastGlobalVariablesCallback",
    "MetricAverageCallback",
    "broadcast_optimizer_state",
    "broadcast_variables",
]


def _check_root(root_rank: Any, where: str) -> int:
    n = _runtime.size()
    if not isinstance(root_rank, (int, np.integer)) or isinstance(root_rank, bool) \
            or not 0 <= root_rank < n:
        raise ValueError(f"{where}: root_rank must be an integer in [0, {n}) (the number of "
                         f"workers is {n}). Received: root_rank={root_rank!r}")
    return int(root_rank)


def broadcast_variables(variables: Iterable[Any], root_rank: int = 0) -> None:
    """Overwrite ``variables`` (Tensors or ndarrays, in place) on every worker with
    ``root_rank``'s values.

    Differently initialised workers start identical after it. The shapes and dtypes are
    compared across workers first; a difference raises ``ValueError`` on every worker (a
    different model on one worker is reported, not a deadlock). Nothing happens in a
    one-worker run.
    """
    arrays = []
    for i, variable in enumerate(variables):
        data = getattr(variable, "data", variable)
        if not isinstance(data, np.ndarray):
            raise TypeError(f"broadcast_variables: variable {i} is neither a Tensor nor an "
                            f"ndarray. Received: {type(variable).__name__}")
        arrays.append(data)
    if _runtime.size() == 1:
        return
    root = _check_root(root_rank, "broadcast_variables")
    _runtime.check_same([(a.shape, str(a.dtype)) for a in arrays],
                        "the shapes of the variables to broadcast")
    comm = _runtime.comm()
    for array in arrays:
        if array.flags.c_contiguous:
            comm.Bcast(array, root=root)
        else:
            copy = np.ascontiguousarray(array)
            comm.Bcast(copy, root=root)
            array[...] = copy


def broadcast_optimizer_state(optimizer: Any, root_rank: int = 0) -> None:
    """Give every worker ``root_rank``'s optimizer state (iterations and slots)."""
    if _runtime.size() == 1 or optimizer is None:
        return
    root = _check_root(root_rank, "broadcast_optimizer_state")
    comm = _runtime.comm()
    state = comm.bcast(optimizer.get_state() if _runtime.rank() == root else None, root=root)
    if _runtime.rank() != root:
        optimizer.set_state(state)


class BroadcastGlobalVariablesCallback(Callback):
    """At the start of ``fit``, copy ``root_rank``'s weights (trainable and not), optimizer
    state and starting epoch (e.g. restored by ``BackupAndRestore`` on that worker) to every
    worker.

    Horovod's ``BroadcastGlobalVariablesCallback``. ``fit`` under ``mpiexec`` adds one
    (root 0) by itself; add it explicitly to broadcast from another worker.
    """

    def __init__(self, root_rank: int = 0) -> None:
        super().__init__()
        if not isinstance(root_rank, (int, np.integer)) or isinstance(root_rank, bool) \
                or root_rank < 0:
            raise ValueError("BroadcastGlobalVariablesCallback: root_rank must be a "
                             f"non-negative integer. Received: root_rank={root_rank!r}")
        self.root_rank = int(root_rank)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        broadcast_training_state(self.model, self.root_rank)


def broadcast_training_state(model: Any, root_rank: int = 0) -> None:
    """Copy ``root_rank``'s weights, optimizer state and starting epoch to every worker
    (``fit`` under ``mpiexec`` calls it once its callbacks have started and a backup, if
    any, has been restored on that worker)."""
    if _runtime.size() == 1:
        return
    broadcast_variables(model.weights, root_rank)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        if hasattr(model, "_trainable_for_step"):
            model._trainable_for_step()  # builds the slots (applies restored state)
        broadcast_optimizer_state(optimizer, root_rank)
    epoch = getattr(model, "_initial_epoch", None)
    model._initial_epoch = _runtime.comm().bcast(epoch, root=root_rank)


class MetricAverageCallback(Callback):
    """Replace the epoch's metrics in ``logs`` by their average over the workers.

    Horovod's ``MetricAverageCallback``. Under ``fit`` the average is weighted by the number
    of examples each worker saw (training metrics by the training examples, ``val_``
    metrics by the validation examples), which is the metric of the whole epoch; outside
    ``fit`` it is the plain mean. Every worker computes the same numbers in the same order,
    so callbacks that decide on them (``EarlyStopping``, ``ReduceLROnPlateau``,
    ``ModelCheckpoint(save_best_only=True)``) decide alike everywhere. ``fit`` under
    ``mpiexec`` puts one first in its callback list by itself.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None or _runtime.size() == 1:
            return
        average_logs(logs)


def average_logs(logs: dict[str, Any]) -> None:
    """Average the numeric entries of ``logs`` over the workers, in place."""
    numeric = {}
    for key, value in logs.items():
        try:
            numeric[key] = float(np.asarray(value))
        except (TypeError, ValueError):
            continue
    counts = _runtime.state.epoch_samples
    gathered = _runtime.comm().allgather((numeric, counts))
    for key in numeric:
        values, weights = [], []
        for worker_logs, worker_counts in gathered:
            if key not in worker_logs:
                raise ValueError(f"MetricAverageCallback: worker logs disagree: {key!r} is "
                                 "missing on some workers.")
            values.append(worker_logs[key])
            if worker_counts is None:
                weights.append(1.0)
            else:
                weights.append(float(worker_counts[1 if key.startswith("val_") else 0]))
        total = sum(weights)
        if total <= 0:
            weights, total = [1.0] * len(values), float(len(values))
        logs[key] = sum(w * v for w, v in zip(weights, values)) / total
