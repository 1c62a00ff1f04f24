"""``keras.losses``: every public name of :mod:`nablanet.losses`."""

import nablanet.losses as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
