"""``keras.utils``: every public name of :mod:`nablanet.utils` (``set_random_seed``,
``to_categorical``, ``Progbar``, ``pad_sequences``, ``timeseries_dataset_from_array``,
``split_dataset``, ``text_dataset_from_directory``, the image helpers, ...) and
``image_dataset_from_directory``."""

import nablanet.utils as _source
from nablanet.compat._table import reexport as _reexport
from nablanet.data import image_dataset_from_directory

__all__ = _reexport(globals(), _source,
                    image_dataset_from_directory=image_dataset_from_directory)
