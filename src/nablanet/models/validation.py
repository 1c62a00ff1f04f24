"""Checks of the arguments of ``fit``/``evaluate``/``predict``, made before any weight changes.

Each public function here is called once, at the top of its method, and raises a
``ValueError`` (``TypeError`` for an argument of the wrong kind) that names the argument and
the value received:

* ``callbacks`` must be a list (or tuple) of :class:`~nablanet.callbacks.Callback`;
* ``validation_freq`` a positive integer; ``validation_data`` ``(x, y)``, ``(x, y,
  sample_weight)`` or a dataset;
* ``class_weight`` a dict from integer class indices inside the model's classes to finite,
  non-negative weights;
* an ``x`` dict must use the model's input names;
* labels must be numbers (strings are refused with a hint to encode them) and, for a sparse
  categorical loss, integers (the first non-integer label is named);
* a dataset (or any iterable of batches) must yield batches, not single samples (the hint is
  to call ``.batch()``), and each batch's targets and sample weights must be finite -- checked
  as the batch arrives, before its step (:func:`batch_checker`, which ``DataHandler`` calls).

A list of ``(x, y)`` or ``(x, y, sample_weight)`` tuples (the "list of batches" input) is
passed on as an iterable of batches, one step per tuple.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["batch_checker", "check_evaluate", "check_fit", "check_predict"]


def check_fit(model: Any, x: Any, y: Any, validation_data: Any, validation_freq: Any,
              class_weight: Any, callbacks: Any) -> Any:
    """Check ``fit``'s arguments; returns ``x`` (a list of batches wrapped as an iterable)."""
    _check_callbacks("fit", callbacks)
    if isinstance(validation_freq, bool) or not isinstance(validation_freq, (int, np.integer)) \
            or validation_freq < 1:
        raise ValueError("fit: validation_freq must be a positive integer (validate every "
                         f"that many epochs). Received: validation_freq={validation_freq!r}")
    if isinstance(validation_data, (tuple, list)) and len(validation_data) not in (2, 3):
        raise ValueError("fit: validation_data must be (x_val, y_val), (x_val, y_val, "
                         "val_sample_weight) or a dataset. Received: a "
                         f"{type(validation_data).__name__} of length {len(validation_data)}")
    x = _batches_or_arrays(x, y)
    _check_x_keys("fit", model, x)
    _check_labels("fit", model, y, "y")
    if isinstance(validation_data, (tuple, list)):
        _check_x_keys("fit", model, validation_data[0])
        _check_labels("fit", model, validation_data[1], "validation_data's y")
    if class_weight is not None:
        _check_class_weight(model, y, class_weight)
    return x


def check_evaluate(model: Any, x: Any, y: Any, callbacks: Any) -> Any:
    """Check ``evaluate``'s arguments; returns ``x`` as :func:`check_fit` does."""
    _check_callbacks("evaluate", callbacks)
    x = _batches_or_arrays(x, y)
    _check_x_keys("evaluate", model, x)
    _check_labels("evaluate", model, y, "y")
    return x


def check_predict(model: Any, x: Any, callbacks: Any) -> Any:
    """Check ``predict``'s arguments; returns ``x`` as :func:`check_fit` does."""
    _check_callbacks("predict", callbacks)
    _check_x_keys("predict", model, x)
    return x


# -- the checks ----------------------------------------------------------------------------------
def _check_callbacks(where: str, callbacks: Any) -> None:
    from nablanet.callbacks.base import Callback, CallbackList

    if callbacks is None or isinstance(callbacks, CallbackList):
        return
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"{where}: callbacks must be a list of Callback objects. Received: "
                        f"callbacks={callbacks!r} (a {type(callbacks).__name__}); wrap it "
                        "in a list: callbacks=[...]")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"{where}: every entry of callbacks must be a "
                            f"nablanet.callbacks.Callback. Received: {cb!r} of type "
                            f"{type(cb).__name__}")


def _input_names(model: Any) -> list[str] | None:
    names = getattr(type(model), "input_names", None)
    if names is not None:
        return list(model.input_names)
    inputs = getattr(model, "inputs", None) if hasattr(type(model), "inputs") else None
    if inputs:
        return [str(getattr(t, "name", None) or f"input_{i}") for i, t in enumerate(inputs)]
    return None


def _check_x_keys(where: str, model: Any, x: Any) -> None:
    if not isinstance(x, dict):
        return
    names = _input_names(model)
    if names is None:
        return
    unknown = [k for k in x if k not in names]
    if unknown:
        raise ValueError(f"{where}: x has key(s) {unknown} that are not inputs of model "
                         f"{model.name}. Expected the keys {names}. Received keys: {list(x)}")


def _losses(model: Any) -> list[Any]:
    args = getattr(model, "_compile_args", None) or {}
    loss = args.get("loss")
    if loss is None or isinstance(loss, (list, tuple, dict)):
        return []  # per-output losses: the per-output checks of fit apply
    return [loss]


