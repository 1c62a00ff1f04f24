"""Translated from Keras 3: keras/src/utils/file_utils_test.py (GetFileTest, HashFileTest,
TestValidateFile), with the same inputs, file contents and hashes. Origins are ``file://``
URLs, as in Keras.

Left out:
- PathToStringTest, ResolvePathTest, ResolveSubPathTest, IsLinkInDirTest,
  FilterSafePathsTest, ResolveHasherTest: Keras's private helpers, which nablanet does not
  have (its safe extraction is tested in test_download.py).
- ExtractArchiveTest (test_extract_tar/zip/auto, test_runtime_error_during_extraction,
  test_keyboard_interrupt_during_extraction): ``extract_archive`` is not Keras's public API;
  nablanet's is tested through ``get_file(extract=True)`` here and in test_download.py.
- test_get_file_with_integrity_check writes to the default cache (``~/.keras``); here
  ``cache_dir`` is a temporary folder.
- IsRemotePathTest, TestRaiseIfNoGFile and the gfile-replacement tests (exists, File, isdir,
  join, listdir, makedirs, copy, remove, ...): TensorFlow's gfile, which nablanet has no use
  for.
"""

from __future__ import annotations

import os
import tarfile
import urllib.parse
import urllib.request
import zipfile

import pytest

from nablanet.data.download import get_file, hash_file, validate_file

TEXT = "Float like a butterfly, sting like a bee."


def file_url(path) -> str:
    return urllib.parse.urljoin("file://", urllib.request.pathname2url(os.path.abspath(path)))


def create_tar_file(directory):
    text_file_path = os.path.join(directory, "test.txt")
    tar_file_path = os.path.join(directory, "test.tar.gz")
    with open(text_file_path, "w") as f:
        f.write(TEXT)
    with tarfile.open(tar_file_path, "w:gz") as tar_file:
        tar_file.add(text_file_path, arcname="test.txt")
    return text_file_path, tar_file_path


def create_zip_file(directory):
    text_file_path = os.path.join(directory, "test.txt")
    zip_file_path = os.path.join(directory, "test.zip")
    with open(text_file_path, "w") as f:
        f.write(TEXT)
    with zipfile.ZipFile(zip_file_path, "w") as zip_file:
        zip_file.write(text_file_path, arcname="test.txt")
    return text_file_path, zip_file_path


def extraction_and_validation(dest_dir, file_path, archive_type):
    hashval_md5 = hash_file(file_path, algorithm="md5")
    extract = bool(archive_type)
    path = get_file("test", file_url(file_path), md5_hash=hashval_md5, extract=extract,
                    cache_subdir=str(dest_dir))
    fpath = f"{path}_archive" if extract else path
    assert os.path.exists(path)
    assert validate_file(fpath, hashval_md5)
    if extract:
        assert os.path.exists(os.path.join(path, "test.txt"))


def test_valid_tar_extraction(tmp_path) -> None:
    (tmp_path / "orig").mkdir()
    _, tar_file_path = create_tar_file(tmp_path / "orig")
    extraction_and_validation(tmp_path / "dest", tar_file_path, "tar.gz")


def test_valid_zip_extraction(tmp_path) -> None:
    (tmp_path / "orig").mkdir()
    _, zip_file_path = create_zip_file(tmp_path / "orig")
    extraction_and_validation(tmp_path / "dest", zip_file_path, "zip")


def test_valid_text_file_download(tmp_path) -> None:
    text_file_path = tmp_path / "test.txt"
    text_file_path.write_text(TEXT)
    extraction_and_validation(tmp_path / "dest", text_file_path, None)


def test_get_file_with_tgz_extension(tmp_path) -> None:
    _, tar_file_path = create_tar_file(tmp_path)
    path = get_file("test.txt.tar.gz", file_url(tar_file_path), untar=True,
                    cache_subdir=str(tmp_path))
    assert os.path.exists(path)
    assert os.path.exists(os.path.join(path, "test.txt"))


