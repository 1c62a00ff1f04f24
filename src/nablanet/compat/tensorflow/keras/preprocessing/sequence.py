"""``keras.preprocessing.sequence``: ``pad_sequences`` (:mod:`nablanet.data.sequences`)."""

from nablanet.data import pad_sequences

__all__ = ["pad_sequences"]
