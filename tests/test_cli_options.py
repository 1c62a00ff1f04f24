"""The command line as a student meets it: every default in ``--help``, ``--out`` and its alias
``--output`` on every job, a missing optional extra reported before any training, and the
recurrent jobs' progress output."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

from nablanet import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def _job_parser(*words: str) -> argparse.ArgumentParser:
    parser = cli._build_parser(list(words))
    for word in words:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


COMMANDS = [("run", name) for name in cli.EXPERIMENTS] + [(name,) for name in cli.SUBCOMMANDS]


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_help_shows_every_default(words, capsys):
    parser = _job_parser(*words)
    formatter = parser._get_formatter()
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert options
    for action in options:
        if action.required or isinstance(action, argparse._StoreTrueAction):
            continue
        text = formatter._get_help_string(action)
        assert "default" in text, (words, action.option_strings, text)
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*words, "--help"])
    assert exit_info.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # undo the line wrapping
    for action in options:
        if action.option_strings[0] in ("--out", "--output") and action.default:
            assert f"default: {action.default})" in shown or f"default {action.default})" in shown


def test_help_of_a_job_prints_defaults_from_the_formatter(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "depth", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "random networks per shape (default: 5)" in shown
    assert "(default: runs/depth)" in shown


@pytest.mark.parametrize("name", list(cli.EXPERIMENTS))
def test_out_and_output_name_the_same_folder(name, tmp_path):
    for flag in ("--out", "--output"):
        argv = ["run", name, flag, str(tmp_path / flag)]
        args = cli._build_parser(argv).parse_args(argv)
        assert args.out == str(tmp_path / flag)
    argv = ["decompose", "x.npy", "--method", "cp", "--rank", "2", "--out", "d.npz"]
    assert cli._build_parser(argv).parse_args(argv).output == "d.npz"


@pytest.fixture
def no_scikit_learn(monkeypatch):
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn -> ImportError


def _readme_command() -> str:
    match = re.search(r"`(pip install '\.\[examples\]')`", README.read_text())
    assert match, "the README names the examples extra's install command"
    return match.group(1)


@pytest.mark.parametrize("argv", [["run", "vae"], ["run", "autoencoder"], ["run", "gan"],
                                  ["run", "gan", "--part", "digits"]], ids=" ".join)
def test_missing_extra_reported_before_training(argv, no_scikit_learn, tmp_path, capsys):
    out = tmp_path / "job"
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--out", str(out), "--epochs", "1"])
    message = str(exit_info.value.code)
    assert "scikit-learn" in message and "nothing was trained" in message
    assert _readme_command() in message
    assert capsys.readouterr().out == ""  # no training started, not even the mixture GAN
    assert not out.exists()


def test_gan_mixture_alone_needs_no_extra(no_scikit_learn, tmp_path, capsys):
    assert cli.main(["run", "gan", "--part", "mixture", "--epochs", "1", "--samples", "64",
                     "--snapshots", "1", "--verbose", "0", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "mixture_samples.png").exists()


@pytest.mark.parametrize("verbose", [1, 2])
def test_recurrent_jobs_show_progress(verbose, tmp_path, capsys):
    assert cli.main(["run", "seq2vec", "--samples", "64", "--epochs", "2", "--units", "4",
                     "--min-length", "6", "--max-length", "12", "--batch-size", "32",
                     "--out", str(tmp_path),
                     "--verbose", str(verbose)]) == 0
    lines = capsys.readouterr().out.splitlines()
    progress = [line for line in lines if re.match(r"^2/2 ", line)]
    assert len(progress) == (2 if verbose else 0)
    assert ("Epoch 1/2" in lines) == (verbose != 0)
    if verbose == 1:
        assert all(re.match(r"^2/2 \[=+\] - ", line) for line in progress)
    if verbose == 2:
        assert all(re.match(r"^2/2 - \d+s - ", line) for line in progress)


def test_memory_job_progress(tmp_path, capsys):
    assert cli.main(["run", "memory", "--samples", "32", "--epochs", "2", "--units", "4",
                     "--lengths", "3", "--cells", "GRU", "--batch-size", "32",
                     "--out", str(tmp_path), "--verbose", "1"]) == 0
    out = capsys.readouterr().out
    assert "GRU, length 3:" in out and "Epoch 2/2 (fresh sequences)" in out
    assert re.search(r"^1/1 \[=+\] - .*loss: ", out, re.M)
    assert re.search(r"^\s+3\s+\d+\.\d%$", out, re.M)  # the table, after the runs
