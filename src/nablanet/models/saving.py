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

import contextvars
import json
import math
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


def _temporary_prefix(path: str) -> str:
    return f".{os.path.basename(path)}."


def _remove_stale_temporaries(path: str) -> None:
    """Delete temporary files of ``path`` left by writers that were killed: their names
    hold the writing process's id, and that process no longer exists."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _temporary_prefix(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid_text = name[len(prefix):].split(".", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:  # the writer is gone: the file is garbage
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass
        except OSError:  # exists but is another user's process: leave it
            pass


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, fsync,
    ``os.replace``). On any failure the previous file is left as it was.

    The temporary file is ``.<name>.<pid>.<random>.tmp``; one left by a writer that was
    killed is removed by the next save or load of the same path. The file gets the
    permissions any new file gets (``0o666`` less the umask), not ``mkstemp``'s ``0o600``.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{_temporary_prefix(path)}{os.getpid()}.",
                               suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
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
    """The safetensors bytes of ``tensors`` (little-endian, C order) and ``metadata``.

    Written here rather than by the safetensors library so that the bytes depend only on the
    contents: the header's keys are sorted (the library's order changes from one process to
    the next), so the same training run writes byte-identical files.
    """
    codes = {np.dtype(v): k for k, v in _DTYPES.items()}
    header: dict[str, Any] = {"__metadata__": dict(sorted(metadata.items()))}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        little = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        code = codes.get(little)
        if code is None:
            raise ValueError(f"Cannot save tensor {name!r} of dtype {array.dtype}: supported "
                             f"dtypes are {sorted(_DTYPES)}.")
        raw = array.astype(little, copy=False).tobytes(order="C")
        header[name] = {"dtype": code, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    return b"".join([len(text).to_bytes(8, "little"), text, *chunks])


_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8,
           "I16": np.int16, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "U16": np.uint16,
           "U32": np.uint32, "U64": np.uint64, "BOOL": np.bool_}
_MAX_DEPTH = 64  # JSON nesting allowed in a header or configuration (real ones use < 20)
_MAX_RANK = 32


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: deep values cannot overflow)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if level > _MAX_DEPTH:
                return level
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _loads(text: str | bytes, what: str, path: str) -> Any:
    """``json.loads`` whose failures (including too deep nesting) are ``ValueError``s."""
    try:
        value = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"'{path}' is corrupt: {what} is not valid JSON ({error}).") from None
    except RecursionError:
        value = None
        deep = True
    else:
        deep = _depth(value) > _MAX_DEPTH
    if deep:
        raise ValueError(f"'{path}' is corrupt or hostile: {what} is nested more than "
                         f"{_MAX_DEPTH} levels deep.")
    return value


def _tensor_table(header: dict[str, Any], data_size: int, path: str
                  ) -> dict[str, tuple[Any, tuple[int, ...], int]]:
    """``{name: (dtype, shape, start)}`` after checking every declared tensor: a known dtype,
    a shape of non-negative integers, and byte offsets that match the shape and lie inside
    the file. Nothing is allocated here."""
    table = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise ValueError(f"'{path}' is corrupt: the header entry of tensor {name!r} is "
                             "not an object.")
        dtype = _DTYPES.get(entry.get("dtype"))  # type: ignore[arg-type]
        shape = entry.get("shape")
        offsets = entry.get("data_offsets")
        if dtype is None:
            raise ValueError(f"'{path}': tensor {name!r} has the unsupported dtype "
                             f"{entry.get('dtype')!r} (supported: {sorted(_DTYPES)}).")
        if not (isinstance(shape, list) and len(shape) <= _MAX_RANK and all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)):
            raise ValueError(f"'{path}' is corrupt: tensor {name!r} declares the shape "
                             f"{shape!r}.")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                isinstance(n, int) and not isinstance(n, bool) for n in offsets)):
            raise ValueError(f"'{path}' is corrupt: tensor {name!r} declares the byte "
                             f"offsets {offsets!r}.")
        begin, stop = offsets
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if not 0 <= begin <= stop <= data_size or stop - begin != nbytes:
            raise ValueError(f"'{path}' is corrupt or truncated: tensor {name!r} of shape "
                             f"{tuple(shape)} ({entry['dtype']}, {nbytes} bytes) declares "
                             f"bytes {begin}..{stop} of a {data_size}-byte data section.")
        table[name] = (np.dtype(dtype), tuple(shape), begin)
    return table


def _read_checked(path: str) -> tuple[dict[str, str], dict[str, tuple[Any, tuple[int, ...],
                                                                      int]], bytes, int]:
    """``(metadata, tensor table, file bytes, offset of the data section)``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: '{path}'")
    _remove_stale_temporaries(path)
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
    header = _loads(data[8:8 + header_len], "its header", path)
    if not isinstance(header, dict):
        raise ValueError(f"'{path}' is corrupt: its header is not a JSON object.")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"'{path}' is a safetensors file but not one written by nablanet "
                         "(no 'format': 'nablanet' in its metadata).")
    if not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"'{path}' is corrupt: its metadata values must be strings.")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"'{path}' has format version {metadata.get('format_version')!r}; "
                         f"this nablanet reads version {FORMAT_VERSION}.")
    table = _tensor_table(header, len(data) - 8 - header_len, path)
    return metadata, table, data, 8 + header_len


