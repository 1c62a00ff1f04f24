r"""Synchronised batch normalisation: batch statistics over the examples of all workers.

``BatchNormalization(synchronized=True)`` under ``mpiexec`` normalises with the mean and
variance of the *global* batch, so that N workers with n/N examples each compute what one
process computes on the n examples.

Forward (two small allreduces per layer, per channel :math:`c`):

.. math::

    \mu_c = \frac{\sum_r \sum_{i \in r} x_{ic}}{\sum_r n_r}, \qquad
    \sigma^2_c = \frac{\sum_r \sum_{i \in r} (x_{ic} - \mu_c)^2}{\sum_r n_r}

(two passes, as :func:`nablanet.ops.normalization.moments`, rather than
:math:`E[x^2] - \mu^2`, which loses digits when the mean is large).

Backward: the input gradient of batch normalisation needs two sums over the *whole* batch,
:math:`\sum \bar y` and :math:`\sum \bar y \hat x`, because every example moves the
statistics. With :math:`\bar y^{(r)}` the gradient of worker :math:`r`'s mean loss and
:math:`s_r = n_r / n` its share of the batch (the weight :class:`DistributedOptimizer` gives
its gradients), the global loss has :math:`\bar Y_i = s_r \bar y^{(r)}_i`, and the gradient
worker :math:`r` must return for its own examples (the optimizer multiplies it by
:math:`s_r` afterwards) is

.. math::

    \bar x_i = \frac{\gamma}{n\sqrt{\sigma^2+\epsilon}}
    \Big(n\,\bar y^{(r)}_i - \tfrac{1}{s_r}\textstyle\sum_q s_q S_q
    - \hat x_i\, \tfrac{1}{s_r}\sum_q s_q T_q\Big), \qquad
    S_q = \sum_{i\in q} \bar y^{(q)}_i,\; T_q = \sum_{i \in q} \bar y^{(q)}_i \hat x_i,

one allreduce of :math:`(s_q S_q, s_q T_q)`. With equal shares this is the usual
synchronised form (global sums, global count). The gradients of :math:`\gamma` and
:math:`\beta` stay local sums: the optimizer's average combines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.distribute import _runtime
from nablanet.ops.normalization import BatchNorm

__all__ = ["SyncBatchNorm", "sync_batch_normalization"]


def _share() -> float:
    share = _runtime.state.batch_share
    return (1.0 / _runtime.state.size) if share is None else share


class SyncBatchNorm(BatchNorm):
    """:class:`~nablanet.ops.normalization.BatchNorm` whose backward sums over all workers."""

    __slots__ = ("count",)

    def forward(self, x: np.ndarray, gamma: Any, beta: Any, mean: Any = None, var: Any = None,
                axes: tuple[int, ...] = (0,), epsilon: float = 1e-3, training: bool = True,
                count: float = 1.0) -> np.ndarray:
        self.count = count
        return super().forward(x, gamma, beta, mean=mean, var=var, axes=axes, epsilon=epsilon,
                               training=training)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        need_x, need_g, need_b = self.needs_input_grad
        axes = self.axes
        gsum = grad.sum(axis=axes, keepdims=True)
        gxhat_sum = (grad * self.xhat).sum(axis=axes, keepdims=True)
        gx = None
        if need_x:
            share = _share()
            channels = gsum.size
            sums = np.empty(2 * channels, dtype=np.float64)
            sums[:channels] = gsum.reshape(-1)
            sums[channels:] = gxhat_sum.reshape(-1)
            sums *= share
            _runtime.timed_allreduce(sums)
            sums /= share
            total = sums[:channels].reshape(gsum.shape).astype(grad.dtype)
            total_xhat = sums[channels:].reshape(gsum.shape).astype(grad.dtype)
            scale = self.inv if self.gamma is None else self.gamma * self.inv
            n = grad.dtype.type(self.count)
            gx = (scale / n) * (n * grad - total - self.xhat * total_xhat)
        return gx, (gxhat_sum if need_g else None), (gsum if need_b else None)


def sync_batch_normalization(x: Tensor, gamma: Any, beta: Any, axis: int | Sequence[int],
                             epsilon: float
                             ) -> tuple[Tensor, np.ndarray | None, np.ndarray | None]:
    """Training-mode batch normalisation with the statistics of all workers' examples.

    Returns ``(y, mean, variance)`` like
    :func:`nablanet.ops.normalization.batch_normalization` with ``training=True`` (the
    statistics as arrays over the channels, identical on every worker).
    """
    data = x.data
    ndim = data.ndim
    keep = {a % ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    axes = tuple(i for i in range(ndim) if i not in keep)
    bshape = tuple(data.shape[i] if i in keep else 1 for i in range(ndim))
    channel_shape = tuple(data.shape[i] for i in sorted(keep))
    channels = int(np.prod(channel_shape))

    sums = np.empty(channels + 1, dtype=np.float64)
    sums[:channels] = data.sum(axis=axes, dtype=np.float64).reshape(-1)
    sums[channels] = data.size // channels
    _runtime.timed_allreduce(sums)
    count = float(sums[channels])
    mean = (sums[:channels] / count).astype(data.dtype).reshape(bshape)
    centered = data - mean
    squares = np.square(centered, out=centered).sum(axis=axes, dtype=np.float64).reshape(-1)
    _runtime.timed_allreduce(squares)
    var = (squares / count).astype(data.dtype).reshape(bshape)

    def as_param(p: Any) -> Any:
        if p is None:
            return None
        return p.reshape(bshape) if p.shape != bshape else p

    y = SyncBatchNorm.apply(x, as_param(gamma), as_param(beta), mean=mean, var=var, axes=axes,
                            epsilon=epsilon, training=True, count=count)
    return y, mean.reshape(channel_shape), var.reshape(channel_shape)
