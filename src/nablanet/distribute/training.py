"""What ``fit`` does differently under ``mpiexec`` (one hook in ``Model.fit`` calls this).

In a one-worker run :func:`distributed_fit` returns None at once and nothing changes. With
N > 1 workers, at the start of ``fit``:

1. nablanet's random generator is copied from worker 0 (so every worker shuffles the data
   alike), and the model's weight shapes and the numbers of steps per epoch are compared
   across workers (a difference raises ``ValueError`` on every worker);
2. the model's optimizer is made a :func:`DistributedOptimizer`;
3. every batch is split by rows among the workers: worker r of N takes rows
   ``[r*n//N, (r+1)*n//N)`` of each batch of n rows, so ``batch_size`` (or the dataset's
   batch) stays the *global* batch and N workers take exactly the steps one worker takes on
   the same examples in the same order. When the workers' first batches differ (each
   worker got its own data, e.g. from ``Dataset.shard``) the batches are used whole;
4. the callbacks are arranged: a :class:`MetricAverageCallback` first (epoch metrics
   averaged before anything decides on them) and a per-step agreement on ``stop_training``
   last; workers other than 0 drop the callbacks that write files (``ModelCheckpoint``,
   ``BackupAndRestore``, ``CSVLogger``) and print nothing;
5. once the callbacks have started and a backup (if any) has been restored on worker 0,
   :meth:`DistributedFit.after_resume` broadcasts worker 0's weights, optimizer state and
   starting epoch (:func:`~nablanet.distribute.callbacks.broadcast_training_state`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from nablanet.callbacks.base import Callback, CallbackList
from nablanet.distribute import _runtime
from nablanet.distribute.callbacks import (
    MetricAverageCallback,
    broadcast_training_state,
)
from nablanet.distribute.optimizer import DistributedOptimizer

__all__ = ["distributed_fit", "writes_files"]


def writes_files(callback: Any) -> bool:
    """Whether ``callback`` writes files (it then runs on worker 0 only)."""
    from nablanet.callbacks import BackupAndRestore, CSVLogger, ModelCheckpoint

    return isinstance(callback, (BackupAndRestore, CSVLogger, ModelCheckpoint)) or bool(
        getattr(callback, "_rank_zero_only", False))


def _leaves(structure: Any) -> list[Any]:
    if structure is None:
        return []
    if isinstance(structure, (list, tuple)):
        return [leaf for s in structure for leaf in _leaves(s)]
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in _leaves(v)]
    return [structure]


def _rows(structure: Any, lo: int, hi: int) -> Any:
    from nablanet.autograd.tensor import Tensor

    if structure is None:
        return None
    if isinstance(structure, (list, tuple)):
        return type(structure)(_rows(s, lo, hi) for s in structure)
    if isinstance(structure, dict):
        return {k: _rows(v, lo, hi) for k, v in structure.items()}
    return Tensor(np.asarray(getattr(structure, "data", structure))[lo:hi])


def _fingerprint(batch: Any) -> tuple[Any, ...]:
    parts = []
    for leaf in _leaves(batch):
        array = np.ascontiguousarray(getattr(leaf, "data", leaf))
        parts.append((array.shape, str(array.dtype), zlib.crc32(array.data)))
    return tuple(parts)


class _SplitData:
    """A DataHandler whose batches are this worker's rows of the global batches."""

    def __init__(self, inner: Any, validation: bool) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.validation = validation
        self.split: bool | None = None  # decided on the first batch
        self.samples = 0
        self._flag = np.zeros(1, dtype=np.int64)

    @property
    def steps(self) -> int | None:
        return self.inner.steps

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _agree_on_next(self, have: bool) -> bool:
        """For datasets: do all workers have another batch? A disagreement is a mismatch."""
        if self.kind == "arrays":
            return have
        self._flag[0] = int(have)
        _runtime.reduce_flags(self._flag)
        total = int(self._flag[0])
        if 0 < total < _runtime.state.size:
            raise ValueError(
                "nablanet.distribute: the workers' datasets have different numbers of batches "
                f"({total} of {_runtime.state.size} workers have another batch). Every worker "
                "must take the same number of steps per epoch; shard the data evenly or pass "
                "steps_per_epoch.")
        return have

    def epoch(self) -> Iterator[tuple[int, Any]]:
        from nablanet.models.data_adapter import (
            pack_x_y_sample_weight,
            unpack_x_y_sample_weight,
        )

        self.samples = 0
        r, n_workers = _runtime.state.rank, _runtime.state.size
        for step, batch in self.inner.epoch():
            self._agree_on_next(True)
            if self.split is None:
                prints = _runtime.state.comm.allgather(_fingerprint(batch))
                self.split = all(p == prints[0] for p in prints)
            if not self.split:
                x, _, _ = unpack_x_y_sample_weight(batch)
                self.samples += len(_leaves(x)[0])
                _runtime.state.batch_share = None
                yield step, batch
                continue
            x, y, sw = unpack_x_y_sample_weight(batch)
            n = len(_leaves(x)[0])
            if n < n_workers:  # too few rows to give every worker one: skipped by all
                continue
            lo, hi = r * n // n_workers, (r + 1) * n // n_workers
            self.samples += hi - lo
            _runtime.state.batch_share = (hi - lo) / n
            local = pack_x_y_sample_weight(_rows(x, lo, hi), _rows(y, lo, hi),
                                           _rows(sw, lo, hi))
            yield step, local
        self._agree_on_next(False)
        _runtime.state.batch_share = None


