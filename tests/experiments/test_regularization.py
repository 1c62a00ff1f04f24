"""``nablanet run regularization`` (chapter §5) on small settings, and its claims."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from nablanet import cli, regularizers
from nablanet.experiments import regularization as reg

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ("learning_curves.png", "validation_loss.png", "generalization_gap.png",
           "hidden_units.png")


pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, ...]:
    return reg.make_data(n_train=300, seed=0)


def _table_rows(text: str) -> dict[str, list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("variant "))
    rows = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        fields = line.split()
        rows[fields[0]] = fields
    return rows


def test_cli_run_writes_figures_and_table(tmp_path, capsys) -> None:
    assert cli.main(["run", "regularization", "--epochs", "6", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for name in FIGURES:
        path = tmp_path / name
        assert path.stat().st_size > 1000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(path) in text
    rows = _table_rows(text)
    assert list(rows) == list(reg.VARIANTS)
    for fields in rows.values():
        assert 1 <= int(fields[1]) <= 6
    assert "L2(l2=0.015)" in text  # the chapter's lambda = 0.03 in Keras's convention
    units = text[text.index("co-adaptation act std start"):].splitlines()[1:7]
    assert [line.split()[0] for line in units] == list(reg.VARIANTS)
    for line in units:
        corr, start, end = (float(v) for v in line.split()[1:])
        assert 0.0 <= corr <= 1.0 and start > 0 and end > 0
    assert "§5.3 dropout stops units co-adapting" in text
    assert "§5.4 batch normalisation keeps activations in range" in text


def test_example_script_runs_the_job(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["regularization.py", "--epochs", "2", "--units", "16",
                                      "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(ROOT / "examples" / "regularization.py"), run_name="__main__")
    assert stop.value.code == 0
    assert set(_table_rows(capsys.readouterr().out)) == set(reg.VARIANTS)
    assert all((tmp_path / name).exists() for name in FIGURES)


def test_data_is_deterministic_and_noisy() -> None:
    a, b = reg.make_data(50, 20, seed=3), reg.make_data(50, 20, seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], reg.make_data(50, 20, seed=4)[0])
    with pytest.raises(ValueError, match="n_train"):
        reg.make_data(0, 10)


def test_l2_is_the_chapters_half_lambda_and_shrinks_the_weights(data) -> None:
    model = reg.build_model("l2", features=10, units=8, l2_lambda=0.4)
    assert model.layers[0].kernel_regularizer == regularizers.L2(l2=0.2)
    plain = reg.train_variant("none", data, epochs=12, units=64)
    decayed = reg.train_variant("l2", data, epochs=12, units=64)
    assert decayed.weight_norm < 0.75 * plain.weight_norm
    # The unregularised model over-fits more: a wider train/validation gap.
    assert decayed.gap < plain.gap


def test_l1_drives_weights_to_zero(data) -> None:
    plain = reg.train_variant("none", data, epochs=20, units=64)
    sparse = reg.train_variant("l1", data, epochs=20, units=64)
    assert sparse.near_zero > 0.25
    assert sparse.near_zero > 10 * plain.near_zero


def test_early_stopping_stops_and_restores_the_best_epoch(data) -> None:
    limit = 60
    r = reg.train_variant("early_stopping", data, epochs=limit, patience=3)
    val_loss = r.history["val_loss"]
    assert r.epochs_run < limit
    assert r.early_stopping.stopped_epoch == r.epochs_run - 1
    best = int(np.argmin(val_loss))
    assert r.early_stopping.best_epoch == best
    assert best < r.epochs_run - 1 and val_loss[-1] > val_loss[best]  # it got worse after
    restored = r.model.evaluate(data[2], data[3], batch_size=32, verbose=0, return_dict=True)
    assert restored["loss"] == pytest.approx(val_loss[best], rel=1e-6)
    assert restored["loss"] < val_loss[-1]


def test_unknown_variant_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown variant 'l3'"):
        reg.build_model("l3", features=10)
