"""``tf.image``: ``resize`` (bilinear by default, half-pixel centres) and ``ResizeMethod``."""

from nablanet.data import ResizeMethod, resize

__all__ = ["ResizeMethod", "resize"]
