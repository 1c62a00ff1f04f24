r"""Image resizing primitives (NHWC): nearest-neighbour upsampling and separable resizing.

``upsampling2d`` repeats rows and columns by integer factors (Keras ``UpSampling2D``);
``resize`` maps ``(N, H, W, C)`` to ``(N, H', W', C)`` with TensorFlow's half-pixel sampling
(``tf.image.resize``, no antialiasing) as two small interpolation matrices,

.. math:: y[n, :, :, c] = A_h\, x[n, :, :, c]\, A_w^\top, \qquad
          \bar x[n, :, :, c] = A_h^\top\, \bar y[n, :, :, c]\, A_w

where for 'bilinear' row :math:`o` of :math:`A` holds the weights :math:`1-\lambda, \lambda` of
input positions :math:`\lfloor u \rfloor` and :math:`\min(\lfloor u \rfloor + 1, n - 1)`,
:math:`u = \max((o + \tfrac12)\, n / n' - \tfrac12, 0)`, :math:`\lambda = u - \lfloor u\rfloor`,
and for 'nearest' a single 1 at :math:`\min(\lfloor (o + \tfrac12)\, n/n' \rfloor, n - 1)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor
from nablanet.ops.conv import normalize_tuple


class UpSampling2D(Function):
    r"""Nearest-neighbour upsampling by integer factors :math:`(f_h, f_w)`.

    .. math:: y[n, i, j, c] = x[n, \lfloor i / f_h \rfloor, \lfloor j / f_w \rfloor, c]

    The gradient sums each :math:`f_h \times f_w` block.
    """

    __slots__ = ("size",)

    def forward(self, x: np.ndarray, size: Any = (2, 2)) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(
                f"upsampling2d: expected a 4-D input (batch, height, width, channels); "
                f"received an input of shape {x.shape}"
            )
        fh, fw = self.size = normalize_tuple(size, 2, "size", "upsampling2d")
        n, h, w, c = x.shape
        out = np.empty((n, h, fh, w, fw, c), dtype=x.dtype)
        out[...] = x[:, :, None, :, None, :]
        return out.reshape(n, h * fh, w * fw, c)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        fh, fw = self.size
        n, hh, ww, c = grad.shape
        return (grad.reshape(n, hh // fh, fh, ww // fw, fw, c).sum(axis=(2, 4)),)


def interpolation_matrix(size_in: int, size_out: int, method: str,
                         dtype: Any = np.float32) -> np.ndarray:
    """The ``(size_out, size_in)`` matrix that resamples one axis (half-pixel centres)."""
    scale = size_in / size_out
    rows = np.arange(size_out)
    a = np.zeros((size_out, size_in), dtype=dtype)
    if method == "nearest":
        src = np.minimum(np.floor((rows + 0.5) * scale).astype(int), size_in - 1)
        a[rows, src] = 1
        return a
    u = np.maximum((rows + 0.5) * scale - 0.5, 0.0)
    lo = np.minimum(np.floor(u).astype(int), size_in - 1)
    hi = np.minimum(lo + 1, size_in - 1)
    lam = u - lo
    np.add.at(a, (rows, lo), 1 - lam)
    np.add.at(a, (rows, hi), lam)
    return a


class Resize(Function):
    r"""Separable resize :math:`y = A_h x A_w^\top` per image and channel (see module doc)."""

    __slots__ = ("ah", "aw")

    def forward(self, x: np.ndarray, size: Any = (1, 1), method: str = "bilinear") -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(
                f"resize: expected a 4-D input (batch, height, width, channels); received an "
                f"input of shape {x.shape}"
            )
        if method not in ("bilinear", "nearest"):
            raise ValueError(
                f"resize: method must be 'bilinear' or 'nearest'. Received: method={method!r}"
            )
        ho, wo = normalize_tuple(size, 2, "size", "resize")
        dtype = x.dtype if x.dtype.kind == "f" else np.float32
        self.ah = interpolation_matrix(x.shape[1], ho, method, dtype)
        self.aw = interpolation_matrix(x.shape[2], wo, method, dtype)
        y = np.einsum("oh,nhwc->nowc", self.ah, x, optimize=True)
        return np.einsum("pw,nowc->nopc", self.aw, y, optimize=True)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        g = np.einsum("pw,nopc->nowc", self.aw, grad, optimize=True)
        return (np.einsum("oh,nowc->nhwc", self.ah, g, optimize=True),)


def upsampling2d(x: Any, size: int | Sequence[int] = (2, 2),
                 interpolation: str = "nearest") -> Tensor:
    r"""Upsample ``(batch, height, width, channels)`` by integer factors (Keras ``UpSampling2D``).

    ``interpolation`` is 'nearest' (:math:`y[n,i,j,c] = x[n, \lfloor i/f_h\rfloor,
    \lfloor j/f_w \rfloor, c]`) or 'bilinear' (half-pixel centres, as Keras).

    Examples
    --------
    >>> import numpy as np
    >>> upsampling2d(np.array([[1.0, 2.0]]).reshape(1, 1, 2, 1)).numpy()[0, :, :, 0]
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]])
    """
    if interpolation == "nearest":
        return UpSampling2D.apply(x, size=size)
    if interpolation != "bilinear":
        raise ValueError(
            f"upsampling2d: interpolation must be 'nearest' or 'bilinear'. "
            f"Received: interpolation={interpolation!r}"
        )
    fh, fw = normalize_tuple(size, 2, "size", "upsampling2d")
    shape = np.shape(x.data if isinstance(x, Tensor) else x)
    if len(shape) != 4:
        raise ValueError(
            f"upsampling2d: expected a 4-D input (batch, height, width, channels); received an "
            f"input of shape {tuple(shape)}"
        )
    return Resize.apply(x, size=(shape[1] * fh, shape[2] * fw), method="bilinear")


def resize(images: Any, size: Sequence[int], method: str = "bilinear") -> Tensor:
    r"""Resize images to ``size = (height, width)`` like ``tf.image.resize`` (no antialias).

    Accepts ``(batch, height, width, channels)`` or a single ``(height, width, channels)`` image.

    Examples
    --------
    >>> import numpy as np
    >>> resize(np.ones((5, 7, 3)), (4, 4)).shape
    (4, 4, 3)
    """
    data = images.data if isinstance(images, Tensor) else np.asarray(images)
    if data.ndim == 3:
        from nablanet.ops.shape import expand_dims, squeeze

        return squeeze(Resize.apply(expand_dims(images, 0), size=size, method=method), 0)
    return Resize.apply(images, size=size, method=method)
