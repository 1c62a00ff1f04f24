"""``nablanet run cnn`` (chapter §7.4) on tiny settings, and its example script."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nablanet import cli
from nablanet.experiments import cnn
from nablanet.models import load_model

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture
def no_real_data(tmp_path, monkeypatch) -> Path:
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("NABLANET_DATA_DIR", str(empty))
    monkeypatch.setattr(Path, "home", lambda: empty)
    return empty


def test_run_cnn_generated(tmp_path, no_real_data, capsys) -> None:
    out = tmp_path / "run"
    code = cli.main(["run", "cnn", "--image-size", "32", "--epochs", "2", "--depths", "1", "2",
                     "--max-train", "24", "--max-test", "6", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "using the generated stand-in" in printed and "--download" in printed
    assert "the test hands are unlike the training hands" in printed
    assert "Epoch 1/2" in printed and "val_accuracy:" in printed and "ms/step" in printed
    assert "1 conv: test loss" in printed and "2 conv: test loss" in printed
    table = printed[printed.index("Comparison"):].splitlines()
    assert "conv layers" in table[1] and "test_acc" in table[1]
    rows = [line.split() for line in table[2:4]]
    assert [r[0] for r in rows] == ["1", "2"]
    for tag in ("1conv", "2conv"):
        for name in ("learning_curves", "correct", "incorrect", "confusion"):
            png = out / f"{name}_{tag}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert (out / f"cnn_{tag}.safetensors").is_file()
    assert (out / "val_accuracy_by_depth.png").is_file()
    results = json.loads((out / "results.json").read_text())
    assert [m["depth"] for m in results["models"]] == [1, 2]
    first = results["models"][0]
    assert 1 <= first["epochs_run"] <= 2 and len(first["history"]["val_loss"]) == first[
        "epochs_run"]
    assert np.array(first["confusion_matrix"]).sum() == 6
    assert float(rows[0][7]) == pytest.approx(first["test_accuracy"], abs=1e-4)
    # the saved model reloads and predicts like the trained one scored
    model = load_model(out / "cnn_1conv.safetensors")
    assert model.layers[0].filters == 16 and model.input_shape == (None, 32, 32, 3)


def _write_real_format(root: Path, per_class: int, size: int = 20) -> None:
    rng = np.random.default_rng(1)
    for folder in ("rps", "rps-test-set"):
        for k, cls in enumerate(("rock", "paper", "scissors")):
            (root / folder / cls).mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 60, (size, size, 3)) + 60 * k
                Image.fromarray(pixels.astype(np.uint8)).save(root / folder / cls / f"{i}.png")


def test_run_cnn_real_data_dir(tmp_path, no_real_data, monkeypatch, capsys) -> None:
    data = tmp_path / "rps-data"
    _write_real_format(data, per_class=4)
    out = tmp_path / "real"
    assert cli.main(["run", "cnn", "--data-dir", str(data), "--image-size", "22", "--epochs",
                     "1", "--depths", "1", "--out", str(out), "--verbose", "0"]) == 0
    printed = capsys.readouterr().out
    assert "Rock Paper Scissors data set (real images)" in printed
    assert "train 8, validation 4, test 12 images" in printed  # 70% / 30% of 12, and test
    assert (out / "confusion_1conv.png").is_file()


def test_real_dataset_missing_raises_when_asked_for(tmp_path, no_real_data) -> None:
    with pytest.raises(FileNotFoundError, match="rock_paper_scissors"):
        cli.main(["run", "cnn", "--dataset", "real", "--out", str(tmp_path), "--depths", "1"])


def test_bad_arguments_are_explained(tmp_path) -> None:
    with pytest.raises(SystemExit, match="too small for 4 convolutional layers.*at least 46"):
        cli.main(["run", "cnn", "--image-size", "32", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--epochs must be a positive integer"):
        cli.main(["run", "cnn", "--epochs", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--threads must be 0"):
        cli.main(["run", "cnn", "--threads", "-1", "--out", str(tmp_path)])


def test_chapter_models_and_preprocessing() -> None:
    assert [cnn.min_image_size(d) for d in (1, 2, 3, 4)] == [4, 10, 22, 46]
    model = cnn.build_model(4, 128)
    assert [layer.filters for layer in model.layers if hasattr(layer, "filters")] == [
        16, 32, 64, 128]
    assert model.output_shape == (None, 3)
    assert cnn.build_model(1, 128).count_params() == 8_129_475  # the chapter's first model
    stop = cnn.chapter_early_stopping()
    assert (stop.monitor, stop.min_delta, stop.patience, stop.restore_best_weights) == (
        "val_loss", 0.001, 3, True)
    images = np.full((2, 6, 6, 3), 255, np.uint8)
    x = cnn.preprocess(images, 4)
    assert x.shape == (2, 4, 4, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x, 1.0)
    assert cnn._split_specs(None, None) == ["train[:70%]", "train[70%:]", "test"]


def test_example_script(tmp_path, no_real_data, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", [
        "cnn_rock_paper_scissors.py", "--image-size", "16", "--epochs", "1", "--depths", "1",
        "--max-train", "12", "--max-test", "3", "--out", str(tmp_path / "ex"), "--verbose", "0",
        "--threads", "0"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(ROOT / "examples" / "cnn_rock_paper_scissors.py"),
                       run_name="__main__")
    assert exit_info.value.code == 0
    assert (tmp_path / "ex" / "cnn_1conv.safetensors").is_file()
    assert "Comparison" in capsys.readouterr().out
