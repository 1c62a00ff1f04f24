"""``History``: the per-epoch record that ``fit`` returns."""

from __future__ import annotations

from typing import Any

from nablanet.callbacks.base import Callback

__all__ = ["History"]


class History(Callback):
    """Records the epoch logs: ``history.history['loss']``, ``['val_accuracy']``, ...

    ``fit`` adds one automatically and returns it; it is also ``model.history``.

    Attributes
    ----------
    history : dict[str, list[float]]
        One list per logged quantity, one entry per epoch.
    epoch : list[int]
        The epoch indices recorded (counting from 0).

    Examples
    --------
    >>> h = History()
    >>> h.on_train_begin()
    >>> h.on_epoch_end(0, {"loss": 0.5})
    >>> h.history
    {'loss': [0.5]}
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
