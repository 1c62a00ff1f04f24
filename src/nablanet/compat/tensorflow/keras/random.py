"""``keras.random``: the table of :mod:`nablanet.keras_ops.random` (``normal``, ``uniform``,
``randint``, ``shuffle``, ``dropout``, ``SeedGenerator``)."""

import nablanet.keras_ops.random as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
