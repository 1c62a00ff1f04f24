"""get_file against a loopback HTTP server: download, checksum mismatch, truncated transfer,
redirect, server down, HTTP error, cache hit, forced download, concurrent callers, the
progress bar, and fetch() with the registry and the mirror variable."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nablanet.data import download
from nablanet.data.download import DownloadError, RemoteFile, fetch, get_file
from nablanet.utils import get_file as utils_get_file

PAYLOAD = bytes(range(256)) * 2000  # 512 kB: several chunks
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_exported_from_utils() -> None:
    assert utils_get_file is get_file


def test_download_then_cache_hit(loopback, tmp_path, capsys) -> None:
    url = loopback.add("data.bin", PAYLOAD)
    path = get_file("data.bin", url, file_hash=SHA, cache_dir=tmp_path)
    assert path == str(tmp_path / "datasets" / "data.bin")
    assert Path(path).read_bytes() == PAYLOAD
    out = capsys.readouterr().out
    assert f"Downloading data from {url}" in out
    assert f"{len(PAYLOAD)}/{len(PAYLOAD)} [==============================]" in out
    assert leftovers(tmp_path / "datasets") == ["data.bin"]  # no temporary file left
    umask = os.umask(0o022)
    os.umask(umask)
    assert Path(path).stat().st_mode & 0o777 == 0o666 & ~umask  # not the temp file's 0600
    # cached: no second request, with or without the hash
    assert get_file("data.bin", url, file_hash=SHA, cache_dir=tmp_path) == path
    assert get_file("data.bin", url, cache_dir=tmp_path) == path
    assert loopback.count("data.bin") == 1
    assert "Downloading" not in capsys.readouterr().out


def test_checksum_mismatch_leaves_nothing(loopback, tmp_path) -> None:
    url = loopback.add("data.bin", PAYLOAD)
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected.*sha256.*"
                                         "nothing was saved"):
        get_file("data.bin", url, file_hash="0" * 64, cache_dir=tmp_path)
    assert leftovers(tmp_path / "datasets") == []
    with pytest.raises(ValueError, match="md5"):
        get_file("data.bin", url, file_hash="0" * 32, cache_dir=tmp_path)
    assert leftovers(tmp_path / "datasets") == []


def test_stale_cached_file_is_downloaded_again(loopback, tmp_path, capsys) -> None:
    url = loopback.add("data.bin", PAYLOAD)
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "data.bin").write_bytes(PAYLOAD[:100])  # an old, partial copy
    path = get_file("data.bin", url, file_hash=SHA, cache_dir=tmp_path)
    assert Path(path).read_bytes() == PAYLOAD
    assert "will re-download the data" in capsys.readouterr().out


@pytest.mark.parametrize("file_hash", [None, SHA])
def test_truncated_transfer_leaves_nothing(loopback, tmp_path, file_hash) -> None:
    loopback.add("data.bin", PAYLOAD)
    with pytest.raises(DownloadError, match="URL fetch failure on .*truncated/data.bin.*cut "
                                            "short.*Nothing was saved"):
        get_file("data.bin", loopback.url("data.bin", "truncated"), file_hash=file_hash,
                 cache_dir=tmp_path)
    assert leftovers(tmp_path / "datasets") == []


def test_redirect_is_followed(loopback, tmp_path) -> None:
    loopback.add("data.bin", PAYLOAD)
    path = get_file("data.bin", loopback.url("data.bin", "redirect"), file_hash=SHA,
                    cache_dir=tmp_path)
    assert Path(path).read_bytes() == PAYLOAD
    assert loopback.requests == ["/redirect/data.bin", "/files/data.bin"]


def test_server_down_and_http_error(loopback, closed_port_url, tmp_path) -> None:
    with pytest.raises(DownloadError, match=f"URL fetch failure on {closed_port_url}x.bin: "
                                            "cannot connect to 127.0.0.1:.*refused"):
        get_file("x.bin", closed_port_url + "x.bin", cache_dir=tmp_path)
    with pytest.raises(DownloadError, match="404 Not Found.*Nothing was saved"):
        get_file("x.bin", loopback.url("x.bin"), cache_dir=tmp_path)
    assert leftovers(tmp_path / "datasets") == []
    assert isinstance(DownloadError("x"), OSError)


def test_force_download_replaces_the_cached_copy(loopback, tmp_path) -> None:
    url = loopback.add("data.bin", b"old")
    path = get_file("data.bin", url, cache_dir=tmp_path)
    loopback.add("data.bin", b"new")
    assert Path(get_file("data.bin", url, cache_dir=tmp_path)).read_bytes() == b"old"
    assert Path(get_file("data.bin", url, cache_dir=tmp_path, force_download=True)
                ).read_bytes() == b"new"
    # a failed forced download keeps the cached copy
    with pytest.raises(DownloadError):
        get_file("data.bin", loopback.url("data.bin", "truncated"), cache_dir=tmp_path,
                 force_download=True)
    assert Path(path).read_bytes() == b"new"
    assert leftovers(tmp_path / "datasets") == ["data.bin"]


def test_concurrent_threads(loopback, tmp_path) -> None:
    url = loopback.add("data.bin", PAYLOAD)
    with ThreadPoolExecutor(6) as pool:
        paths = list(pool.map(lambda _: get_file("data.bin", url, file_hash=SHA,
                                                 cache_dir=tmp_path), range(6)))
    assert len(set(paths)) == 1 and Path(paths[0]).read_bytes() == PAYLOAD
    assert leftovers(tmp_path / "datasets") == ["data.bin"]


def _download_in_child(args: tuple[str, str]) -> str:
    url, cache_dir = args
    return get_file("data.bin", url, file_hash=SHA, cache_dir=cache_dir)


def test_concurrent_processes(loopback, tmp_path) -> None:
    url = loopback.add("data.bin", PAYLOAD)
    with multiprocessing.get_context("fork").Pool(3) as pool:
        paths = pool.map(_download_in_child, [(url, str(tmp_path))] * 3)
    assert len(set(paths)) == 1 and Path(paths[0]).read_bytes() == PAYLOAD
    assert leftovers(tmp_path / "datasets") == ["data.bin"]


def test_default_folder_is_nablanets_data_folder(loopback, tmp_path, monkeypatch) -> None:
    url = loopback.add("data.bin", PAYLOAD)
    monkeypatch.setenv("NABLANET_DATA_DIR", str(tmp_path / "data"))
    assert get_file(origin=url) == str(tmp_path / "data" / "data.bin")
    assert get_file("d.bin", url, cache_subdir="datasets/sub") == str(
        tmp_path / "data" / "sub" / "d.bin")
    monkeypatch.delenv("NABLANET_DATA_DIR")
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    assert get_file("e.bin", url) == str(tmp_path / "home" / ".nablanet" / "datasets" / "e.bin")
    assert get_file("f.bin", url, cache_subdir="models") == str(
        tmp_path / "home" / ".nablanet" / "models" / "f.bin")


def test_extract_tar_gz(loopback, tmp_path) -> None:
    member = tmp_path / "inner.txt"
    member.write_text("hello")
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(member, arcname="folder/inner.txt")
    url = loopback.add("a.tar.gz", archive.read_bytes())
    out = get_file("thing", url, extract=True, cache_dir=tmp_path / "c")
    assert out == str(tmp_path / "c" / "datasets" / "thing")
    assert (Path(out) / "folder" / "inner.txt").read_text() == "hello"
    assert (tmp_path / "c" / "datasets" / "thing_archive").is_file()
    # a second call neither downloads nor extracts again
    (Path(out) / "folder" / "inner.txt").write_text("edited")
    get_file("thing", url, extract=True, cache_dir=tmp_path / "c")
    assert (Path(out) / "folder" / "inner.txt").read_text() == "edited"
    assert loopback.count("a.tar.gz") == 1


def test_extract_refuses_members_outside_the_folder(tmp_path) -> None:
    evil = tmp_path / "evil.tar"
    payload = tmp_path / "p.txt"
    payload.write_text("x")
    with tarfile.open(evil, "w") as tar:
        tar.add(payload, arcname="../escaped.txt")
    with pytest.raises(tarfile.TarError):
        download.extract_archive(evil, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out").exists()
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".extracting")] == []


def test_bad_arguments(tmp_path) -> None:
    with pytest.raises(ValueError, match='specify the "origin"'):
        get_file("x")
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        get_file(os.path.join("a", "b"), "http://127.0.0.1:9/b", cache_dir=tmp_path)
    for origin in ("http://127.0.0.1:9/", "http://127.0.0.1:9/.."):
        with pytest.raises(ValueError, match="Can't parse the file name"):
            get_file(origin=origin, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="hash_algorithm.*'sha1'"):
        get_file("x", "http://127.0.0.1:9/x", hash_algorithm="sha1", cache_dir=tmp_path)


def test_fetch_uses_registry_and_mirror(loopback, tmp_path, monkeypatch) -> None:
    data = b"published bytes"
    monkeypatch.setitem(download.REGISTRY, "thing.bin", RemoteFile(
        "https://example.invalid/data/thing.bin", len(data), hashlib.sha256(data).hexdigest()))
    loopback.add("thing.bin", data)
    monkeypatch.setenv("NABLANET_DATA_URL", loopback.base + "/files/")
    path = fetch("thing.bin", tmp_path)
    assert path == tmp_path / "thing.bin" and path.read_bytes() == data
    assert fetch("thing.bin", tmp_path) == path and loopback.count("thing.bin") == 1
    loopback.add("other.bin", b"tampered")
    monkeypatch.setitem(download.REGISTRY, "other.bin", RemoteFile(
        "https://example.invalid/other.bin", 8, hashlib.sha256(b"original").hexdigest()))
    with pytest.raises(ValueError, match="Incomplete or corrupted"):
        fetch("other.bin", tmp_path)
    assert not (tmp_path / "other.bin").exists()
    with pytest.raises(ValueError, match="unknown file"):
        fetch("nothing.bin", tmp_path)


def test_shipped_registry_is_the_published_one() -> None:
    rps = download.REGISTRY["rps.zip"]
    assert rps.url == "https://storage.googleapis.com/download.tensorflow.org/data/rps.zip"
    assert rps.size == 200_682_221
    assert rps.sha256 == "c2403444395842ad04c53612bad54b574443eae17a0723117a2ff87b9d72194f"
    test = download.REGISTRY["rps-test-set.zip"]
    assert (test.size, test.sha256[:8]) == (29_516_758, "c27ab9fa")
    for entry in download.REGISTRY.values():
        assert entry.url.startswith("https://") and len(entry.sha256) == 64
