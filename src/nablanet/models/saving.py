"""Saving and loading models, safe by construction.

File format
-----------
``model.save(path)`` writes ONE file in the `safetensors <https://github.com/huggingface/
safetensors>`_ format: an 8-byte little-endian header length, a JSON header, raw tensor bytes.
Nothing in it is executable and reading it runs no code from the file.

The header's ``__metadata__`` (string to string) holds:

``format``            ``"nablanet"``
``format_version``    ``"1"``
``kind``              ``"model"`` (``save``) or ``"weights"`` (``save_weights``)
``model_config``      JSON ``{"class_name": ..., "config": ...}`` of the architecture
                      (``Sequential``: the layers' configs in order and the input; functional:
                      the layers' configs, the inputs, and the nodes in topological order
                      with references to the tensors they consume) -- ``kind="model"`` only
``compile_config``    JSON of the ``compile`` arguments (optimizer, loss, loss weights,
                      metrics) or absent
``optimizer``         JSON ``{"class_name", "config"}`` of the optimizer whose state is stored
``weight_names``      JSON list: the model's path name of each stored weight, in order
``user_metadata``     JSON dict written by callbacks (e.g. ``BackupAndRestore``'s epoch)

Tensors are ``weights/NNNNN`` (the model's weights in the order of ``_named_weights()``;
matched by position and checked by shape and weight name on load, so a freshly built model
whose layers got other automatic names loads fine) and ``optimizer/<key>`` (the optimizer's
``get_state()``: ``iterations``, then ``<slot>/<variable index>``), so training continues
exactly where it stopped.

Safety
------
* Classes named in the file are resolved only against the framework's own registries
  (``LAYER_REGISTRY``, the optimizer/loss/metric registries); user classes only through
  ``custom_objects``. No pickle, no ``eval``, no import of a name read from the file.
* Files are checked before use: a pickle or zip (``torch.save``) payload, a foreign or
  truncated file, or a corrupt header raises ``ValueError`` naming the file.
* Writes are atomic: the bytes go to a temporary file in the same directory, which is
  flushed, ``fsync``-ed and renamed over the target with ``os.replace``; a failure midway
  leaves the previous file untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from typing import Any

import numpy as np

__all__ = [
    "deserialize_layer",
    "load_model",
    "load_weights",
    "read_file",
    "save_model",
    "save_weights",
    "serialize_layer",
    "clone_model",
]

FORMAT = "nablanet"
FORMAT_VERSION = "1"
_MAX_HEADER = 100 * 1024 * 1024


# -- layer (de)serialization ---------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def serialize_layer(layer: Any) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` of a layer or model."""
    return {"class_name": type(layer).__name__, "config": _jsonable(layer.get_config())}


def _resolve_class(name: str, custom_objects: dict[str, Any] | None) -> Any:
    from nablanet.layers.base import LAYER_REGISTRY

    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in ("Model", "Functional"):
        from nablanet.models.functional import Functional

        return Functional
    cls = LAYER_REGISTRY.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown layer class {name!r} in the saved configuration. Only nablanet's own "
            "layers are loaded automatically; pass your classes with "
            f"custom_objects={{'{name}': {name}}}."
        )
    return cls


