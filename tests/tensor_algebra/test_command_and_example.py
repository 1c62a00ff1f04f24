"""``nablanet decompose`` through the CLI entry point, and the example on tiny settings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from nablanet.cli import main as cli_main
from nablanet.tensor_algebra import random_cp

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tensor_decompositions.py"


@pytest.fixture
def npy(tmp_path: Path) -> Path:
    path = tmp_path / "cube.npy"
    np.save(path, random_cp((8, 9, 10), 3, random_state=0).to_dense().astype(np.float32))
    return path


def _rows(output: str, method: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line.startswith(method + " ")]


def test_decompose_cp_over_ranks_and_save(npy: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "out" / "cp.npz"
    code = cli_main(["decompose", str(npy), "--method", "cp", "--rank", "1", "3",
                     "--init", "svd", "--output", str(out_file)])
    assert code == 0
    rows = _rows(capsys.readouterr().out, "cp")
    assert [r[1] for r in rows] == ["1", "3"]
    assert float(rows[0][2]) > 0.05 and float(rows[1][2]) < 1e-5  # rank 3 is exact
    assert int(rows[1][3]) == 3 * (1 + 8 + 9 + 10)
    saved = np.load(out_file)
    assert str(saved["method"]) == "cp" and saved["factor_2"].shape == (10, 3)


def test_decompose_tucker_and_tt(npy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["decompose", str(npy), "--method", "tucker", "--rank", "3",
                     "2,3,4"]) == 0
    rows = _rows(capsys.readouterr().out, "tucker")
    assert [r[1] for r in rows] == ["3,3,3", "2,3,4"]
    assert float(rows[0][2]) < 1e-5
    assert cli_main(["decompose", str(npy), "--method", "tt", "--eps", "0.01"]) == 0
    rows = _rows(capsys.readouterr().out, "tt")
    assert rows[0][1] == "3,3" and float(rows[0][2]) < 0.01


def test_decompose_bad_input_reports_and_fails(npy: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["decompose", str(npy), "--method", "cp", "--rank", "0"]) == 2
    assert "rank=0" in capsys.readouterr().err
    assert cli_main(["decompose", str(npy), "--method", "tucker", "--rank", "2,2"]) == 2
    assert "rank=(2, 2)" in capsys.readouterr().err
    assert cli_main(["decompose", str(npy), "--method", "cp"]) == 2
    assert "--rank is required" in capsys.readouterr().err
    bad = tmp_path / "bad.npy"
    np.save(bad, np.array([[1.0, np.nan], [0.0, 1.0]]))
    assert cli_main(["decompose", str(bad), "--method", "tt", "--rank", "1"]) == 2
    assert "NaN" in capsys.readouterr().err


def test_example_runs_on_tiny_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("tensor_decompositions_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "runs"
    assert module.main(["--output-dir", str(out), "--frames", "6", "--size", "8",
                        "--ranks", "1", "3", "--n-iter-max", "5"]) == 0
    printed = capsys.readouterr().out
    for method in ("CP", "Tucker", "TT"):
        assert len(_rows(printed, method)) == 2
    png = out / "error_vs_parameters.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (out / "results.csv").read_text().splitlines()
    assert lines[0] == "method,rank,relative_error,parameters,compression" and len(lines) == 7
