"""``keras.utils``: ``set_random_seed``, ``to_categorical``, ``Progbar`` and
``image_dataset_from_directory``."""

import nablanet.utils as _source
from nablanet.compat._table import reexport as _reexport
from nablanet.data import image_dataset_from_directory

__all__ = _reexport(globals(), _source,
                    image_dataset_from_directory=image_dataset_from_directory)
