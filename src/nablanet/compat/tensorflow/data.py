"""``tf.data``: the ``Dataset`` pipeline and ``AUTOTUNE`` (:mod:`nablanet.data.dataset`)."""

from nablanet.data import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset"]
