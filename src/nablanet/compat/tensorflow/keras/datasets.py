"""``keras.datasets``: ``mnist``, ``fashion_mnist`` and ``cifar10``, each with ``load_data()``
(:mod:`nablanet.datasets`)."""

from nablanet.datasets import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
