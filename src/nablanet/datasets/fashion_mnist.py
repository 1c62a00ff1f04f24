"""Fashion-MNIST (``keras.datasets.fashion_mnist``): Zalando's article images."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from nablanet.data.download import data_home, fetch

__all__ = ["CLASS_NAMES", "load_data", "read_idx"]

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
          "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def read_idx(path: str | Path) -> np.ndarray:
    """Read a gzipped idx file of unsigned bytes (the MNIST format) into a uint8 array.

    The header is two zero bytes, the type code ``0x08`` (unsigned byte), the number of
    dimensions ``d``, then ``d`` big-endian 32-bit sizes; the data follows.
    """
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or not 1 <= data[3] <= 4:
        raise ValueError(f"{path}: not an idx file of unsigned bytes (header {data[:4]!r})")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(shape)):
        raise ValueError(f"{path}: the header gives the shape {shape} but the file holds "
                         f"{len(data) - offset} values")
    return np.frombuffer(data, np.uint8, offset=offset).reshape(shape)


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST: 60,000 training and 10,000 test images of 10 kinds of clothing,
    28x28 grey (labels: :data:`CLASS_NAMES`).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x``: uint8 ``(n, 28, 28)``; ``y``: uint8 ``(n,)``.

    The four idx files (30 MB) are Keras's copies, downloaded once into
    ``<data folder>/fashion-mnist`` and checked against their published SHA-256.
    Fashion-MNIST is by Zalando SE, under the MIT licence.
    """
    folder = data_home() / "fashion-mnist"
    y_train, x_train, y_test, x_test = (read_idx(fetch(name, folder)) for name in _FILES)
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.shape[1:] != (28, 28) or len(x) != len(y):
            raise ValueError(f"fashion_mnist: unexpected shapes {x.shape} and {y.shape}")
    return (x_train, y_train), (x_test, y_test)
