"""save / load_model / save_weights: round trips, continued training, atomicity, safety."""

import os
import pickle

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers, losses, models
from nablanet.models import saving


def make(seed=0):
    nb.set_random_seed(seed)
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(8, activation="relu"),
                               layers.BatchNormalization(), layers.Dropout(0.2),
                               layers.Dense(3)])
    model.compile("adam", losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_save_load_round_trip_and_continued_training(tmp_path, blobs):
    x, y = blobs
    model = make()
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False)
    path = tmp_path / "model.nbl"
    model.save(path)
    loaded = models.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.iterations == model.optimizer.iterations
    # Training continues identically (same seed for dropout in both runs).
    nb.set_random_seed(99)
    h1 = model.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False).history
    nb.set_random_seed(99)
    h2 = loaded.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False).history
    assert h1 == h2
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_continued_run_equals_uninterrupted_run(tmp_path, blobs):
    x, y = blobs
    full = make(seed=1)
    nb.set_random_seed(5)
    full.fit(x, y, epochs=4, batch_size=50, verbose=0)
    part = make(seed=1)
    nb.set_random_seed(5)
    part.fit(x, y, epochs=2, batch_size=50, verbose=0)
    state = nb.random.generator().bit_generator.state
    part.save(tmp_path / "ckpt.nbl")
    resumed = models.load_model(tmp_path / "ckpt.nbl")
    nb.random.generator().bit_generator.state = state
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=50, verbose=0)
    for a, b in zip(full.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_functional_model_round_trip(tmp_path):
    nb.set_random_seed(0)
    a = layers.Input(shape=(3,), name="a")
    b = layers.Input(shape=(2,), name="b")
    h = layers.Concatenate()([layers.Dense(4, name="da")(a), b])
    model = models.Model({"a": a, "b": b}, [layers.Dense(1, name="o1")(h),
                                           layers.Dense(2, name="o2")(h)])
    model.compile("sgd", loss=["mse", "mse"])
    data = {"a": np.ones((3, 3), np.float32), "b": np.ones((3, 2), np.float32)}
    model.save(tmp_path / "f.nbl")
    loaded = models.load_model(tmp_path / "f.nbl")
    for p, q in zip(model.predict(data, verbose=0), loaded.predict(data, verbose=0)):
        np.testing.assert_array_equal(p, q)
    assert loaded.output_names == ["o1", "o2"]


def test_weights_round_trip_into_fresh_model(tmp_path, blobs):
    x, _ = blobs
    model = make()
    path = tmp_path / "w.weights.safetensors"
    model.save_weights(path)
    other = make(seed=3)  # different initial weights and automatic layer names
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    small = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="holds 8 weights but the model has 2"):
        small.load_weights(path)


class Custom(models.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units)

    def call(self, x):
        return self.dense(x)


class CustomWithConfig(Custom):
    def get_config(self):
        return {"units": self.units, "name": self.name}


def test_subclassed_model_saving(tmp_path):
    x = np.ones((2, 4), np.float32)
    plain = Custom()
    plain(x)
    with pytest.raises(NotImplementedError, match="save_weights"):
        plain.save(tmp_path / "c.nbl")
    model = CustomWithConfig(units=2)
    model(x)
    model.save(tmp_path / "c.nbl")
    with pytest.raises(ValueError, match="custom_objects"):
        models.load_model(tmp_path / "c.nbl")
    loaded = models.load_model(tmp_path / "c.nbl",
                               custom_objects={"CustomWithConfig": CustomWithConfig})
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_atomic_save_keeps_previous_file(tmp_path, monkeypatch):
    model = make()
    path = tmp_path / "m.nbl"
    model.save(path)
    original = path.read_bytes()

    def failing(handle, data):
        handle.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(saving, "_write_chunks", failing)
    model.layers[0].kernel.data[...] += 1.0
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["m.nbl"]  # no temporary file left behind
    monkeypatch.undo()
    models.load_model(path)


class _Marker:
    """Unpickling this object would create a marker file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_and_zip_payloads_are_refused_never_executed(tmp_path):
    marker = tmp_path / "EXECUTED"
    evil = tmp_path / "evil.nbl"
    evil.write_bytes(pickle.dumps(_Marker(str(marker)), protocol=4))
    with pytest.raises(ValueError, match=r"evil\.nbl.*pickle"):
        models.load_model(evil)
    zipped = tmp_path / "evil.pt"
    torch.save({"x": _Marker(str(marker))}, zipped)
    with pytest.raises(ValueError, match=r"evil\.pt.*zip"):
        models.load_model(zipped)
    with pytest.raises(ValueError, match="zip"):
        make().load_weights(zipped)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign", "short"])
def test_corrupt_or_foreign_files_raise_clear_errors(tmp_path, damage):
    model = make()
    path = tmp_path / "m.nbl"
    model.save(path)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) - 40])
        match = "corrupt or truncated"
    elif damage == "garbage":
        path.write_bytes(data[:8] + b"{not json" + data[17:])
        match = "corrupt"
    elif damage == "short":
        path.write_bytes(b"abc")
        match = "truncated"
    else:
        from safetensors.numpy import save_file

        save_file({"w": np.zeros(3, np.float32)}, str(path))
        match = "not one written by nablanet"
    with pytest.raises(ValueError, match=match) as info:
        models.load_model(path)
    assert "m.nbl" in str(info.value)
    with pytest.raises(FileNotFoundError):
        models.load_model(tmp_path / "missing.nbl")


def test_clone_model_has_same_architecture():
    model = make()
    clone = models.clone_model(model)
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert clone is not model
