"""Downloading data files: Keras's ``get_file`` and the published files nablanet knows.

:func:`get_file` has the signature and behaviour of ``keras.utils.get_file``: it downloads
``origin`` into a cache folder unless the file is already there (and, given ``file_hash``,
matches it), optionally extracts an archive, and returns the local path. The transfer and the
hashing are `pooch <https://www.fatiando.org/pooch>`_'s (over ``requests``): the bytes go to a
temporary file in the cache folder, which is moved into place only when the transfer is
complete and its hash matches, so a wrong hash, a truncated transfer, an unreachable server or
an interrupt leaves nothing usable behind (and the error says so). Several callers -- threads
or processes -- asking for the same file at once each download to their own temporary file and
the last complete one wins; none ever sees a partial file.

Where files go
--------------
``cache_dir`` defaults to ``~/.nablanet``. Keras's default ``cache_subdir='datasets'`` (and
its subfolders, ``'datasets/fashion-mnist'``) then means nablanet's data folder:
``$NABLANET_DATA_DIR`` when it is set, otherwise ``~/.nablanet/datasets`` -- the folder where
``nablanet.data.load`` looks for data sets. If the folder cannot be created, the system's
temporary folder is used (``/tmp/.nablanet``), as Keras does.

The published files
-------------------
:data:`REGISTRY` names the files the data sets download, each with its published URL, size
and SHA-256. Setting ``$NABLANET_DATA_URL`` to a folder URL (a mirror, e.g. a server in a
classroom) fetches every one of them as ``$NABLANET_DATA_URL/<file name>`` instead, still
checked against the published size and hash; :func:`fetch` downloads one of them.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import threading
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_URL_ENV",
    "REGISTRY",
    "DownloadError",
    "RemoteFile",
    "data_home",
    "extract_archive",
    "fetch",
    "get_file",
    "hash_file",
    "validate_file",
]

#: The environment variable naming a mirror of the published files.
DATA_URL_ENV = "NABLANET_DATA_URL"
_TIMEOUT_S = 30.0  # seconds without a byte before a transfer is abandoned
_CHUNK = 1 << 16
_UMASK = os.umask(0o022)  # read once, at import: files are created rw-r--r-- less the umask
os.umask(_UMASK)


class DownloadError(OSError):
    """A file could not be downloaded (server unreachable, HTTP error, transfer cut short).

    The message names the URL and the reason, and that nothing was saved.
    """


@dataclass(frozen=True)
class RemoteFile:
    """A published file: where it is, how many bytes it has and its SHA-256."""

    url: str
    size: int
    sha256: str

    @property
    def fname(self) -> str:
        return self.url.rsplit("/", 1)[-1]


_TFDS = "https://storage.googleapis.com/download.tensorflow.org/data/"
_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

#: The published files, by file name. Tests substitute their own entries (the files a
#: loopback server serves have other hashes); the defaults are the published ones.
REGISTRY: dict[str, RemoteFile] = {
    # Rock Paper Scissors (Laurence Moroney), as TFDS downloads it
    "rps.zip": RemoteFile(
        _TFDS + "rps.zip", 200_682_221,
        "c2403444395842ad04c53612bad54b574443eae17a0723117a2ff87b9d72194f"),
    "rps-test-set.zip": RemoteFile(
        _TFDS + "rps-test-set.zip", 29_516_758,
        "c27ab9fa43ce40b2e453de711365b477f4424586edf0388116674fd320f07503"),
    # MNIST as Keras publishes it (keras.datasets.mnist)
    "mnist.npz": RemoteFile(
        _KERAS + "mnist.npz", 11_490_434,
        "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    # Fashion-MNIST: Keras's copies of Zalando's files (same sizes; SHA-256 as TFDS lists them)
    "train-labels-idx1-ubyte.gz": RemoteFile(
        _KERAS + "train-labels-idx1-ubyte.gz", 29_515,
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    "train-images-idx3-ubyte.gz": RemoteFile(
        _KERAS + "train-images-idx3-ubyte.gz", 26_421_880,
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    "t10k-labels-idx1-ubyte.gz": RemoteFile(
        _KERAS + "t10k-labels-idx1-ubyte.gz", 5_148,
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    "t10k-images-idx3-ubyte.gz": RemoteFile(
        _KERAS + "t10k-images-idx3-ubyte.gz", 4_422_102,
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    # CIFAR-10, binary version (as TFDS downloads it; no pickles)
    "cifar-10-binary.tar.gz": RemoteFile(
        "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", 170_052_171,
        "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),
}


def data_home() -> Path:
    """nablanet's data folder: ``$NABLANET_DATA_DIR``, or ``~/.nablanet/datasets``."""
    env = os.environ.get("NABLANET_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".nablanet" / "datasets"


# -- hashes -------------------------------------------------------------------------------------
def _algorithm(algorithm: str, file_hash: str | None = None) -> str:
    """Keras's choice: 'sha256', or for 'auto' SHA-256 when the hash has 64 digits, else MD5."""
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(file_hash) == 64):
        return "sha256"
    if algorithm in ("md5", "auto"):
        return "md5"
    raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5'. "
                     f"Received: hash_algorithm={algorithm!r}")