def test_get_file_with_integrity_check(tmp_path) -> None:
    file_path = tmp_path / "orig" / "test.txt"
    file_path.parent.mkdir()
    file_path.write_text(TEXT)
    hashval = hash_file(file_path)
    path = get_file("test.txt", file_url(file_path), file_hash=hashval,
                    cache_dir=tmp_path / "cache")
    assert os.path.exists(path)


def test_cache_invalidation(tmp_path) -> None:
    cache_dir = tmp_path / "cache"
    src_path = tmp_path / "test.txt"
    src_path.write_text(TEXT)
    orig_hash = hash_file(src_path)
    origin = file_url(src_path)
    dest_path = get_file("test.txt", origin, file_hash=orig_hash, cache_dir=cache_dir)
    assert orig_hash == hash_file(dest_path)

    src_path.write_text("Float like a zeppelin, sting like a jellyfish.")
    new_hash = hash_file(src_path)
    # without a hash, the cached version
    dest_path = get_file("test.txt", origin, cache_dir=cache_dir)
    assert orig_hash == hash_file(dest_path)
    # with the new hash, a new download
    dest_path = get_file("test.txt", origin, file_hash=new_hash, cache_dir=cache_dir)
    assert new_hash == hash_file(dest_path)


def test_force_download(tmp_path) -> None:
    cache_dir = tmp_path / "cache"
    src_path = tmp_path / "test.txt"
    src_path.write_text(TEXT)
    orig_hash = hash_file(src_path)
    origin = file_url(src_path)
    dest_path = get_file("test.txt", origin, cache_dir=cache_dir)
    assert orig_hash == hash_file(dest_path)

    src_path.write_text("Float like a zeppelin, sting like a jellyfish.")
    new_hash = hash_file(src_path)
    dest_path = get_file("test.txt", origin, cache_dir=cache_dir)
    assert orig_hash == hash_file(dest_path)
    dest_path = get_file("test.txt", origin, force_download=True, cache_dir=cache_dir)
    assert new_hash == hash_file(dest_path)


def test_get_file_with_failed_integrity_check(tmp_path) -> None:
    file_path = tmp_path / "test.txt"
    file_path.write_text(TEXT)
    with pytest.raises(ValueError, match="Incomplete or corrupted file.*"):
        get_file("test.txt", file_url(file_path), file_hash="0" * 64,
                 cache_dir=tmp_path / "cache")


def test_get_file_with_unusable_origin_file_name(tmp_path) -> None:
    base = file_url(tmp_path)
    for origin in (f"{base}/", f"{base}/.", f"{base}/.."):
        with pytest.raises(ValueError, match="Can't parse the file name from the origin"):
            get_file(origin=origin, cache_dir=tmp_path)


# -- HashFileTest, TestValidateFile ---------------------------------------------------------
SHA256 = "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f"
MD5 = "65a8e27d8879283831b664bd8b7f0ad4"


@pytest.fixture
def hello(tmp_path):
    path = tmp_path / "test_file.txt"
    path.write_bytes(b"Hello, World!")
    return path


def test_hash_file_sha256(hello) -> None:
    assert hash_file(hello, algorithm="sha256") == SHA256


def test_hash_file_md5(hello) -> None:
    assert hash_file(hello, algorithm="md5") == MD5


def test_validate_file_sha256(hello) -> None:
    assert validate_file(hello, SHA256, "sha256")


def test_validate_file_md5(hello) -> None:
    assert validate_file(hello, MD5, "md5")


def test_validate_file_auto_sha256(hello) -> None:
    assert validate_file(hello, SHA256, "auto")


def test_validate_file_auto_md5(hello) -> None:
    assert validate_file(hello, MD5, "auto")


def test_validate_file_wrong_hash(hello) -> None:
    assert not validate_file(hello, "deadbeef" * 8, "sha256")
