r"""Decoder layers: ``Conv2DTranspose`` and ``UpSampling2D`` (Keras 3 names, channels-last).

Both grow the spatial size of a feature map, which is what the decoder :math:`g` of a
convolutional autoencoder (§9.2) needs to map a small code back to an image.

* :class:`Conv2DTranspose` is the adjoint (the gradient with respect to the input) of a
  ``Conv2D`` with the same kernel, strides and padding, plus a bias: with stride :math:`s`
  each input pixel scatters a weighted copy of the kernel into the output,

  .. math::

      y_\text{full}[n, i s_h + m, j s_w + l, f] \mathrel{+}= \sum_c x[n, i, j, c]\, w[m, l, f, c],
      \qquad y = g\bigl(b + \operatorname{crop}(y_\text{full})\bigr)

  with Keras's kernel layout ``(kernel_height, kernel_width, filters, in_channels)``.
* :class:`UpSampling2D` repeats rows and columns (``'nearest'``) or interpolates them
  (``'bilinear'``, half-pixel centres).

The maths lives in :func:`nablanet.ops.conv.conv2d_transpose` and
:func:`nablanet.ops.resize.upsampling2d`; these classes only hold configuration and weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import activations, constraints, initializers, regularizers
from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer
from nablanet.ops.conv import conv2d_transpose, deconv_output_length, normalize_tuple
from nablanet.ops.resize import upsampling2d

__all__ = ["Conv2DTranspose", "UpSampling2D"]


def _check_data_format(owner: str, data_format: Any) -> None:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{owner}: only data_format='channels_last' is supported. "
                         f"Received: data_format={data_format!r}")


class Conv2DTranspose(Layer):
    r"""Transposed 2-D convolution ("deconvolution"), Keras 3's ``layers.Conv2DTranspose``.

    .. math::

        y_\text{full}[n, i s_h + m d_h, j s_w + l d_w, f] \mathrel{+}=
            \sum_c x[n, i, j, c]\, w[m, l, f, c], \qquad
        y = g\bigl(b_f + y_\text{full}[:, p_t : p_t + H_o,\; p_l : p_l + W_o, :]\bigr)

    :math:`p_t, p_l` are TensorFlow's 'same' padding before (0 for 'valid'). The output size
    per axis is Keras's: without ``output_padding``, :math:`n s` for 'same' and
    :math:`n s + \max(k - s, 0)` for 'valid'; with it, :math:`(n-1)s + k - 2p + o` where
    :math:`p = \lfloor k/2 \rfloor` for 'same' and 0 for 'valid' (:math:`k` the dilated
    kernel size).

    Parameters
    ----------
    filters : int
        Number of output channels.
    kernel_size : int or pair of ints
    strides : int or pair of ints
        The upsampling factor.
    padding : {'valid', 'same'}
    output_padding : int or pair of ints, optional
        Extra rows/columns on the bottom/right (each smaller than the stride).
    data_format : None or 'channels_last'
    dilation_rate : int or pair of ints
    activation : str or callable, optional
    use_bias : bool
    kernel_initializer, bias_initializer
        Keras defaults ``'glorot_uniform'`` and ``'zeros'``; the fans of the kernel
        ``(kh, kw, filters, C_in)`` are ``kh·kw·filters`` and ``kh·kw·C_in`` as in Keras.
    kernel_regularizer, bias_regularizer, activity_regularizer

    Input shape
    -----------
    ``(batch, height, width, channels)``

    Output shape
    ------------
    ``(batch, new_height, new_width, filters)``

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv2DTranspose(8, 3, strides=2, padding="same")
    >>> layer(np.ones((2, 4, 4, 3), dtype=np.float32)).shape
    (2, 8, 8, 8)
    >>> layer.kernel.shape
    (3, 3, 8, 3)
    """

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = (1, 1), padding: str = "valid",
                 output_padding: int | Sequence[int] | None = None,
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = (1, 1),
                 activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = "Conv2DTranspose"
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) \
                or filters <= 0:
            raise ValueError(f"{owner}: filters must be a positive integer. "
                             f"Received: filters={filters!r}")
        _check_data_format(owner, data_format)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", owner)
        self.strides = normalize_tuple(strides, 2, "strides", owner)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", owner)
        mode = padding.lower() if isinstance(padding, str) else padding
        if mode not in ("valid", "same"):
            raise ValueError(f"{owner}: padding must be 'valid' or 'same'. "
                             f"Received: padding={padding!r}")
        self.padding = mode
        if output_padding is not None:
            pads = ((int(output_padding),) * 2 if isinstance(output_padding, (int, np.integer))
                    else tuple(int(p) for p in output_padding))
            if len(pads) != 2 or any(p < 0 or p >= s for p, s in zip(pads, self.strides)):
                raise ValueError(
                    f"{owner}: output_padding must be a pair of non-negative integers, each "
                    f"smaller than the strides {self.strides}. "
                    f"Received: output_padding={output_padding!r}"
                )
            output_padding = pads
        self.output_padding: tuple[int, int] | None = output_padding  # type: ignore[assignment]
        self.data_format = data_format
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel: Tensor | None = None
        self.bias: Tensor | None = None

    def build(self, input_shape: Sequence[int | None]) -> None:
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                f"Conv2DTranspose '{self.name}': expected inputs of shape (batch, height, "
                f"width, channels) with a known number of channels. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        channels = int(input_shape[-1])
        self.kernel = self.add_weight("kernel", (*self.kernel_size, self.filters, channels),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                        self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.ndim != 4 or inputs.shape[-1] != self.kernel.shape[-1]:  # type: ignore[union-attr]
            raise ValueError(
                f"Conv2DTranspose '{self.name}': expected input of shape (batch, height, width, "
                f"{self.kernel.shape[-1]}), got shape {inputs.shape}"  # type: ignore[union-attr]
            )
        out = conv2d_transpose(inputs, self.kernel, self.bias if self.use_bias else None,
                               strides=self.strides, padding=self.padding,
                               output_padding=self.output_padding,
                               dilation_rate=self.dilation_rate)
        if self.activation is not activations.linear:
            out = self.activation(out)
        return out

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        batch, h, w, _ = tuple(input_shape)
        sizes: list[int | None] = []
        for axis, size in enumerate((h, w)):
            if size is None:
                sizes.append(None)
                continue
            pad = None if self.output_padding is None else self.output_padding[axis]
            sizes.append(deconv_output_length(int(size), self.kernel_size[axis],
                                              self.strides[axis], self.padding,
                                              self.dilation_rate[axis], pad))
        return (batch, sizes[0], sizes[1], self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "output_padding": (None if self.output_padding is None
                               else list(self.output_padding)),
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class UpSampling2D(Layer):
    r"""Upsampling of images by integer factors, Keras 3's ``layers.UpSampling2D``.

    'nearest' repeats each row :math:`f_h` times and each column :math:`f_w` times,

    .. math:: y[n, i, j, c] = x[n, \lfloor i / f_h \rfloor, \lfloor j / f_w \rfloor, c],

    and its gradient sums each :math:`f_h \times f_w` block; 'bilinear' interpolates with
    half-pixel centres (as Keras and ``torch.nn.Upsample(align_corners=False)``).
    No weights.

    Parameters
    ----------
    size : int or pair of ints
        Upsampling factors for rows and columns.
    data_format : None or 'channels_last'
    interpolation : {'nearest', 'bilinear'}

    Input shape
    -----------
    ``(batch, height, width, channels)``

    Output shape
    ------------
    ``(batch, height · size[0], width · size[1], channels)``

    Examples
    --------
    >>> import numpy as np
    >>> UpSampling2D(size=2)(np.ones((1, 3, 4, 2), dtype=np.float32)).shape
    (1, 6, 8, 2)
    """

    def __init__(self, size: int | Sequence[int] = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _check_data_format("UpSampling2D", data_format)
        self.size = normalize_tuple(size, 2, "size", "UpSampling2D")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError("UpSampling2D: interpolation must be 'nearest' or 'bilinear'. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = interpolation
        self.data_format = data_format

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.ndim != 4:
            raise ValueError(f"UpSampling2D '{self.name}': expected input of shape (batch, "
                             f"height, width, channels), got shape {inputs.shape}")
        return upsampling2d(inputs, self.size, self.interpolation)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        batch, h, w, c = tuple(input_shape)
        return (batch, None if h is None else h * self.size[0],
                None if w is None else w * self.size[1], c)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size),
                "data_format": self.data_format, "interpolation": self.interpolation}