def _views(table: dict[str, tuple[Any, tuple[int, ...], int]], data: bytes,
           base: int) -> dict[str, np.ndarray]:
    """Read-only arrays over the file's bytes (no copies)."""
    return {name: np.frombuffer(data, dtype=dtype, count=math.prod(shape),
                                offset=base + start).reshape(shape)
            for name, (dtype, shape, start) in table.items()}


def read_file(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """``(metadata, tensors)`` of a nablanet file, after checking it is one.

    Every tensor the header declares is checked (dtype, shape, byte range) before any is
    read; the tensors are read-only views of the file's bytes.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is a pickle/zip payload (refused, never unpickled), truncated, corrupt,
        nested too deeply, or not a nablanet safetensors file.
    """
    path = os.fspath(path)
    metadata, table, data, base = _read_checked(path)
    return metadata, _views(table, data, base)


def _json_meta(metadata: dict[str, str], key: str, path: str) -> Any:
    text = metadata.get(key)
    if text is None:
        return None
    return _loads(text, f"metadata entry {key!r}", path)


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
                 user_metadata: dict[str, Any] | None = None,
                 extra_tensors: dict[str, np.ndarray] | None = None) -> None:
    """Write the model's weights (and the optimizer state when there is one) as safetensors.

    ``user_metadata`` (JSON) and ``extra_tensors`` (stored as ``extra/<key>``) carry what a
    callback needs besides (``BackupAndRestore``'s training state).

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
    for key, value in (extra_tensors or {}).items():
        tensors[f"extra/{key}"] = np.asarray(value)
    atomic_write(path, _encode(tensors, metadata))


def _plan_weights(model: Any, metadata: dict[str, str], tensors: dict[str, np.ndarray],
                  path: str, skip_mismatch: bool = False) -> list[tuple[Any, np.ndarray]]:
    """``(weight, stored value)`` pairs after checking every stored weight against the model
    (count, name, shape, and exactly the same dtype); nothing is changed here."""
    names = _json_meta(metadata, "weight_names", path) or []
    stored = sorted(k for k in tensors if k.startswith("weights/"))
    if not isinstance(names, list) or len(stored) != len(names):
        raise ValueError(f"'{path}' is corrupt: {len(stored)} weight tensors for "
                         f"{len(names) if isinstance(names, list) else 'no list of'} weight "
                         "names.")
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
        if value.dtype != weight.data.dtype:
            raise ValueError(
                f"Cannot load '{path}' into model {model.name}: stored weight {file_name!r} "
                f"has dtype {value.dtype}, the model's weight {model_name!r} is "
                f"{weight.data.dtype}. Tensors of another dtype are refused, never converted "
                "or reinterpreted.")
        updates.append((weight, value))
    return updates


def _plan_optimizer(model: Any, metadata: dict[str, str], tensors: dict[str, np.ndarray],
                    path: str) -> dict[str, np.ndarray] | None:
    """The optimizer state to restore (None: nothing to restore), after checking that its
    entries are exactly the optimizer's, with the same shapes and dtypes."""
    optimizer = getattr(model, "optimizer", None)
    state = {k[len("optimizer/"):]: v for k, v in tensors.items() if k.startswith("optimizer/")}
    if optimizer is None or not state:
        return None
    info = _json_meta(metadata, "optimizer", path) or {}
    if not isinstance(info, dict) or info.get("class_name") != type(optimizer).__name__:
        name = info.get("class_name") if isinstance(info, dict) else None
        warnings.warn(
            f"'{path}' holds the state of a {name} optimizer but the model "
            f"uses {type(optimizer).__name__}; the optimizer state was not restored.",
            stacklevel=4)
        return None
    weights = model.trainable_weights
    optimizer.build(weights)
    model._optimizer_built_for = len(weights)
    expected = optimizer.get_state()
    for key, value in state.items():
        want = expected.get(key)
        if want is None:
            raise ValueError(f"Cannot load '{path}': optimizer state entry {key!r} does not "
                             f"exist in the model's {type(optimizer).__name__} (entries: "
                             f"{sorted(expected)[:10]}...).")
        if value.shape != want.shape or value.dtype != want.dtype:
            raise ValueError(f"Cannot load '{path}': optimizer state entry {key!r} is "
                             f"{value.dtype}{list(value.shape)}, the optimizer's is "
                             f"{want.dtype}{list(want.shape)}. Tensors of another shape or "
                             "dtype are refused, never converted or reinterpreted.")
    if "iterations" not in state:
        raise ValueError(f"Cannot load '{path}': the optimizer state has no 'iterations'.")
    return state


