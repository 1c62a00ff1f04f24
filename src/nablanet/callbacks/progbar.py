"""The progress line of ``fit``, ``evaluate`` and ``predict``: ``Progbar``, ``ProgbarLogger``.

The format is the one the chapter prints (tf.keras)::

    Epoch 1/10
    56/56 [==============================] - 6s 46ms/step - loss: 0.7071 - accuracy: 0.6604 ...
    ... - val_loss: 0.1421 - val_accuracy: 0.9563

(one line, split here at ``...``); while an epoch runs, on a terminal or in a Jupyter
notebook, the same line is redrawn in place (``'\\r'``)::

    53/56 [===========================>..] - ETA: 0s - loss: 8.3814e-04 - accuracy: 1.0000

Values are written with 4 decimals, or as ``%.4e`` when ``|value| <= 1e-3``
(``2.4979e-04``). The bar is 30 characters wide. Times are ``6s`` for the epoch and
``46ms/step`` (``s``, ``ms`` or ``us``) per step.

``verbose``: 0 prints nothing; 1 prints the bar (redrawn in place on a terminal and in a
notebook, and only the finished line of each epoch when the output is a file or a pipe, so
logs and CI output stay readable);
2 prints one line per epoch without the bar: ``56/56 - 6s - 46ms/step - loss: ...``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

import numpy as np

from nablanet.callbacks.base import Callback

__all__ = ["Progbar", "ProgbarLogger", "format_value", "is_dynamic_stream"]


def format_value(value: Any) -> str:
    """Keras's number format: ``'0.7071'``, or ``'2.4979e-04'`` when ``|value| <= 1e-3``.

    Examples
    --------
    >>> format_value(0.70712), format_value(2.4979e-4), format_value(0.0)
    ('0.7071', '2.4979e-04', '0.0000e+00')
    """
    if isinstance(value, (int, float, np.floating, np.integer)) or np.ndim(value) == 0:
        number = float(np.asarray(getattr(value, "data", value)))
        return f"{number:.4f}" if abs(number) > 1e-3 else f"{number:.4e}"
    return str(value)


def is_dynamic_stream(stream: Any) -> bool:
    """Whether progress can be redrawn in place on ``stream`` with ``'\\r'``.

    True for a terminal (``stream.isatty()``) and for the output of a Jupyter kernel
    (Jupyter, JupyterLab, VS Code and Colab all run ``ipykernel``, whose ``OutStream`` is no
    terminal but whose front ends honour ``'\\r'``); False for files and pipes (logs, CI).
    Keras decides the same way but from ``'ipykernel' in sys.modules``; looking at the
    stream itself also keeps a log file written from inside a notebook one line per epoch.

    Examples
    --------
    >>> import io
    >>> is_dynamic_stream(io.StringIO())
    False
    """
    isatty = getattr(stream, "isatty", None)
    try:
        if callable(isatty) and isatty():
            return True
    except ValueError:  # a closed file
        return False
    return "ipykernel" in sys.modules and type(stream).__module__.startswith("ipykernel")


def _format_eta(eta: float) -> str:
    if eta > 3600:
        return f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{eta:.0f}s"


def _format_per_step(seconds: float, unit: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """A progress bar (``keras.utils.Progbar``).

    Parameters
    ----------
    target : int or None
        Total number of steps (None when unknown: no bar, a running count).
    width : int
        Width of the bar in characters (30).
    verbose : int
        1: bar; 2: one line at the end only.
    interval : float
        Minimum seconds between two redraws on a terminal.
    unit_name : str
        ``'step'``.
    stream : file, optional
        Where to write (``sys.stdout`` at the time of each write when None).
    dynamic : bool, optional
        Redraw in place with ``'\\r'``; by default when ``stream`` is a terminal or a
        notebook's output (:func:`is_dynamic_stream`).
    """

    def __init__(self, target: int | None, width: int = 30, verbose: int = 1,
                 interval: float = 0.05, unit_name: str = "step",
                 stream: TextIO | None = None, dynamic: bool | None = None) -> None:
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._stream = stream
        stream_now = stream or sys.stdout
        self._dynamic = is_dynamic_stream(stream_now) if dynamic is None else dynamic
        self._values: dict[str, Any] = {}
        self._start = time.perf_counter()
        self._last_update = 0.0
        self._previous_width = 0
        self._finished = False

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    def _bar(self, current: int) -> str:
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
        text = f"{current:{digits}d}/{self.target} ["
        progress = current / self.target if self.target else 1.0
        filled = int(self.width * progress)
        if filled > 0:
            text += "=" * (filled - 1)
            text += ">" if current < self.target else "="
        text += "." * (self.width - filled) + "]"
        return text

    def _values_text(self) -> str:
        return "".join(f" - {k}: {format_value(v)}" for k, v in self._values.items())

    def update(self, current: int, values: Iterable[tuple[str, Any]] | None = None,
               finalize: bool | None = None) -> None:
        """Show progress ``current`` with the latest ``values`` (``(name, value)`` pairs).

        The values are shown as given (``fit`` passes running means), not averaged again.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for key, value in values or ():
            self._values[key] = value
        if self.verbose == 0 or self._finished:
            return
        now = time.perf_counter()
        elapsed = now - self._start
        per_step = elapsed / current if current else 0.0
        if self.verbose == 1:
            if not finalize and (not self._dynamic or now - self._last_update < self.interval):
                return
            self._last_update = now
            line = self._bar(current)
            if finalize:
                line += f" - {elapsed:.0f}s {_format_per_step(per_step, self.unit_name)}"
            elif self.target is not None:
                line += f" - ETA: {_format_eta(per_step * (self.target - current))}"
            else:
                line += f" - {elapsed:.0f}s"
            line += self._values_text()
            if self._dynamic:
                padding = max(self._previous_width - len(line), 0)
                self.stream.write("\r" + line + " " * padding)
                self._previous_width = len(line)
            else:
                self.stream.write(line)
            if finalize:
                self.stream.write("\n")
                self._finished = True
            self.stream.flush()
        elif self.verbose == 2 and finalize:
            count = f"{current}/{self.target}" if self.target is not None else f"{current}"
            line = (f"{count} - {elapsed:.0f}s - {_format_per_step(per_step, self.unit_name)}"
                    f"{self._values_text()}\n")
            self.stream.write(line)
            self.stream.flush()
            self._finished = True


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` and the progress line during ``fit``, ``evaluate``, ``predict``.

    ``fit`` adds one when ``verbose`` is not 0 (``evaluate`` and ``predict`` too). The
    validation pass inside ``fit`` prints nothing of its own: its ``val_`` results are
    appended to the epoch's line.
    """

    def __init__(self) -> None:
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self.target: int | None = None
        self.progbar: Progbar | None = None
        self._called_in_fit = False
        self._seen = 0

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _reset(self, keep_target: bool = False) -> None:
        self._seen = 0
        steps = self.params.get("steps")
        if steps is not None or not keep_target:
            self.target = steps
        self.progbar = None
        if self.verbose:
            self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step")

    def _bar(self) -> Progbar:
        if self.progbar is None:
            self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step")
        return self.progbar

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = False

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._reset()

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reset()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._reset(keep_target=True)
        if self.verbose and self.epochs > 1:
            sys.stdout.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            sys.stdout.flush()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._seen = batch + 1
        if self.verbose:
            self._bar().update(self._seen, (logs or {}).items(), finalize=False)

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._seen = batch + 1
            if self.verbose:
                self._bar().update(self._seen, (logs or {}).items(), finalize=False)

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._seen = batch + 1
        if self.verbose:
            self._bar().update(self._seen, None, finalize=False)

    def _finalize(self, logs: dict[str, Any] | None) -> None:
        if not self.verbose:
            return
        if self.target is None:
            self.target = self._seen
            if self.progbar is not None:
                self.progbar.target = self._seen
        self._bar().update(self.target or self._seen, (logs or {}).items(), finalize=True)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._finalize({})
