"""Keras's image helpers on Pillow: ``array_to_img``, ``img_to_array``, ``load_img``,
``save_img`` (``keras.utils`` and ``keras.preprocessing.image``).

Arrays are ``(height, width, channels)`` (``data_format='channels_last'``, the default) or
``(channels, height, width)``; images are ``PIL.Image.Image`` objects.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img"]

#: Keras's names of Pillow's resampling filters.
PIL_INTERPOLATION_METHODS = {
    "nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC, "hamming": Image.Resampling.HAMMING,
    "box": Image.Resampling.BOX, "lanczos": Image.Resampling.LANCZOS,
}


def _data_format(data_format: str | None) -> str:
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("The `data_format` argument must be one of 'channels_first', "
                         f"'channels_last'. Received: data_format={data_format!r}")
    return data_format


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: Any = None) -> Image.Image:
    r"""A 3-D array as a PIL image (1 channel: ``'L'``, or ``'I'`` above 255; 3: ``'RGB'``;
    4: ``'RGBA'``).

    With ``scale`` the values are mapped linearly onto :math:`[0, 255]`:
    :math:`x \leftarrow 255\,(x - \min x) / \max(x - \min x)` (no division when the
    maximum is 0).

    Examples
    --------
    >>> array_to_img(np.zeros((4, 5, 3))).size
    (5, 4)
    """
    x = np.asarray(getattr(x, "data", x), dtype=dtype or np.float32)
    if x.ndim != 3:
        raise ValueError("Expected image array to have rank 3 (single image). "
                         f"Got array with shape: {x.shape}")
    if _data_format(data_format) == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return Image.fromarray(x.astype(np.uint8), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype(np.uint8), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype(np.int32), "I")
        return Image.fromarray(x[:, :, 0].astype(np.uint8), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A PIL image as a 3-D float32 array (a grayscale image gets a channel axis of 1).

    Examples
    --------
    >>> img_to_array(Image.new("L", (5, 4))).shape
    (4, 5, 1)
    """
    x = np.asarray(img, dtype=dtype or np.float32)
    first = _data_format(data_format) == "channels_first"
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if first else x
    if x.ndim == 2:
        return x[None] if first else x[..., None]
    raise ValueError(f"Unsupported image shape: {x.shape}")


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None,
             scale: bool = True, **kwargs: Any) -> None:
    """Save an array as an image file; the format comes from ``file_format`` or the path's
    extension (``'jpg'`` is JPEG). An RGBA image saved as JPEG loses its alpha channel, with a
    warning. ``kwargs`` go to ``PIL.Image.save``."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if file_format is None and isinstance(path, (str, os.PathLike)):
        file_format = os.path.splitext(os.fspath(path))[1][1:] or None
    if file_format is not None and file_format.lower() in ("jpg", "jpeg"):
        file_format = "jpeg"
        if img.mode == "RGBA":
            warnings.warn("The JPEG format does not support RGBA images, converting to RGB.",
                          stacklevel=2)
            img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path: Any, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Image.Image:
    """Load an image file (a path or an ``io.BytesIO``) as a PIL image.

    Parameters
    ----------
    color_mode : {'rgb', 'rgba', 'grayscale'}
    target_size : (height, width), optional
        Resize to this size with ``interpolation`` (a Keras / Pillow filter name).
    keep_aspect_ratio : bool
        Crop the largest centred region with the target's aspect ratio before resizing.
    """
    img: Image.Image
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, (str, bytes, os.PathLike)):
        with open(path, "rb") as f:
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode == "rgba":
        if img.mode != "RGBA":
            img = img.convert("RGBA")
    elif color_mode == "rgb":
        if img.mode != "RGB":
            img = img.convert("RGB")
    else:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    if target_size is not None:
        width, height = int(target_size[1]), int(target_size[0])
        if img.size != (width, height):
            if interpolation not in PIL_INTERPOLATION_METHODS:
                raise ValueError("Invalid interpolation method {} specified. Supported methods "
                                 "are {}".format(interpolation,
                                                 ", ".join(PIL_INTERPOLATION_METHODS)))
            resample = PIL_INTERPOLATION_METHODS[interpolation]
            if keep_aspect_ratio:
                w, h = img.size
                crop_w = min(w, int(h * width / height))
                crop_h = min(h, int(w * height / width))
                left, top = (w - crop_w) // 2, (h - crop_h) // 2
                img = img.crop((left, top, left + crop_w, top + crop_h))
            img = img.resize((width, height), resample)
    return img
