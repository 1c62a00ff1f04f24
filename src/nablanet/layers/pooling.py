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
from nablanet.config import standardize_data_format
from nablanet.functional.conv import (
    global_average_pooling1d,
    global_average_pooling2d,
    global_max_pooling1d,
    global_max_pooling2d,
)
from nablanet.layers.base import Layer
from nablanet.layers.conv import (
    _int_tuple,
    conv_output_length,
    to_channels_first,
    to_channels_last,
)
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
        self.data_format = standardize_data_format(data_format)

    def _check_rank(self, input_shape: Sequence[int | None]) -> None:
        if len(input_shape) != self.rank + 2:
            spatial = "steps" if self.rank == 1 else "height, width"
            axes = f"(batch, channels, {spatial})" if self.data_format == "channels_first" \
                else f"(batch, {spatial}, channels)"
            raise ValueError(f"{type(self).__name__} '{self.name}': expected an input of rank "
                             f"{self.rank + 2} {axes}. Received: input_shape="
                             f"{tuple(input_shape)}")

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        self._check_rank(input_shape)
        shape = tuple(input_shape)
        first = self.data_format == "channels_first"
        spatial = tuple(conv_output_length(n, p, self.padding, s)
                        for n, p, s in zip(shape[2:] if first else shape[1:-1], self.pool_size,
                                           self.strides))
        if any(n is not None and n <= 0 for n in spatial):
            raise ValueError(f"{type(self).__name__} '{self.name}': the input is smaller than "
                             f"the pooling window: input_shape={tuple(input_shape)}, "
                             f"pool_size={self.pool_size}, padding={self.padding!r}")
        if first:
            return (shape[0], shape[1], *spatial)
        return (shape[0], *spatial, shape[-1])

    def call(self, inputs: Tensor) -> Tensor:
        self.compute_output_shape(inputs.shape)  # clear errors before the primitive runs
        first = self.data_format == "channels_first"
        x = to_channels_last(inputs) if first else inputs  # the primitives pool channels-last
        if self.rank == 1:
            out = self._pool(x, self.pool_size[0], self.strides[0], self.padding)
        else:
            out = self._pool(x, self.pool_size, self.strides, self.padding)
        return to_channels_first(out) if first else out

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
    data_format : None, 'channels_last' or 'channels_first'
        None means :func:`nablanet.config.image_data_format` (channels-last by default).

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
        self.data_format = standardize_data_format(data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected an input of rank "
                             f"{self.rank + 2}. Received: input_shape={tuple(input_shape)}")
        first = self.data_format == "channels_first"
        channels = input_shape[1] if first else input_shape[-1]
        if self.keepdims:
            ones = [1] * self.rank
            return (input_shape[0], channels, *ones) if first else \
                (input_shape[0], *ones, channels)
        return (input_shape[0], channels)

    def _channels_last(self, inputs: Tensor) -> Tensor:
        self.compute_output_shape(inputs.shape)
        return to_channels_last(inputs) if self.data_format == "channels_first" else inputs

    def _restore(self, out: Tensor) -> Tensor:
        """A ``keepdims`` result back in channels-first order when the layer is."""
        if self.keepdims and self.data_format == "channels_first":
            return to_channels_first(out)
        return out

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
        x = self._channels_last(inputs)
        return self._restore(global_max_pooling2d(x, keepdims=self.keepdims))


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
        x = self._channels_last(inputs)
        return self._restore(global_average_pooling2d(x, keepdims=self.keepdims))


class GlobalMaxPooling1D(_GlobalPooling):
    r"""Maximum of each channel over the steps (Keras ``GlobalMaxPooling1D``).

    .. math:: y[n, c] = \max_t x[n, t, c]

    Input shape: ``(batch, steps, channels)``. Output shape: ``(batch, channels)``.
    """

    rank = 1

    def call(self, inputs: Tensor) -> Tensor:
        x = self._channels_last(inputs)
        return self._restore(global_max_pooling1d(x, keepdims=self.keepdims))


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
        x = self._channels_last(inputs)
        if mask is None:
            return self._restore(global_average_pooling1d(x, keepdims=self.keepdims))
        weights = _mask_array(mask, x).astype(x.dtype)[:, :, None]  # (batch, steps, 1)
        total = reduce_sum(mul(x, Tensor(weights)), axis=1, keepdims=self.keepdims)
        # a fully masked sequence gives 0, not 0/0
        count = np.maximum(weights.sum(axis=1, keepdims=self.keepdims), 1.0)
        return self._restore(div(total, Tensor(count)))

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