def _warn_non_finite(tensors: dict[str, np.ndarray], metadata: dict[str, str],
                     path: str) -> None:
    names = _json_meta(metadata, "weight_names", path) or []
    bad = []
    for key in sorted(tensors):
        value = tensors[key]
        if value.dtype.kind == "f" and value.size and not np.isfinite(value).all():
            index = int(key[len("weights/"):]) if key.startswith("weights/") and \
                key[len("weights/"):].isdigit() else -1
            bad.append(str(names[index]) if 0 <= index < len(names) else key)
    if bad:
        warnings.warn(f"'{path}' holds NaN or infinite values in {bad}; they were loaded as "
                      "they are.", RuntimeWarning, stacklevel=4)


def _assign_weights(model: Any, metadata: dict[str, str], tensors: dict[str, np.ndarray],
                    path: str, skip_mismatch: bool = False) -> None:
    for weight, value in _plan_weights(model, metadata, tensors, path, skip_mismatch):
        weight.data[...] = value


def _load_all(model: Any, metadata: dict[str, str], tensors: dict[str, np.ndarray],
              path: str, skip_mismatch: bool = False, optimizer: bool = True) -> None:
    """Check the weights and the optimizer state, then assign both (all or nothing)."""
    updates = _plan_weights(model, metadata, tensors, path, skip_mismatch)
    state = _plan_optimizer(model, metadata, tensors, path) if optimizer else None
    _warn_non_finite(tensors, metadata, path)
    for weight, value in updates:
        weight.data[...] = value
    if state is not None:
        model.optimizer.set_state({k: np.array(v) for k, v in state.items()})


def load_weights(model: Any, filepath: str | os.PathLike[str], skip_mismatch: bool = False
                 ) -> dict[str, Any]:
    """Load weights written by :func:`save_weights` or :func:`save_model` into ``model``.

    The optimizer state is restored too when the model is compiled with the same kind of
    optimizer. Everything (weights, optimizer slots, iterations) is checked -- count, names,
    shapes, exact dtypes -- before anything is assigned: a file that does not fit leaves the
    model and its optimizer as they were. NaN or infinite values load with a
    ``RuntimeWarning`` naming the tensors. Returns the file's ``user_metadata`` (a dict,
    empty when none).
    """
    path = os.fspath(filepath)
    metadata, tensors = read_file(path)
    if not model.built:
        raise ValueError(f"Model {model.name}: build the model (call it on data) before "
                         f"loading weights from '{path}'.")
    user = _json_meta(metadata, "user_metadata", path) or {}
    _load_all(model, metadata, tensors, path, skip_mismatch)
    return user if isinstance(user, dict) else {}


