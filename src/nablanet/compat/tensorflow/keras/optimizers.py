"""``keras.optimizers``: every public name of :mod:`nablanet.optimizers`."""

import nablanet.optimizers as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
