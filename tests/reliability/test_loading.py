"""Hostile or broken model files are refused cleanly, before anything is allocated or changed.

Files are made by saving a real model and then rewriting its header or tensors with
``nablanet.models.saving._encode`` (which writes any metadata and tensors as safetensors).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import nablanet as nb
from nablanet import callbacks, layers, models
from nablanet.models import saving

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _trained(path: Path) -> models.Sequential:
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    model.save(path)
    return model


def _rewrite(path: Path, metadata_edit=None, tensor_edit=None) -> None:
    metadata, tensors = saving.read_file(path)
    metadata, tensors = dict(metadata), {k: np.array(v) for k, v in tensors.items()}
    if metadata_edit is not None:
        metadata_edit(metadata)
    if tensor_edit is not None:
        tensor_edit(tensors)
    path.write_bytes(saving._encode(tensors, metadata))


def _set_units(metadata: dict, units: int, inputs: int) -> None:
    config = json.loads(metadata["model_config"])
    config["config"]["layers"][0]["config"]["units"] = units
    config["config"]["input"]["batch_shape"] = [None, inputs]
    metadata["model_config"] = json.dumps(config)


def test_declared_architecture_larger_than_the_file_is_refused_before_allocating(tmp_path):
    path = tmp_path / "m.safetensors"
    _trained(path)
    _rewrite(path, lambda m: _set_units(m, 4000, 4000))  # a 64 MB kernel, 120-byte weights
    assert path.stat().st_size < 4096
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="more than the file's remaining"):
            models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak} bytes allocated before refusing"


def test_a_billion_units_give_a_clear_value_error(tmp_path):
    path = tmp_path / "m.safetensors"
    _trained(path)
    _rewrite(path, lambda m: _set_units(m, 10**9, 1000))  # 4 TB: no machine allocates it
    with pytest.raises(ValueError, match=r"shape \(1000, 1000000000\)"):
        models.load_model(path)


@pytest.mark.parametrize("key,dtype", [("weights/00000", np.int32),
                                       ("weights/00000", np.uint32),
                                       ("optimizer/m/0", np.int32),
                                       ("optimizer/v/1", np.uint32)])
def test_same_size_other_dtypes_are_refused(tmp_path, key, dtype):
    path = tmp_path / "m.safetensors"
    model = _trained(path)

    def reinterpret(tensors):
        tensors[key] = tensors[key].view(dtype)

    _rewrite(path, tensor_edit=reinterpret)
    with pytest.raises(ValueError, match="another (shape or )?dtype"):
        models.load_model(path)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="another (shape or )?dtype"):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_non_finite_weights_load_with_a_warning_naming_them(tmp_path):
    path = tmp_path / "m.safetensors"
    _trained(path)

    def poison(tensors):
        tensors["weights/00001"][0] = np.nan
        tensors["weights/00000"][1, 1] = np.inf

    _rewrite(path, tensor_edit=poison)
    with pytest.warns(RuntimeWarning, match=r"NaN or infinite values in \['dense\w*/kernel', "
                                            r"'dense\w*/bias'\]"):
        model = models.load_model(path)
    assert np.isnan(model.get_weights()[1][0])


def test_load_weights_is_all_or_nothing(tmp_path):
    path = tmp_path / "m.safetensors"
    model = _trained(path)

    def corrupt_slot(tensors):
        tensors["weights/00000"] = tensors["weights/00000"] + 1.0  # new, valid weights
        tensors["optimizer/v/1"] = np.zeros(5, np.float32)  # but a slot of the wrong shape

    _rewrite(path, tensor_edit=corrupt_slot)
    before = [w.copy() for w in model.get_weights()]
    iterations = model.optimizer.iterations
    slots = {k: v.copy() for k, v in model.optimizer.get_state().items()}
    with pytest.raises(ValueError, match="optimizer/v/1|v/1"):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == iterations
    for key, value in model.optimizer.get_state().items():
        np.testing.assert_array_equal(value, slots[key])


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_header_json_is_a_value_error(tmp_path):
    path = tmp_path / "m.safetensors"
    header = ('{"__metadata__":{"format":"nablanet","format_version":"1"},"x":'
              + _deep(100_000) + "}").encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(ValueError, match="nested|corrupt"):
        models.load_model(path)


def test_deeply_nested_config_json_is_a_value_error(tmp_path):
    path = tmp_path / "m.safetensors"
    _trained(path)
    _rewrite(path, lambda m: m.__setitem__("model_config", _deep(100_000)))
    with pytest.raises(ValueError, match="nested"):
        models.load_model(path)


def test_deeply_nested_wrappers_are_a_value_error(tmp_path):
    path = tmp_path / "m.safetensors"
    _trained(path)
    layer = {"class_name": "Dense", "config": {"units": 2}}
    for _ in range(400):
        layer = {"class_name": "TimeDistributed", "config": {"layer": layer}}

    def nest(metadata):
        config = json.loads(metadata["model_config"])
        config["config"]["layers"] = [layer]
        metadata["model_config"] = json.dumps(config)

    _rewrite(path, nest)
    with pytest.raises(ValueError, match="nested"):
        models.load_model(path)


def _functional(path: Path) -> None:
    nb.set_random_seed(0)
    inputs = layers.Input((3,), name="x")
    outputs = layers.Dense(2, name="head")(layers.Dense(4, name="body")(inputs))
    models.Model(inputs, outputs).save(path)


@pytest.mark.parametrize("edit,field", [
    (lambda c: c["config"].pop("inputs"), "'inputs'"),
    (lambda c: c["config"]["nodes"][1]["args"].__setitem__(
        "__tuple__", [{"__node__": 7, "index": 0}]), "__node__=7"),
    (lambda c: c["config"]["nodes"][0]["args"].__setitem__(
        "__tuple__", [{"__input__": -1}]), "__input__=-1"),
    (lambda c: c["config"]["nodes"][0].pop("args"), "'args'"),
])
def test_functional_config_errors_name_the_field(tmp_path, edit, field):
    path = tmp_path / "f.safetensors"
    _functional(path)

    def change(metadata):
        config = json.loads(metadata["model_config"])
        edit(config)
        metadata["model_config"] = json.dumps(config)

    _rewrite(path, change)
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("(", r"\(")):
        models.load_model(path)


@pytest.mark.parametrize("epoch", ["abc", None, -5, 10**9])
def test_a_corrupt_backup_epoch_is_refused(tmp_path, epoch):
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 3), np.float32), np.ones((8, 2), np.float32)
    backup_dir = tmp_path / "backup"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[
        callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)])
    path = backup_dir / "latest.weights.safetensors"

    def set_epoch(metadata):
        state = json.loads(metadata["user_metadata"])
        state["epoch"] = epoch
        metadata["user_metadata"] = json.dumps(state)

    _rewrite(path, set_epoch)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="epoch"):
        model.fit(x, y, epochs=4, verbose=0, callbacks=[callbacks.BackupAndRestore(backup_dir)])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


_KILLED_SAVE = """
import os, signal, sys
import numpy as np
from nablanet import layers, models
from nablanet.models import saving
def dying(handle, data):
    handle.write(bytes(data[: len(data) // 2])); handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)
saving._write_chunks = dying
model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
model.save(sys.argv[1])
"""


def _killed_save(path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(path)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


def _temporaries(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("then", ["save", "load"])
def test_a_killed_save_leaves_no_temporary_file_for_ever(tmp_path, then):
    path = tmp_path / "m.safetensors"
    model = _trained(path)
    _killed_save(path)
    assert _temporaries(tmp_path), "the killed writer should have left its temporary file"
    models.load_model(path)  # the previous file is intact
    if then == "save":
        model.save(path)
    assert _temporaries(tmp_path) == []


def test_saved_files_get_the_umask_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = tmp_path / "m.safetensors"
        _trained(path)
        assert path.stat().st_mode & 0o777 == 0o644
        os.umask(0o027)
        _trained(path)
        assert path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(mask)
