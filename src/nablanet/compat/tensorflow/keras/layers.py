"""``keras.layers``: every public name of :mod:`nablanet.layers`."""

import nablanet.layers as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
