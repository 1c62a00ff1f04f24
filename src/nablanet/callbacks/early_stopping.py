"""``EarlyStopping`` (chapter §5.2), with Keras 3's parameters and semantics."""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.callbacks.base import MonitorCallback

__all__ = ["EarlyStopping"]


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored quantity has stopped improving.

    At the end of every epoch (from ``start_from_epoch`` on) the monitored value is compared
    with the best so far. The wait counter grows by one each epoch and is reset by an
    improvement (one that also beats ``baseline`` when a baseline is given); once it reaches
    ``patience`` (and the epoch is not the first), ``model.stop_training`` is set.

    Parameters
    ----------
    monitor : str
        Quantity to watch (``'val_loss'``).
    min_delta : float
        An improvement must exceed ``|min_delta|`` (the chapter uses 0.001).
    patience : int
        Epochs without improvement after which training stops.
    verbose : int
        1 prints ``Epoch N: early stopping`` and
        ``Restoring model weights from the end of the best epoch: N.`` (at the end of training).
    mode : {'auto', 'min', 'max'}
        See :class:`~nablanet.callbacks.MonitorCallback`.
    baseline : float, optional
        Training stops if the model does not improve on it within ``patience`` epochs.
    restore_best_weights : bool
        At the end of training (whether or not it stopped early), set the weights of the best
        epoch. The first monitored epoch counts as the best until one improves on it, so the
        weights are restored even when no epoch beat ``baseline``.
    start_from_epoch : int
        Number of warm-up epochs that are not monitored.

    Notes
    -----
    ``on_train_begin`` resets the best value and the counters, so one instance reused for
    several ``fit`` calls (as the chapter's §7.4 does with ``early_stop``) starts afresh each
    time, as Keras 3 does.

    Attributes
    ----------
    stopped_epoch : int
        The (0-based) epoch at which training was stopped, 0 if it was not.
    best_epoch : int
        The (0-based) epoch with the best monitored value.
    wait : int
        Epochs since the last improvement.

    Examples
    --------
    >>> cb = EarlyStopping(monitor="val_loss", min_delta=0.001, patience=3,
    ...                    restore_best_weights=True)
    >>> cb.patience, cb.min_delta
    (3, 0.001)
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__(monitor=monitor, mode=mode, baseline=None, min_delta=min_delta)
        if not isinstance(patience, int) or patience < 0:
            raise ValueError("EarlyStopping: patience must be a non-negative integer. "
                             f"Received: patience={patience!r}")
        if not isinstance(start_from_epoch, int) or start_from_epoch < 0:
            raise ValueError("EarlyStopping: start_from_epoch must be a non-negative integer. "
                             f"Received: start_from_epoch={start_from_epoch!r}")
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: list[Any] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Instances can be reused: everything but the direction is reset.
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None
        self.best = None
        if self.monitor_op is not None:
            self.best = float("inf") if self.monitor_op is np.less else -float("inf")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self._monitor_value(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until an epoch improves, the first monitored epoch's weights are the best.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