def deserialize_layer(config: dict[str, Any], custom_objects: dict[str, Any] | None = None
                      ) -> Any:
    """Recreate a layer or model from :func:`serialize_layer`'s dict (allow-listed classes)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Malformed layer configuration: {config!r}")
    cls = _resolve_class(str(config["class_name"]), custom_objects)
    inner = dict(config.get("config") or {})
    from nablanet.models.model import Model

    if isinstance(cls, type) and issubclass(cls, Model):
        import inspect

        from_config: Any = cls.from_config  # Sequential/Functional also take custom_objects
        if "custom_objects" in inspect.signature(from_config).parameters:
            return from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


# -- files ---------------------------------------------------------------------------------------
def _write_chunks(handle: Any, data: bytes) -> None:
    """Write ``data`` (in pieces, so big files do not need a second copy)."""
    view = memoryview(data)
    step = 1 << 24
    for start in range(0, len(view), step):
        handle.write(view[start:start + step])


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, fsync,
    ``os.replace``). On any failure the previous file is left as it was."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_chunks(handle, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename durable (not possible on every platform)
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _encode(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    from safetensors.numpy import save

    # (np.ascontiguousarray would turn 0-d arrays such as ``iterations`` into 1-d ones.)
    arrays = {k: v if v.flags.c_contiguous else v.copy(order="C") for k, v in tensors.items()}
    return save(arrays, metadata=metadata)


def read_file(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """``(metadata, tensors)`` of a nablanet file, after checking it is one.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is a pickle/zip payload (refused, never unpickled), truncated, corrupt,
        or not a nablanet safetensors file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: '{path}'")
    with open(path, "rb") as handle:
        data = handle.read()
    head = data[:4]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        raise ValueError(
            f"'{path}' is a zip archive (for example a torch.save or .keras file), not a "
            "nablanet safetensors file. It was not opened: archives of pickles can run code."
        )
    if data[:1] == b"\x80" and len(data) > 1 and 2 <= data[1] <= 5:
        raise ValueError(
            f"'{path}' is a pickle file. nablanet never unpickles files (unpickling runs "
            "code); save models with model.save() / save_weights()."
        )
    if len(data) < 8:
        raise ValueError(f"'{path}' is not a nablanet model file: it is truncated "
                         f"({len(data)} bytes).")
    header_len = int.from_bytes(data[:8], "little")
    if header_len <= 0 or header_len > _MAX_HEADER or 8 + header_len > len(data):
        raise ValueError(
            f"'{path}' is not a valid nablanet safetensors file: its header length "
            f"({header_len} bytes) does not fit the file ({len(data)} bytes); the file is "
            "truncated, corrupt, or in another format."
        )
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"'{path}' is corrupt or not a safetensors file: its header is not "
                         f"valid JSON ({error}).") from None
    if not isinstance(header, dict):
        raise ValueError(f"'{path}' is corrupt: its header is not a JSON object.")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"'{path}' is a safetensors file but not one written by nablanet "
                         "(no 'format': 'nablanet' in its metadata).")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"'{path}' has format version {metadata.get('format_version')!r}; "
                         f"this nablanet reads version {FORMAT_VERSION}.")
    from safetensors.numpy import load

    try:
        tensors = load(data)
    except Exception as error:  # the library's SafetensorError and friends
        raise ValueError(f"'{path}' is corrupt or truncated: {error}") from None
    return metadata, tensors


def _json_meta(metadata: dict[str, str], key: str, path: str) -> Any:
    text = metadata.get(key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"'{path}' is corrupt: metadata entry {key!r} is not valid JSON "
                         f"({error}).") from None


# -- weights -------------------------------------------------------------------------------------
def _collect(model: Any, include_optimizer: bool) -> tuple[dict[str, np.ndarray],
                                                             dict[str, str]]:
    named = model._named_weights()
    tensors: dict[str, np.ndarray] = {}
    for i, (_, weight) in enumerate(named):
        tensors[f"weights/{i:05d}"] = weight.data
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "weight_names": json.dumps([name for name, _ in named])}
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and getattr(optimizer, "built", False):
        from nablanet import optimizers

        for key, value in optimizer.get_state().items():
            tensors[f"optimizer/{key}"] = np.asarray(value)
        metadata["optimizer"] = json.dumps(_jsonable(optimizers.serialize(optimizer)))
    return tensors, metadata


def _check_overwrite(path: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"'{path}' exists and overwrite=False.")


def save_weights(model: Any, filepath: str | os.PathLike[str], overwrite: bool = True,
                 user_metadata: dict[str, Any] | None = None) -> None:
    """Write the model's weights (and the optimizer state when there is one) as safetensors.

    Examples
    --------
    >>> import os, tempfile
    >>> from nablanet import layers, models
    >>> m = models.Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.safetensors")
    >>> m.save_weights(path); m.load_weights(path)
    """
    path = os.fspath(filepath)
    _check_overwrite(path, overwrite)
    if not model.built:
        raise ValueError(f"Model {model.name}: cannot save the weights of a model that is not "
                         "built yet. Call it on data (or build it) first.")
    tensors, metadata = _collect(model, include_optimizer=True)
    metadata["kind"] = "weights"
    if user_metadata:
        metadata["user_metadata"] = json.dumps(_jsonable(user_metadata))
    atomic_write(path, _encode(tensors, metadata))


