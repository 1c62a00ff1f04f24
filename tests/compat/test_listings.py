"""Every listing of the chapter's §5 and §7.4 runs on nablanet with only its import lines
changed (the files in listings/; each says what else, if anything, it repairs)."""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

import nablanet as nb
from nablanet import layers, regularizers

matplotlib.use("Agg")

LISTINGS = Path(__file__).with_name("listings")


def run_listing(name: str) -> dict:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-interactive.*")  # plt.show() on Agg
        return runpy.run_path(str(LISTINGS / name), run_name="__main__")


def test_s5_1_as_printed_names_the_right_argument() -> None:
    with pytest.raises(TypeError, match="regularizer.*did you mean 'kernel_regularizer'"):
        run_listing("s5_1_weight_decay_as_printed.py")


def test_s5_1_weight_decay() -> None:
    g = run_listing("s5_1_weight_decay.py")
    layer = g["layer"]
    assert isinstance(layer, layers.Dense) and layer.units == 10
    assert isinstance(layer.kernel_regularizer, regularizers.L1L2)
    assert isinstance(g["l2_regularizer"], regularizers.L2)
    layer(np.ones((2, 4), np.float32))
    kernel = layer.kernel.data
    expected = 0.01 * np.abs(kernel).sum() + 0.01 * (kernel ** 2).sum()
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0].data), expected, rtol=1e-5)


def test_s5_2_early_stopping_trains() -> None:
    g = run_listing("s5_2_early_stopping.py")
    history = g["history"].history
    assert 1 <= len(history["loss"]) <= 5 and len(history["val_loss"]) == len(history["loss"])
    assert g["callback"].patience == 3 and g["callback"].restore_best_weights


def test_s5_3_dropout() -> None:
    g = run_listing("s5_3_dropout.py")
    model = g["model"]
    assert model.layers == [g["my_dropout"]] and g["my_dropout"].rate == 0.1
    x = np.ones((200, 50), np.float32)
    nb.set_random_seed(0)
    dropped = np.mean(model(x, training=True).data == 0)
    assert 0.07 < dropped < 0.13
    np.testing.assert_array_equal(model(x, training=False).data, x)


def write_fake_rock_paper_scissors(root: Path, train_per_class: int = 3,
                                   test_per_class: int = 1, size: int = 24) -> None:
    """A tiny data set in the published folder format: rps/<class>/*.png and
    rps-test-set/<class>/*.png, each class a different colour (so it can be learnt)."""
    rng = np.random.default_rng(0)
    colours = {"rock": (200, 40, 40), "paper": (40, 200, 40), "scissors": (40, 40, 200)}
    for folder, count in (("rps", train_per_class), ("rps-test-set", test_per_class)):
        for cls, colour in colours.items():
            (root / folder / cls).mkdir(parents=True)
            for i in range(count):
                noise = rng.integers(-30, 30, (size, size, 3))
                pixels = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / folder / cls / f"{cls}{i:02d}.png")


def test_s7_4_rock_paper_scissors(tmp_path, monkeypatch, capsys) -> None:
    """The listing on a machine without the data: ``tfds.load`` downloads the two archives
    (tiny ones in the published layout, from a loopback server standing in for
    storage.googleapis.com, registered with their own hashes)."""
    import hashlib
    import zipfile

    from nablanet.data import download
    from nablanet.testing import LoopbackServer

    write_fake_rock_paper_scissors(tmp_path / "src")
    server = LoopbackServer()
    for folder in ("rps", "rps-test-set"):
        archive = tmp_path / f"{folder}.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for path in sorted((tmp_path / "src" / folder).rglob("*.png")):
                zf.write(path, path.relative_to(tmp_path / "src").as_posix())
        data = archive.read_bytes()
        server.add(archive.name, data)
        monkeypatch.setitem(download.REGISTRY, archive.name, download.RemoteFile(
            download.REGISTRY[archive.name].url, len(data), hashlib.sha256(data).hexdigest()))
    monkeypatch.setenv("NABLANET_DATA_URL", server.base + "/files/")
    monkeypatch.setenv("NABLANET_DATA_DIR", str(tmp_path / "data"))  # empty: nothing on disk
    monkeypatch.setenv("MPLBACKEND", "Agg")
    try:
        g = run_listing("s7_4_rock_paper_scissors.py")
    finally:
        server.close()
    out = capsys.readouterr().out
    assert out.count("Downloading data from") == 2
    assert sorted(p.name for p in (tmp_path / "data" / "rock_paper_scissors").iterdir()) == [
        "rps-test-set.zip", "rps.zip"]
    # the fourth model (four conv layers) trained and its history has entries
    model = g["model"]
    assert sum(isinstance(layer, layers.Conv2D) for layer in model.layers) == 4
    history = g["history"].history
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert 1 <= len(history["loss"]) <= 10
    assert all(np.isfinite(history["loss"]))
    # four fits printed epochs in the chapter's progress-line format, and four evaluations
    assert out.count("Epoch 1/10") == 4
    assert "1/1 [" in out and "val_accuracy:" in out
    # the prediction code ran on the 3 test images
    assert g["test_images"].shape == (3, 128, 128, 3)
    assert g["predicted_labels"].shape == (3,)
    assert len(g["correct_indices"]) + len(g["incorrect_indices"]) == 3
    import matplotlib.pyplot as plt

    assert plt.get_fignums()  # the learning curves and prediction grids were drawn
    plt.close("all")
