r"""Convolutional layers, chapter §7.2–7.3: ``Conv1D`` and ``Conv2D`` (Keras 3).

A convolutional layer computes several parallel cross-correlations of its input with learned
kernels (eq. 16, corrected in ERRATA 7.1), adds a bias per filter and applies an activation:

.. math::

    y[n, i, j, f] = g\Big(b_f + \sum_{m, l, c} x_p[n,\, i s_h + m d_h,\, j s_w + l d_w,\, c]\;
                    w[m, l, c, f]\Big)

with :math:`x_p` the input zero-padded as ``padding`` says (``'valid'``: none; ``'same'``:
TensorFlow's rule, output size :math:`\lceil n / s \rceil`), strides :math:`s`, dilation
:math:`d` and, with ``groups`` :math:`G > 1`, the sum over :math:`c` restricted to the
:math:`C/G` input channels of the filter's group. The computation is the fused primitive
:func:`nablanet.ops.conv.conv2d` (im2col + one GEMM, hand-written backward; a plain ``'relu'``
activation is fused into it: bias and rectifier in one in-place pass); the pooling step
of §7.3 is in :mod:`nablanet.layers.pooling`.

``data_format='channels_first'`` (``(batch, channels, ...)``, Keras's meaning) is accepted:
the layer transposes its input to channels-last, runs the same primitive and transposes the
result back; the kernel keeps Keras's shape ``(*kernel_size, in_channels / groups,
filters)`` either way. ``data_format=None`` means :func:`nablanet.config.image_data_format`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import activations, constraints, initializers, regularizers
from nablanet.autograd.tensor import Tensor
from nablanet.config import standardize_data_format
from nablanet.layers.base import Layer
from nablanet.ops.conv import conv1d, conv2d
from nablanet.ops.shape import transpose

__all__ = ["Conv1D", "Conv2D", "Convolution1D", "Convolution2D"]


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer. "
                         f"Received: {name}={value!r}")
    return int(value)


def _int_tuple(owner: str, name: str, value: Any, rank: int) -> tuple[int, ...]:
    """An int or a sequence of ``rank`` positive ints as a tuple (Keras's standardize_tuple,
    and its messages)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        values: tuple[Any, ...] = (value,) * rank
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = ()
    if len(values) != rank or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                                  for v in values):
        raise ValueError(f"{owner}: The `{name}` argument must be a tuple of {rank} integers. "
                         f"Received {name}={value!r}")
    bad = {int(v) for v in values if v <= 0}
    if bad:
        raise ValueError(f"{owner}: The `{name}` argument must be a tuple of {rank} integers. "
                         f"Received {name}={tuple(values)}, including values {bad} that do "
                         "not satisfy `value > 0`")
    return tuple(int(v) for v in values)


def to_channels_last(x: Tensor) -> Tensor:
    """``(batch, channels, *spatial)`` → ``(batch, *spatial, channels)``."""
    return transpose(x, (0, *range(2, x.ndim), 1))


def to_channels_first(x: Tensor) -> Tensor:
    """``(batch, *spatial, channels)`` → ``(batch, channels, *spatial)``."""
    return transpose(x, (0, x.ndim - 1, *range(1, x.ndim - 1)))


def conv_output_length(size: int | None, kernel: int, padding: str, stride: int,
                       dilation: int = 1) -> int | None:
    r"""Output length of a convolution or pooling along one axis (None stays None).

    .. math::

        o_\text{valid} = \left\lfloor \frac{n - (k - 1) d - 1}{s} \right\rfloor + 1, \qquad
        o_\text{same} = o_\text{causal} = \left\lceil \frac{n}{s} \right\rceil

    Examples
    --------
    >>> conv_output_length(128, 3, 'valid', 1), conv_output_length(7, 3, 'same', 2)
    (126, 4)
    """
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    return (size - effective) // stride + 1 if size >= effective else 0


