"""Fused batch normalisation (Ioffe & Szegedy, 2015), chapter §5.4.

One primitive serves training and inference: in training the statistics are the batch's
(computed once by :func:`batch_normalization` and handed to the op, which treats them as
functions of the input in its backward pass); at inference they are the moving statistics,
constants for the backward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor

__all__ = ["BatchNorm", "batch_normalization", "moments"]


def moments(x: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and biased variance (divide by N) of ``x`` over ``axes`` (kept as size-1 axes)."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = np.mean(centered * centered, axis=axes, keepdims=True)
    return mean, var


class BatchNorm(Function):
    r"""Batch normalisation with given statistics.

    .. math::

        \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y = \gamma \hat x + \beta

    Backward with :math:`N` the number of values per channel and sums over the reduced axes:

    .. math::

        \bar\gamma = \sum \bar y \hat x, \qquad \bar\beta = \sum \bar y, \qquad
        \bar x = \frac{\gamma}{N\sqrt{\sigma^2+\epsilon}}
        \Big(N \bar y - \sum \bar y - \hat x \sum \bar y \hat x\Big)

    when ``training`` (μ, σ² are the batch's biased moments), and
    :math:`\bar x = \gamma \bar y / \sqrt{\sigma^2+\epsilon}` at inference (fixed statistics).

    ``mean``/``var`` come broadcastable to ``x`` (size-1 reduced axes); ``gamma``/``beta``
    likewise (or None for no scale/centre).
    """

    __slots__ = ("xhat", "inv", "gamma", "axes", "training")

    def forward(self, x: np.ndarray, gamma: Any, beta: Any, mean: Any = None, var: Any = None,
                axes: tuple[int, ...] = (0,), epsilon: float = 1e-3,
                training: bool = True) -> np.ndarray:
        inv = (1.0 / np.sqrt(var + epsilon)).astype(x.dtype)
        xhat = (x - mean) * inv
        self.xhat, self.inv, self.gamma, self.axes, self.training = (xhat, inv, gamma, axes,
                                                                     training)
        out = xhat * gamma if gamma is not None else xhat.copy()
        if beta is not None:
            out += beta
        return out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        axes = self.axes
        need_x, need_g, need_b = self.needs_input_grad
        gsum = grad.sum(axis=axes, keepdims=True) if (need_b or (need_x and self.training)) \
            else None
        gxhat_sum = (grad * self.xhat).sum(axis=axes, keepdims=True) \
            if (need_g or (need_x and self.training)) else None
        gx = None
        if need_x:
            scale = self.inv if self.gamma is None else self.gamma * self.inv
            if self.training:
                assert gsum is not None and gxhat_sum is not None  # computed when need_x
                n = grad.size // gsum.size
                gx = (scale / n) * (n * grad - gsum - self.xhat * gxhat_sum)
            else:
                gx = grad * scale
        return gx, (gxhat_sum if need_g else None), (gsum if need_b else None)


def batch_normalization(x: Any, gamma: Any, beta: Any, axis: int | Sequence[int] = -1,
                        epsilon: float = 1e-3, training: bool = True,
                        moving_mean: Any = None, moving_variance: Any = None,
                        ) -> tuple[Tensor, np.ndarray | None, np.ndarray | None]:
    """Normalise ``x`` over every axis except ``axis`` (the channel axis / axes).

    In training returns ``(y, batch_mean, batch_variance)`` — the statistics as 1-D arrays
    over the channels (biased variance, as Keras uses for its moving variance); at inference
    uses ``moving_mean``/``moving_variance`` and returns ``(y, None, None)``.
    ``gamma``/``beta`` are Tensors or arrays of the channel shape, or None.
    """
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    ndim = data.ndim
    keep = {a % ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    axes = tuple(i for i in range(ndim) if i not in keep)
    bshape = tuple(data.shape[i] if i in keep else 1 for i in range(ndim))

    def as_param(p: Any) -> Any:
        if p is None:
            return None
        if isinstance(p, Tensor):
            return p.reshape(bshape) if p.shape != bshape else p
        return np.asarray(p, dtype=data.dtype).reshape(bshape)

    gamma_b, beta_b = as_param(gamma), as_param(beta)
    channel_shape = tuple(data.shape[i] for i in sorted(keep))
    if training:
        mean, var = moments(data, axes)
        y = BatchNorm.apply(x, gamma_b, beta_b, mean=mean, var=var, axes=axes,
                            epsilon=epsilon, training=True)
        return y, mean.reshape(channel_shape), var.reshape(channel_shape)
    mm = np.asarray(getattr(moving_mean, "data", moving_mean), dtype=data.dtype).reshape(bshape)
    mv = np.asarray(getattr(moving_variance, "data", moving_variance),
                    dtype=data.dtype).reshape(bshape)
    y = BatchNorm.apply(x, gamma_b, beta_b, mean=mm, var=mv, axes=axes, epsilon=epsilon,
                        training=False)
    return y, None, None