def hash_file(fpath: str | os.PathLike[str], algorithm: str = "sha256",
              chunk_size: int = 65535) -> str:
    """The SHA-256 (or MD5) of a file as hex digits (``keras.utils`` ``hash_file``).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"Hello, World!")
    >>> hash_file(f.name)
    'dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f'
    >>> os.remove(f.name)
    """
    import pooch

    del chunk_size  # pooch reads in its own chunks
    return str(pooch.file_hash(os.fspath(fpath), alg=_algorithm(algorithm)))


def validate_file(fpath: str | os.PathLike[str], file_hash: str, algorithm: str = "auto",
                  chunk_size: int = 65535) -> bool:
    """Whether a file has the SHA-256 or MD5 ``file_hash`` (``'auto'``: chosen by its length)."""
    return hash_file(fpath, _algorithm(algorithm, file_hash), chunk_size) == str(file_hash)


# -- the transfer -------------------------------------------------------------------------------
class _Progress:
    """The object pooch's HTTP downloader reports to (``total``, ``update``, ``reset``,
    ``close``), drawn as nablanet's (Keras's) progress bar with bytes as steps."""

    def __init__(self) -> None:
        self.total = 0
        self._count = 0
        self._bar: Any = None

    def _draw(self, finalize: bool = False) -> None:
        from nablanet.callbacks.progbar import Progbar

        if self._bar is None:
            self._bar = Progbar(self.total or None)
        current = min(self._count, self.total) if self.total else self._count
        self._bar.update(current, finalize=finalize or None)

    def update(self, n: int) -> None:
        self._count += int(n)
        self._draw()

    def reset(self) -> None:
        self._count = 0

    def close(self) -> None:
        self._draw(finalize=True)


_pooch_quiet_lock = threading.Lock()
_pooch_quiet_depth = 0
_pooch_level = 0


@contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's own log lines (nablanet prints Keras's instead) while any download
    runs, and restore the logger's level after the last one."""
    import pooch

    global _pooch_quiet_depth, _pooch_level
    logger = pooch.get_logger()
    with _pooch_quiet_lock:
        if _pooch_quiet_depth == 0:
            _pooch_level = logger.level
            logger.setLevel("WARNING")
        _pooch_quiet_depth += 1
    try:
        yield
    finally:
        with _pooch_quiet_lock:
            _pooch_quiet_depth -= 1
            if _pooch_quiet_depth == 0:
                logger.setLevel(_pooch_level)


def _copy_local(url: str, output_file: Any, pooch_obj: Any = None,
                check_only: bool = False) -> bool | None:
    """A pooch downloader for ``file://`` origins (Keras's ``urlretrieve`` accepts them)."""
    source = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
    if check_only:
        return os.path.isfile(source)
    shutil.copyfile(source, output_file)
    return None


