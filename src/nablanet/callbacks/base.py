"""``Callback``, ``CallbackList`` and ``MonitorCallback`` (Keras 3's callback contract).

A callback is an object whose hooks ``fit``, ``evaluate`` and ``predict`` call at fixed
points of their loops:

=========================================  ===============================================
hook                                       when
=========================================  ===============================================
``on_train_begin / on_train_end``          start / end of ``fit``
``on_epoch_begin / on_epoch_end``          start / end of every epoch (``logs`` at the end
                                           hold the epoch's metrics and their ``val_`` twins)
``on_train_batch_begin / _end``            around every training step
``on_test_begin / _end``, ``on_test_batch_begin / _end``        ``evaluate`` (and validation)
``on_predict_begin / _end``, ``on_predict_batch_begin / _end``  ``predict``
=========================================  ===============================================

``MonitorCallback`` holds the logic shared by the callbacks that watch one logged quantity
(``EarlyStopping``, ``ModelCheckpoint``, ``ReduceLROnPlateau``): which direction is an
improvement (``mode``), and by how much (``min_delta``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["Callback", "CallbackList", "MonitorCallback"]

_HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)


class Callback:
    """Base class of callbacks: every hook is a no-op; subclasses override the ones they need.

    Attributes
    ----------
    model : Model
        The model being trained (set by :meth:`set_model` before training starts).
    params : dict
        ``{'verbose', 'epochs', 'steps'}`` of the running loop (set by :meth:`set_params`).

    Examples
    --------
    >>> class Counter(Callback):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.batches = 0
    ...     def on_train_batch_end(self, batch, logs=None):
    ...         self.batches += 1
    >>> Counter().batches
    0
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self._model: Any = None

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        return self._model

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Backwards-compatible alias of :meth:`on_train_batch_begin`."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Backwards-compatible alias of :meth:`on_train_batch_end`."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Start of an epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """End of an epoch; ``logs`` holds the epoch's training and validation results."""

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Start of an evaluation batch."""

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """End of an evaluation batch; ``logs`` holds the running results."""

    def on_predict_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Start of a prediction batch."""

    def on_predict_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """End of a prediction batch; ``logs['outputs']`` holds the batch's outputs."""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Start of ``fit``."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """End of ``fit`` (also after early stopping)."""

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Start of ``evaluate`` or of a validation pass."""

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        """End of ``evaluate`` or of a validation pass."""

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Start of ``predict``."""

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        """End of ``predict``."""


class CallbackList(Callback):
    """A container that forwards every hook to its callbacks, in order.

    As in Keras, a :class:`~nablanet.callbacks.History` (when ``add_history``) and a
    :class:`~nablanet.callbacks.ProgbarLogger` (when ``add_progbar``) are appended unless the
    list already holds one, so user callbacks see an epoch's logs before the progress line
    is finished.
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any) -> None:
        super().__init__()
        from nablanet.callbacks.history import History
        from nablanet.callbacks.progbar import ProgbarLogger

        self.callbacks: list[Callback] = list(callbacks) if callbacks else []
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    "callbacks must be instances of nablanet.callbacks.Callback. "
                    f"Received: {cb!r} of type {type(cb).__name__}"
                )
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model: Any) -> None:
        self._model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def __iter__(self) -> Any:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)


def _make_forwarder(hook: str) -> Any:
    # As Keras's CallbackList, hooks always receive a dict of logs (``{}``, never None).
    if "batch" in hook or "epoch" in hook:
        def forward(self: CallbackList, index: int, logs: dict[str, Any] | None = None) -> None:
            logs = {} if logs is None else logs
            for cb in self.callbacks:
                getattr(cb, hook)(index, logs)
    else:
        def forward(self: CallbackList, logs: dict[str, Any] | None = None) -> None:  # type: ignore[misc]
            logs = {} if logs is None else logs
            for cb in self.callbacks:
                getattr(cb, hook)(logs)

    forward.__name__ = hook
    forward.__doc__ = f"Call ``{hook}`` of every callback in order."
    return forward


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _make_forwarder(_hook))


