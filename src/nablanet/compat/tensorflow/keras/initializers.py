"""``keras.initializers``: every public name of :mod:`nablanet.initializers`."""

import nablanet.initializers as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
