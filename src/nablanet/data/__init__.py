"""Input pipelines and data sets: ``Dataset`` (tf.data-like), image operations, TFDS split
strings, image folders and archives, and a generated rock-paper-scissors data set.

Public API
----------
``Dataset``, ``TensorSpec``, ``INFINITE_CARDINALITY``, ``UNKNOWN_CARDINALITY``, ``AUTOTUNE``
    the pipeline (:mod:`nablanet.data.dataset`).
``cast``, ``resize``, ``ResizeMethod``
    ``tf.cast`` / ``tf.image.resize`` (:mod:`nablanet.data.image_ops`).
``parse_split``, ``resolve_split``
    TFDS split strings (:mod:`nablanet.data.splits`).
``decode_image``, ``image_dataset_from_directory``, ``ImageDecodeError``
    Pillow decoding and Keras's directory loader (:mod:`nablanet.data.images`).
``pad_sequences``, ``timeseries_dataset_from_array``, ``text_dataset_from_directory``,
``split_dataset``, ``array_to_img``, ``img_to_array``, ``load_img``, ``save_img``
    Keras's data utilities (:mod:`nablanet.data.sequences`, :mod:`nablanet.data.text`,
    :mod:`nablanet.data.dataset_utils`, :mod:`nablanet.data.image_utils`).
``load``, ``DatasetInfo``, ``builder_names``
    ``tfds.load`` for ``'rock_paper_scissors'`` and ``'rock_paper_scissors_generated'``
    (:mod:`nablanet.data.catalog`).
``download.get_file``, ``download.fetch``
    Keras's ``get_file`` and the published files the data sets download
    (:mod:`nablanet.data.download`; ``get_file`` is exported as ``nablanet.utils.get_file``).
"""

from nablanet.data.catalog import ClassLabel, DatasetInfo, SplitInfo, builder_names, load
from nablanet.data.dataset import (
    AUTOTUNE,
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    Dataset,
    TensorSpec,
)
from nablanet.data.generated import generate_split
from nablanet.data.image_ops import ResizeMethod, cast, resize
from nablanet.data.images import ImageDecodeError, decode_image, image_dataset_from_directory
from nablanet.data.splits import ReadInstruction, ReadSlice, parse_split, resolve_split

__all__ = [
    "AUTOTUNE",
    "INFINITE_CARDINALITY",
    "UNKNOWN_CARDINALITY",
    "ClassLabel",
    "Dataset",
    "DatasetInfo",
    "ImageDecodeError",
    "ReadInstruction",
    "ReadSlice",
    "ResizeMethod",
    "SplitInfo",
    "TensorSpec",
    "builder_names",
    "cast",
    "decode_image",
    "generate_split",
    "image_dataset_from_directory",
    "load",
    "parse_split",
    "resize",
    "resolve_split",
]

from nablanet.data.dataset_utils import split_dataset  # noqa: E402
from nablanet.data.image_utils import array_to_img, img_to_array, load_img, save_img  # noqa: E402
from nablanet.data.sequences import pad_sequences, timeseries_dataset_from_array  # noqa: E402
from nablanet.data.text import text_dataset_from_directory  # noqa: E402

__all__ += [
    "array_to_img", "img_to_array", "load_img", "pad_sequences", "save_img", "split_dataset",
    "text_dataset_from_directory", "timeseries_dataset_from_array",
]