def _transfer(origin: str, target: Path, known_hash: str | None) -> None:
    """Download ``origin`` to ``target`` atomically: pooch streams it into a temporary file in
    the target's folder and verifies it; only then is it renamed to ``target``."""
    import pooch
    import requests

    part = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    scheme = urllib.parse.urlsplit(origin).scheme
    if scheme == "file":
        downloader: Any = _copy_local
    else:
        downloader = pooch.HTTPDownloader(progressbar=_Progress(), chunk_size=_CHUNK,
                                          timeout=_TIMEOUT_S)
    try:
        with _quiet_pooch():
            pooch.retrieve(origin, known_hash, fname=part.name, path=part.parent,
                           downloader=downloader)
        os.chmod(part, 0o666 & ~_UMASK)  # the temporary file was private (0600)
        os.replace(part, target)
    except ValueError as exc:
        if "hash" not in str(exc):
            raise DownloadError(f"URL fetch failure on {origin}: {exc}. Nothing was saved "
                                f"at {target}.") from exc
        raise ValueError(
            f"Incomplete or corrupted file detected. The {known_hash.split(':')[0]} file hash "
            f"of the file downloaded from {origin} does not match the provided value of "
            f"{known_hash.split(':')[1]}; it was discarded and nothing was saved at {target}."
            if known_hash else str(exc)) from exc
    except requests.RequestException as exc:
        reason = exc.__class__.__name__
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            reason = f"{exc.response.status_code} {exc.response.reason}"
        elif isinstance(exc, requests.exceptions.ChunkedEncodingError):
            reason = "the transfer was cut short"
        elif isinstance(exc, requests.ConnectionError):
            text = str(exc).lower()
            why = ("its name could not be resolved" if "resolve" in text else
                   "the connection was refused" if "refused" in text else "no connection")
            host = urllib.parse.urlsplit(origin).netloc
            reason = f"cannot connect to {host}: {why} (offline?)"
        elif exc.args:
            reason += f" ({exc.args[0]})"
        raise DownloadError(f"URL fetch failure on {origin}: {reason}. Nothing was saved at "
                            f"{target}.") from exc
    except OSError as exc:
        if isinstance(exc, DownloadError):
            raise
        raise DownloadError(f"URL fetch failure on {origin}: {exc}. Nothing was saved at "
                            f"{target}.") from exc
    finally:
        if part.exists():
            part.unlink()


