"""Small callbacks: ``TerminateOnNaN``, ``CSVLogger``, ``LambdaCallback``."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from nablanet.callbacks.base import Callback

__all__ = ["CSVLogger", "LambdaCallback", "TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None:
            value = float(np.asarray(loss))
            if math.isnan(value) or math.isinf(value):
                print(f"Batch {batch}: Invalid loss, terminating training")
                self.model.stop_training = True


class CSVLogger(Callback):
    """Write the epoch logs to a CSV file: a header ``epoch,<keys...>`` then one row per
    epoch (values with Python's ``repr`` precision).

    Parameters
    ----------
    filename : str or path
    separator : str
    append : bool
        Append to an existing file (no second header) instead of overwriting it.
    """

    def __init__(self, filename: Any, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self._file: Any = None
        self._writer: Any = None
        self._append_header = True

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.append:
            self._append_header = not (os.path.exists(self.filename)
                                       and os.path.getsize(self.filename) > 0)
            mode = "a"
        else:
            self._append_header = True
            mode = "w"
        self._file = open(self.filename, mode, newline="", encoding="utf-8")  # noqa: SIM115
        self.keys = None
        self._writer = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}

        def text(value: Any) -> Any:
            if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) > 0:
                return f'"[{", ".join(map(str, np.ravel(value)))}]"'
            return value

        if self.keys is None:
            self.keys = sorted(logs.keys())
        if self.model is not None and getattr(self.model, "stop_training", False):
            logs = {k: logs.get(k, "NA") for k in self.keys}
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self.keys],
                                          delimiter=self.sep)
            if self._append_header:
                self._writer.writeheader()
        row = {"epoch": epoch, **{k: text(logs.get(k, "NA")) for k in self.keys}}
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._writer = None

    def _backup_state(self) -> dict[str, Any]:
        """The file's rows so far, for :class:`~nablanet.callbacks.BackupAndRestore`."""
        if self._file is None:
            return {}
        self._file.flush()
        with open(self.filename, encoding="utf-8", newline="") as handle:
            return {"text": handle.read()}

    def _restore_backup_state(self, extra: dict[str, Any]) -> None:
        """On resume: the file holds exactly the backed-up rows, and rows continue after
        them (no second header, no row twice)."""
        if "text" not in extra:
            return
        if self._file is not None:
            self._file.close()
        with open(self.filename, "w", newline="", encoding="utf-8") as handle:
            handle.write(extra["text"])
        self._file = open(self.filename, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = None
        self._append_header = not extra["text"]


class LambdaCallback(Callback):
    """A callback made of plain functions, e.g.
    ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch))``.

    Accepts ``on_epoch_begin/end(epoch, logs)``, ``on_train_batch_begin/end(batch, logs)``
    (also as ``on_batch_begin/end``), ``on_train_begin/end(logs)`` and any other hook name
    as a keyword argument.
    """

    def __init__(self, on_epoch_begin: Callable[..., Any] | None = None,
                 on_epoch_end: Callable[..., Any] | None = None,
                 on_train_begin: Callable[..., Any] | None = None,
                 on_train_end: Callable[..., Any] | None = None,
                 on_train_batch_begin: Callable[..., Any] | None = None,
                 on_train_batch_end: Callable[..., Any] | None = None,
                 **kwargs: Callable[..., Any]) -> None:
        super().__init__()
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        if "on_batch_begin" in kwargs:
            hooks["on_train_batch_begin"] = kwargs.pop("on_batch_begin")
        if "on_batch_end" in kwargs:
            hooks["on_train_batch_end"] = kwargs.pop("on_batch_end")
        for name in kwargs:
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
        hooks.update(kwargs)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
