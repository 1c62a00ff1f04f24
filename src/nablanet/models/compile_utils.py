"""What ``compile`` sets up: the loss of every output, the metrics, and the running means.

``CompileLoss`` maps the ``loss`` / ``loss_weights`` arguments (one loss, a list with one per
output, or a dict by output name) onto the model's outputs; ``CompileMetrics`` does the same
for ``metrics`` and ``weighted_metrics``. Both resolve names through the framework's
registries (``nablanet.losses.get``, ``nablanet.metrics.get``), so an unknown name raises
with the list of valid ones. Metrics are updated on NumPy arrays (no graph is recorded).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor

__all__ = ["CompileLoss", "CompileMetrics", "MeanTracker"]


def to_float(value: Any) -> float:
    """A Python float from a Tensor, array or number."""
    return float(np.asarray(getattr(value, "data", value)))


def log_value(value: Any) -> Any:
    """A metric result as ``fit``'s logs hold it: a float for a scalar, a float array for
    a metric with one value per class (``F1Score(average=None)``), as Keras logs them."""
    array = np.asarray(getattr(value, "data", value))
    return float(array) if array.ndim == 0 else array.astype(np.float64)


class MeanTracker:
    """Running (weighted) mean of a scalar, used for ``loss`` and per-output losses.

    It has a metric's interface (``name``, ``update_state``, ``result``, ``reset_state``) so
    it appears in ``model.metrics`` as Keras's loss tracker does.
    """

    _direction = "down"

    def __init__(self, name: str = "loss") -> None:
        self.name = name
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        weight = 1.0 if sample_weight is None else float(np.sum(np.asarray(
            getattr(sample_weight, "data", sample_weight))))
        self.total += to_float(values) * weight
        self.count += weight

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    @property
    def variables(self) -> list[np.ndarray]:
        """``[total, count]`` (Keras's metric variables)."""
        return [np.asarray(self.total, np.float32), np.asarray(self.count, np.float32)]

    def __repr__(self) -> str:
        return f"<MeanTracker name={self.name!r}>"


def _serialize(obj: Any) -> Any:
    """A JSON-able description of a loss/metric identifier (for the compile config)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [_serialize(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _serialize(v) for k, v in obj.items()}
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    name = getattr(obj, "__name__", None)
    if name:
        return name
    raise ValueError(f"compile: cannot serialize {obj!r}")


def _structure_names(structure: Any, n_outputs: int, output_names: list[str] | None,
                     what: str) -> list[Any]:
    """One entry per output from a single value, a list, or a dict by output name."""
    if isinstance(structure, dict):
        if output_names is None:
            raise ValueError(f"compile: `{what}` was given as a dict, but this model has no "
                             "output names (only functional and Sequential models do).")
        unknown = sorted(set(structure) - set(output_names))
        if unknown:
            raise ValueError(f"compile: `{what}` has keys {unknown} that are not output names. "
                             f"Output names: {output_names}")
        return [structure.get(name) for name in output_names]
    if isinstance(structure, (list, tuple)) and n_outputs > 1:
        if len(structure) != n_outputs:
            raise ValueError(f"compile: `{what}` is a list of {len(structure)} entries but the "
                             f"model has {n_outputs} outputs ({output_names}).")
        return list(structure)
    return [structure] * n_outputs


class CompileLoss:
    """The compiled loss: one loss (and weight) per output."""

    def __init__(self, loss: Any, loss_weights: Any = None,
                 output_names: list[str] | None = None) -> None:
        from nablanet import losses

        self.loss = loss
        self.loss_weights = loss_weights
        self.output_names = output_names
        self._built_for: int | None = None
        self.fns: list[Any] = []
        self.weights: list[float] = []
        self.trackers: list[MeanTracker | None] = []
        # Resolve names now so that unknown names fail in compile().
        for identifier in _flatten_identifiers(loss):
            if not _is_shape_resolved(identifier):
                losses.get(identifier)

    def build(self, n_outputs: int, output_names: list[str] | None) -> None:
        from nablanet import losses

        if output_names is not None and len(output_names) != n_outputs:
            output_names = None
        names = output_names or self.output_names
        if names is not None and len(names) != n_outputs:
            names = None
        raw = _structure_names(self.loss, n_outputs, names, "loss")
        if isinstance(self.loss, (list, tuple)) and n_outputs == 1:
            if len(self.loss) != 1:
                raise ValueError(f"compile: `loss` is a list of {len(self.loss)} entries but "
                                 "the model has 1 output.")
            raw = [self.loss[0]]
        self.fns = [None if r is None else r if _is_shape_resolved(r) else _as_loss(losses.get(r))
                    for r in raw]
        if self.loss_weights is None:
            self.weights = [1.0] * n_outputs
        else:
            lw = self.loss_weights
            if isinstance(lw, (int, float, np.number)):  # one weight for every output
                lw = lw if n_outputs == 1 else [lw] * n_outputs
            elif isinstance(lw, (list, tuple)) and n_outputs == 1:
                if len(lw) != 1:
                    raise ValueError("compile: `loss_weights` has "
                                     f"{len(lw)} entries but the model has 1 output.")
                lw = lw[0]
            weights = _structure_names(lw, n_outputs, names, "loss_weights")
            self.weights = [1.0 if w is None else float(w) for w in weights]
        self.names = names or [f"output_{i}" for i in range(n_outputs)]
        self.trackers = ([MeanTracker(f"{n}_loss") if fn is not None else None
                          for n, fn in zip(self.names, self.fns)] if n_outputs > 1 else [None])
        self._built_for = n_outputs

    def __call__(self, y_true: list[Any], y_pred: list[Tensor],
                 sample_weight: list[Any]) -> Tensor | None:
        """Weighted sum of the outputs' losses (None when no output has a loss)."""
        if self._built_for != len(y_pred):
            self.build(len(y_pred), self.output_names)
        total: Tensor | None = None
        batch = y_pred[0].shape[0] if y_pred and y_pred[0].ndim else 1
        for i, fn in enumerate(self.fns):
            if fn is None:
                continue
            if i >= len(y_true) or y_true[i] is None:
                raise ValueError(
                    f"The model has an output '{self.names[i]}' with a loss but no target was "
                    "given for it (pass y for every output)."
                )
            if _is_shape_resolved(fn):
                fn = self.fns[i] = _crossentropy_for(y_true[i], y_pred[i])
            sw = sample_weight[i] if i < len(sample_weight) else None
            value = fn(y_true[i], y_pred[i], sample_weight=sw)
            tracker = self.trackers[i]
            if tracker is not None:
                tracker.update_state(value.data, sample_weight=batch)
            term = value * self.weights[i] if self.weights[i] != 1.0 else value
            total = term if total is None else total + term
        return total

    def get_config(self) -> dict[str, Any]:
        return {"loss": _serialize(self.loss), "loss_weights": _serialize(self.loss_weights)}


def _is_shape_resolved(identifier: Any) -> bool:
    """``'crossentropy'`` / ``'ce'``: Keras picks the cross-entropy from the data's shapes."""
    return isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce")


def _crossentropy_for(y_true: Any, y_pred: Any) -> Any:
    """The cross-entropy ``compile(loss='crossentropy')`` means for these shapes (Keras's
    rule): binary when the prediction has one unit, sparse categorical when the target has
    fewer axes or one column against several, else categorical."""
    from nablanet import losses

    t_shape, p_shape = np.shape(getattr(y_true, "data", y_true)), tuple(y_pred.shape)
    if p_shape[-1] == 1:
        return losses.BinaryCrossentropy()
    if len(t_shape) < len(p_shape) or (t_shape[-1] == 1 and p_shape[-1] > 1):
        return losses.SparseCategoricalCrossentropy()
    return losses.CategoricalCrossentropy()


def _as_loss(fn: Any) -> Any:
    """A Loss object; a plain function ``fn(y_true, y_pred)`` is wrapped in a
    :class:`~nablanet.losses.LossFunctionWrapper` (ranks reconciled, weights, reduction)."""
    from nablanet import losses

    if fn is None or isinstance(fn, losses.Loss):
        return fn
    return losses.LossFunctionWrapper(fn, name=getattr(fn, "__name__", None))


def _flatten_identifiers(structure: Any) -> list[Any]:
    if structure is None:
        return []
    if isinstance(structure, dict):
        return [i for v in structure.values() for i in _flatten_identifiers(v)]
    if isinstance(structure, (list, tuple)):
        return [i for v in structure for i in _flatten_identifiers(v)]
    return [structure]


class CompileMetrics:
    """The compiled metrics: ``(output index, metric, display name, weighted)`` entries."""

    def __init__(self, metrics: Any, weighted_metrics: Any = None,
                 output_names: list[str] | None = None) -> None:
        self.metrics_arg = metrics
        self.weighted_arg = weighted_metrics
        self.output_names = output_names
        self.entries: list[tuple[int, Any, str, bool]] = []
        self._built_for: int | None = None

    def _per_output(self, structure: Any, n_outputs: int, names: list[str] | None,
                    what: str) -> list[list[Any]]:
        if structure is None:
            return [[] for _ in range(n_outputs)]
        if isinstance(structure, dict):
            per = _structure_names(structure, n_outputs, names, what)
        elif (isinstance(structure, (list, tuple)) and n_outputs > 1 and len(structure)
              == n_outputs and all(isinstance(s, (list, tuple)) or s is None
                                   for s in structure)):
            per = list(structure)
        elif isinstance(structure, (list, tuple)):
            per = [list(structure)] * n_outputs
        else:
            per = [[structure]] * n_outputs
        return [[] if p is None else (list(p) if isinstance(p, (list, tuple)) else [p])
                for p in per]

    def build(self, n_outputs: int, output_names: list[str] | None,
              loss_fns: list[Any]) -> None:
        from nablanet import metrics as metrics_module

        names = output_names if output_names and len(output_names) == n_outputs else None
        self.entries = []
        for weighted, structure in ((False, self.metrics_arg), (True, self.weighted_arg)):
            per = self._per_output(structure, n_outputs, names,
                                   "weighted_metrics" if weighted else "metrics")
            for i, identifiers in enumerate(per):
                loss = loss_fns[i] if i < len(loss_fns) else None
                for identifier in identifiers:
                    if isinstance(identifier, str) or not hasattr(identifier, "update_state"):
                        metric = metrics_module.get(identifier, loss=loss)
                    else:
                        metric = identifier
                    display = metric.name
                    if n_outputs > 1:
                        display = f"{(names or [f'output_{j}' for j in range(n_outputs)])[i]}_" \
                                  f"{metric.name}"
                    if weighted and any(e[2] == display for e in self.entries):
                        display = f"weighted_{display}"
                    self.entries.append((i, metric, display, weighted))
        self._built_for = n_outputs

    def check_names(self, loss_fns: list[Any]) -> None:
        """Resolve every identifier now (so compile fails on an unknown name)."""
        from nablanet import metrics as metrics_module

        loss = loss_fns[0] if loss_fns else None
        for identifier in _flatten_identifiers(self.metrics_arg) + _flatten_identifiers(
                self.weighted_arg):
            if isinstance(identifier, str):
                metrics_module.get(identifier, loss=loss)

    def update_state(self, y_true: list[Any], y_pred: list[np.ndarray],
                     sample_weight: list[Any]) -> None:
        for i, metric, _, weighted in self.entries:
            if i >= len(y_true) or y_true[i] is None:
                continue
            sw = sample_weight[i] if weighted and i < len(sample_weight) else None
            metric.update_state(y_true[i], y_pred[i], sample_weight=sw)

    @property
    def metrics(self) -> list[Any]:
        return [e[1] for e in self.entries]

    def results(self) -> dict[str, float]:
        return {display: log_value(metric.result()) for _, metric, display, _ in self.entries}

    def reset_state(self) -> None:
        for _, metric, _, _ in self.entries:
            metric.reset_state()

    def get_config(self) -> dict[str, Any]:
        return {"metrics": _serialize(self.metrics_arg),
                "weighted_metrics": _serialize(self.weighted_arg)}
