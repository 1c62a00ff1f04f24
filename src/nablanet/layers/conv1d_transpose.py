r"""``Conv1DTranspose``: the transposed 1-D convolution, as a 2-D one of height 1.

A sequence ``(batch, steps, channels)`` is an image of one row, ``(batch, 1, steps,
channels)``, and a 1-D kernel ``(kernel_size, filters, channels)`` is a 2-D kernel of height 1;
so the layer is :func:`nablanet.ops.conv.conv2d_transpose` between two reshapes (both views:
the gradient passes through them unchanged). With stride :math:`s` and dilation :math:`d`,

.. math::

    y_\text{full}[n, i s + m d, f] \mathrel{+}= \sum_c x[n, i, c]\, w[m, f, c], \qquad
    y = g\bigl(b_f + \operatorname{crop}(y_\text{full})\bigr)

with Keras's output lengths (:class:`~nablanet.layers.Conv2DTranspose`'s rule on one axis).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nablanet import activations
from nablanet.autograd.tensor import Tensor
from nablanet.layers.conv_transpose import Conv2DTranspose
from nablanet.ops.conv import conv2d_transpose, deconv_output_length, normalize_tuple
from nablanet.ops.shape import reshape

__all__ = ["Conv1DTranspose"]


class Conv1DTranspose(Conv2DTranspose):
    """Transposed 1-D convolution, Keras 3's ``layers.Conv1DTranspose``.

    Parameters
    ----------
    filters : int
        Number of output channels.
    kernel_size : int or tuple of one int
    strides : int or tuple of one int
        The upsampling factor.
    padding : {'valid', 'same'}
    output_padding : int, optional
        Extra steps at the end (smaller than the stride).
    data_format : None or 'channels_last'
    dilation_rate : int or tuple of one int
    activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
    bias_regularizer, activity_regularizer
        As :class:`~nablanet.layers.Conv2DTranspose`. The kernel has Keras's layout
        ``(kernel_size, filters, in_channels)``.

    Input shape
    -----------
    ``(batch, steps, channels)``

    Output shape
    ------------
    ``(batch, new_steps, filters)``

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv1DTranspose(4, 3, strides=2, padding="same")
    >>> layer(np.ones((2, 5, 3), dtype=np.float32)).shape
    (2, 10, 4)
    >>> layer.kernel.shape
    (3, 4, 3)
    """

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = 1, padding: str = "valid",
                 output_padding: int | Sequence[int] | None = None,
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        owner = "Conv1DTranspose"
        kernel = normalize_tuple(kernel_size, 1, "kernel_size", owner)
        stride = normalize_tuple(strides, 1, "strides", owner)
        dilation = normalize_tuple(dilation_rate, 1, "dilation_rate", owner)
        pad = None
        if output_padding is not None:
            pad = normalize_tuple(output_padding, 1, "output_padding", owner)
            if not 0 <= pad[0] < stride[0]:
                raise ValueError(f"{owner}: output_padding must be a non-negative integer "
                                 f"smaller than the stride {stride[0]}. "
                                 f"Received: output_padding={output_padding!r}")
        super().__init__(filters, (1, *kernel), (1, *stride), padding,
                         None if pad is None else (0, *pad), data_format, (1, *dilation),
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)
        self.kernel_size = kernel
        self.strides = stride
        self.dilation_rate = dilation
        self.output_padding = pad  # type: ignore[assignment]

    def build(self, input_shape: Sequence[int | None]) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"Conv1DTranspose '{self.name}': expected inputs of shape (batch, steps, "
                f"channels) with a known number of channels. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        channels = int(input_shape[-1])
        self.kernel = self.add_weight("kernel", (*self.kernel_size, self.filters, channels),
                                      self.kernel_initializer, self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                        self.bias_regularizer)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        kernel = self.kernel
        assert kernel is not None
        if inputs.ndim != 3 or inputs.shape[-1] != kernel.shape[-1]:
            raise ValueError(f"Conv1DTranspose '{self.name}': expected input of shape (batch, "
                             f"steps, {kernel.shape[-1]}), got shape {inputs.shape}")
        batch, steps, channels = inputs.shape
        out = conv2d_transpose(
            reshape(inputs, (batch, 1, steps, channels)), reshape(kernel, (1, *kernel.shape)),
            self.bias if self.use_bias else None, strides=(1, *self.strides),
            padding=self.padding,
            output_padding=None if self.output_padding is None else (0, *self.output_padding),
            dilation_rate=(1, *self.dilation_rate))
        out = reshape(out, (batch, out.shape[2], self.filters))
        if self.activation is not activations.linear:
            out = self.activation(out)
        return out

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        batch, steps, _ = tuple(input_shape)
        length = None if steps is None else deconv_output_length(
            int(steps), self.kernel_size[0], self.strides[0], self.padding,
            self.dilation_rate[0], None if self.output_padding is None else
            self.output_padding[0])
        return (batch, length, self.filters)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["output_padding"] = None if self.output_padding is None else \
            list(self.output_padding)
        return config
