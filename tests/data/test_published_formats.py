"""The data sets download their published files -- here small files in exactly the published
formats, served by a loopback server and registered with their own hashes -- and read them:
rock-paper-scissors zips (tfds.load, nablanet run cnn --download), mnist.npz, Fashion-MNIST's
idx.gz files and CIFAR-10's binary records in a tar.gz."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

import nablanet.compat.tensorflow as tf
import nablanet.compat.tensorflow_datasets as tfds
from nablanet import cli
from nablanet.data import download
from nablanet.data.download import DownloadError, RemoteFile
from nablanet.datasets import cifar10, fashion_mnist, mnist

CLASSES = ("rock", "paper", "scissors")


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def rps_zip(prefix: str, per_class: int, size: int = 20) -> bytes:
    """An archive laid out as rps.zip / rps-test-set.zip: folder entries, then
    <prefix>/<class>/<name>.png (RGBA, as published); the red value encodes the class."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{prefix}/", b"")
        for label, cls in enumerate(CLASSES):
            zf.writestr(f"{prefix}/{cls}/", b"")
            for i in range(per_class):
                pixels = np.full((size, size, 4), 255, np.uint8)
                pixels[..., 0] = 60 * label + 20
                pixels[..., 1] = i
                zf.writestr(f"{prefix}/{cls}/{cls}{i:02d}-000.png", png(pixels))
    return buf.getvalue()


def idx_gz(array: np.ndarray) -> bytes:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I",
                                                                 *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def cifar_tar_gz(batches: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("batches.meta.txt", "\n".join(cifar10.CLASS_NAMES).encode())
        for name, (images, labels) in batches.items():
            planes = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # R, G, B planes
            add(name, np.concatenate([labels[:, None], planes], axis=1).astype(np.uint8)
                .tobytes())
        add("readme.html", b"<html></html>")
    return buf.getvalue()


@pytest.fixture
def publish(loopback, tmp_path, monkeypatch):
    """Serve files under their published names, registered with their own sizes and hashes;
    downloads go to a fresh data folder."""
    monkeypatch.setenv("NABLANET_DATA_URL", loopback.base + "/files")
    monkeypatch.setenv("NABLANET_DATA_DIR", str(tmp_path / "data"))

    def add(name: str, data: bytes) -> None:
        loopback.add(name, data)
        published = download.REGISTRY[name]
        monkeypatch.setitem(download.REGISTRY, name, RemoteFile(
            published.url, len(data), hashlib.sha256(data).hexdigest()))

    return add


def test_tfds_load_downloads_rock_paper_scissors(publish, loopback, tmp_path, capsys) -> None:
    publish("rps.zip", rps_zip("rps", 4))
    publish("rps-test-set.zip", rps_zip("rps-test-set", 2))
    # the chapter's call (§7.4), with only the import changed
    (ds_train, ds_val, ds_test) = tfds.load(
        'rock_paper_scissors',
        split=['train[:70%]', 'train[70%:]', 'test'],
        shuffle_files=True,
        as_supervised=True
    )
    assert (len(ds_train), len(ds_val), len(ds_test)) == (8, 4, 6)
    image, label = next(iter(ds_test))
    assert image.shape == (20, 20, 3) and image.numpy()[0, 0, 0] == 60 * int(label) + 20
    folder = tmp_path / "data" / "rock_paper_scissors"
    assert sorted(p.name for p in folder.iterdir()) == ["rps-test-set.zip", "rps.zip"]
    assert "Downloading data from " + loopback.base in capsys.readouterr().out
    # on disk now: nothing is downloaded again
    tfds.load("rock_paper_scissors", split="test")
    assert loopback.count("rps.zip") == 1 and loopback.count("rps-test-set.zip") == 1


def test_only_the_requested_split_is_downloaded(publish, loopback, tmp_path) -> None:
    publish("rps.zip", rps_zip("rps", 4))
    publish("rps-test-set.zip", rps_zip("rps-test-set", 2))
    ds = tfds.load("rock_paper_scissors", split="test", data_dir=tmp_path / "mine")
    assert len(ds) == 6 and [p.name for p in (tmp_path / "mine").iterdir()] == [
        "rps-test-set.zip"]
    assert loopback.count("rps.zip") == 0


def test_download_with_a_wrong_hash_keeps_nothing(publish, loopback, tmp_path,
                                                  monkeypatch) -> None:
    publish("rps.zip", rps_zip("rps", 4))
    monkeypatch.setitem(download.REGISTRY, "rps.zip", RemoteFile(
        download.REGISTRY["rps.zip"].url, 10, "0" * 64))
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected"):
        tfds.load("rock_paper_scissors", split="train")
    folder = tmp_path / "data" / "rock_paper_scissors"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_run_cnn_download(publish, loopback, tmp_path, capsys) -> None:
    publish("rps.zip", rps_zip("rps", 4))
    publish("rps-test-set.zip", rps_zip("rps-test-set", 1))
    args = ["run", "cnn", "--image-size", "22", "--epochs", "1", "--depths", "1",
            "--out", str(tmp_path / "run"), "--verbose", "0", "--threads", "1"]
    assert cli.main([*args, "--download"]) == 0
    printed = capsys.readouterr().out
    assert "Downloading data from" in printed
    assert "Rock Paper Scissors data set (real images)" in printed
    assert "train 8, validation 4, test 3 images" in printed


def test_run_cnn_download_offline(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NABLANET_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit, match="cnn: rock_paper_scissors: could not download rps.zip"
                                         ".*rock_paper_scissors_generated"):
        cli.main(["run", "cnn", "--download", "--depths", "1", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="does not go with --dataset generated"):
        cli.main(["run", "cnn", "--download", "--dataset", "generated", "--out",
                  str(tmp_path)])


def test_mnist(publish, loopback) -> None:
    rng = np.random.default_rng(0)
    x_train, x_test = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for n in (12, 5))
    y_train, y_test = (rng.integers(0, 10, n, dtype=np.uint8) for n in (12, 5))
    buf = io.BytesIO()
    np.savez(buf, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    publish("mnist.npz", buf.getvalue())
    (a, b), (c, d) = mnist.load_data()
    for got, want in ((a, x_train), (b, y_train), (c, x_test), (d, y_test)):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)
    # the compat names are the same function; a second call reads the cache
    (a2, _), _ = tf.keras.datasets.mnist.load_data()
    np.testing.assert_array_equal(a2, x_train)
    assert loopback.count("mnist.npz") == 1


def test_mnist_refuses_pickles(publish) -> None:
    buf = io.BytesIO()
    np.savez(buf, x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1),
             x_test=np.zeros(1), y_test=np.zeros(1))
    publish("mnist.npz", buf.getvalue())
    with pytest.raises(ValueError, match="allow_pickle"):
        mnist.load_data()


