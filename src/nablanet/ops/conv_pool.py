r"""Conv2D + ReLU + max pooling as one primitive: the block of the chapter's image models.

.. math::

    z[n, i, j, f] = \max\Big(0,\; b_f + \sum_{m, l, c} x_p[n, i s_h + m d_h, j s_w + l d_w, c]\,
                    w[m, l, c, f]\Big), \qquad
    y[n, p, q, f] = \max_{0 \le u < p_h,\, 0 \le v < p_w} z[n, p\, p_h + u, q\, p_w + v, f]

for pooling windows that tile the conv output (strides = pool size, 'valid' padding). It
computes exactly what ``max_pool2d(conv2d(x, w, b, activation='relu'), pool_size)`` does,
with the same arithmetic, but the conv output :math:`z` never exists as a whole: the conv
works through the batch a few images at a time (``Conv2D``'s runs), and each run's GEMM
output, still in cache, is pooled right away, the bias and ReLU applied in the same pass
(:math:`\max_i \max(0, z_i + b) = \max(0, \max_i (z_i + b))`, and rounding is monotonic, so
the values and winners are those of the unfused pair); only the pooled maxima and one winner
code per output (int8: the winning tap, flagged when the maximum is not positive) are kept.
Backward rebuilds
each run's gradient of :math:`z` from those (the gradient goes to the winner of each window,
and nowhere when the maximum is not positive, which is the ReLU mask too) in the same small
buffer, just before the conv's weight and input gradients use it.

On the chapter's first layer (32 images of 126×126×16) that saves writing and reading back
four arrays of 32 MB per training step (the conv output, then its gradient), which on these
machines is memory bandwidth shared by both cores. ``Sequential`` and functional models run
a ``Conv2D(..., activation='relu')`` layer followed by such a ``MaxPooling2D`` layer through
this primitive (:func:`nablanet.layers.pooling.fused_conv_max_pool`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.ops.conv import Conv2D, Run, conv2d, normalize_tuple
from nablanet.ops.pooling import _MAX_TAPS, _NOT_POSITIVE, _numba_max_pool, max_pool2d


def can_fuse(x_dtype: Any, pool_size: Any) -> bool:
    """Whether the fused primitive runs for this input dtype and pool size (the compiled
    max-pool kernels exist, the dtype is float32 / float64, the window has at most 63 taps)."""
    ph, pw = normalize_tuple(pool_size, 2, "pool_size", "conv2d_max_pool2d")
    return (np.dtype(x_dtype) in (np.float32, np.float64) and ph * pw <= _MAX_TAPS
            and _numba_max_pool() is not None)


class Conv2DMaxPool2D(Conv2D):
    r"""``max_pool2d(relu(conv2d(x, w, b)), pool_size)`` with windows that tile the conv
    output, fused (see the module docstring); inputs ``(x, w[, b])`` as :class:`Conv2D`."""

    __slots__ = ("winner", "pool")

    op_name = "conv2d_max_pool2d"

    def forward(self, x: np.ndarray, w: np.ndarray,  # type: ignore[override]
                b: np.ndarray | None = None, *, strides: Any = (1, 1), padding: Any = "valid",
                dilation_rate: Any = (1, 1), pool_size: Any = (2, 2),
                _shown: tuple[Any, Any] | None = None) -> np.ndarray:
        xp = self._setup(x, w, b, strides, padding, dilation_rate, 1, "relu", _shown)
        ph, pw = self.pool = normalize_tuple(pool_size, 2, "pool_size", self.op_name)
        n, (ho, wo), filters = xp.shape[0], self.out_hw, self.w_shape[3]
        if ho < ph or wo < pw:
            raise ValueError(f"{self.op_name}: pool_size {self.pool} is larger than the conv "
                             f"output ({ho}, {wo}) (input shape {np.shape(x)})")
        kernels = _numba_max_pool()
        if kernels is None:  # pragma: no cover - numba is a dependency; callers check can_fuse
            raise RuntimeError(f"{self.op_name} needs numba's compiled max-pool kernels")
        out = np.empty((n, ho // ph, wo // pw, filters), dtype=np.result_type(xp, self.w2))
        winner = self.winner = np.empty(out.shape, dtype=np.int8)
        bias = np.empty(0, out.dtype) if b is None else np.ascontiguousarray(b, out.dtype)

        def pool_run(run: Run, rows: np.ndarray) -> None:  # max pool of relu(rows + b)
            a, z, y0, y1 = run  # a band of rows starts at a multiple of ph (_row_align)
            pooled = slice(y0 // ph, y0 // ph + (y1 - y0) // ph)
            kernels[0](rows.reshape(z - a, y1 - y0, wo, filters), out[a:z, pooled],
                       winner[a:z, pooled], ph, pw, ph, pw, bias, True)

        self._forward_by_batch(xp, None, False, None, pool_run)  # bias and relu: in pool_run
        return out

    def _row_align(self) -> int:
        return self.pool[0]  # whole pooling windows in each band of conv output rows

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        kernels = _numba_max_pool()
        assert kernels is not None
        g = np.ascontiguousarray(grad)
        winner, (ph, pw), (ho, wo) = self.winner, self.pool, self.out_hw
        filters = self.w_shape[3]
        covered_w = g.shape[2] * pw
        mask = np.int8(_NOT_POSITIVE | _MAX_TAPS)  # windows whose maximum is not positive: 0

        def run_grad(run: Run, scratch: np.ndarray) -> np.ndarray:
            a, z, y0, y1 = run
            pooled = slice(y0 // ph, y0 // ph + (y1 - y0) // ph)
            covered_h = (y1 - y0) // ph * ph
            dz = scratch[: (z - a) * (y1 - y0) * wo].reshape(z - a, y1 - y0, wo, filters)
            kernels[2](g[a:z, pooled], winner[a:z, pooled], dz, ph, pw, mask)
            dz[:, covered_h:] = 0  # rows and columns of z that no window covers
            dz[:, :covered_h, covered_w:] = 0
            return dz.reshape(-1, filters)

        return self._backward_runs(g.shape[0], g.dtype, run_grad,
                                   3 * g.shape[0] * ho * wo * filters * g.itemsize)


def conv2d_max_pool2d(x: Any, w: Any, bias: Any = None, strides: int | Sequence[int] = (1, 1),
                      padding: str = "valid", dilation_rate: int | Sequence[int] = (1, 1),
                      pool_size: int | Sequence[int] = (2, 2)) -> Tensor:
    r"""``max_pool2d(conv2d(x, w, bias, ..., activation='relu'), pool_size)``, fused.

    The pooling windows tile the conv output (strides = ``pool_size``, 'valid' padding: a
    trailing row or column that no window covers is dropped). Without numba, or for other
    dtypes, it is the unfused composition; the values and gradients are the same.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 5, 5, 1), dtype=np.float32)
    >>> conv2d_max_pool2d(x, np.ones((2, 2, 1, 3), dtype=np.float32)).shape
    (1, 2, 2, 3)
    """
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not can_fuse(data.dtype, pool_size):
        y = conv2d(x, w, bias, strides, padding, dilation_rate, activation="relu")
        return max_pool2d(y, pool_size)
    kwargs = {"strides": strides, "padding": padding, "dilation_rate": dilation_rate,
              "pool_size": pool_size}
    if bias is None:
        return Conv2DMaxPool2D.apply(x, w, **kwargs)
    return Conv2DMaxPool2D.apply(x, w, bias, **kwargs)
