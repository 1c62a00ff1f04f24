"""``tensorflow_datasets`` names used by the chapter: ``tfds.load`` (and ``list_builders``).

``tfds.load('rock_paper_scissors', ...)`` reads the published archives or their extracted
folders from ``data_dir``, ``$NABLANET_DATA_DIR`` or ``~/.nablanet/datasets/rock_paper_scissors``,
and downloads the archives that are missing (``download=True``, TFDS's default);
``'rock_paper_scissors_generated'`` is the stand-in that ships with nablanet. See
:func:`nablanet.data.load`.
"""

from nablanet.data import ClassLabel, Dataset, DatasetInfo, ReadInstruction, load
from nablanet.data import builder_names as list_builders

__all__ = ["ClassLabel", "Dataset", "DatasetInfo", "ReadInstruction", "list_builders", "load"]