class _Conv(Layer):
    """Shared configuration, weights and shape logic of :class:`Conv1D` and :class:`Conv2D`."""

    rank = 2
    _paddings: tuple[str, ...] = ("valid", "same")

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 groups: int = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) \
                or filters <= 0:
            raise ValueError(f"{owner}: Invalid value for argument `filters`. Expected a "
                             f"strictly positive value. Received filters={filters}.")
        self.filters = int(filters)
        self.kernel_size = _int_tuple(owner, "kernel_size", kernel_size, self.rank)
        self.strides = _int_tuple(owner, "strides", strides, self.rank)
        self.dilation_rate = _int_tuple(owner, "dilation_rate", dilation_rate, self.rank)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(f"{owner}: The number of groups must be a positive integer. "
                             f"Received: groups={groups}.")
        self.groups = int(groups)
        mode = padding.lower() if isinstance(padding, str) else padding
        if mode not in self._paddings:
            choices = ", ".join(repr(p) for p in self._paddings)
            raise ValueError(f"{owner}: padding must be one of {choices}. "
                             f"Received: padding={padding!r}")
        self.padding = mode
        self.data_format = standardize_data_format(data_format)
        if self.filters % self.groups:
            raise ValueError(f"{owner}: The number of filters must be evenly divisible by the "
                             f"number of groups. Received: groups={self.groups}, "
                             f"filters={self.filters}.")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{owner}: `strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer: Any = initializers.get(kernel_initializer)
        self.bias_initializer: Any = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel: Tensor | None = None
        self.bias: Tensor | None = None
        self.input_channels: int | None = None

    # -- shapes -------------------------------------------------------------------------------
    @property
    def _channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def _check_rank(self, input_shape: Sequence[int | None]) -> None:
        if len(input_shape) != self.rank + 2:
            spatial = "steps" if self.rank == 1 else "height, width"
            axes = f"(batch, channels, {spatial})" if self.data_format == "channels_first" \
                else f"(batch, {spatial}, channels)"
            raise ValueError(f"{type(self).__name__} '{self.name}': expected an input of rank "
                             f"{self.rank + 2} {axes}. Received: input_shape="
                             f"{tuple(input_shape)}")

    def _spatial(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        return shape[2:] if self.data_format == "channels_first" else shape[1:-1]

    def build(self, input_shape: Sequence[int | None]) -> None:
        self._check_rank(input_shape)
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the channel dimension of "
                             f"the inputs must be known. Received: input_shape="
                             f"{tuple(input_shape)}")
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} '{self.name}': the number of input "
                             f"channels must be divisible by the number of groups. Received: "
                             f"groups={self.groups}, input_shape={tuple(input_shape)}")
        self.input_channels = int(channels)
        shape = (*self.kernel_size, self.input_channels // self.groups, self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                        self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        self._check_rank(input_shape)
        spatial = tuple(
            conv_output_length(n, k, self.padding, s, d)
            for n, k, s, d in zip(self._spatial(input_shape), self.kernel_size, self.strides,
                                  self.dilation_rate)
        )
        if any(n is not None and n <= 0 for n in spatial):
            raise ValueError(f"{type(self).__name__} '{self.name}': the input is too small "
                             f"for the kernel: input_shape={tuple(input_shape)}, kernel_size="
                             f"{self.kernel_size}, dilation_rate={self.dilation_rate}, "
                             f"padding={self.padding!r} would give an output of size "
                             f"{spatial}")
        if self.data_format == "channels_first":
            return (input_shape[0], self.filters, *spatial)
        return (input_shape[0], *spatial, self.filters)

    def _check_input(self, inputs: Tensor) -> Tensor:
        """Check ``inputs`` and return them channels-last (the primitives' layout)."""
        self._check_rank(inputs.shape)
        if inputs.shape[self._channel_axis] != self.input_channels:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected "
                             f"{self.input_channels} input channels (axis "
                             f"{self._channel_axis}), got an input of shape {inputs.shape}")
        self.compute_output_shape(inputs.shape)  # clear error for too-small inputs
        return to_channels_last(inputs) if self.data_format == "channels_first" else inputs

    def _fused_activation(self) -> str | None:
        """'relu' when the activation is plain ReLU: the conv primitive then applies it."""
        return "relu" if self.activation is activations.relu else None

    def _finish(self, out: Tensor) -> Tensor:
        if self.activation is not None and self.activation is not activations.linear \
                and self._fused_activation() is None:
            out = self.activation(out)
        return to_channels_first(out) if self.data_format == "channels_first" else out

    # -- configuration ------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Conv2D(_Conv):
    r"""2-D convolution layer (Keras ``Conv2D``): ``filters`` kernels slid over height and width.

    .. math::

        y[n, i, j, f] = g\Big(b_f + \sum_{m=0}^{k_h-1} \sum_{l=0}^{k_w-1} \sum_{c}
                        x_p[n,\, i s_h + m d_h,\, j s_w + l d_w,\, c]\; w[m, l, c, f]\Big)

    the cross-correlation of the chapter's eq. (16) (corrected: ERRATA 7.1), what every deep
    learning framework calls convolution.

    Parameters
    ----------
    filters : int
        Number of kernels, i.e. output channels.
    kernel_size : int or tuple of 2 ints
        Height and width of each kernel.
    strides : int or tuple of 2 ints
        Step between kernel positions (default 1).
    padding : {'valid', 'same'}
        'valid': no padding, output :math:`\lfloor (n - (k-1)d - 1)/s \rfloor + 1`; 'same':
        zeros as TensorFlow adds them (the smaller half before), output :math:`\lceil n/s \rceil`.
    data_format : None, 'channels_last' or 'channels_first'
        NHWC or NCHW; None means :func:`nablanet.config.image_data_format` (NHWC by
        default). NCHW inputs are transposed to NHWC inside.
    dilation_rate : int or tuple of 2 ints
        Spacing :math:`d` between kernel taps (cannot be combined with strides > 1).
    groups : int
        Split the input channels and the filters into ``groups`` independent convolutions.
    activation : str or callable, optional
        Applied to the output (``'relu'`` in the chapter); None is linear.
    use_bias : bool
    kernel_initializer, bias_initializer
        Keras defaults ``'glorot_uniform'`` (fans :math:`k_h k_w C_{in}` and
        :math:`k_h k_w C_{out}`) and ``'zeros'``.
    kernel_regularizer, bias_regularizer, activity_regularizer
        Penalties added to :attr:`losses`.

    Input shape
    -----------
    ``(batch, height, width, channels)``

    Output shape
    ------------
    ``(batch, new_height, new_width, filters)``

    Weights: ``kernel`` of shape ``(kh, kw, channels // groups, filters)``, ``bias``
    ``(filters,)``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv2D(16, (3, 3), activation='relu')
    >>> layer(np.zeros((2, 128, 128, 3), dtype=np.float32)).shape
    (2, 126, 126, 16)
    >>> [w.shape for w in layer.weights]
    [(3, 3, 3, 16), (16,)]
    >>> Conv2D(8, 3, strides=2, padding='same').compute_output_shape((None, 7, 7, 3))
    (None, 4, 4, 8)
    """

    rank = 2

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = (1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = (1, 1),
                 groups: int = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)

    def call(self, inputs: Tensor) -> Tensor:
        inputs = self._check_input(inputs)
        out = conv2d(inputs, self.kernel, self.bias if self.use_bias else None,
                     strides=self.strides, padding=self.padding,
                     dilation_rate=self.dilation_rate, groups=self.groups,
                     activation=self._fused_activation())
        return self._finish(out)


class Conv1D(_Conv):
    r"""1-D convolution layer (Keras ``Conv1D``) over the steps of ``(batch, steps, channels)``.

    .. math::

        y[n, i, f] = g\Big(b_f + \sum_{m=0}^{k-1} \sum_c x_p[n,\, i s + m d,\, c]\; w[m, c, f]\Big)

    Arguments as :class:`Conv2D` with single integers (``kernel_size``, ``strides``,
    ``dilation_rate``); ``padding`` may also be ``'causal'``: :math:`(k-1)d` zeros on the left
    only, so output step :math:`i` sees inputs up to step :math:`i` (WaveNet-style).

    Input shape
    -----------
    ``(batch, steps, channels)``

    Output shape
    ------------
    ``(batch, new_steps, filters)``

    Examples
    --------
    >>> import numpy as np
    >>> Conv1D(4, 3, padding='causal')(np.zeros((2, 10, 5), dtype=np.float32)).shape
    (2, 10, 4)
    """

    rank = 1
    _paddings = ("valid", "same", "causal")

    def __init__(self, filters: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: int | Sequence[int] = 1,
                 groups: int = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, groups=groups,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)

    def call(self, inputs: Tensor) -> Tensor:
        inputs = self._check_input(inputs)
        out = conv1d(inputs, self.kernel, self.bias if self.use_bias else None,
                     strides=self.strides[0], padding=self.padding,
                     dilation_rate=self.dilation_rate[0], groups=self.groups,
                     activation=self._fused_activation())
        return self._finish(out)


#: Keras's aliases.
Convolution1D = Conv1D
Convolution2D = Conv2D
