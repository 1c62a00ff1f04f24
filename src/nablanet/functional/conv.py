r"""Convolution and pooling for functional code: the primitives plus composites built on them.

Re-exported primitives (channels-last, as Keras): :func:`conv2d` (the cross-correlation of
eq. 16, what ``Conv2D`` computes), :func:`conv1d`, :func:`conv2d_transpose`, the max / average
pools, :func:`conv2d_max_pool2d` (conv + ReLU + max pool fused, what a model runs for a
``Conv2D(..., activation='relu')`` followed by a ``MaxPooling2D``) and image resizing.
Composites here (no backward of their own): :func:`convolve2d`, the true convolution of
eqs. 13–15, and the global pools.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.ops.conv import conv1d, conv2d, conv2d_transpose
from nablanet.ops.conv_pool import conv2d_max_pool2d
from nablanet.ops.pooling import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from nablanet.ops.reduction import max as reduce_max
from nablanet.ops.reduction import mean as reduce_mean
from nablanet.ops.resize import resize, upsampling2d
from nablanet.ops.shape import flip, pad, reshape

__all__ = [
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv2d_max_pool2d",
    "conv2d_transpose",
    "convolve2d",
    "global_average_pooling1d",
    "global_average_pooling2d",
    "global_max_pooling1d",
    "global_max_pooling2d",
    "max_pool1d",
    "max_pool2d",
    "resize",
    "upsampling2d",
]


def convolve2d(x: Any, kernel: Any, mode: str = "valid") -> Tensor:
    r"""True 2-D discrete convolution of single-channel images (eqs. 13–15, corrected).

    .. math::

        s(i, j) = (x * y)(i, j) = \sum_m \sum_n x(m, n)\, y(i - m, j - n)
                = \sum_m \sum_n x(i - m, j - n)\, y(m, n)

    i.e. the cross-correlation (eq. 16, :func:`conv2d`) with the kernel flipped along both axes.

    Parameters
    ----------
    x : Tensor or array, shape ``(height, width)`` or ``(batch, height, width)``
    kernel : Tensor or array, shape ``(kernel_height, kernel_width)``
    mode : {'valid', 'full', 'same'}
        'valid' keeps the positions where the kernel lies inside ``x``
        (size :math:`n - k + 1`), 'full' every position with any overlap (:math:`n + k - 1`),
        'same' the centre of 'full' with the size of ``x`` (as ``scipy.signal.convolve2d``).

    Examples
    --------
    >>> import numpy as np
    >>> convolve2d(np.eye(3), np.array([[1.0, 2.0], [0.0, 0.0]])).numpy()
    array([[1., 2.],
           [0., 1.]])
    """
    xs = np.shape(x.data if isinstance(x, Tensor) else x)
    ks = np.shape(kernel.data if isinstance(kernel, Tensor) else kernel)
    if len(xs) not in (2, 3):
        raise ValueError(
            f"convolve2d: expected a 2-D image (height, width) or a batch (batch, height, "
            f"width); received an input of shape {tuple(xs)}"
        )
    if len(ks) != 2:
        raise ValueError(
            f"convolve2d: expected a 2-D kernel (kernel_height, kernel_width); received a "
            f"kernel of shape {tuple(ks)}"
        )
    if mode not in ("valid", "full", "same"):
        raise ValueError(
            f"convolve2d: mode must be 'valid', 'full' or 'same'. Received: mode={mode!r}"
        )
    batched = len(xs) == 3
    images = reshape(x, (xs[0] if batched else 1, xs[-2], xs[-1], 1))
    kh, kw = ks
    if mode == "full":
        images = pad(images, ((0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1), (0, 0)))
    elif mode == "same":
        oh, ow = (kh - 1) // 2, (kw - 1) // 2
        images = pad(images, ((0, 0), (kh - 1 - oh, oh), (kw - 1 - ow, ow), (0, 0)))
    flipped = reshape(flip(kernel, (0, 1)), (kh, kw, 1, 1))
    out = conv2d(images, flipped)
    shape = out.shape[:3] if batched else out.shape[1:3]
    return reshape(out, shape)


def global_average_pooling2d(x: Any, keepdims: bool = False) -> Tensor:
    r"""Mean over height and width of ``(batch, height, width, channels)``.

    .. math:: y[n, c] = \frac{1}{HW} \sum_{i, j} x[n, i, j, c]
    """
    return reduce_mean(x, axis=(1, 2), keepdims=keepdims)


def global_max_pooling2d(x: Any, keepdims: bool = False) -> Tensor:
    r"""Maximum over height and width: :math:`y[n, c] = \max_{i, j} x[n, i, j, c]`."""
    return reduce_max(x, axis=(1, 2), keepdims=keepdims)


def global_average_pooling1d(x: Any, keepdims: bool = False) -> Tensor:
    r"""Mean over the steps of ``(batch, steps, channels)``: :math:`y[n, c] = \frac1T\sum_t x[n,t,c]`."""  # noqa: E501
    return reduce_mean(x, axis=1, keepdims=keepdims)


def global_max_pooling1d(x: Any, keepdims: bool = False) -> Tensor:
    r"""Maximum over the steps: :math:`y[n, c] = \max_t x[n, t, c]`."""
    return reduce_max(x, axis=1, keepdims=keepdims)
