"""``keras.config``: every public name of :mod:`nablanet.config` (``floatx``, ``epsilon``,
``image_data_format``, their setters, ``backend``)."""

import nablanet.config as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source)
