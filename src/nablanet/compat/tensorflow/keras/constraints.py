"""``keras.constraints``: every public name of :mod:`nablanet.constraints`."""

import nablanet.constraints as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
