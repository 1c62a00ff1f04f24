"""``keras.preprocessing``: the dataset builders at its top level, and the ``sequence`` and
``image`` modules of tf.keras scripts (``keras.preprocessing.sequence.pad_sequences``)."""

from nablanet.compat.tensorflow.keras.preprocessing import image, sequence
from nablanet.data import (
    image_dataset_from_directory,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)

__all__ = ["image", "image_dataset_from_directory", "sequence", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
