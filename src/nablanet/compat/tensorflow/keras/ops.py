"""``keras.ops``: the table of :mod:`nablanet.keras_ops` (``keras.ops.mean``, ``keras.ops.nn``,
...)."""

import nablanet.keras_ops as _source
from nablanet.compat._table import reexport as _reexport

__all__ = _reexport(globals(), _source, core=_source.core, nn=_source.nn, numpy=_source.numpy)