# -- extraction ---------------------------------------------------------------------------------
def extract_archive(file_path: str | os.PathLike[str], path: str | os.PathLike[str] = ".",
                    archive_format: str | list[str] | None = "auto") -> bool:
    """Extract a tar (``.tar``, ``.tar.gz``, ``.tar.bz2``) or zip archive into ``path``.

    Members that would land outside ``path`` (absolute names, ``..``, links leaving it) are
    refused. The archive is extracted into a temporary folder beside ``path`` first, which is
    then renamed to ``path``, so a failed extraction leaves no half-filled folder. Returns True
    when the file was an archive of an accepted format (``'auto'``: tar or zip).
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    file_path, path = os.fspath(file_path), os.fspath(path)
    if not os.path.exists(file_path):
        raise FileNotFoundError(f"extract_archive: no such file: {file_path!r}")
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip', a list of them or "
                             f"None. Received: archive_format={archive_format!r}")
        if kind == "tar" and tarfile.is_tarfile(file_path):
            _extract_into(path, lambda tmp: _untar(file_path, tmp))
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            _extract_into(path, lambda tmp: _unzip(file_path, tmp))
            return True
    return False


def _untar(file_path: str, destination: str) -> None:
    with tarfile.open(file_path) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(destination, filter="data")
            return
        root = os.path.realpath(destination)  # Pythons without extraction filters
        for member in archive.getmembers():
            where = os.path.realpath(os.path.join(root, member.name))
            if member.issym() or member.islnk() or os.path.commonpath([where, root]) != root:
                raise tarfile.TarError(f"refusing the archive member {member.name!r}")
        archive.extractall(destination)


def _unzip(file_path: str, destination: str) -> None:
    root = os.path.realpath(destination)
    with zipfile.ZipFile(file_path) as archive:
        for name in archive.namelist():
            where = os.path.realpath(os.path.join(root, name))
            if os.path.commonpath([where, root]) != root:
                raise zipfile.BadZipFile(f"refusing the archive member {name!r}")
        archive.extractall(destination)


def _extract_into(path: str, extract: Any) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".extracting", dir=parent)
    try:
        extract(tmp)
        if os.path.isdir(path):
            old = f"{tmp}.old"
            os.replace(path, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# -- get_file -----------------------------------------------------------------------------------
def _cache_folder(cache_dir: str | os.PathLike[str] | None, cache_subdir: str) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser() / cache_subdir
    parts = Path(cache_subdir).parts
    if Path(cache_subdir).is_absolute():
        return Path(cache_subdir)
    if parts[:1] == ("datasets",):
        return data_home().joinpath(*parts[1:])
    return Path.home() / ".nablanet" / cache_subdir


def get_file(
    fname: str | os.PathLike[str] | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: str | list[str] | None = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
    force_download: bool = False,
) -> str:
    """Download a file from a URL unless it is already in the cache (``keras.utils.get_file``).

    Parameters
    ----------
    fname : str, optional
        Name of the file in the cache (default: the last part of ``origin``'s path). With
        ``extract``, a name without an extension names the extraction folder.
    origin : str
        URL of the file (``http``, ``https`` or ``file``).
    untar, md5_hash
        Keras's deprecated forms of ``extract=True, archive_format='tar'`` and of ``file_hash``
        with ``hash_algorithm='md5'``.
    file_hash : str, optional
        The expected SHA-256 (or MD5) of the file. A cached file that does not match is
        downloaded again; a download that does not match is discarded (``ValueError``).
    cache_subdir : str
        Folder under ``cache_dir`` (an absolute path is used as it is). The default
        ``'datasets'`` is nablanet's data folder (see the module's notes).
    hash_algorithm : {'auto', 'sha256', 'md5'}
        ``'auto'``: SHA-256 for a 64-digit hash, otherwise MD5.
    extract : bool
        Extract the archive (tar or zip) and return the folder it was extracted to.
    archive_format : {'auto', 'tar', 'zip'}, list or None
    cache_dir : path, optional
        Default ``~/.nablanet``.
    force_download : bool
        Download even when the file is cached (the cached copy is replaced only by a
        complete one).

    Returns
    -------
    str
        The path of the file, or of the extraction folder with ``extract``.

    Raises
    ------
    ValueError
        A bad argument, or a download whose hash does not match ``file_hash``.
    DownloadError
        The server could not be reached, answered with an error, or cut the transfer short.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _algorithm(hash_algorithm, file_hash)
    name = os.fspath(fname) if fname is not None else ""
    if not name:
        name = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not name or name in (os.curdir, os.pardir):
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'. "
                             "Please specify the `fname` argument.")
    elif os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify the "
                         f"file's parent directory, use the `cache_dir` argument. "
                         f"Received: fname={name}")

    folder = _cache_folder(cache_dir, cache_subdir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        if cache_dir is not None:
            raise
        folder = Path(tempfile.gettempdir()) / ".nablanet" / cache_subdir
        folder.mkdir(parents=True, exist_ok=True)

    extraction_dir: Path | None = None
    if extract or untar:
        if fname is not None and "." in name:
            target = folder / name
            extraction_dir = folder / f"{name[:name.find('.')]}_extracted"
        else:
            target = folder / f"{name}_archive"
            extraction_dir = folder / name
    else:
        target = folder / name

    download = force_download or not target.exists()
    if not download and file_hash is not None and not validate_file(target, file_hash,
                                                                    algorithm):
        print(f"A local file was found, but it seems to be incomplete or outdated because the "
              f"{algorithm} file hash does not match the original value of {file_hash} so we "
              "will re-download the data.")
        download = True
    if download:
        print(f"Downloading data from {origin}", flush=True)
        _transfer(origin, target, None if file_hash is None else f"{algorithm}:{file_hash}")

    if extraction_dir is None:
        return str(target)
    if download or not extraction_dir.is_dir():
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            import warnings

            warnings.warn(f"get_file: could not extract {target}: it is not a tar or zip "
                          "archive.", stacklevel=2)
    return str(extraction_dir)


# -- the published files ------------------------------------------------------------------------
def _source_url(entry: RemoteFile) -> str:
    mirror = os.environ.get(DATA_URL_ENV)
    if not mirror:
        return entry.url
    return mirror.rstrip("/") + "/" + entry.fname


def fetch(name: str, directory: str | os.PathLike[str] | None = None,
          fname: str | None = None) -> Path:
    """Download the published file ``name`` (a key of :data:`REGISTRY`) into ``directory``
    (default: nablanet's data folder) as ``fname`` (default ``name``) unless a copy with the
    published SHA-256 is there; return its path.

    The file comes from ``$NABLANET_DATA_URL/<name>`` when that is set, else from its
    published URL, and is checked against the published SHA-256 either way.
    """
    if name not in REGISTRY:
        raise ValueError(f"fetch: unknown file {name!r}. Known: {sorted(REGISTRY)}")
    entry = REGISTRY[name]
    folder = Path(directory).expanduser() if directory is not None else data_home()
    target = folder / (fname or entry.fname)
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        if free < entry.size:
            raise DownloadError(f"Not enough disk space in {folder} for {entry.fname}: it "
                                f"needs {entry.size / 1e6:.0f} MB, {free / 1e6:.0f} MB are "
                                "free.")
    return Path(get_file(target.name, _source_url(entry), file_hash=entry.sha256,
                         cache_dir=folder, cache_subdir=""))
