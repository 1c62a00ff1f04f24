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
    """Resume an interrupted ``fit`` from the end of its last completed epoch.

    At the end of every epoch (or every ``save_freq`` batches, then resuming at the start
    of that epoch) the weights, the optimizer state and the epoch number are written
    atomically to ``backup_dir/latest.weights.safetensors``. When ``fit`` starts and a
    backup exists, it is loaded and training continues with the next epoch. The backup is
    deleted when training completes (``delete_checkpoint=True``).

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
        self._current_epoch = 0
        self._batches = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self.model.built:
            raise ValueError("BackupAndRestore: the model must be built before training "
                             "(give it an Input or call it on data).")
        if os.path.exists(self._path):
            from nablanet.models.saving import load_weights

            meta = load_weights(self.model, self._path)
            self.model._initial_epoch = int(meta.get("epoch", 0))

    def _backup(self, next_epoch: int) -> None:
        from nablanet.models.saving import save_weights

        save_weights(self.model, self._path, user_metadata={"epoch": next_epoch})

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if isinstance(self.save_freq, int) and self.save_freq is not False:
            self._batches += 1
            if self._batches >= self.save_freq:
                self._batches = 0
                self._backup(self._current_epoch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            self._backup(epoch + 1)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)
