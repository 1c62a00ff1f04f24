r"""Conv2D + ReLU + max pooling: the block of the chapter's image models, as one primitive.

.. math::

    z[n, i, j, f] = \max\Big(0,\; b_f + \sum_{m, l, c} x_p[n, i s_h + m d_h, j s_w + l d_w, c]\,
                    w[m, l, c, f]\Big), \qquad
    y[n, p, q, f] = \max_{0 \le u < p_h,\, 0 \le v < p_w} z[n, p\, p_h + u, q\, p_w + v, f]

for pooling windows that tile the conv output (strides = pool size, 'valid' padding). The
reference is the composition itself; the fused kernel (:mod:`nablanet.kernels.conv_pool`) never
forms :math:`z` for the whole batch. A model chooses this primitive for a ``Conv2D(...,
activation='relu')`` layer followed by such a ``MaxPooling2D`` in its fusion pass
(:mod:`nablanet.models.fusion`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nablanet.autograd.tensor import Tensor
from nablanet.kernels.registry import dispatch
from nablanet.ops.conv import conv2d
from nablanet.ops.pooling import max_pool2d


def conv2d_max_pool2d(x: Any, w: Any, bias: Any = None, strides: int | Sequence[int] = (1, 1),
                      padding: str = "valid", dilation_rate: int | Sequence[int] = (1, 1),
                      pool_size: int | Sequence[int] = (2, 2)) -> Tensor:
    r"""``max_pool2d(conv2d(x, w, bias, ..., activation='relu'), pool_size)``.

    The pooling windows tile the conv output (strides = ``pool_size``, 'valid' padding: a
    trailing row or column that no window covers is dropped).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 5, 5, 1), dtype=np.float32)
    >>> conv2d_max_pool2d(x, np.ones((2, 2, 1, 3), dtype=np.float32)).shape
    (1, 2, 2, 3)
    """
    return dispatch("conv2d_max_pool2d", _composition, x, w, bias,  # type: ignore[no-any-return]
                    strides=strides, padding=padding, dilation_rate=dilation_rate,
                    pool_size=pool_size)


def _composition(x: Any, w: Any, bias: Any = None, *, strides: Any, padding: str,
                 dilation_rate: Any, pool_size: Any) -> Tensor:
    """The reference: the two primitives one after the other."""
    y = conv2d(x, w, bias, strides, padding, dilation_rate, activation="relu")
    return max_pool2d(y, pool_size)
