"""Everything a training run depends on besides the weights, as JSON and arrays.

:class:`~nablanet.callbacks.BackupAndRestore` writes this next to the weights and optimizer
state so that a killed ``fit`` resumes exactly where the backup was taken, and the resumed
run equals the uninterrupted one bit for bit:

* **random generators** -- nablanet's generator (shuffling, dropout, noise), Python's
  ``random`` and NumPy's legacy global generator, and every generator a layer holds (a
  ``Dropout(seed=...)``);
* **callbacks** -- the numbers, strings, lists and arrays each callback keeps in its
  attributes (``ModelCheckpoint``'s best value, ``EarlyStopping``'s wait, best value and best
  weights, ``ReduceLROnPlateau``'s counters, ``History``'s record, a user callback's
  counters); callables and open files are not state. ``CSVLogger`` stores the rows written
  so far, which are put back in its file on resume (its rows then continue, once each);
* **metrics** -- the running totals of the epoch's metrics (for a backup inside an epoch);
* the optimizer's learning rate when it is a plain number (``ReduceLROnPlateau`` and
  ``LearningRateScheduler`` change it; a schedule follows ``iterations``, which the
  optimizer state holds).

Each piece is a pair of functions ``*_state(...) -> (json, arrays)`` and
``set_*_state(...)``; ``arrays`` maps names to ndarrays (stored as tensors).
"""

from __future__ import annotations

import random as _python_random
from typing import Any

import numpy as np

from nablanet import random as nb_random

__all__ = [
    "callback_states",
    "metric_states",
    "rng_states",
    "set_callback_states",
    "set_metric_states",
    "set_rng_states",
]

_PLAIN = (bool, int, float, str, type(None))


# -- random generators ---------------------------------------------------------------------------
def _layer_generators(model: Any) -> list[tuple[str, Any, str]]:
    """``(key, layer, attribute)`` of every ``np.random.Generator`` and every
    :class:`~nablanet.random.SeedStream` (a seeded layer's draw counter) a layer holds."""
    found = []
    for index, layer in enumerate(model._flatten_layers()):
        for name, value in sorted(vars(layer).items()):
            if isinstance(value, (np.random.Generator, nb_random.SeedStream)):
                found.append((f"{index}:{name}", layer, name))
    return found


def _generator_state(value: Any) -> Any:
    if isinstance(value, nb_random.SeedStream):
        return {"seed_stream_draws": value.draws}
    return value.bit_generator.state


def _set_generator_state(value: Any, state: Any) -> None:
    if isinstance(value, nb_random.SeedStream):
        value.draws = int(state["seed_stream_draws"])
    else:
        value.bit_generator.state = state


def rng_states(model: Any) -> dict[str, Any]:
    """The state of every generator a training step may draw from (JSON-able)."""
    legacy = np.random.get_state(legacy=False)
    assert isinstance(legacy, dict)
    version, internal, gauss = _python_random.getstate()
    return {
        "nablanet": nb_random.generator().bit_generator.state,
        "numpy": {**legacy, "state": {"key": np.asarray(legacy["state"]["key"]).tolist(),
                                      "pos": int(legacy["state"]["pos"])}},
        "python": [version, list(internal), gauss],
        "layers": {key: _generator_state(getattr(layer, name))
                   for key, layer, name in _layer_generators(model)},
    }


def set_rng_states(model: Any, states: dict[str, Any]) -> None:
    """Put back :func:`rng_states`'s generators (in place: holders keep their objects)."""
    nb_random.generator().bit_generator.state = states["nablanet"]
    legacy = dict(states["numpy"])
    legacy["state"] = {"key": np.asarray(legacy["state"]["key"], dtype=np.uint32),
                       "pos": int(legacy["state"]["pos"])}
    np.random.set_state(legacy)
    version, internal, gauss = states["python"]
    _python_random.setstate((version, tuple(internal), gauss))
    stored = states.get("layers", {})
    for key, layer, name in _layer_generators(model):
        if key in stored:
            _set_generator_state(getattr(layer, name), stored[key])


