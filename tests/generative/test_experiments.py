"""``nablanet run gan | autoencoder | vae`` on tiny settings: they run and save their PNGs."""

from __future__ import annotations

from pathlib import Path

import pytest

from nablanet import cli


def _pngs_ok(out: Path, names: list[str], printed: str) -> None:
    for name in names:
        path = out / name
        assert path.is_file(), f"{name} was not written"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(path) in printed, f"{path} was not printed"


def test_run_gan(tmp_path, capsys):
    rc = cli.main(["run", "gan", "--epochs", "2", "--digits-epochs", "1", "--samples", "256",
                   "--digits-limit", "128", "--snapshots", "2", "--verbose", "2",
                   "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "D(G(z)):" in printed and "d_loss:" in printed and "g_loss:" in printed
    assert "mean distance of generated samples to the nearest mode" in printed
    _pngs_ok(tmp_path, ["mixture_samples.png", "mixture_distance.png", "mixture_losses.png",
                        "digits_real.png", "digits_epoch_001.png", "digits_losses.png"],
             printed)


def test_run_autoencoder(tmp_path, capsys):
    rc = cli.main(["run", "autoencoder", "--epochs", "1", "--limit", "160", "--verbose", "0",
                   "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "denoising, after training" in printed
    _pngs_ok(tmp_path, ["dense_reconstructions.png", "code_space.png",
                        "conv_reconstructions.png", "denoising.png", "losses.png"], printed)


def test_run_vae(tmp_path, capsys):
    rc = cli.main(["run", "vae", "--epochs", "2", "--limit", "160", "--grid", "4",
                   "--verbose", "2", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "kl_loss:" in printed and "reconstruction_loss:" in printed
    _pngs_ok(tmp_path, ["reconstructions.png", "prior_samples.png", "latent_traversal.png",
                        "losses.png"], printed)


@pytest.mark.parametrize("argv", [["run", "gan", "--epochs", "0"],
                                  ["run", "vae", "--latent-dim", "0"],
                                  ["run", "autoencoder", "--code-dim", "0"]])
def test_bad_options_exit_with_a_message(argv, tmp_path):
    with pytest.raises(SystemExit, match="must be positive"):
        cli.main([*argv, "--out", str(tmp_path)])
