"""Image operations used in input pipelines: ``cast`` and ``resize`` (``tf.cast``,
``tf.image.resize``).

``resize`` works on one image ``(height, width, channels)`` or a batch
``(batch, height, width, channels)`` given as a Tensor or an ndarray, and follows
``tf.image.resize`` (TensorFlow 2): pixel centres at half-integers (``half_pixel_centers=True``,
``align_corners=False``), float32 output for ``'bilinear'``, the input dtype kept for
``'nearest'``. It is a gather of two rows and two columns per output pixel followed by linear
interpolation; the indices and weights for each (input size, output size) pair are computed
once and cached. The result is not differentiable (it is meant for preprocessing).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd import Tensor
from nablanet.ops import cast as _cast_op

__all__ = ["ResizeMethod", "cast", "resize"]


class ResizeMethod:
    """The method names ``resize`` accepts (``tf.image.ResizeMethod``)."""

    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"


_METHODS = ("bilinear", "nearest")


def cast(x: Any, dtype: Any) -> Tensor:
    """Convert ``x`` (Tensor, array or number) to ``dtype`` as a Tensor (``tf.cast``).

    Float to integer conversion truncates toward zero, as in TensorFlow. Between floating
    dtypes the conversion is differentiable.

    Examples
    --------
    >>> import numpy as np
    >>> cast(np.array([0, 128, 255], np.uint8), np.float32) / 255.0
    tensor([0.       , 0.5019608, 1.       ])
    """
    target = np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    if not isinstance(x, Tensor):
        x = Tensor(np.asarray(x))
    if x.data.dtype == target:
        return x
    return _cast_op(x, target)


@functools.lru_cache(maxsize=256)
def _linear_taps(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower index, upper index and weight of the upper one for each output position.

    .. math::
        s = (i + \\tfrac12)\\,\\frac{n_{in}}{n_{out}} - \\tfrac12,\\quad
        i_0 = \\lfloor \\max(s, 0) \\rfloor,\\quad i_1 = \\min(i_0 + 1, n_{in} - 1),\\quad
        w = \\max(s, 0) - i_0
    """
    scale = np.float32(in_size / out_size)
    src = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    src = np.maximum(src, np.float32(0.0))
    lo = np.minimum(np.floor(src).astype(np.intp), in_size - 1)
    hi = np.minimum(lo + 1, in_size - 1)
    weight = (src - lo.astype(np.float32)).astype(np.float32)
    for a in (lo, hi, weight):
        a.setflags(write=False)
    return lo, hi, weight


@functools.lru_cache(maxsize=256)
def _nearest_taps(in_size: int, out_size: int) -> np.ndarray:
    """``min(floor((i + 1/2) n_in / n_out), n_in - 1)`` for each output position."""
    scale = np.float32(in_size / out_size)
    src = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale
    index = np.minimum(np.floor(src).astype(np.intp), in_size - 1)
    index.setflags(write=False)
    return index


@functools.lru_cache(maxsize=256)
def _antialias_matrix(in_size: int, out_size: int) -> np.ndarray:
    """Row-stochastic (out, in) matrix of a triangle filter widened by the downscale factor.

    .. math::
        c_i = (i + \\tfrac12)\\frac{n_{in}}{n_{out}},\\quad k = \\max(n_{in}/n_{out}, 1),\\quad
        W_{ij} \\propto \\max\\bigl(0, 1 - |j + \\tfrac12 - c_i| / k\\bigr)
    """
    inv_scale = in_size / out_size
    k = max(inv_scale, 1.0)
    centres = (np.arange(out_size, dtype=np.float64) + 0.5) * inv_scale
    pos = np.arange(in_size, dtype=np.float64) + 0.5
    w = np.maximum(0.0, 1.0 - np.abs(pos[None, :] - centres[:, None]) / k)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(total > 0, w / np.where(total > 0, total, 1.0), 0.0)
    out = w.astype(np.float32)
    out.setflags(write=False)
    return out


def _size_arg(size: Any) -> tuple[int, int]:
    if isinstance(size, Tensor):
        size = size.data
    size = np.asarray(size).reshape(-1).tolist() if not isinstance(size, (list, tuple)) else size
    if len(size) != 2:
        raise ValueError(f"resize: size must be [new_height, new_width]. Received: size={size}")
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if isinstance(s, bool) or int(s) != s or int(s) <= 0:
            raise ValueError(
                f"resize: size entries must be positive integers. Received: size={list(size)}"
            )
        out.append(int(s))
    return out[0], out[1]


