"""MNIST handwritten digits (``keras.datasets.mnist``)."""

from __future__ import annotations

import numpy as np

from nablanet.data.download import fetch

__all__ = ["load_data"]


def load_data(path: str = "mnist.npz") -> tuple[tuple[np.ndarray, np.ndarray],
                                                 tuple[np.ndarray, np.ndarray]]:
    """Load MNIST: 60,000 training and 10,000 test images of the digits 0-9, 28x28 grey.

    Parameters
    ----------
    path : str
        Name of the cached file in nablanet's data folder (Keras: relative to
        ``~/.keras/datasets``).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x``: uint8 ``(n, 28, 28)`` with values 0-255; ``y``: uint8 ``(n,)`` digits.

    The file is Keras's ``mnist.npz`` (11 MB), downloaded once and checked against its
    published SHA-256. MNIST is by Yann LeCun and Corinna Cortes, under CC BY-SA 3.0.
    """
    file = fetch("mnist.npz", fname=path)
    with np.load(file, allow_pickle=False) as f:
        x_train, y_train = f["x_train"], f["y_train"]
        x_test, y_test = f["x_test"], f["y_test"]
    return (x_train, y_train), (x_test, y_test)
