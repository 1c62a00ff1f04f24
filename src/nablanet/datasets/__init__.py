"""Keras's small data sets (``keras.datasets``): ``mnist``, ``fashion_mnist``, ``cifar10``.

Each module's ``load_data()`` downloads the published files once (into nablanet's data folder,
``$NABLANET_DATA_DIR`` or ``~/.nablanet/datasets``; see :mod:`nablanet.data.download`), checks
them against their published SHA-256, and returns Keras's arrays:
``(x_train, y_train), (x_test, y_test)``.

========================  =========================  ===========  =================  ======
module                    x_train / x_test           y            files              size
========================  =========================  ===========  =================  ======
``mnist``                 uint8 (60000|10000, 28, 28)  uint8 (n,)   ``mnist.npz``      11 MB
``fashion_mnist``         uint8 (60000|10000, 28, 28)  uint8 (n,)   four idx ``.gz``   30 MB
``cifar10``               uint8 (50000|10000, 32, 32, 3)  uint8 (n, 1)  binary ``.tar.gz``  170 MB
========================  =========================  ===========  =================  ======

Downloads are read as data only: ``mnist.npz`` with ``allow_pickle=False``, the idx and CIFAR
binary records by their documented layouts (nothing is unpickled).
"""

from nablanet.datasets import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