def resize(
    images: Any,
    size: Sequence[int],
    method: str = "bilinear",
    preserve_aspect_ratio: bool = False,
    antialias: bool = False,
    name: str | None = None,
) -> Tensor:
    """Resize one image (H, W, C) or a batch (N, H, W, C) to ``size = (new_height, new_width)``.

    Bilinear interpolation with half-pixel centres (``tf.image.resize`` semantics). Output
    pixel :math:`(i, j)` samples the input at

    .. math::
        y_i = (i + \\tfrac12)\\,\\frac{H}{H'} - \\tfrac12, \\qquad
        x_j = (j + \\tfrac12)\\,\\frac{W}{W'} - \\tfrac12,

    clamped to the image, and interpolates linearly between the two nearest rows and then the
    two nearest columns. ``'nearest'`` picks row :math:`\\lfloor (i + \\frac12) H/H' \\rfloor`.
    ``antialias=True`` (bilinear only) widens the triangle filter by the downscale factor when
    shrinking, as TensorFlow's ``scale_and_translate`` and PIL do.

    Parameters
    ----------
    images : Tensor or array_like
        3-D ``(height, width, channels)`` or 4-D ``(batch, height, width, channels)``.
    size : sequence of two ints
        ``(new_height, new_width)``.
    method : {'bilinear', 'nearest'}
    preserve_aspect_ratio : bool
        Scale by one factor so the result fits inside ``size`` (the factor is
        ``min(H'/H, W'/W)`` and each side is rounded).
    antialias : bool
    name : str, optional
        Ignored (TensorFlow compatibility).

    Returns
    -------
    Tensor
        float32 for ``'bilinear'``; the input dtype for ``'nearest'``.

    Examples
    --------
    >>> import numpy as np
    >>> resize(np.arange(4, dtype=np.float32).reshape(1, 4, 1), (1, 2)).numpy().ravel()
    array([0.5, 2.5], dtype=float32)
    """
    method = getattr(method, "value", method)
    if isinstance(method, str):
        method = method.lower()
    if method == "nearest_neighbor":
        method = "nearest"
    if method not in _METHODS:
        raise ValueError(
            f"resize: method must be one of {list(_METHODS)}. Received: method={method!r}"
        )
    x = images.data if isinstance(images, Tensor) else np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(
            "resize: images must be 3-D (height, width, channels) or 4-D (batch, height, width, "
            f"channels). Received: shape={x.shape}"
        )
    new_h, new_w = _size_arg(size)
    single = x.ndim == 3
    if single:
        x = x[None]
    _, h, w, _ = x.shape
    if h == 0 or w == 0:
        raise ValueError(f"resize: images must not be empty. Received: shape={images.shape}")
    if preserve_aspect_ratio:
        factor = min(new_h / h, new_w / w)
        new_h = max(int(np.round(factor * h)), 1)
        new_w = max(int(np.round(factor * w)), 1)

    if method == "nearest":
        rows, cols = _nearest_taps(h, new_h), _nearest_taps(w, new_w)
        out = x[:, rows][:, :, cols]
    elif antialias:
        out = _resize_matrix(x, new_h, new_w)
    else:
        out = _resize_bilinear(x, new_h, new_w)
    if single:
        out = out[0]
    return Tensor(np.ascontiguousarray(out))


def _resize_bilinear(x: np.ndarray, new_h: int, new_w: int) -> np.ndarray:
    _, h, w, _ = x.shape
    # rows: gather in the input dtype (cheaper for uint8), then convert and interpolate
    if new_h == h:
        r = x.astype(np.float32, copy=False)
    else:
        lo, hi, wy = _linear_taps(h, new_h)
        top = x[:, lo].astype(np.float32, copy=False)
        bottom = x[:, hi].astype(np.float32, copy=False)
        bottom -= top
        bottom *= wy[None, :, None, None]
        top += bottom
        r = top
    if new_w == w:
        return r if r is not x else r.copy()
    lo, hi, wx = _linear_taps(w, new_w)
    left = r[:, :, lo]
    right = r[:, :, hi]
    right -= left
    right *= wx[None, None, :, None]
    left += right
    return left


def _resize_matrix(x: np.ndarray, new_h: int, new_w: int) -> np.ndarray:
    _, h, w, _ = x.shape
    wy = _antialias_matrix(h, new_h)
    wx = _antialias_matrix(w, new_w)
    xf = x.astype(np.float32, copy=False)
    r = np.einsum("oh,nhwc->nowc", wy, xf, optimize=True)
    return np.einsum("pw,nowc->nopc", wx, r, optimize=True).astype(np.float32, copy=False)
