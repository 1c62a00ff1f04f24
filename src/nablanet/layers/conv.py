r"""Convolutional layers, chapter §7.2–7.3: ``Conv1D`` and ``Conv2D`` (channels-last, Keras 3).

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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import activations, initializers, regularizers
from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer
from nablanet.ops.conv import conv1d, conv2d

__all__ = ["Conv1D", "Conv2D", "Convolution1D", "Convolution2D"]


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer. "
                         f"Received: {name}={value!r}")
    return int(value)


def _int_tuple(owner: str, name: str, value: Any, rank: int) -> tuple[int, ...]:
    """An int or a sequence of ``rank`` positive ints as a tuple (Keras's standardize_tuple)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        values: tuple[Any, ...] = (value,) * rank
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = ()
    if len(values) != rank or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                                  or v <= 0 for v in values):
        raise ValueError(f"{owner}: {name} must be a positive integer or a tuple of {rank} "
                         f"positive integers. Received: {name}={value!r}")
    return tuple(int(v) for v in values)


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
        self.filters = _positive_int(owner, "filters", filters)
        self.kernel_size = _int_tuple(owner, "kernel_size", kernel_size, self.rank)
        self.strides = _int_tuple(owner, "strides", strides, self.rank)
        self.dilation_rate = _int_tuple(owner, "dilation_rate", dilation_rate, self.rank)
        self.groups = _positive_int(owner, "groups", groups)
        mode = padding.lower() if isinstance(padding, str) else padding
        if mode not in self._paddings:
            choices = ", ".join(repr(p) for p in self._paddings)
            raise ValueError(f"{owner}: padding must be one of {choices}. "
                             f"Received: padding={padding!r}")
        self.padding = mode
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{owner}: only data_format='channels_last' (NHWC) is supported. "
                             f"Received: data_format={data_format!r}")
        self.data_format = "channels_last"
        if self.filters % self.groups:
            raise ValueError(f"{owner}: the number of filters must be divisible by the number "
                             f"of groups. Received: groups={self.groups}, "
                             f"filters={self.filters}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{owner}: strides > 1 not supported in conjunction with "
                             f"dilation_rate > 1. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        for name, value in (("kernel_constraint", kernel_constraint),
                            ("bias_constraint", bias_constraint)):
            if value is not None:
                raise NotImplementedError(f"{owner}: weight constraints are not supported. "
                                          f"Received: {name}={value!r}")
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
    def _check_rank(self, input_shape: Sequence[int | None]) -> None:
        if len(input_shape) != self.rank + 2:
            axes = "(batch, steps, channels)" if self.rank == 1 else \
                "(batch, height, width, channels)"
            raise ValueError(f"{type(self).__name__} '{self.name}': expected an input of rank "
                             f"{self.rank + 2} {axes}. Received: input_shape="
                             f"{tuple(input_shape)}")

    def build(self, input_shape: Sequence[int | None]) -> None:
        self._check_rank(input_shape)
        channels = input_shape[-1]
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
                                      self.kernel_regularizer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                        self.bias_regularizer)
        self.built = True

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        self._check_rank(input_shape)
        spatial = tuple(
            conv_output_length(n, k, self.padding, s, d)
            for n, k, s, d in zip(tuple(input_shape)[1:-1], self.kernel_size, self.strides,
                                  self.dilation_rate)
        )
        if any(n is not None and n <= 0 for n in spatial):
            raise ValueError(f"{type(self).__name__} '{self.name}': the input is too small "
                             f"for the kernel: input_shape={tuple(input_shape)}, kernel_size="
                             f"{self.kernel_size}, dilation_rate={self.dilation_rate}, "
                             f"padding={self.padding!r} would give an output of size "
                             f"{spatial}")
        return (input_shape[0], *spatial, self.filters)

    def _check_input(self, inputs: Tensor) -> None:
        self._check_rank(inputs.shape)
        if inputs.shape[-1] != self.input_channels:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected "
                             f"{self.input_channels} input channels (axis -1), got an input "
                             f"of shape {inputs.shape}")
        self.compute_output_shape(inputs.shape)  # clear error for too-small inputs

    def _fused_activation(self) -> str | None:
        """'relu' when the activation is plain ReLU: the conv primitive then applies it."""
        return "relu" if self.activation is activations.relu else None

    def _finish(self, out: Tensor) -> Tensor:
        if self.activation is not activations.linear and self._fused_activation() is None:
            out = self.activation(out)
        return out

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
            "kernel_constraint": None,
            "bias_constraint": None,
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
    data_format : None or 'channels_last'
        Only channels-last (NHWC) is supported, as Keras's default.
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
        self._check_input(inputs)
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
        self._check_input(inputs)
        out = conv1d(inputs, self.kernel, self.bias if self.use_bias else None,
                     strides=self.strides[0], padding=self.padding,
                     dilation_rate=self.dilation_rate[0], groups=self.groups,
                     activation=self._fused_activation())
        return self._finish(out)


#: Keras's aliases.
Convolution1D = Conv1D
Convolution2D = Conv2D
