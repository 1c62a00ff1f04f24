r"""The fused Conv2D + ReLU + max pooling kernel (:mod:`nablanet.ops.conv_pool`).

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

With few input channels (the first layer: its input is kept planar, NCHW) and 2×2 windows,
the forward runs by the direct convolution instead (:mod:`nablanet.kernels.direct_conv`):
bands of conv rows computed from shifted rows of the planar input and pooled while in cache;
backward stays im2col's, from that planar input.

When the convolution runs by Winograd's F(2×2, 3×3) (:mod:`nablanet.kernels.winograd`) and
the pool is 2×2, each 2×2 output tile is one pooling window: the pool is taken inside the
output transform, and backward builds the tiles' gradient transform straight from the pooled
gradient and the winner codes.

On the chapter's first layer (32 images of 126×126×16) that saves writing and reading back
four arrays of 32 MB per training step (the conv output, then its gradient). ``Sequential``
and functional models run a ``Conv2D(..., activation='relu')`` layer followed by such a
``MaxPooling2D`` layer through this primitive (their fusion pass, :mod:`nablanet.models.fusion`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.kernels import direct_conv
from nablanet.kernels.conv import FastConv2D, Run, _plain
from nablanet.kernels.pooling import _MAX_TAPS, _NOT_POSITIVE, _numba_max_pool, applies
from nablanet.kernels.registry import register
from nablanet.kernels.threads import split_batch
from nablanet.ops.conv import normalize_tuple, with_bias


class Conv2DMaxPool2D(FastConv2D):
    r"""``max_pool2d(relu(conv2d(x, w, b)), pool_size)`` with windows that tile the conv
    output, fused (see the module docstring); inputs ``(x, w[, b])`` as :class:`Conv2D`."""

    __slots__ = ("winner", "pool")

    op_name = "conv2d_max_pool2d"

    def forward(self, x: np.ndarray, w: np.ndarray,  # type: ignore[override]
                b: np.ndarray | None = None, *, strides: Any = (1, 1), padding: Any = "valid",
                dilation_rate: Any = (1, 1), pool_size: Any = (2, 2),
                _shown: tuple[Any, Any] | None = None) -> np.ndarray:
        xp = self._setup(x, w, b, strides, padding, dilation_rate, 1, "relu", _shown)
        self._keep_input(xp)
        ph, pw = self.pool = normalize_tuple(pool_size, 2, "pool_size", self.op_name)
        n, (ho, wo), filters = xp.shape[0], self.out_hw, self.w_shape[3]
        if ho < ph or wo < pw:
            raise ValueError(f"{self.op_name}: pool_size {self.pool} is larger than the conv "
                             f"output ({ho}, {wo}) (input shape {np.shape(x)})")
        kernels = _numba_max_pool()
        assert kernels is not None  # (conv2d_max_pool2d checks)
        out = np.empty((n, ho // ph, wo // pw, filters), dtype=np.result_type(xp, self.w2))
        winner = self.winner = np.empty(out.shape, dtype=np.int8)
        bias = np.empty(0, out.dtype) if b is None else np.ascontiguousarray(b, out.dtype)

        def pool_run(run: Run, rows: np.ndarray) -> None:  # max pool of relu(rows + b)
            a, z, y0, y1 = run  # a band of rows starts at a multiple of ph (_row_align)
            pooled = slice(y0 // ph, y0 // ph + (y1 - y0) // ph)
            kernels[0](rows.reshape(z - a, y1 - y0, wo, filters), out[a:z, pooled],
                       winner[a:z, pooled], ph, pw, ph, pw, bias, True)

        if self.wino_u is not None and self.pool == (2, 2):  # Winograd's 2×2 tiles = the windows
            self._winograd_forward(xp, b, True, None, None, pooled=(out, winner))
            return out
        if self.pool == (2, 2) and self.x_planar is not None and xp.dtype == self.w2.dtype \
                and direct_conv.applies(self.w_shape[:2], self.strides, self.dilation, wo,
                                        xp.dtype):  # few channels: the direct convolution
            self._direct_forward(xp, bias, out, winner)
            return out
        self._forward_by_batch(xp, None, False, None, pool_run)  # bias and relu: in pool_run
        return out

    def _direct_forward(self, xp: np.ndarray, bias: np.ndarray, out: np.ndarray,
                        winner: np.ndarray) -> None:
        """The forward by the direct convolution (:mod:`nablanet.kernels.direct_conv`), split
        over the batch: per chunk, the planar (NCHW) copy of its images (which backward's
        im2col reads too), then bands of conv rows pooled as they are computed."""
        n, hp, wp, channels = xp.shape
        (ho, wo), filters, dtype = self.out_hw, self.w_shape[3], out.dtype
        flat = self.x_planar.reshape(n, -1)
        offs = direct_conv.offsets(self.w_shape[:2], channels, hp, wp)
        wt = np.ascontiguousarray(self.w2.T)

        def forward_chunk(a: int, z: int) -> None:
            self._fill_planar(xp, a, z)
            direct_conv.forward_pool(flat, wp, wo, offs, wt, bias, a, z, out[a:z], winner[a:z])

        split_batch(forward_chunk, n, n * ho * wo * filters * dtype.itemsize + xp.nbytes)

    def _row_align(self) -> int:
        return self.pool[0]  # whole pooling windows in each band of conv output rows

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        kernels = _numba_max_pool()
        assert kernels is not None
        g = np.ascontiguousarray(grad)
        winner, (ph, pw), (ho, wo) = self.winner, self.pool, self.out_hw
        filters = self.w_shape[3]
        covered_w = g.shape[2] * pw
        grad_bytes = 3 * g.shape[0] * ho * wo * filters * g.itemsize
        if self.wino_u is not None and self.pool == (2, 2) and g.dtype == self.wino_u.dtype:
            return self._winograd_backward(g.shape[0], None, grad_bytes, pooled=(g, winner))
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

        return self._backward_runs(g.shape[0], g.dtype, run_grad, grad_bytes)


@register("conv2d_max_pool2d")
def conv2d_max_pool2d(x: Any, w: Any, bias: Any = None, **options: Any) -> Tensor | None:
    """The fused :func:`nablanet.ops.conv_pool.conv2d_max_pool2d`, or None where the compiled
    kernels do not apply (other dtypes, windows of more than 63 taps, no numba)."""
    ph, pw = normalize_tuple(options.get("pool_size", (2, 2)), 2, "pool_size",
                             "conv2d_max_pool2d")
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not (_plain(x, w, 1) and applies(data.dtype, ph * pw)):
        return None
    return with_bias(Conv2DMaxPool2D)(x, w, bias, **options)