def _is_sparse(loss: Any) -> bool:
    name = loss if isinstance(loss, str) else (
        type(loss).__name__ + str(getattr(loss, "name", "")) + getattr(loss, "__name__", ""))
    name = name.lower()
    return "sparse" in name and "categorical" in name


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, tuple) or (isinstance(value, list) and value
                                    and not isinstance(value[0], (int, float, list, str))):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _check_labels(where: str, model: Any, y: Any, name: str) -> None:
    if y is None:
        return
    sparse = any(_is_sparse(loss) for loss in _losses(model))
    for leaf in _leaves(y):
        if hasattr(leaf, "__iter__") and not isinstance(leaf, (np.ndarray, list, tuple)) \
                and not hasattr(leaf, "data"):
            continue  # not arrays (a dataset): checked batch by batch
        array = np.asarray(getattr(leaf, "data", leaf))
        if array.dtype.kind in "USO":
            sample = ", ".join(repr(v) for v in np.unique(array.astype(str))[:5].tolist())
            raise ValueError(
                f"{where}: {name} holds strings (for example {sample}); the labels must be "
                "numbers. Encode them first, e.g. classes, y = np.unique(y, "
                "return_inverse=True), and train on the integer indices.")
        if sparse and array.dtype.kind == "f" and array.size:
            finite = np.isfinite(array)
            fractional = ~finite | (array != np.round(np.where(finite, array, 0)))
            if fractional.any():
                index = int(np.argmax(fractional.reshape(-1)))
                bad = array.reshape(-1)[index].item()
                raise ValueError(
                    f"{where}: {name} holds the label {bad!r} (at flat index {index}), but a "
                    "sparse categorical loss needs integer class indices. Use integer labels, or a "
                    "categorical (one-hot) loss for soft targets.")


def _num_classes(model: Any, y: Any) -> int | None:
    shapes = None
    try:
        shapes = model._output_shapes()
    except Exception:  # noqa: BLE001 - the model may not know its outputs yet
        shapes = None
    if shapes and len(shapes) == 1 and shapes[0] and shapes[0][-1] is not None:
        last = int(shapes[0][-1])
        return 2 if last == 1 else last
    if y is None or isinstance(y, (dict, tuple)):
        return None
    array = np.asarray(getattr(y, "data", y))
    if array.ndim >= 2 and array.shape[-1] > 1:
        return int(array.shape[-1])
    if array.dtype.kind in "iuf" and array.size:
        return int(np.nanmax(array)) + 1
    return None


def _check_class_weight(model: Any, y: Any, class_weight: Any) -> None:
    if not hasattr(class_weight, "items"):
        raise ValueError("fit: class_weight must be a dict mapping class indices to weights. "
                         f"Received: class_weight={class_weight!r}")
    classes = _num_classes(model, y)
    for key, value in class_weight.items():
        integral = isinstance(key, (int, np.integer)) and not isinstance(key, bool)
        if not integral:
            raise ValueError(f"fit: class_weight keys must be integer class indices. Received "
                             f"the key {key!r} ({type(key).__name__}) in "
                             f"class_weight={class_weight!r}")
        if key < 0 or (classes is not None and key >= classes):
            known = f"[0, {classes})" if classes is not None else "non-negative"
            raise ValueError(f"fit: class_weight names the class {key}, which the model does "
                             f"not have (class indices are {known}). Received: "
                             f"class_weight={class_weight!r}")
        try:
            weight = float(np.asarray(value))
        except (TypeError, ValueError):
            weight = float("nan")
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"fit: class_weight values must be finite, non-negative numbers. "
                             f"Received: {value!r} for class {key}")


# -- iterables of batches ------------------------------------------------------------------------
def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or hasattr(value, "data") and hasattr(value, "shape")


class _Batches:
    """A list of ``(x, y[, sample_weight])`` tuples seen as an iterable of batches."""

    def __init__(self, batches: list[Any]) -> None:
        self._batches = batches

    def __iter__(self) -> Iterator[Any]:
        return iter(self._batches)

    def __len__(self) -> int:
        return len(self._batches)


def _batches_or_arrays(x: Any, y: Any) -> Any:
    if y is None and isinstance(x, list) and x and all(
            isinstance(b, tuple) and len(b) in (2, 3) and _is_array(b[0]) for b in x):
        return _Batches(x)
    return x


def batch_checker(where: str, model: Any) -> Any:
    """A function ``check(x, y, sample_weight)`` that :class:`~nablanet.models.data_adapter.
    DataHandler` calls on every batch of a dataset as it arrives, before its step: the first
    batch must be a batch (not a single sample), targets and sample weights finite."""
    from nablanet.models.data_adapter import check_finite

    rank = None
    try:
        spec = model._input_spec()
    except Exception:  # noqa: BLE001 - unknown before the model is built
        spec = None
    if spec is not None and len(spec) == 1:
        rank = len(spec[0])
    first = [True]

    def check(x: Any, y: Any, sw: Any) -> None:
        if first[0] and rank is not None and x is not None and not isinstance(x, dict):
            leaf = np.asarray(getattr(_leaves(x)[0], "data", _leaves(x)[0]))
            if leaf.ndim == rank - 1:
                raise ValueError(
                    f"{where}: the dataset yields single samples (x of shape {leaf.shape}), "
                    f"not batches: the model expects inputs of rank {rank} with a batch axis "
                    "first. Call .batch(batch_size) on the dataset.")
        first[0] = False
        for part, name in ((y, "target (y)"), (sw, "sample_weight")):
            for leaf in _leaves(part) if part is not None else []:
                check_finite(np.asarray(getattr(leaf, "data", leaf)), name, where)

    return check