# -- attributes of plain objects -----------------------------------------------------------------
def _is_json(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if depth > 4:
        return False
    if isinstance(value, (list, tuple)):
        return all(_is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _attributes(obj: Any, prefix: str, skip: tuple[str, ...]) -> tuple[dict[str, Any],
                                                                       dict[str, np.ndarray]]:
    """The JSON-able attributes of ``obj`` and its array (or list-of-arrays) attributes."""
    plain: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    lists: dict[str, int] = {}
    for name, value in vars(obj).items():
        if name in skip:
            continue
        value = _plain(value)
        if isinstance(value, np.ndarray):
            arrays[f"{prefix}{name}"] = value.copy()
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            lists[name] = len(value)
            for i, v in enumerate(value):
                arrays[f"{prefix}{name}/{i}"] = v.copy()
        elif _is_json(value):
            plain[name] = value
    if lists:
        plain["__array_lists__"] = lists
    return plain, arrays


def _set_attributes(obj: Any, plain: dict[str, Any], arrays: dict[str, np.ndarray],
                    prefix: str) -> None:
    plain = dict(plain)
    lists = plain.pop("__array_lists__", {})
    for name, value in plain.items():
        current = getattr(obj, name, None)
        if isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        setattr(obj, name, value)
    for name, count in lists.items():
        setattr(obj, name, [arrays[f"{prefix}{name}/{i}"].copy() for i in range(count)])
    for key, value in arrays.items():
        if key.startswith(prefix) and "/" not in key[len(prefix):]:
            setattr(obj, key[len(prefix):], value.copy())


# -- callbacks -----------------------------------------------------------------------------------
def _stateful(callbacks: Any) -> list[Any]:
    from nablanet.callbacks.checkpoint import BackupAndRestore
    from nablanet.callbacks.progbar import ProgbarLogger

    return [cb for cb in callbacks if not isinstance(cb, (BackupAndRestore, ProgbarLogger))]


def callback_states(callbacks: Any) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """One entry per callback (class name and attributes) and the callbacks' arrays."""
    entries: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for index, cb in enumerate(_stateful(callbacks)):
        own = getattr(cb, "_backup_state", None)
        extra = own() if own is not None else {}
        plain, found = _attributes(cb, f"callbacks/{index}/", ("_model", "params"))
        entries.append({"class_name": type(cb).__name__, "attributes": plain, "extra": extra})
        arrays.update(found)
    return entries, arrays


def set_callback_states(callbacks: Any, entries: list[dict[str, Any]],
                        arrays: dict[str, np.ndarray]) -> list[str]:
    """Restore :func:`callback_states` (matched by class, in order); returns the names of
    callbacks the backup has no state for."""
    mismatched = []
    by_class: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        by_class.setdefault(str(entry.get("class_name")), []).append(index)
    for cb in _stateful(callbacks):  # the k-th callback of a class gets the k-th entry of it
        indices = by_class.get(type(cb).__name__)
        if not indices:
            if any(_attributes(cb, "", ("_model", "params"))):  # it has state to lose
                mismatched.append(type(cb).__name__)
            continue
        index = indices.pop(0)
        entry = entries[index]
        _set_attributes(cb, entry.get("attributes", {}), arrays, f"callbacks/{index}/")
        restore = getattr(cb, "_restore_backup_state", None)
        if restore is not None:
            restore(entry.get("extra", {}))
    return mismatched


# -- metrics -------------------------------------------------------------------------------------
def metric_states(model: Any) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """The running state (numbers and arrays) of every metric of ``model``."""
    entries: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for index, metric in enumerate(model.metrics):
        plain, found = _attributes(metric, f"metrics/{index}/", ("name", "dtype"))
        plain = {k: v for k, v in plain.items() if not isinstance(v, str)}
        entries.append({"name": metric.name, "attributes": plain})
        arrays.update(found)
    return entries, arrays


def set_metric_states(model: Any, entries: list[dict[str, Any]],
                      arrays: dict[str, np.ndarray]) -> bool:
    """Restore :func:`metric_states`; False (nothing changed) when the metrics differ."""
    metrics = model.metrics
    if len(metrics) != len(entries) or any(m.name != e.get("name")
                                           for m, e in zip(metrics, entries)):
        return False
    for index, (metric, entry) in enumerate(zip(metrics, entries)):
        _set_attributes(metric, entry.get("attributes", {}), arrays, f"metrics/{index}/")
    return True
