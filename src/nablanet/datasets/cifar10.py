"""CIFAR-10 (``keras.datasets.cifar10``), read from its binary version."""

from __future__ import annotations

import tarfile

import numpy as np

from nablanet.data.download import fetch

__all__ = ["CLASS_NAMES", "load_data", "read_records"]

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck")
_RECORD = 1 + 3 * 32 * 32  # a label byte, then the red, green and blue planes
_TRAIN = tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6))
_TEST = "cifar-10-batches-bin/test_batch.bin"


def read_records(data: bytes, name: str = "CIFAR-10 batch") -> tuple[np.ndarray, np.ndarray]:
    """Decode CIFAR-10 binary records into ``(images, labels)``.

    Each record is 3,073 bytes: the label (0-9), then 1,024 red, 1,024 green and 1,024 blue
    values of the 32x32 image, row by row. Returns uint8 images ``(n, 32, 32, 3)`` (channels
    last) and uint8 labels ``(n,)``.
    """
    if len(data) % _RECORD:
        raise ValueError(f"{name}: {len(data)} bytes is not a whole number of "
                         f"{_RECORD}-byte records")
    records = np.frombuffer(data, np.uint8).reshape(-1, _RECORD)
    labels = records[:, 0].copy()
    if labels.size and labels.max() > 9:
        raise ValueError(f"{name}: label {labels.max()} is outside 0-9")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, labels


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, of 10 classes
    (:data:`CLASS_NAMES`).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x``: uint8 ``(n, 32, 32, 3)``; ``y``: uint8 ``(n, 1)``, as Keras returns them.

    The binary version ``cifar-10-binary.tar.gz`` (170 MB) is downloaded once, checked
    against its published SHA-256, and read member by member from the archive (no
    extraction, and no pickles: Keras reads the Python version, whose batches are pickles).
    The training batches come in order 1-5, the test batch last, as in Keras.
    """
    archive = fetch("cifar-10-binary.tar.gz")
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name in (*_TRAIN, _TEST):
                if not member.isfile() or member.size > 10000 * _RECORD:
                    raise ValueError(f"cifar10: {archive}:{member.name} is not a batch of "
                                     "at most 10,000 records")
                stream = tar.extractfile(member)
                assert stream is not None
                parts[member.name] = read_records(stream.read(), member.name)
    missing = [n for n in (*_TRAIN, _TEST) if n not in parts]
    if missing:
        raise ValueError(f"cifar10: {archive} lacks {missing}")
    x_train = np.concatenate([parts[n][0] for n in _TRAIN])
    y_train = np.concatenate([parts[n][1] for n in _TRAIN]).reshape(-1, 1)
    x_test, y_test = parts[_TEST][0], parts[_TEST][1].reshape(-1, 1)
    return (x_train, y_train), (x_test, y_test)
