"""``keras.backend``: ``clear_session`` (resets automatic layer names)."""

from nablanet.layers import clear_session

__all__ = ["clear_session"]