def _assign_weights(model: Any, metadata: dict[str, str], tensors: dict[str, np.ndarray],
                    path: str, skip_mismatch: bool = False) -> None:
    names = _json_meta(metadata, "weight_names", path) or []
    stored = sorted(k for k in tensors if k.startswith("weights/"))
    if len(stored) != len(names):
        raise ValueError(f"'{path}' is corrupt: {len(stored)} weight tensors for "
                         f"{len(names)} weight names.")
    named = model._named_weights()
    if len(named) != len(stored) and not skip_mismatch:
        raise ValueError(
            f"Cannot load '{path}' into model {model.name}: the file holds {len(stored)} "
            f"weights but the model has {len(named)}. The architectures differ (or the model "
            "is not built yet: call it on data first)."
        )
    updates = []
    for (model_name, weight), key, file_name in zip(named, stored, names):
        value = tensors[key]
        short_model = model_name.rsplit("/", 1)[-1]
        short_file = str(file_name).rsplit("/", 1)[-1]
        if value.shape != weight.shape or short_model != short_file:
            if skip_mismatch:
                continue
            raise ValueError(
                f"Cannot load '{path}' into model {model.name}: stored weight {file_name!r} "
                f"of shape {value.shape} does not match the model's weight {model_name!r} of "
                f"shape {weight.shape}."
            )
        updates.append((weight, value))
    for weight, value in updates:
        weight.data[...] = value


def _restore_optimizer(model: Any, metadata: dict[str, str], tensors: dict[str, np.ndarray],
                       path: str) -> None:
    optimizer = getattr(model, "optimizer", None)
    state = {k[len("optimizer/"):]: v for k, v in tensors.items() if k.startswith("optimizer/")}
    if optimizer is None or not state:
        return
    info = _json_meta(metadata, "optimizer", path) or {}
    if info.get("class_name") != type(optimizer).__name__:
        warnings.warn(
            f"'{path}' holds the state of a {info.get('class_name')} optimizer but the model "
            f"uses {type(optimizer).__name__}; the optimizer state was not restored.",
            stacklevel=3)
        return
    weights = model.trainable_weights
    optimizer.build(weights)
    model._optimizer_built_for = len(weights)
    optimizer.set_state(state)


def load_weights(model: Any, filepath: str | os.PathLike[str], skip_mismatch: bool = False
                 ) -> dict[str, Any]:
    """Load weights written by :func:`save_weights` or :func:`save_model` into ``model``.

    The optimizer state is restored too when the model is compiled with the same kind of
    optimizer. Returns the file's ``user_metadata`` (a dict, empty when none).
    """
    path = os.fspath(filepath)
    metadata, tensors = read_file(path)
    if not model.built:
        raise ValueError(f"Model {model.name}: build the model (call it on data) before "
                         f"loading weights from '{path}'.")
    _assign_weights(model, metadata, tensors, path, skip_mismatch)
    _restore_optimizer(model, metadata, tensors, path)
    return _json_meta(metadata, "user_metadata", path) or {}


# -- whole models --------------------------------------------------------------------------------
def save_model(model: Any, filepath: str | os.PathLike[str], overwrite: bool = True,
               include_optimizer: bool = True) -> None:
    """Write ``model`` (architecture, weights, compile config, optimizer state) to one file.

    Subclassed models must implement ``get_config`` (and accept its keys in ``__init__`` or
    override ``from_config``); otherwise use ``save_weights``.
    """
    from nablanet.models.functional import Functional
    from nablanet.models.model import Model
    from nablanet.models.sequential import Sequential

    path = os.fspath(filepath)
    _check_overwrite(path, overwrite)
    if not isinstance(model, (Sequential, Functional)):
        if type(model).get_config is Model.get_config:
            raise NotImplementedError(
                f"Model.save: the subclassed model {type(model).__name__} does not implement "
                "get_config(), so its architecture cannot be written. Implement get_config() "
                "(and from_config() if needed), or save only the weights with "
                "model.save_weights(path)."
            )
    if not model.built:
        raise ValueError(f"Model {model.name}: cannot save a model that is not built yet. "
                         "Call it on data (or give it an Input) first.")
    model_config = serialize_layer(model)
    if not isinstance(model, (Sequential, Functional)):
        model_config["build_input_shape"] = _jsonable(model._build_input_shape)
    tensors, metadata = _collect(model, include_optimizer)
    metadata["kind"] = "model"
    metadata["model_config"] = json.dumps(model_config)
    compile_config = model.get_compile_config() if include_optimizer or model.compiled else None
    if compile_config is not None:
        metadata["compile_config"] = json.dumps(_jsonable(compile_config))
    atomic_write(path, _encode(tensors, metadata))


