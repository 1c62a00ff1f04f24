"""Translated from Keras 3: ``keras/src/utils/image_utils_test.py`` (all of it: test_save_jpg
with its four cases), run against ``nablanet.utils`` (``save_img``, ``load_img``,
``img_to_array``). Keras's ``setUp``/``tearDown`` set the global image data format to
channels_last; nablanet has no global format (channels_last is the default).
Left out: nothing.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from nablanet.utils import img_to_array, load_img, save_img


@pytest.mark.filterwarnings("ignore:The JPEG format does not support RGBA")
@pytest.mark.parametrize("shape,name,file_format,use_explicit_format", [
    ((50, 50, 3), "rgb.jpg", "jpg", True),
    ((50, 50, 4), "rgba.jpg", "jpg", True),
    ((50, 50, 3), "rgb_inferred.jpg", None, False),
    ((50, 50, 4), "rgba_inferred.jpg", None, False),
])
def test_save_jpg(tmp_path, shape, name, file_format, use_explicit_format):
    path = os.path.join(tmp_path, name)
    img = np.random.randint(0, 256, size=shape, dtype=np.uint8)
    if use_explicit_format:
        save_img(path, img, file_format=file_format)
    else:
        save_img(path, img)  # inferred from the path
    assert os.path.exists(path)
    loaded_array = img_to_array(load_img(path))  # converted to RGB
    assert loaded_array.shape == (50, 50, 3)