class _AgreeOnStop(Callback):
    """After every step, every worker stops when any one of them wants to. Last in the
    list, it also gives muted callbacks their ``verbose`` back at the end."""

    def __init__(self, muted: list[tuple[Any, Any]]) -> None:
        super().__init__()
        self._flag = np.zeros(1, dtype=np.int64)
        self.muted = muted

    def _agree(self) -> None:
        self._flag[0] = int(bool(self.model.stop_training))
        _runtime.reduce_flags(self._flag, op="max")
        if self._flag[0]:
            self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._agree()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._agree()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        for cb, verbose in self.muted:  # the callbacks' own messages were muted until now
            cb.verbose = verbose


class _EpochCounts(Callback):
    """Publishes the examples this worker saw in the epoch for the metric average."""

    def __init__(self, train: _SplitData, val: _SplitData | None) -> None:
        super().__init__()
        self.train, self.val = train, val

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        _runtime.state.epoch_samples = (self.train.samples,
                                        self.val.samples if self.val is not None else 0)


class DistributedFit:
    """The pieces ``fit`` swaps in under distribution (see the module docstring)."""

    def __init__(self, model: Any, handler: Any, val_handler: Any, callbacks: Any) -> None:
        from nablanet.random import generator

        comm = _runtime.state.comm
        rng = generator()
        rng.bit_generator.state = comm.bcast(rng.bit_generator.state, root=0)
        _runtime.check_same(
            [(tuple(w.shape), str(w.dtype)) for w in model.weights],
            "the model (shapes of its weights)")
        _runtime.check_same(
            {"steps per epoch": handler.steps,
             "validation steps": None if val_handler is None else val_handler.steps},
            "the number of steps per epoch")
        if model.optimizer is not None:
            DistributedOptimizer(model.optimizer)
        self.handler: Any = _SplitData(handler, validation=False)
        self.val_handler: Any = None if val_handler is None else _SplitData(val_handler, True)
        user = list(callbacks.callbacks if isinstance(callbacks, CallbackList)
                    else (callbacks or []))
        quiet = _runtime.state.rank != 0
        self._muted: list[tuple[Any, Any]] = []
        kept = []
        for cb in user:
            if quiet and writes_files(cb):
                continue
            if quiet and isinstance(getattr(cb, "verbose", None), (int, bool)):
                self._muted.append((cb, cb.verbose))
                cb.verbose = 0
            kept.append(cb)
        first: list[Any] = [_EpochCounts(self.handler, self.val_handler)]
        if not any(isinstance(cb, MetricAverageCallback) for cb in kept):
            first.append(MetricAverageCallback())
        self.callbacks = [*first, *kept, _AgreeOnStop(self._muted)]

    def after_resume(self, model: Any) -> None:
        """After ``on_train_begin`` and a ``BackupAndRestore`` resume: worker 0's weights,
        optimizer state and starting epoch go to every worker."""
        broadcast_training_state(model, 0)

    def close(self) -> None:
        """Undo the per-step state (the optimizer stays distributed)."""
        _runtime.state.batch_share = None
        _runtime.state.epoch_samples = None


def distributed_fit(model: Any, handler: Any, val_handler: Any,
                    callbacks: Any) -> DistributedFit | None:
    """None in a one-worker run (no MPI import); else the distributed pieces of ``fit``."""
    if not _runtime.is_distributed():
        return None
    _runtime.init()
    if _runtime.state.size == 1:
        return None
    return DistributedFit(model, handler, val_handler, callbacks)
