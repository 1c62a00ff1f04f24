"""Global defaults, Keras 3's ``keras.config`` basics.

- ``floatx()``: the dtype of new layers' weights and computations when a layer is given no
  ``dtype`` (``"float32"``; ``"float64"`` is the other choice nablanet supports);
- ``epsilon()``: the fuzz factor of the weight constraints (``1e-7``);
- ``image_data_format()``: what ``data_format=None`` means for the convolution, pooling and
  ``Flatten`` layers (``"channels_last"``, i.e. NHWC; or ``"channels_first"``);
- ``backend()``: ``"numpy"``.

Each has a ``set_...`` counterpart that validates its argument as Keras does.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "backend",
    "epsilon",
    "floatx",
    "image_data_format",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "standardize_data_format",
]

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"


def backend() -> str:
    """The name of the backend: nablanet computes with NumPy."""
    return "numpy"


def floatx() -> str:
    """The default float dtype, as a string (``"float32"``).

    Examples
    --------
    >>> floatx()
    'float32'
    """
    return _FLOATX


def set_floatx(value: Any) -> None:
    """Set the default float dtype: ``"float32"`` or ``"float64"``."""
    global _FLOATX
    accepted = {"float32", "float64"}
    name = str(value)
    if name not in accepted:
        raise ValueError(f"Unknown `floatx` value: {value}. Expected one of {sorted(accepted)} "
                         "(nablanet has no float16 / bfloat16 computation).")
    _FLOATX = name


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (``1e-7``)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (the default) or ``"channels_first"``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    """Set what ``data_format=None`` means for image layers."""
    global _IMAGE_DATA_FORMAT
    _IMAGE_DATA_FORMAT = standardize_data_format(data_format)


def standardize_data_format(data_format: str | None) -> str:
    """``None`` -> :func:`image_data_format`; otherwise the value, lower-cased and checked."""
    if data_format is None:
        return _IMAGE_DATA_FORMAT
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format}")
    return value
