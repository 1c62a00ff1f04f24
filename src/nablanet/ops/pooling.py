r"""Pooling primitives, channels-last as in Keras: max and average pooling in 1-D and 2-D.

A pooling window of size :math:`(p_h, p_w)` moved with strides :math:`(s_h, s_w)` replaces each
position by a summary statistic of its neighbourhood (section 7.3, step 3):

.. math::

    y_\text{max}[n, i, j, c] = \max_{0 \le m < p_h,\, 0 \le l < p_w}
                               x_p[n, i s_h + m, j s_w + l, c]

    y_\text{avg}[n, i, j, c] = \frac{1}{|W_{ij}|} \sum_{(m, l) \in W_{ij}}
                               x[n, i s_h + m, j s_w + l, c]

'same' padding follows TensorFlow (:func:`nablanet.ops.conv.same_padding`); padded positions
never win a max and are excluded from the average's count :math:`|W_{ij}|`, as in TensorFlow.

Both are computed tap by tap: one strided slice of the (padded) input per window offset,
combined with ``np.maximum`` or ``+``. The max-pool gradient goes to one winner per window, the
first maximum in row-major window order (as PyTorch and TensorFlow). The fast max pooling (one
compiled pass each way, split over the batch) is :mod:`nablanet.kernels.pooling`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor
from nablanet.kernels.registry import dispatch
from nablanet.ops.conv import normalize_tuple, resolve_padding


def _taps(*geometry: int) -> Iterator[tuple[slice, slice, slice, slice]]:
    """For each window offset: the index of its slice of the padded input.

    ``geometry`` is ``(pool_h, pool_w, stride_h, stride_w, out_h, out_w)``.
    """
    ph, pw, sh, sw, ho, wo = geometry
    for m in range(ph):
        for n in range(pw):
            yield (slice(None), slice(m, m + (ho - 1) * sh + 1, sh),
                   slice(n, n + (wo - 1) * sw + 1, sw), slice(None))


class _Pool2D(Function):
    """Shared argument handling and geometry of the 2-D pooling primitives."""

    __slots__ = ("x_shape", "padded_shape", "pads", "pool", "strides", "out_hw")

    op_name = "pool2d"
    fill = 0.0

    def _setup(self, x: np.ndarray, pool_size: Any, strides: Any, padding: Any,
               shown: tuple[int, ...] | None) -> np.ndarray:
        op = self.op_name
        if x.ndim != 4:
            raise ValueError(
                f"{op}: expected a 4-D input (batch, height, width, channels); received an "
                f"input of shape {x.shape}"
            )
        pool = normalize_tuple(pool_size, 2, "pool_size", op)
        strides = pool if strides is None else normalize_tuple(strides, 2, "strides", op)
        pads = resolve_padding(padding, x.shape[1:3], pool, strides, (1, 1), op)
        (pt, pb), (pl, pr) = pads
        padded = (x.shape[1] + pt + pb, x.shape[2] + pl + pr)
        if padded[0] < pool[0] or padded[1] < pool[1]:
            raise ValueError(
                f"{op}: pool_size {pool} is larger than the padded input {padded} "
                f"(input shape {x.shape if shown is None else shown})"
            )
        if pads == ((0, 0), (0, 0)):
            xp = x
        else:
            xp = np.full((x.shape[0], *padded, x.shape[3]), self.fill, dtype=x.dtype)
            xp[:, pt : pt + x.shape[1], pl : pl + x.shape[2]] = x
        self.x_shape = x.shape
        self.padded_shape = xp.shape
        self.pads = pads
        self.pool = pool
        self.strides = strides
        self.out_hw = ((padded[0] - pool[0]) // strides[0] + 1,
                       (padded[1] - pool[1]) // strides[1] + 1)
        return xp

    def _slices(self) -> Iterator[tuple[slice, slice, slice, slice]]:
        return _taps(*self.pool, *self.strides, *self.out_hw)

    def _disjoint(self) -> bool:
        """Whether windows do not overlap (each input position is in at most one window)."""
        return self.strides[0] >= self.pool[0] and self.strides[1] >= self.pool[1]

    def _crop(self, gxp: np.ndarray) -> np.ndarray:
        (pt, _), (pl, _) = self.pads
        return gxp[:, pt : pt + self.x_shape[1], pl : pl + self.x_shape[2]]


class MaxPool2D(_Pool2D):
    r"""2-D max pooling (NHWC).

    .. math::

        y[n, i, j, c] = \max_{m, l} x_p[n, i s_h + m, j s_w + l, c], \qquad
        \bar x_p[n, i s_h + m^*, j s_w + l^*, c] \mathrel{+}= \bar y[n, i, j, c]

    with :math:`(m^*, l^*)` the first position (row-major) attaining the maximum.
    """

    __slots__ = ("xp", "out")

    op_name = "max_pool2d"
    fill = -np.inf

    def forward(self, x: np.ndarray, pool_size: Any = (2, 2), strides: Any = None,
                padding: Any = "valid", _shown: tuple[int, ...] | None = None) -> np.ndarray:
        x = np.asarray(x)
        xp = self._setup(x, pool_size, strides, padding, _shown)
        slices = list(self._slices())
        if len(slices) == 4:  # the common 2×2 pool: a balanced tree of maxima
            a, b, c, d = (xp[s] for s in slices)
            out = np.maximum(a, b)
            np.maximum(out, np.maximum(c, d), out=out)
        else:
            out = xp[slices[0]].copy()
            for s in slices[1:]:
                np.maximum(out, xp[s], out=out)
        self.xp = xp
        self.out = out
        return out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        # each window's gradient goes to its first winner (row-major), tap by tap
        gxp = np.zeros(self.padded_shape, dtype=grad.dtype)
        xp, out = self.xp, self.out
        taken = None  # windows whose winner has been found
        disjoint = self._disjoint()
        for s in self._slices():
            win = xp[s] == out
            if taken is None:
                taken = win
            else:
                win &= ~taken
                taken |= win
            if disjoint:
                np.multiply(grad, win, out=gxp[s])
            else:
                gxp[s] += grad * win
        return (self._crop(gxp),)


class AvgPool2D(_Pool2D):
    r"""2-D average pooling (NHWC); padded positions are not counted (TensorFlow).

    .. math::

        y[n, i, j, c] = \frac{1}{|W_{ij}|}\sum_{(m, l) \in W_{ij}} x[n, i s_h + m, j s_w + l, c],
        \qquad \bar x[n, i s_h + m, j s_w + l, c] \mathrel{+}= \frac{\bar y[n, i, j, c]}{|W_{ij}|}
    """

    __slots__ = ("count",)

    op_name = "avg_pool2d"

    def forward(self, x: np.ndarray, pool_size: Any = (2, 2), strides: Any = None,
                padding: Any = "valid", _shown: tuple[int, ...] | None = None) -> np.ndarray:
        x = np.asarray(x)
        xp = self._setup(x, pool_size, strides, padding, _shown)
        slices = list(self._slices())
        out = xp[slices[0]].copy() if xp.dtype.kind == "f" else xp[slices[0]].astype(np.float32)
        for s in slices[1:]:
            out += xp[s]
        if self.pads == ((0, 0), (0, 0)):
            count: Any = float(len(slices))
        else:  # number of real (unpadded) positions in each window
            (pt, _), (pl, _) = self.pads
            inside = np.zeros((1, *self.padded_shape[1:3], 1), dtype=out.dtype)
            inside[:, pt : pt + x.shape[1], pl : pl + x.shape[2]] = 1
            count = sum(inside[s] for s in slices)
        out /= count
        self.count = count
        return out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        share = grad / self.count
        gxp = np.zeros(self.padded_shape, dtype=grad.dtype)
        disjoint = self._disjoint()
        for s in self._slices():
            if disjoint:
                gxp[s] = share
            else:
                gxp[s] += share
        return (self._crop(gxp),)


class _Pool1DMixin:
    """Run a 2-D pool at height 1 on ``(batch, steps, channels)`` input."""

    __slots__ = ()

    def forward(self, x: np.ndarray, pool_size: Any = 2, strides: Any = None,
                padding: Any = "valid") -> np.ndarray:
        op = self.op_name  # type: ignore[attr-defined]
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(
                f"{op}: expected a 3-D input (batch, steps, channels); received an input of "
                f"shape {x.shape}"
            )
        (p,) = normalize_tuple(pool_size, 1, "pool_size", op)
        s = None if strides is None else normalize_tuple(strides, 1, "strides", op)[0]
        out = super().forward(  # type: ignore[misc]
            x[:, None], (1, p), None if s is None else (1, s), padding, _shown=x.shape
        )
        return out[:, 0]

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        (gx,) = super().backward(grad[:, None])  # type: ignore[misc]
        return (gx[:, 0],)


class MaxPool1D(_Pool1DMixin, MaxPool2D):  # type: ignore[misc]
    r"""1-D max pooling (NWC): :math:`y[n, i, c] = \max_m x_p[n, i s + m, c]`."""

    __slots__ = ()

    op_name = "max_pool1d"


class AvgPool1D(_Pool1DMixin, AvgPool2D):  # type: ignore[misc]
    r"""1-D average pooling (NWC): :math:`y[n, i, c] = \frac{1}{|W_i|}\sum_{m \in W_i} x[n, i s + m, c]`."""  # noqa: E501

    __slots__ = ()

    op_name = "avg_pool1d"


def max_pool2d(x: Any, pool_size: int | Sequence[int] = (2, 2),
               strides: int | Sequence[int] | None = None, padding: str = "valid") -> Tensor:
    r"""2-D max pooling (Keras ``MaxPooling2D``) on ``(batch, height, width, channels)``.

    ``strides`` defaults to ``pool_size``; 'same' pads as TensorFlow (padding never wins).

    .. math:: y[n, i, j, c] = \max_{m < p_h,\, l < p_w} x_p[n, i s_h + m, j s_w + l, c]

    Examples
    --------
    >>> import numpy as np
    >>> max_pool2d(np.arange(16.0).reshape(1, 4, 4, 1)).numpy()[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return dispatch("max_pool2d", MaxPool2D.apply, x, pool_size=pool_size,  # type: ignore[no-any-return]
                    strides=strides, padding=padding)


def avg_pool2d(x: Any, pool_size: int | Sequence[int] = (2, 2),
               strides: int | Sequence[int] | None = None, padding: str = "valid") -> Tensor:
    r"""2-D average pooling (Keras ``AveragePooling2D``); 'same' excludes padding from the count.

    .. math::

        y[n, i, j, c] = \frac{1}{|W_{ij}|} \sum_{(m, l) \in W_{ij}} x[n, i s_h + m, j s_w + l, c]

    Examples
    --------
    >>> import numpy as np
    >>> avg_pool2d(np.arange(16.0).reshape(1, 4, 4, 1)).numpy()[0, :, :, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return AvgPool2D.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def max_pool1d(x: Any, pool_size: int = 2, strides: int | None = None,
               padding: str = "valid") -> Tensor:
    r"""1-D max pooling (Keras ``MaxPooling1D``) on ``(batch, steps, channels)``.

    .. math:: y[n, i, c] = \max_{m < p} x_p[n, i s + m, c]
    """
    return dispatch("max_pool1d", MaxPool1D.apply, x, pool_size=pool_size,  # type: ignore[no-any-return]
                    strides=strides, padding=padding)


def avg_pool1d(x: Any, pool_size: int = 2, strides: int | None = None,
               padding: str = "valid") -> Tensor:
    r"""1-D average pooling (Keras ``AveragePooling1D``); 'same' excludes padding from the count.

    .. math:: y[n, i, c] = \frac{1}{|W_i|} \sum_{m \in W_i} x[n, i s + m, c]
    """
    return AvgPool1D.apply(x, pool_size=pool_size, strides=strides, padding=padding)
