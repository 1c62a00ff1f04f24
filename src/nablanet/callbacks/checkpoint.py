"""``ModelCheckpoint`` and ``BackupAndRestore``: saving during training."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from nablanet.callbacks.base import Callback, MonitorCallback

__all__ = ["BackupAndRestore", "ModelCheckpoint"]


class ModelCheckpoint(MonitorCallback):
    """Save the model (or its weights) during training (Keras 3 semantics).

    Parameters
    ----------
    filepath : str or path
        May hold ``str.format`` fields filled with ``epoch`` (1-based) and the epoch logs:
        ``'model-{epoch:02d}-{val_loss:.2f}.weights.safetensors'``. The file is nablanet's
        safetensors format whatever the extension (Keras requires ``.keras`` /
        ``.weights.h5``; nablanet accepts any name).
    monitor : str
        Quantity compared when ``save_best_only``.
    verbose : int
        1 prints a message for every decision.
    save_best_only : bool
        Save only when the monitored quantity improves on the best so far.
    save_weights_only : bool
        ``model.save_weights(path)`` instead of ``model.save(path)``.
    mode : {'auto', 'min', 'max'}
    save_freq : 'epoch' or int
        Save at the end of every epoch, or every ``save_freq`` training batches.
    initial_value_threshold : float, optional
        Initial "best" value: only better models are saved.
    """

    def __init__(self, filepath: Any, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: Any = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor=monitor, mode=mode, baseline=initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                             "'epoch' or integer values")
        self.save_freq = save_freq
        self._batches_since_save = 0
        self._current_epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _file_path(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as error:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {error}") from None

    def _should_save(self, epoch: int, logs: dict[str, Any], path: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        current = float(np.asarray(current))
        best_text = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_text} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_text}")
        return False

    def _save(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        logs = dict(logs or {})
        path = self._file_path(epoch, batch, logs)
        if os.path.isdir(path):
            raise OSError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {path}")
        if not self._should_save(epoch, logs, path):
            return
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)


class BackupAndRestore(Callback):
    """Resume an interrupted ``fit`` exactly where its last backup was taken.

    At the end of every epoch (``save_freq='epoch'``) or after every ``save_freq`` training
    batches, everything the rest of the run depends on is written atomically to
    ``backup_dir/latest.weights.safetensors``: the weights, the optimizer state, the epoch and
    the number of batches of it already applied, the random generators (shuffling, dropout),
    the running metrics of the epoch, the learning rate and the state of the other callbacks
    (see :mod:`nablanet.callbacks.training_state`). When ``fit`` starts and a backup exists,
    it is checked whole (a corrupt file or epoch is refused with a ``ValueError``), loaded, and
    training continues at that point: inside an epoch, the batches already applied are skipped
    (as Keras 3 does), not replayed. A run killed at any moment (even while the backup is being
    written) and then resumed ends with the same weights, History and callback results, bit
    for bit, as the run that was never interrupted -- for ``fit`` on arrays or on a finite
    dataset without ``steps_per_epoch``, with the same thread count. The backup is deleted when
    training completes (``delete_checkpoint=True``).

    Parameters
    ----------
    backup_dir : str or path
    save_freq : 'epoch', int or False
    delete_checkpoint : bool
    """

    def __init__(self, backup_dir: Any, save_freq: Any = "epoch",
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: empty `backup_dir` argument passed.")
        if save_freq not in ("epoch", False) and not (isinstance(save_freq, int)
                                                       and save_freq > 0):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: {save_freq}. "
                             "Expected either 'epoch' or an integer value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = bool(delete_checkpoint)
        self._path = os.path.join(self.backup_dir, "latest.weights.safetensors")
        self._batches = 0
        self._epoch_rng: dict[str, Any] | None = None
        self._pending: dict[str, Any] | None = None
        self._pending_arrays: dict[str, np.ndarray] = {}
        self._last_logs: dict[str, Any] = {}

    # -- hooks called by ``fit`` (after the other callbacks' hooks of the same point) ---------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self.model.built:
            raise ValueError("BackupAndRestore: the model must be built before training "
                             "(give it an Input or call it on data).")
        self._batches = 0
        self._pending = None
        self.model._backup_and_restore = self
        if os.path.exists(self._path):
            from nablanet.models.saving import load_backup

            epochs = self.params.get("epochs") if self.params else None
            meta, arrays = load_backup(self.model, self._path, epochs=epochs)
            self._pending, self._pending_arrays = meta, arrays

    def resume(self, callbacks: Any) -> None:
        """After every ``on_train_begin``: put back the callbacks' state, the learning rate
        and the generators, and tell ``fit`` where to start."""
        from nablanet.callbacks import training_state as ts

        state = self._pending
        if state is None:
            return
        mismatched = ts.set_callback_states(callbacks, state.get("callbacks", []),
                                            self._pending_arrays)
        if mismatched:
            warnings.warn(f"BackupAndRestore: the callbacks {mismatched} differ from those of "
                          "the interrupted run; their state was not restored.", stacklevel=2)
        lr = state.get("learning_rate")
        if lr is not None:
            self.model.optimizer.learning_rate = lr
        ts.set_rng_states(self.model, state["rng_epoch"])
        epochs = self.params.get("epochs") if self.params else None
        stop = bool(state.get("stop_training")) and int(state.get("step", 0)) == 0
        self.model._initial_epoch = int(epochs) if stop and epochs is not None \
            else int(state["epoch"])

    def skip(self, epoch: int, step: int, batch: Any) -> bool:
        """Whether ``fit`` skips this batch (applied before the interruption). At the last
        skipped batch the generators and running metrics of the backup are put back."""
        state = self._pending
        if state is None:
            return False
        done = int(state.get("step", 0))
        if epoch != int(state["epoch"]) or step >= done:
            self._pending = None
            return False
        if step == done - 1:
            self._restore_inside_epoch(state, batch)
        return True

    @property
    def last_logs(self) -> dict[str, Any]:
        """The logs of the last batch applied before the backup (while skipping)."""
        return dict(self._last_logs)

    def _restore_inside_epoch(self, state: dict[str, Any], batch: Any) -> None:
        from nablanet.callbacks import training_state as ts

        self._last_logs = dict(state.get("logs") or {})
        ts.set_rng_states(self.model, state["rng"])
        entries = state.get("metrics", [])
        if not ts.set_metric_states(self.model, entries, self._pending_arrays):
            self._build_metrics(batch)  # compiled metrics are made at their first batch
            if not ts.set_metric_states(self.model, entries, self._pending_arrays):
                raise ValueError(f"BackupAndRestore: the metrics of '{self._path}' do not "
                                 "match the model's compiled metrics.")
        if state.get("stop_training"):
            self.model.stop_training = True
        self._pending = None

    def _build_metrics(self, batch: Any) -> None:
        from nablanet.autograd.function import no_grad
        from nablanet.models.data_adapter import unpack_x_y_sample_weight

        x, y, sample_weight = unpack_x_y_sample_weight(batch)
        with no_grad():  # inference: no generator is drawn from, no weight changes
            y_pred = self.model(x, training=False)
        self.model.compute_metrics(x, y, y_pred, sample_weight)

    def after_batch(self, epoch: int, step: int, logs: dict[str, Any], callbacks: Any) -> None:
        """After every ``on_train_batch_end``: a backup every ``save_freq`` batches."""
        if not isinstance(self.save_freq, int) or self.save_freq is False:
            return
        self._batches += 1
        if self._batches >= self.save_freq:
            self._batches = 0
            self._backup(callbacks, epoch, step + 1, logs)

    def after_epoch(self, epoch: int, callbacks: Any) -> None:
        """After every ``on_epoch_end``: the backup of ``save_freq='epoch'``."""
        if self.save_freq == "epoch":
            self._backup(callbacks, epoch + 1, 0, None)

    def before_epoch(self) -> None:
        """Before ``fit`` draws an epoch's first batch: the generators' state, from which a
        backup taken inside this epoch replays its shuffle."""
        from nablanet.callbacks.training_state import rng_states

        self._epoch_rng = rng_states(self.model)

    # -- callback hooks ---------------------------------------------------------------------------

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)

    # -- writing ---------------------------------------------------------------------------------
    def _backup(self, callbacks: Any, epoch: int, step: int,
                logs: dict[str, Any] | None) -> None:
        from nablanet.callbacks import training_state as ts
        from nablanet.models.saving import save_weights

        now = ts.rng_states(self.model)
        entries, arrays = ts.callback_states(callbacks)
        state: dict[str, Any] = {
            "epoch": epoch, "step": step, "rng": now,
            "rng_epoch": now if step == 0 or self._epoch_rng is None else self._epoch_rng,
            "callbacks": entries, "stop_training": bool(self.model.stop_training),
            "logs": {k: v for k, v in (logs or {}).items()
                     if isinstance(v, (int, float, np.floating, np.integer))},
        }
        if step:
            state["metrics"], metric_arrays = ts.metric_states(self.model)
            arrays.update(metric_arrays)
        lr = getattr(self.model.optimizer, "_learning_rate", None)
        if isinstance(lr, (int, float, np.floating)):
            state["learning_rate"] = float(lr)
        save_weights(self.model, self._path, user_metadata=state, extra_tensors=arrays)