def test_fashion_mnist(publish, tmp_path) -> None:
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 10, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 4, dtype=np.uint8),
    }
    for name, array in arrays.items():
        publish(name, idx_gz(array))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_train, arrays["train-labels-idx1-ubyte.gz"])
    np.testing.assert_array_equal(x_test, arrays["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert x_train.dtype == y_train.dtype == np.uint8
    assert (tmp_path / "data" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"abc"))
    with pytest.raises(ValueError, match=r"shape \(5,\) but the file holds 3 values"):
        fashion_mnist.read_idx(bad)


def test_cifar10_binary(publish) -> None:
    rng = np.random.default_rng(2)
    batches = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        batches[name] = (rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8),
                         rng.integers(0, 10, 3, dtype=np.uint8))
    publish("cifar-10-binary.tar.gz", cifar_tar_gz(batches))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (15, 32, 32, 3) and y_train.shape == (15, 1)
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1)
    assert x_train.dtype == y_train.dtype == np.uint8
    order = [f"data_batch_{i}.bin" for i in range(1, 6)]
    np.testing.assert_array_equal(x_train, np.concatenate([batches[n][0] for n in order]))
    np.testing.assert_array_equal(y_train[:, 0], np.concatenate([batches[n][1] for n in order]))
    np.testing.assert_array_equal(x_test, batches["test_batch.bin"][0])
    with pytest.raises(ValueError, match="whole number of 3073-byte records"):
        cifar10.read_records(b"\x00" * 3074)


def test_datasets_offline(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("NABLANET_DATA_DIR", str(tmp_path))
    with pytest.raises(DownloadError, match="mnist.npz: cannot connect.*Nothing was saved"):
        mnist.load_data()
    assert list(tmp_path.iterdir()) == []
