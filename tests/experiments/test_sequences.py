"""The chapter's recurrent-network jobs (§8) run through the command line on tiny settings:
each saves its PNG and a summary whose training loss went down."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nablanet.cli import main
from nablanet.experiments import sequence_data as data

JOBS = {
    "seq2vec": (["--samples", "96", "--epochs", "4", "--units", "8", "--max-length", "24"],
                "seq2vec.png"),
    "vec2seq": (["--samples", "96", "--epochs", "4", "--units", "8", "--steps", "12"],
                "vec2seq.png"),
    "seq2seq": (["--samples", "64", "--epochs", "3", "--units", "8", "--steps", "16"],
                "seq2seq.png"),
    "encoder-decoder": (["--samples", "96", "--epochs", "3", "--units", "16", "--digits", "1"],
                        "encoder_decoder.png"),
    "memory": (["--samples", "64", "--epochs", "3", "--units", "8", "--lengths", "3", "6"],
               "memory.png"),
}


@pytest.mark.parametrize("job", list(JOBS))
def test_job_runs_saves_png_and_reduces_loss(job, tmp_path, capsys) -> None:
    args, png = JOBS[job]
    assert main(["run", job, *args, "--batch-size", "16", "--out", str(tmp_path)]) == 0
    image = tmp_path / png
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 5000
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["last_loss"] < summary["first_loss"]
    assert "Saved" in capsys.readouterr().out


def test_bad_arguments_exit_with_a_message(tmp_path) -> None:
    with pytest.raises(SystemExit, match="--epochs must be positive"):
        main(["run", "seq2vec", "--epochs", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="at least 2"):
        main(["run", "memory", "--lengths", "1", "--out", str(tmp_path)])


def test_generators() -> None:
    rng = np.random.default_rng(0)
    x, lengths, labels = data.waveforms(20, 5, 9, 0.1, rng)
    assert x.shape == (20, 9, 1) and set(labels) <= {0, 1, 2}
    for row, n in zip(x[..., 0], lengths):
        assert np.all(row[:n] != 0) and np.all(row[n:] == 0)
    problems = data.addition_problems(np.array([[57, 8], [3, 99]]), 2)
    assert data.decode_tokens(problems["encoder"][0]) == "57+8"
    assert data.decode_tokens(problems["target"][0]) == "65"
    assert data.decode_tokens(problems["decoder_in"][1][1:]) == "102"
    assert problems["decoder_in"][0, 0] == data.START
    x, y = data.recall_task(10, 7, 4, rng)
    assert x.shape == (10, 7, 5) and np.all(x[np.arange(10), 0, y] == 1.0)
    params, curves = data.damped_curves(4, 10, rng)
    np.testing.assert_allclose(curves[:, 0, 0], params[:, 0] * params[:, 4], rtol=1e-5)
