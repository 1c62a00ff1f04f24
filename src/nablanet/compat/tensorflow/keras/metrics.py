"""``keras.metrics``: every public name of :mod:`nablanet.metrics`."""

import nablanet.metrics as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
