"""``keras.regularizers``: every public name of :mod:`nablanet.regularizers`."""

import nablanet.regularizers as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