def _deserialize_loss(value: Any, custom_objects: dict[str, Any] | None) -> Any:
    from nablanet import losses

    if isinstance(value, list):
        return [_deserialize_loss(v, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_loss(v, custom_objects) for k, v in value.items()}
    if isinstance(value, str) and custom_objects and value in custom_objects:
        return custom_objects[value]
    if isinstance(value, dict) and custom_objects and value["class_name"] in custom_objects:
        cls = custom_objects[value["class_name"]]
        return cls.from_config(value.get("config") or {})
    if value is None:
        return None
    return losses.get(value)


def _deserialize_metric(value: Any, custom_objects: dict[str, Any] | None) -> Any:
    from nablanet import metrics

    if isinstance(value, list):
        return [_deserialize_metric(v, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_metric(v, custom_objects) for k, v in value.items()}
    if value is None or isinstance(value, str):
        if isinstance(value, str) and custom_objects and value in custom_objects:
            return custom_objects[value]
        return value
    name = value["class_name"]
    if custom_objects and name in custom_objects:
        return custom_objects[name].from_config(value.get("config") or {})
    allowed = {c.__name__: c for c in vars(metrics).values()
               if isinstance(c, type) and issubclass(c, metrics.Metric)}
    if name not in allowed:
        raise ValueError(f"Unknown metric class {name!r} in the saved configuration. Valid "
                         f"classes: {sorted(allowed)}; pass others in custom_objects.")
    return allowed[name].from_config(value.get("config") or {})


def load_model(filepath: str | os.PathLike[str], custom_objects: dict[str, Any] | None = None,
               compile: bool = True) -> Any:  # noqa: A002 - Keras's argument name
    """Recreate a model saved by ``model.save`` (architecture, weights, compile state,
    optimizer state).

    Parameters
    ----------
    filepath : path
    custom_objects : dict, optional
        ``{name: class_or_function}`` for user-defined layers, models, losses, metrics.
        Nothing else is resolved outside nablanet's registries.
    compile : bool
        Re-compile with the saved configuration and restore the optimizer state.

    Raises
    ------
    ValueError
        For files that are not nablanet model files (see :func:`read_file`) and for
        configurations naming unknown classes.
    """
    from nablanet import optimizers

    path = os.fspath(filepath)
    metadata, tensors = read_file(path)
    if metadata.get("kind") != "model":
        raise ValueError(f"'{path}' holds only weights (written by save_weights); build the "
                         "model in code and call model.load_weights(path) instead.")
    config = _json_meta(metadata, "model_config", path)
    if not isinstance(config, dict):
        raise ValueError(f"'{path}' is corrupt: it has no model configuration.")
    model = deserialize_layer(config, custom_objects)
    build_shape = config.get("build_input_shape")
    if not model.built and build_shape is not None:
        model.build(_tuple_shapes(build_shape))
    _assign_weights(model, metadata, tensors, path)
    compile_config = _json_meta(metadata, "compile_config", path)
    if compile and compile_config:
        optimizer_config = compile_config.get("optimizer")
        optimizer = optimizers.deserialize(optimizer_config) if optimizer_config else "rmsprop"
        model.compile(
            optimizer=optimizer,
            loss=_deserialize_loss(compile_config.get("loss"), custom_objects),
            loss_weights=compile_config.get("loss_weights"),
            metrics=_deserialize_metric(compile_config.get("metrics"), custom_objects),
            weighted_metrics=_deserialize_metric(compile_config.get("weighted_metrics"),
                                                 custom_objects),
        )
        _restore_optimizer(model, metadata, tensors, path)
    return model


def _tuple_shapes(shape: Any) -> Any:
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [tuple(s) for s in shape]
    if isinstance(shape, dict):
        return {k: tuple(v) for k, v in shape.items()}
    return tuple(shape)


def clone_model(model: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """A new model with the same architecture (and layer names) and freshly initialised
    weights, for Sequential and functional models (``keras.models.clone_model``)."""
    return deserialize_layer(serialize_layer(model), custom_objects)
