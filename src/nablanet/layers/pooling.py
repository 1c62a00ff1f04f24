r"""Pooling layers, chapter §7.3 step 3: max and average pooling, local and global (Keras 3).

A pooling function replaces the output at each location with a summary statistic of a
rectangular neighbourhood (the window of size :math:`p` moved with stride :math:`s`):

.. math::

    y_\text{max}[n, i, j, c] = \max_{0 \le m < p_h,\; 0 \le l < p_w}
                               x_p[n,\, i s_h + m,\, j s_w + l,\, c], \qquad
    y_\text{avg}[n, i, j, c] = \frac{1}{|W_{ij}|} \sum_{(m, l) \in W_{ij}}
                               x[n,\, i s_h + m,\, j s_w + l,\, c]

``'same'`` padding follows TensorFlow: padded positions never win a max and are not counted in
an average. Global pooling summarises every position of each channel:
:math:`y[n, c] = \max_{i, j} x[n, i, j, c]` or :math:`\frac{1}{HW}\sum_{i, j} x[n, i, j, c]`.
The local pools are the fused primitives of :mod:`nablanet.ops.pooling`; the global pools
are the composites of :mod:`nablanet.functional.conv`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.functional.conv import (
    global_average_pooling1d,
    global_average_pooling2d,
    global_max_pooling1d,
    global_max_pooling2d,
)
from nablanet.layers.base import Layer
from nablanet.layers.conv import _int_tuple, conv_output_length
from nablanet.ops.elementwise import div, mul
from nablanet.ops.pooling import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from nablanet.ops.reduction import sum as reduce_sum

__all__ = [
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
]


def _check_data_format(owner: str, data_format: str | None) -> str:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{owner}: only data_format='channels_last' is supported. "
                         f"Received: data_format={data_format!r}")
    return "channels_last"


class _Pooling(Layer):
    """Shared configuration and shape logic of the local pooling layers."""

    rank = 2

    def __init__(self, pool_size: int | Sequence[int], strides: int | Sequence[int] | None,
                 padding: str, data_format: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = _int_tuple(owner, "pool_size", pool_size, self.rank)
        self.strides = (self.pool_size if strides is None
                        else _int_tuple(owner, "strides", strides, self.rank))
        mode = padding.lower() if isinstance(padding, str) else padding
        if mode not in ("valid", "same"):
            raise ValueError(f"{owner}: padding must be 'valid' or 'same'. "
                             f"Received: padding={padding!r}")
        self.padding = mode
        self.data_format = _check_data_format(owner, data_format)

    def _check_rank(self, input_shape: Sequence[int | None]) -> None:
        if len(input_shape) != self.rank + 2:
            axes = "(batch, steps, channels)" if self.rank == 1 else \
                "(batch, height, width, channels)"
            raise ValueError(f"{type(self).__name__} '{self.name}': expected an input of rank "
                             f"{self.rank + 2} {axes}. Received: input_shape="
                             f"{tuple(input_shape)}")

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        self._check_rank(input_shape)
        spatial = tuple(conv_output_length(n, p, self.padding, s)
                        for n, p, s in zip(tuple(input_shape)[1:-1], self.pool_size,
                                           self.strides))
        if any(n is not None and n <= 0 for n in spatial):
            raise ValueError(f"{type(self).__name__} '{self.name}': the input is smaller than "
                             f"the pooling window: input_shape={tuple(input_shape)}, "
                             f"pool_size={self.pool_size}, padding={self.padding!r}")
        return (input_shape[0], *spatial, input_shape[-1])

    def call(self, inputs: Tensor) -> Tensor:
        self.compute_output_shape(inputs.shape)  # clear errors before the primitive runs
        if self.rank == 1:
            return self._pool(inputs, self.pool_size[0], self.strides[0], self.padding)
        return self._pool(inputs, self.pool_size, self.strides, self.padding)

    def _pool(self, inputs: Tensor, pool: Any, strides: Any, padding: str) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling2D(_Pooling):
    r"""Max pooling over height and width (Keras ``MaxPooling2D``), the chapter's pooling step.

    .. math::

        y[n, i, j, c] = \max_{0 \le m < p_h,\; 0 \le l < p_w} x_p[n,\, i s_h + m,\, j s_w + l,\, c]

    Parameters
    ----------
    pool_size : int or tuple of 2 ints
        Window size (default ``(2, 2)``).
    strides : int, tuple of 2 ints or None
        Step between windows; None (the default) means ``pool_size``.
    padding : {'valid', 'same'}
    data_format : None or 'channels_last'

    Input shape
    -----------
    ``(batch, height, width, channels)``

    Output shape
    ------------
    ``(batch, pooled_height, pooled_width, channels)``

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> MaxPooling2D((2, 2))(x).numpy()[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    """

    def __init__(self, pool_size: int | Sequence[int] = (2, 2),
                 strides: int | Sequence[int] | None = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def _pool(self, inputs: Tensor, pool: Any, strides: Any, padding: str) -> Tensor:
        return max_pool2d(inputs, pool, strides, padding)


class AveragePooling2D(_Pooling):
    r"""Average pooling over height and width (Keras ``AveragePooling2D``).

    .. math::

        y[n, i, j, c] = \frac{1}{|W_{ij}|} \sum_{(m, l) \in W_{ij}} x[n,\, i s_h + m,\,
                        j s_w + l,\, c]

    :math:`W_{ij}` is the window's positions inside the input ('same' padding is not counted).
    Arguments as :class:`MaxPooling2D`.

    Input shape: ``(batch, height, width, channels)``.
    Output shape: ``(batch, pooled_height, pooled_width, channels)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> AveragePooling2D(2)(x).numpy()[0, :, :, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    """

    def __init__(self, pool_size: int | Sequence[int] = (2, 2),
                 strides: int | Sequence[int] | None = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def _pool(self, inputs: Tensor, pool: Any, strides: Any, padding: str) -> Tensor:
        return avg_pool2d(inputs, pool, strides, padding)


class MaxPooling1D(_Pooling):
    r"""Max pooling over the steps of ``(batch, steps, channels)`` (Keras ``MaxPooling1D``).

    .. math:: y[n, i, c] = \max_{0 \le m < p} x_p[n,\, i s + m,\, c]

    ``pool_size`` defaults to 2 and ``strides`` to ``pool_size``.

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, pooled_steps, channels)``.

    Examples
    --------
    >>> import numpy as np
    >>> MaxPooling1D()(np.array([[[1.], [3.], [2.], [0.]]], np.float32)).numpy().ravel()
    array([3., 2.], dtype=float32)
    """

    rank = 1

    def __init__(self, pool_size: int | Sequence[int] = 2,
                 strides: int | Sequence[int] | None = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def _pool(self, inputs: Tensor, pool: Any, strides: Any, padding: str) -> Tensor:
        return max_pool1d(inputs, pool, strides, padding)


class AveragePooling1D(_Pooling):
    r"""Average pooling over the steps (Keras ``AveragePooling1D``).

    .. math:: y[n, i, c] = \frac{1}{|W_i|} \sum_{m \in W_i} x[n,\, i s + m,\, c]

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, pooled_steps, channels)``.

    Examples
    --------
    >>> import numpy as np
    >>> AveragePooling1D()(np.array([[[1.], [3.], [2.], [0.]]], np.float32)).numpy().ravel()
    array([2., 1.], dtype=float32)
    """

    rank = 1

    def __init__(self, pool_size: int | Sequence[int] = 2,
                 strides: int | Sequence[int] | None = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def _pool(self, inputs: Tensor, pool: Any, strides: Any, padding: str) -> Tensor:
        return avg_pool1d(inputs, pool, strides, padding)


class _GlobalPooling(Layer):
    """Shared configuration and shape logic of the global pooling layers."""

    rank = 2

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _check_data_format(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected an input of rank "
                             f"{self.rank + 2}. Received: input_shape={tuple(input_shape)}")
        if self.keepdims:
            return (input_shape[0], *([1] * self.rank), input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalMaxPooling2D(_GlobalPooling):
    r"""Maximum of each channel over height and width (Keras ``GlobalMaxPooling2D``).

    .. math:: y[n, c] = \max_{i, j} x[n, i, j, c]

    Input shape: ``(batch, height, width, channels)``. Output shape: ``(batch, channels)``,
    or ``(batch, 1, 1, channels)`` with ``keepdims=True``.

    Examples
    --------
    >>> import numpy as np
    >>> GlobalMaxPooling2D()(np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)).numpy()
    array([[6., 7.]], dtype=float32)
    """

    def call(self, inputs: Tensor) -> Tensor:
        self.compute_output_shape(inputs.shape)
        return global_max_pooling2d(inputs, keepdims=self.keepdims)


class GlobalAveragePooling2D(_GlobalPooling):
    r"""Mean of each channel over height and width (Keras ``GlobalAveragePooling2D``).

    .. math:: y[n, c] = \frac{1}{HW} \sum_{i, j} x[n, i, j, c]

    Input shape: ``(batch, height, width, channels)``. Output shape: ``(batch, channels)``,
    or ``(batch, 1, 1, channels)`` with ``keepdims=True``.

    Examples
    --------
    >>> import numpy as np
    >>> GlobalAveragePooling2D()(np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)).numpy()
    array([[3., 4.]], dtype=float32)
    """

    def call(self, inputs: Tensor) -> Tensor:
        self.compute_output_shape(inputs.shape)
        return global_average_pooling2d(inputs, keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling):
    r"""Maximum of each channel over the steps (Keras ``GlobalMaxPooling1D``).

    .. math:: y[n, c] = \max_t x[n, t, c]

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, channels)``.
    """

    rank = 1

    def call(self, inputs: Tensor) -> Tensor:
        self.compute_output_shape(inputs.shape)
        return global_max_pooling1d(inputs, keepdims=self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling):
    r"""Mean of each channel over the steps (Keras ``GlobalAveragePooling1D``), mask-aware.

    .. math::

        y[n, c] = \frac{\sum_t m[n, t]\, x[n, t, c]}{\sum_t m[n, t]}

    with :math:`m` the mask of the input (all ones when there is none), so padded steps of a
    masked sequence are left out, as in Keras.

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, channels)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.], [3.], [5.]]], np.float32)
    >>> GlobalAveragePooling1D()(x).numpy(), GlobalAveragePooling1D()(
    ...     x, mask=np.array([[True, True, False]])).numpy()
    (array([[3.]], dtype=float32), array([[2.]], dtype=float32))
    """

    rank = 1

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs: Tensor, mask: Any = None) -> Tensor:
        self.compute_output_shape(inputs.shape)
        if mask is None:
            return global_average_pooling1d(inputs, keepdims=self.keepdims)
        weights = _mask_array(mask, inputs).astype(inputs.dtype)[:, :, None]  # (batch, steps, 1)
        total = reduce_sum(mul(inputs, Tensor(weights)), axis=1, keepdims=self.keepdims)
        # a fully masked sequence gives 0, not 0/0
        count = np.maximum(weights.sum(axis=1, keepdims=self.keepdims), 1.0)
        return div(total, Tensor(count))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None


def _mask_array(mask: Any, inputs: Tensor) -> np.ndarray:
    array = np.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)
    if array.shape != tuple(inputs.shape[:2]):
        raise ValueError(f"GlobalAveragePooling1D: the mask must have shape (batch, steps) = "
                         f"{tuple(inputs.shape[:2])}. Received: mask of shape {array.shape}")
    return array


#: Keras's aliases.
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