def _check_generator_states(states: Any, path: str, field: str) -> None:
    import random as python_random

    try:
        np.random.default_rng().bit_generator.state = states["nablanet"]
        legacy = dict(states["numpy"])
        legacy["state"] = {"key": np.asarray(legacy["state"]["key"], dtype=np.uint32),
                           "pos": int(legacy["state"]["pos"])}
        np.random.RandomState().set_state(legacy)
        version, internal, gauss = states["python"]
        python_random.Random().setstate((version, tuple(internal), gauss))
        for value in dict(states.get("layers", {})).values():
            if isinstance(value, dict) and set(value) == {"seed_stream_draws"}:
                if int(value["seed_stream_draws"]) < 0:  # a seeded layer's draw counter
                    raise ValueError(f"negative draw count {value['seed_stream_draws']}")
            else:
                np.random.default_rng().bit_generator.state = value
    except Exception as error:  # noqa: BLE001 - any malformed piece
        raise ValueError(f"'{path}' is corrupt: the backup's generator states ({field}) "
                         f"are malformed ({type(error).__name__}: {error}).") from None


def load_backup(model: Any, filepath: str | os.PathLike[str], epochs: int | None = None
                ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Load a ``BackupAndRestore`` file: ``(training state, extra arrays)``.

    The training state is checked first (the epoch an integer in ``[0, epochs]``, the step a
    non-negative integer, the generator states well formed), then the weights and optimizer
    state as :func:`load_weights` does; a file that fails any check changes nothing.
    """
    path = os.fspath(filepath)
    metadata, tensors = read_file(path)
    state = _json_meta(metadata, "user_metadata", path)
    if not isinstance(state, dict):
        raise ValueError(f"'{path}' is not a BackupAndRestore backup: it has no training "
                         "state.")
    epoch, step = state.get("epoch"), state.get("step", 0)
    limit = 10**7 if epochs is None else int(epochs)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= limit:
        raise ValueError(f"'{path}' is corrupt: its epoch must be an integer in [0, {limit}]"
                         f" (the fit's epochs). Received: epoch={epoch!r}")
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= 10**9:
        raise ValueError(f"'{path}' is corrupt: its step must be a non-negative integer. "
                         f"Received: step={step!r}")
    for field in ("rng", "rng_epoch"):
        _check_generator_states(state.get(field), path, field)
    if not model.built:
        raise ValueError(f"Model {model.name}: build the model before restoring '{path}'.")
    _load_all(model, metadata, tensors, path)
    extra = {k[len("extra/"):]: np.array(v) for k, v in tensors.items()
             if k.startswith("extra/")}
    return state, extra


# -- the allocation guard of load_model --------------------------------------------------------
_BUDGET: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("nablanet_budget",
                                                                           default=None)


def check_allocation(layer: str, name: Any, shape: tuple[int, ...], dtype: Any) -> None:
    """Called by ``Layer.add_weight`` before it allocates: while :func:`load_model` builds an
    architecture read from a file, the weights may not add up to more bytes than the file
    holds (a 3 KB file asking for a 20000 x 20000 Dense is refused before any allocation)."""
    budget = _BUDGET.get()
    if budget is None:
        return
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > budget[0]:
        raise ValueError(
            f"'{budget[1]}': the architecture in the file asks layer {layer!r} for a weight "
            f"{name!r} of shape {shape} ({nbytes} bytes), more than the file's remaining "
            f"{budget[0]} bytes of weights. The file is corrupt or hostile; nothing was "
            "allocated.")
    budget[0] -= nbytes


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
    budget = sum(v.nbytes for k, v in tensors.items() if k.startswith("weights/"))
    token = _BUDGET.set([budget, path])
    try:
        model = deserialize_layer(config, custom_objects)
        build_shape = config.get("build_input_shape")
        if not model.built and build_shape is not None:
            model.build(_tuple_shapes(build_shape))
    except RecursionError:
        raise ValueError(f"'{path}' is corrupt or hostile: its model configuration nests "
                         "layers too deeply to rebuild.") from None
    finally:
        _BUDGET.reset(token)
    compile_config = _json_meta(metadata, "compile_config", path)
    if not (compile and compile_config):
        _load_all(model, metadata, tensors, path, optimizer=False)
    else:
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
        _load_all(model, metadata, tensors, path)
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
