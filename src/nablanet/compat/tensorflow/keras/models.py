"""``keras.models``: every public name of :mod:`nablanet.models`."""

import nablanet.models as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
