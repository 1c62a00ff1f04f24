"""``keras.callbacks``: every public name of :mod:`nablanet.callbacks`."""

import nablanet.callbacks as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