def _direction_of(model: Any, metric_name: str) -> str | None:
    """``'up'``/``'down'`` when a metric of ``model`` with that name (or logged under that
    name, such as ``y1_accuracy`` for a multi-output model) declares its direction."""
    candidates = [(getattr(m, "name", None), m) for m in getattr(model, "metrics", None) or []]
    compiled = getattr(model, "_compile_metrics", None)
    if compiled is not None:
        candidates += [(display, metric) for _, metric, display, _ in compiled.entries]
        if not compiled.entries:  # not built yet (no batch seen): resolve the arguments
            from nablanet import metrics as metrics_module
            from nablanet.models.compile_utils import _flatten_identifiers

            for identifier in _flatten_identifiers(compiled.metrics_arg) + \
                    _flatten_identifiers(compiled.weighted_arg):
                metric = identifier if hasattr(identifier, "update_state") else \
                    metrics_module.get(identifier)
                candidates.append((metric.name, metric))
    for name, metric in candidates:
        if name == metric_name:
            direction = getattr(metric, "_direction", None)
            if direction in ("up", "down"):
                return direction
    return None


class MonitorCallback(Callback):
    """Shared logic of callbacks that watch one logged quantity.

    Parameters
    ----------
    monitor : str
        The key of the epoch logs to watch (``'val_loss'``, ``'accuracy'``, ...).
    mode : {'auto', 'min', 'max'}
        Whether a lower (``'min'``) or a higher (``'max'``) value is an improvement.
        ``'auto'`` decides as Keras 3 does: ``loss`` (and ``val_loss``) is minimised, a
        metric of the model that declares its direction (``_direction``: the accuracies
        ``'up'``, the errors, hinge and cross-entropy metrics and the loss trackers
        ``'down'``) decides; any other name raises ValueError when the direction is first
        needed.
    baseline : float, optional
        The initial "best" value (``-inf``/``+inf`` when None).
    min_delta : float
        An improvement must beat the reference by more than ``|min_delta|``.

    Notes
    -----
    The comparison is Keras's: in ``'min'`` mode ``current + |min_delta| < reference``, in
    ``'max'`` mode ``current - |min_delta| > reference``.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto",
                 baseline: float | None = None, min_delta: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to "
                          "auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best: float | None = baseline
        self._baseline = baseline
        self.min_delta = abs(float(min_delta))
        self.monitor_op: Any = None
        self._delta = self.min_delta

    def _set_monitor_op(self) -> None:
        """Choose ``np.less`` or ``np.greater`` (delayed until the model's metrics exist)."""
        op: np.ufunc | None = None
        if self.mode == "min":
            op = np.less
        elif self.mode == "max":
            op = np.greater
        else:
            name = self.monitor.removeprefix("val_")
            direction = _direction_of(self.model, name)
            if name == "loss" or direction == "down":
                op = np.less
            elif direction == "up":
                op = np.greater
            else:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but "
                    "nablanet isn't able to automatically determine whether that metric "
                    "should be maximized or minimized. Pass `mode='max'` in order to monitor "
                    "based on the highest metric value, or pass `mode='min'` in order to use "
                    "the lowest value.")
        self.monitor_op = op
        self._delta = -self.min_delta if op is np.less else self.min_delta
        if self.best is None:
            self.best = math.inf if op is np.less else -math.inf

    def _is_improvement(self, monitor_value: float, reference_value: float | None) -> bool:
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self._delta, reference_value))

    def _monitor_value(self, logs: dict[str, Any] | None, what: str) -> float | None:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"{what} conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list(logs.keys()))}", stacklevel=3)
            return None
        array = np.asarray(value, dtype=np.float64)
        if array.size != 1:
            raise ValueError(f"{type(self).__name__}: the monitored metric `{self.monitor}` has "
                             f"{array.size} values (shape {array.shape}); monitor a scalar "
                             "(e.g. F1Score(average='macro')).")
        return float(array.reshape(()))
