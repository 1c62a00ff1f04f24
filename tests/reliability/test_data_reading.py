"""Hostile files on disk: FIFOs named like images, symbolic-link loops, zip bombs, and the
``nablanet decompose`` command's bad inputs."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nablanet.data import image_dataset_from_directory
from nablanet.data import rock_paper_scissors as rps
from nablanet.data.images import ImageDecodeError

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _png(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), (value, value, value)).save(path)


_READ_DIRECTORY = """
import sys, warnings
warnings.simplefilter("ignore")
from nablanet.data import image_dataset_from_directory
try:
    ds = image_dataset_from_directory(sys.argv[1], image_size=(4, 4), on_error=sys.argv[2],
                                      verbose=False)
    print("ok", len(ds.file_paths))
except ValueError as error:
    print("error", type(error).__name__, error)
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_fifo_named_png_does_not_hang_the_loader(tmp_path, on_error):
    _png(tmp_path / "a" / "real.png")
    os.mkfifo(tmp_path / "a" / "pipe.png")
    try:
        done = subprocess.run([sys.executable, "-c", _READ_DIRECTORY, str(tmp_path), on_error],
                              env=ENV, capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the image loader blocked on a FIFO")
    assert done.returncode == 0, done.stderr[-2000:]
    if on_error == "raise":
        assert done.stdout.startswith("error ImageDecodeError"), done.stdout
        assert "pipe.png" in done.stdout and "not a regular file" in done.stdout
    else:
        assert done.stdout.split() == ["ok", "1"]


def test_follow_links_visits_each_real_file_once(tmp_path):
    _png(tmp_path / "cats" / "a.png", 10)
    _png(tmp_path / "dogs" / "b.png", 20)
    os.symlink("..", tmp_path / "cats" / "loop")  # cats/loop -> the root, and so on
    os.symlink(tmp_path / "dogs", tmp_path / "cats" / "also_dogs")
    ds = image_dataset_from_directory(tmp_path, image_size=(4, 4), follow_links=True,
                                      shuffle=False, verbose=False)
    assert sorted(Path(p).name for p in ds.file_paths) == ["a.png", "b.png"]


def _bomb_archive(directory: Path, bomb_bytes: int) -> None:
    import io

    good = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(good, "PNG")
    with zipfile.ZipFile(directory / "rps.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("rps/rock/good.png", good.getvalue())
        with zf.open("rps/paper/bomb.png", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(bomb_bytes >> 20):
                member.write(block)


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_a_zip_bomb_member_is_refused_without_inflating_it(tmp_path, on_error):
    _bomb_archive(tmp_path, 64 << 20)
    assert (tmp_path / "rps.zip").stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        if on_error == "raise":
            with pytest.raises(ImageDecodeError, match="bomb.png.*zip bomb"):
                rps.read_split("train", tmp_path, on_error="raise")
        else:
            with pytest.warns(RuntimeWarning, match="skipped 1 of 2"):
                keys, images, labels = rps.read_split("train", tmp_path, on_error="skip")
            assert keys == ["rps/rock/good.png"] and labels.tolist() == [0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak} bytes were read from a 64 MiB member"


def _decompose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nablanet.cli", "decompose", *args,
                           "--quiet"], env=ENV, capture_output=True, text=True, timeout=120,
                          check=False)


def _npy_header(path: Path, shape: tuple[int, ...], data_bytes: int = 64) -> None:
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f8", "fortran_order": False, "shape": shape})
        handle.write(bytes(data_bytes))


@pytest.fixture
def files(tmp_path):
    np.save(tmp_path / "small.npy", np.random.default_rng(0).random((6, 5, 4)))
    np.savez(tmp_path / "archive.npz", a=np.ones((3, 3)))
    _npy_header(tmp_path / "huge.npy", (100000, 100000, 100))
    _npy_header(tmp_path / "overflow.npy", (2**62, 2**62))
    sparse = tmp_path / "sparse.npy"  # a real file as large as it claims (sparse on disk)
    _npy_header(sparse, (10000, 10000, 100), 0)  # 80 GB of float64; 320 GB to decompose
    os.truncate(sparse, sparse.stat().st_size + 10000 * 10000 * 100 * 8)
    return tmp_path


@pytest.mark.parametrize("name,args,message", [
    ("huge.npy", ["--method", "cp", "--rank", "2"], "truncated"),
    ("overflow.npy", ["--method", "cp", "--rank", "2"], "truncated"),
    ("sparse.npy", ["--method", "cp", "--rank", "2"], "memory"),
    ("archive.npz", ["--method", "cp", "--rank", "2"], ".npz archive"),
    ("small.npy", ["--method", "cp", "--rank", "1000000000000"], "memory"),
    ("small.npy", ["--method", "tucker", "--rank", "0,2,2"], "rank=(0, 2, 2)"),
    ("missing.npy", ["--method", "cp", "--rank", "2"], "No such file"),
])
def test_decompose_user_errors_are_one_line_and_status_2(files, name, args, message):
    done = _decompose(str(files / name), *args)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("nablanet decompose: error:") and message in lines[0]
