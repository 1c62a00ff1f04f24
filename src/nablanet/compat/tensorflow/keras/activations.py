"""``keras.activations``: every public name of :mod:`nablanet.activations`."""

import nablanet.activations as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
