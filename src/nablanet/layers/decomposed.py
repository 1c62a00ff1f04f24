r"""Layers whose weights are kept in a decomposed form and trained directly (§2 in a network).

- :class:`TTDense` (Novikov et al. 2015): the weight matrix of a dense layer as a TT-matrix.
- :class:`CPConv2D` (Lebedev et al. 2015): a :math:`k_h \times k_w` convolution from a rank-R
  CP decomposition of its kernel, computed as four small convolutions.
- :class:`TuckerConv2D` (Kim et al. 2016): Tucker-2 on the channel modes of the kernel,
  computed as a 1×1, a :math:`k_h \times k_w` and a 1×1 convolution.

Each layer computes exactly what a :class:`~nablanet.layers.Dense` or
:class:`~nablanet.layers.Conv2D` with the reconstructed kernel (:meth:`dense_kernel`) computes,
with far fewer weights, and the forward pass never forms that kernel. The computations are
composites of differentiable primitives (reshape, transpose, matmul, conv2d), so no backward
pass of their own is needed; the functional forms :func:`tt_matmul`, :func:`cp_conv2d` and
:func:`tucker_conv2d` are what the layers call.

:func:`compress_layer` replaces a trained ``Dense`` or ``Conv2D`` of a Sequential model by
its decomposed form, initialised from the decomposition of the trained kernel, with the rank
given or chosen for a target compression or error, ready for fine-tuning.

References
----------
A. Novikov, D. Podoprikhin, A. Osokin and D. Vetrov, "Tensorizing Neural Networks", NeurIPS 2015.
V. Lebedev, Y. Ganin, M. Rakhuba, I. Oseledets and V. Lempitsky, "Speeding-up Convolutional
Neural Networks Using Fine-tuned CP-Decomposition", ICLR 2015.
Y.-D. Kim, E. Park, S. Yoo, T. Choi, L. Yang and D. Shin, "Compression of Deep Convolutional
Neural Networks for Fast and Low Power Mobile Applications", ICLR 2016.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import activations, initializers
from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer
from nablanet.layers.conv import _int_tuple, _positive_int, conv_output_length
from nablanet.ops.conv import conv2d
from nablanet.ops.elementwise import add
from nablanet.ops.linalg import matmul
from nablanet.ops.shape import reshape, transpose

__all__ = ["CPConv2D", "TTDense", "TuckerConv2D"]


# -- functional forms ----------------------------------------------------------------------------
def tt_matmul(x: Any, cores: Sequence[Any]) -> Tensor:
    r"""``x @ W`` for a matrix ``W`` given as a TT-matrix, without forming ``W``.

    With cores :math:`\mathcal{G}_k \in \mathbb{R}^{r_{k-1} \times n_k \times m_k \times r_k}`
    (:math:`r_0 = r_d = 1`) the matrix is
    :math:`W[(i_1 \dots i_d), (j_1 \dots j_d)] = G_1[i_1, j_1] \cdots G_d[i_d, j_d]`
    (row and column indices in C order of their factors), and

    .. math::

        y_{b, j_1 \dots j_d} = \sum_{i_1 \dots i_d} x_{b, i_1 \dots i_d}\,
        G_1[i_1, j_1] \cdots G_d[i_d, j_d]

    is contracted one core at a time (Novikov et al. 2015, §4): step :math:`k` sums over
    :math:`(r_{k-1}, i_k)` with one matrix product of the current state, viewed as
    :math:`(B\, m_1 \cdots m_{k-1}\, n_{k+1} \cdots n_d) \times (r_{k-1} n_k)`, and the core,
    viewed as :math:`(r_{k-1} n_k) \times (m_k r_k)`. The cost is
    :math:`O(B \sum_k r_{k-1} r_k\, m_1 \cdots m_k\, n_k \cdots n_d)` instead of
    :math:`O(B N M)`.

    Parameters
    ----------
    x : Tensor or array of shape ``(batch, n_1 * ... * n_d)``
    cores : sequence of Tensors or arrays, core k of shape ``(r_{k-1}, n_k, m_k, r_k)``

    Returns
    -------
    Tensor of shape ``(batch, m_1 * ... * m_d)``
    """
    batch = x.shape[0]
    rows = [int(c.shape[1]) for c in cores]
    state = reshape(x, (batch, 1, rows[0], math.prod(rows[1:])))  # (P, r, n_k, Q)
    for k, core in enumerate(cores):
        p, r, n, q = state.shape
        m, r_out = int(core.shape[2]), int(core.shape[3])
        flat = reshape(transpose(state, (0, 3, 1, 2)), (p * q, r * n))
        product = reshape(matmul(flat, reshape(core, (r * n, m * r_out))), (p, q, m, r_out))
        state = transpose(product, (0, 2, 3, 1))  # (P, m_k, r_k, Q)
        if k + 1 < len(cores):
            state = reshape(state, (p * m, r_out, rows[k + 1], q // rows[k + 1]))
    return reshape(state, (batch, -1))


def _pointwise(x: Any, matrix: Any) -> Tensor:
    """A 1×1 convolution: every pixel's channel vector times ``matrix``."""
    shape = x.shape
    out = matmul(reshape(x, (-1, shape[-1])), matrix)
    return reshape(out, (*shape[:-1], matrix.shape[-1]))


def depthwise_conv1d(x: Any, taps: Any, axis: int, stride: int, padding: str) -> Tensor:
    r"""A depthwise convolution along one spatial axis (1 or 2) of an NHWC tensor.

    .. math::

        y[\dots, i, \dots, r] = \sum_{m=0}^{k-1} x_p[\dots, i s + m, \dots, r]\, w_{m r}

    computed as :math:`k` shifted strided slices of the (padded) input times one weight per
    channel (speed: :math:`k` element-wise products instead of a grouped convolution with one
    channel per group). ``taps`` has shape ``(k, R)``; padding follows TensorFlow's rule.
    """
    from nablanet.ops.conv import same_padding
    from nablanet.ops.shape import getitem, pad

    k = int(taps.shape[0])
    size = int(x.shape[axis])
    if padding == "same":
        before, after = same_padding(size, k, stride)
        if before or after:
            widths = [(0, 0)] * 4
            widths[axis] = (before, after)
            x = pad(x, widths)
            size += before + after
    out = (size - k) // stride + 1
    total = None
    for m in range(k):
        index: list[Any] = [slice(None)] * 4
        index[axis] = slice(m, m + (out - 1) * stride + 1, stride)
        term = getitem(x, tuple(index)) * getitem(taps, m)
        total = term if total is None else total + term
    assert total is not None
    return total


def cp_conv2d(x: Any, input_factor: Any, vertical_factor: Any, horizontal_factor: Any,
              output_factor: Any, bias: Any = None, strides: Sequence[int] = (1, 1),
              padding: str = "valid") -> Tensor:
    r"""A convolution whose kernel is a CP tensor, as four small convolutions (Lebedev et al.).

    With :math:`K[y, x, c, f] = \sum_{r=1}^R V_{y r} H_{x r} A_{c r} B_{r f}` the convolution
    :math:`z = x \star K` factorises as

    .. math::

        u = x \star A \;(1 \times 1,\ C \to R), \quad
        v = u \star_{\text{depthwise}} V \;(k_h \times 1), \quad
        w = v \star_{\text{depthwise}} H \;(1 \times k_w), \quad
        z = w \star B \;(1 \times 1,\ R \to F)

    (the depthwise convolutions, :func:`depthwise_conv1d`, filter each of the :math:`R`
    channels on its own, each with its own stride and padding along its axis, which matches
    the 2-D padding rule).

    Parameters
    ----------
    x : Tensor of shape ``(batch, height, width, C)``
    input_factor : ``(C, R)``; vertical_factor : ``(k_h, R)``; horizontal_factor : ``(k_w, R)``;
    output_factor : ``(R, F)``; bias : ``(F,)`` or None
    """
    u = _pointwise(x, input_factor)
    v = depthwise_conv1d(u, vertical_factor, 1, strides[0], padding)
    w = depthwise_conv1d(v, horizontal_factor, 2, strides[1], padding)
    z = _pointwise(w, output_factor)
    return z if bias is None else add(z, bias)


def tucker_conv2d(x: Any, input_factor: Any, core: Any, output_factor: Any, bias: Any = None,
                  strides: Sequence[int] = (1, 1), padding: str = "valid") -> Tensor:
    r"""A convolution whose kernel is Tucker-2 on its channel modes (Kim et al. 2016).

    With :math:`K[y, x, c, f] = \sum_{s, t} U_{c s}\, \mathcal{G}[y, x, s, t]\, V_{t f}` the
    convolution is a 1×1 convolution :math:`C \to R_1` by :math:`U`, the
    :math:`k_h \times k_w` convolution :math:`R_1 \to R_2` by the core (with the layer's
    strides and padding) and a 1×1 convolution :math:`R_2 \to F` by :math:`V`.

    Parameters
    ----------
    x : Tensor of shape ``(batch, height, width, C)``
    input_factor : ``(C, R_1)``; core : ``(k_h, k_w, R_1, R_2)``; output_factor : ``(R_2, F)``;
    bias : ``(F,)`` or None
    """
    u = _pointwise(x, input_factor)
    v = conv2d(u, core, strides=tuple(strides), padding=padding)
    z = _pointwise(v, output_factor)
    return z if bias is None else add(z, bias)


# -- shared helpers ----------------------------------------------------------------------------
def balanced_factors(n: int, parts: int) -> tuple[int, ...]:
    """``n`` as a product of ``parts`` factors as equal as its prime factors allow, largest first.

    Examples
    --------
    >>> balanced_factors(63504, 3), balanced_factors(128, 3), balanced_factors(7, 2)
    ((42, 42, 36), (8, 4, 4), (7, 1))
    """
    primes: list[int] = []
    rest, p = int(n), 2
    while p * p <= rest:
        while rest % p == 0:
            primes.append(p)
            rest //= p
        p += 1
    if rest > 1:
        primes.append(rest)
    bins = [1] * parts
    for prime in sorted(primes, reverse=True):
        smallest = int(np.argmin(bins))
        bins[smallest] *= prime
    return tuple(sorted(bins, reverse=True))


def _glorot_variance(fan_in: int, fan_out: int) -> float:
    """The variance of Keras's Glorot initialisers, :math:`2 / (n_{in} + n_{out})`."""
    return 2.0 / (fan_in + fan_out)


def _positive_ints(owner: str, name: str, value: Any) -> tuple[int, ...]:
    try:
        values = tuple(value)
    except TypeError:
        values = ()
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0
                         for v in values):
        raise ValueError(f"{owner}: {name} must be a non-empty sequence of positive integers. "
                         f"Received: {name}={value!r}")
    return tuple(int(v) for v in values)


def _check_padding(owner: str, padding: Any) -> str:
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in ("valid", "same"):
        raise ValueError(f"{owner}: padding must be 'valid' or 'same'. "
                         f"Received: padding={padding!r}")
    return str(value)


class _Decomposed(Layer):
    """Activation, bias and config handling shared by the three layers."""

    def __init__(self, activation: Any = None, use_bias: bool = True,
                 bias_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias: Tensor | None = None

    def _finish(self, out: Tensor) -> Tensor:
        if self.use_bias:
            out = add(out, self.bias)
        if self.activation is not activations.linear:
            out = self.activation(out)
        return out

    def _add_bias(self, size: int) -> None:
        if self.use_bias:
            self.bias = self.add_weight("bias", (size,), self.bias_initializer)

    def _normal(self, name: str, shape: tuple[int, ...], std: float) -> Tensor:
        return self.add_weight(name, shape, initializers.RandomNormal(stddev=std))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "bias_initializer": initializers.serialize(self.bias_initializer)}


# -- TTDense -------------------------------------------------------------------------------------
class TTDense(_Decomposed):
    r"""A dense layer whose weight matrix is a TT-matrix (Novikov et al. 2015).

    The kernel :math:`W \in \mathbb{R}^{N \times M}`, :math:`N = n_1 \cdots n_d`,
    :math:`M = m_1 \cdots m_d`, is stored as cores
    :math:`\mathcal{G}_k \in \mathbb{R}^{r_{k-1} \times n_k \times m_k \times r_k}`:

    .. math::

        W[(i_1 \dots i_d), (j_1 \dots j_d)] = G_1[i_1, j_1]\, G_2[i_2, j_2] \cdots G_d[i_d, j_d],
        \qquad y = g(x W + b)

    with :math:`\sum_k r_{k-1} n_k m_k r_k` weights instead of :math:`N M`. The forward pass
    is :func:`tt_matmul` (the kernel is never formed). The cores start with independent normal
    entries scaled so that the entries of :math:`W` have Glorot's variance
    :math:`2 / (N + M)`.

    Parameters
    ----------
    units : int
        :math:`M`.
    tt_rank : int or sequence of int
        One rank for every inner bond, the :math:`d - 1` inner ranks, or all :math:`d + 1`
        (starting and ending with 1); each is clamped to what the shapes allow.
    input_factors, output_factors : sequence of int, optional
        :math:`(n_1, \dots, n_d)` with product :math:`N` and :math:`(m_1, \dots, m_d)` with
        product ``units``; by default :func:`balanced_factors` of each into ``num_cores``.
    num_cores : int
        :math:`d` when the factors are not given (default 3).
    activation, use_bias, bias_initializer
        As :class:`~nablanet.layers.Dense`.

    Input shape: ``(batch, N)``. Output shape: ``(batch, units)``.

    Examples
    --------
    >>> layer = TTDense(8, tt_rank=2, input_factors=(4, 3), output_factors=(2, 4))
    >>> layer(np.ones((5, 12), dtype=np.float32)).shape
    (5, 8)
    >>> [w.shape for w in layer.weights]
    [(1, 4, 2, 2), (2, 3, 4, 1), (8,)]
    """

    def __init__(self, units: int, tt_rank: int | Sequence[int] = 8,
                 input_factors: Sequence[int] | None = None,
                 output_factors: Sequence[int] | None = None, num_cores: int = 3,
                 activation: Any = None, use_bias: bool = True, bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(activation, use_bias, bias_initializer, **kwargs)
        self.units = _positive_int("TTDense", "units", units)
        self.num_cores = _positive_int("TTDense", "num_cores", num_cores)
        self.tt_rank: Any = (_positive_int("TTDense", "tt_rank", tt_rank)
                             if isinstance(tt_rank, (int, np.integer))
                             else list(_positive_ints("TTDense", "tt_rank", tt_rank)))
        self.input_factors = (None if input_factors is None
                              else list(_positive_ints("TTDense", "input_factors",
                                                       input_factors)))
        self.output_factors = (None if output_factors is None
                               else list(_positive_ints("TTDense", "output_factors",
                                                        output_factors)))
        if self.output_factors is not None:
            if math.prod(self.output_factors) != self.units:
                raise ValueError(f"TTDense: the output factors must multiply to units "
                                 f"({self.units}). Received: output_factors="
                                 f"{tuple(self.output_factors)}")
            if self.input_factors is not None and \
                    len(self.input_factors) != len(self.output_factors):
                raise ValueError(f"TTDense: input_factors and output_factors must have the "
                                 f"same length. Received: {tuple(self.input_factors)} and "
                                 f"{tuple(self.output_factors)}")
        self.cores: list[Tensor] = []
        self.input_dim: int | None = None

    def _factors(self, input_dim: int) -> tuple[list[int], list[int]]:
        d = len(self.input_factors or self.output_factors or []) or self.num_cores
        rows = self.input_factors or list(balanced_factors(input_dim, d))
        cols = self.output_factors or list(balanced_factors(self.units, d))
        if math.prod(rows) != input_dim:
            raise ValueError(f"TTDense '{self.name}': the input factors must multiply to the "
                             f"input dimension {input_dim}. Received: input_factors="
                             f"{tuple(rows)}")
        return rows, cols

    def build(self, input_shape: Sequence[int | None]) -> None:
        from nablanet.tensor_algebra.formats import tt_ranks

        last = input_shape[-1] if len(input_shape) else None
        if last is None or len(input_shape) != 2:
            raise ValueError(f"TTDense '{self.name}': expects inputs (batch, features) with "
                             f"known features. Received: input_shape={tuple(input_shape)}")
        self.input_dim = int(last)
        rows, cols = self._factors(self.input_dim)
        ranks = tt_ranks([n * m for n, m in zip(rows, cols)], self.tt_rank, "TTDense")
        # W's entries are sums of prod(r_1..r_{d-1}) products of d core entries.
        target = _glorot_variance(self.input_dim, self.units)
        paths = math.prod(ranks[1:-1])
        std = (target / paths) ** (0.5 / len(rows))
        self.cores = [self._normal(f"core_{k}", (ranks[k], rows[k], cols[k], ranks[k + 1]), std)
                      for k in range(len(rows))]
        self._add_bias(self.units)
        self.built = True

    @property
    def tt_ranks(self) -> tuple[int, ...]:
        """All TT ranks of the built layer, :math:`(1, r_1, \\dots, r_{d-1}, 1)`."""
        return tuple(int(c.shape[0]) for c in self.cores) + (1,)

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.ndim != 2 or inputs.shape[-1] != self.input_dim:
            raise ValueError(f"TTDense '{self.name}': expected input of shape (batch, "
                             f"{self.input_dim}), got {inputs.shape}")
        return self._finish(tt_matmul(inputs, self.cores))

    def dense_kernel(self) -> np.ndarray:
        """The full ``(N, units)`` kernel the cores represent (for checks and export)."""
        from nablanet.tensor_algebra.formats import TTMatrix

        return TTMatrix([c.data for c in self.cores]).to_matrix()

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "tt_rank": self.tt_rank,
                "input_factors": self.input_factors, "output_factors": self.output_factors,
                "num_cores": self.num_cores}


# -- convolutions ----------------------------------------------------------------------------
class _DecomposedConv(_Decomposed):
    def __init__(self, owner: str, filters: int, kernel_size: Any, strides: Any, padding: Any,
                 activation: Any, use_bias: bool, bias_initializer: Any, **kwargs: Any) -> None:
        super().__init__(activation, use_bias, bias_initializer, **kwargs)
        self.filters = _positive_int(owner, "filters", filters)
        self.kernel_size = _int_tuple(owner, "kernel_size", kernel_size, 2)
        self.strides = _int_tuple(owner, "strides", strides, 2)
        self.padding = _check_padding(owner, padding)
        self.input_channels: int | None = None

    def _channels(self, input_shape: Sequence[int | None]) -> int:
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': expects inputs (batch, "
                             f"height, width, channels) with known channels. Received: "
                             f"input_shape={tuple(input_shape)}")
        self.input_channels = int(input_shape[-1])
        return self.input_channels

    def _kernel_variance(self) -> float:
        area = self.kernel_size[0] * self.kernel_size[1]
        assert self.input_channels is not None
        return _glorot_variance(area * self.input_channels, area * self.filters)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        spatial = [conv_output_length(shape[1 + i], self.kernel_size[i], self.padding,
                                      self.strides[i]) for i in range(2)]
        return (shape[0], *spatial, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding}


class CPConv2D(_DecomposedConv):
    r"""A 2-D convolution with a rank-R CP kernel, as four small convolutions (Lebedev et al.).

    The kernel :math:`K \in \mathbb{R}^{k_h \times k_w \times C \times F}` is

    .. math::

        K[y, x, c, f] = \sum_{r=1}^{R} V_{y r}\, H_{x r}\, A_{c r}\, B_{r f}

    and the layer computes :func:`cp_conv2d`: a 1×1 convolution :math:`C \to R`, a
    :math:`k_h \times 1` and a :math:`1 \times k_w` depthwise convolution on the :math:`R`
    channels, and a 1×1 convolution :math:`R \to F`: :math:`R (k_h + k_w + C + F)` weights
    instead of :math:`k_h k_w C F`. The four factors start normal, scaled so that the entries
    of :math:`K` have Glorot's variance.

    Parameters
    ----------
    filters : int
        :math:`F`.
    kernel_size : int or pair of int
    rank : int
        :math:`R`.
    strides : int or pair of int
    padding : {'valid', 'same'}
    activation, use_bias, bias_initializer
        As :class:`~nablanet.layers.Conv2D`.

    Input shape ``(batch, height, width, C)``; output shape ``(batch, new_h, new_w, F)``.

    Examples
    --------
    >>> layer = CPConv2D(8, 3, rank=4, padding='same')
    >>> layer(np.ones((2, 5, 5, 3), dtype=np.float32)).shape
    (2, 5, 5, 8)
    >>> [w.shape for w in layer.weights]
    [(3, 4), (3, 4), (3, 4), (4, 8), (8,)]
    """

    def __init__(self, filters: int, kernel_size: Any, rank: int, strides: Any = (1, 1),
                 padding: str = "valid", activation: Any = None, use_bias: bool = True,
                 bias_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__("CPConv2D", filters, kernel_size, strides, padding, activation,
                         use_bias, bias_initializer, **kwargs)
        self.rank = _positive_int("CPConv2D", "rank", rank)

    def build(self, input_shape: Sequence[int | None]) -> None:
        channels = self._channels(input_shape)
        kh, kw = self.kernel_size
        r = self.rank
        std = (self._kernel_variance() / r) ** 0.125  # K's entries: sums of R 4-fold products
        self.input_factor = self._normal("input_factor", (channels, r), std)
        self.vertical_factor = self._normal("vertical_factor", (kh, r), std)
        self.horizontal_factor = self._normal("horizontal_factor", (kw, r), std)
        self.output_factor = self._normal("output_factor", (r, self.filters), std)
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        out = cp_conv2d(inputs, self.input_factor, self.vertical_factor, self.horizontal_factor,
                        self.output_factor, None, self.strides, self.padding)
        return self._finish(out)

    def dense_kernel(self) -> np.ndarray:
        """The full ``(k_h, k_w, C, F)`` kernel the factors represent."""
        return np.einsum("yr,xr,cr,rf->yxcf", self.vertical_factor.data,
                         self.horizontal_factor.data, self.input_factor.data,
                         self.output_factor.data)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rank": self.rank}


class TuckerConv2D(_DecomposedConv):
    r"""A 2-D convolution with a Tucker-2 kernel on its channel modes (Kim et al. 2016).

    .. math::

        K[y, x, c, f] = \sum_{s=1}^{R_1} \sum_{t=1}^{R_2} U_{c s}\, \mathcal{G}[y, x, s, t]\,
        V_{t f}

    computed as :func:`tucker_conv2d`: a 1×1 convolution :math:`C \to R_1`, the
    :math:`k_h \times k_w` core convolution :math:`R_1 \to R_2` (with the strides and
    padding) and a 1×1 convolution :math:`R_2 \to F`; :math:`C R_1 + k_h k_w R_1 R_2 + R_2 F`
    weights instead of :math:`k_h k_w C F`. The factors start with orthonormal columns and the
    core normal, scaled so that :math:`K`'s entries have Glorot's variance.

    Parameters
    ----------
    filters : int
    kernel_size : int or pair of int
    ranks : int or pair of int
        :math:`(R_1, R_2)`, the input- and output-channel ranks.
    strides, padding, activation, use_bias, bias_initializer
        As :class:`~nablanet.layers.Conv2D`.

    Examples
    --------
    >>> layer = TuckerConv2D(8, 3, ranks=(2, 4))
    >>> layer(np.ones((2, 5, 5, 3), dtype=np.float32)).shape
    (2, 3, 3, 8)
    >>> [w.shape for w in layer.weights]
    [(3, 2), (3, 3, 2, 4), (4, 8), (8,)]
    """

    def __init__(self, filters: int, kernel_size: Any, ranks: Any, strides: Any = (1, 1),
                 padding: str = "valid", activation: Any = None, use_bias: bool = True,
                 bias_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__("TuckerConv2D", filters, kernel_size, strides, padding, activation,
                         use_bias, bias_initializer, **kwargs)
        self.ranks = _int_tuple("TuckerConv2D", "ranks", ranks, 2)

    def build(self, input_shape: Sequence[int | None]) -> None:
        channels = self._channels(input_shape)
        r1, r2 = self.ranks
        kh, kw = self.kernel_size
        init = initializers.Orthogonal()
        self.input_factor = self.add_weight("input_factor", (channels, r1), init)
        self.core = self._normal("core", (kh, kw, r1, r2), float(np.sqrt(
            self._kernel_variance() * channels * self.filters / (r1 * r2))))
        self.output_factor = self.add_weight("output_factor", (r2, self.filters), init)
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        out = tucker_conv2d(inputs, self.input_factor, self.core, self.output_factor, None,
                            self.strides, self.padding)
        return self._finish(out)

    def dense_kernel(self) -> np.ndarray:
        """The full ``(k_h, k_w, C, F)`` kernel."""
        return np.einsum("cs,yxst,tf->yxcf", self.input_factor.data, self.core.data,
                         self.output_factor.data)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "ranks": self.ranks}


# -- compressing a trained model ----------------------------------------------------------------
def _tt_parameters(rows: Sequence[int], cols: Sequence[int], rank: int) -> int:
    from nablanet.tensor_algebra.formats import tt_ranks

    ranks = tt_ranks([n * m for n, m in zip(rows, cols)], rank, "compress_layer")
    return sum(ranks[k] * n * m * ranks[k + 1] for k, (n, m) in enumerate(zip(rows, cols)))


def _largest_rank(parameters: Any, budget: float, upper: int) -> int:
    """The largest rank in ``[1, upper]`` whose ``parameters(rank)`` fits ``budget`` (or 1)."""
    low, high = 1, upper
    while low < high:
        middle = (low + high + 1) // 2
        if parameters(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _check_target(rank: Any, compression: Any, error: Any) -> None:
    given = [name for name, v in (("rank", rank), ("compression", compression),
                                  ("error", error)) if v is not None]
    if len(given) != 1:
        raise ValueError(f"compress_layer: give exactly one of rank, compression or error. "
                         f"Received: {', '.join(given) or 'none of them'}")
    if compression is not None and not (isinstance(compression, (int, float))
                                        and compression >= 1):
        raise ValueError(f"compress_layer: compression must be a number >= 1 (dense weights "
                         f"per decomposed weight). Received: compression={compression!r}")
    if error is not None and not (isinstance(error, (int, float)) and 0 <= error < 1):
        raise ValueError(f"compress_layer: error must be a relative error in [0, 1). "
                         f"Received: error={error!r}")


def _decompose_dense(layer: Any, rank: Any, compression: Any, error: Any,
                     input_factors: Any, output_factors: Any, num_cores: int) -> Layer:
    from nablanet.tensor_algebra import tensor_train_matrix

    kernel = np.asarray(layer.kernel.data, dtype=np.float64)
    n_in, units = kernel.shape
    rows = list(input_factors or balanced_factors(n_in, num_cores))
    cols = list(output_factors or balanced_factors(units, len(rows)))
    if math.prod(rows) != n_in or math.prod(cols) != units or len(rows) != len(cols):
        raise ValueError(f"compress_layer: input_factors must multiply to {n_in} and "
                         f"output_factors to {units}, with as many of each. Received: "
                         f"{tuple(rows)} and {tuple(cols)}")
    tensorised = kernel.reshape(rows + cols)
    if compression is not None:
        rank = _largest_rank(lambda r: _tt_parameters(rows, cols, r), n_in * units / compression,
                             max(n_in, units))
    train = tensor_train_matrix(tensorised, rank, eps=error)
    new = TTDense(units, tt_rank=list(train.ranks), input_factors=rows, output_factors=cols,
                  activation=layer.activation, use_bias=layer.use_bias, name=layer.name)
    new.build((None, n_in))
    new.set_weights([c.astype(np.float32) for c in train.cores]
                    + ([layer.bias.data] if layer.use_bias else []))
    return new


def _decompose_conv(layer: Any, method: str, rank: Any, compression: Any, error: Any,
                    random_state: Any) -> Layer:
    from nablanet.tensor_algebra import cp, partial_tucker

    if tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1:
        raise ValueError(f"compress_layer: only Conv2D layers with dilation_rate=(1, 1) and "
                         f"groups=1 can be decomposed. Received: dilation_rate="
                         f"{layer.dilation_rate}, groups={layer.groups}")
    kernel = np.asarray(layer.kernel.data, dtype=np.float64)
    kh, kw, channels, filters = kernel.shape
    size = kernel.size
    common = dict(strides=layer.strides, padding=layer.padding, activation=layer.activation,
                  use_bias=layer.use_bias, name=layer.name)
    bias = [layer.bias.data] if layer.use_bias else []
    norm = float(np.linalg.norm(kernel))

    if method == "cp":
        def fit(r: int) -> Any:
            return cp(kernel, r, init="svd", n_iter_max=500, tol=1e-10,
                      random_state=random_state)

        per_rank = kh + kw + channels + filters
        if compression is not None:
            rank = max(1, int(size / compression) // per_rank)
        if error is not None:  # the smallest rank that reaches the error
            rank = 1
            while fit(rank).relative_error(kernel) > error and rank * per_rank < size:
                rank += 1
        result = fit(int(rank))
        vertical, horizontal, inputs, outputs = result.factors
        new: Layer = CPConv2D(filters, (kh, kw), int(rank), **common)
        new.build((None, None, None, channels))
        new.set_weights([inputs, vertical, horizontal, (outputs * result.weights).T] + bias)
        return new

    def tucker2(r1: int, r2: int) -> Any:
        return partial_tucker(kernel, [r1, r2], modes=[2, 3], tol=1e-10)

    def ranks_at(scale: float) -> tuple[int, int]:
        return max(1, round(scale * channels)), max(1, round(scale * filters))

    def parameters(r: tuple[int, int]) -> int:
        return channels * r[0] + kh * kw * r[0] * r[1] + r[1] * filters

    scales = np.linspace(0.01, 1.0, 100)
    if compression is not None:
        fitting = [s for s in scales if parameters(ranks_at(s)) <= size / compression]
        rank = ranks_at(fitting[-1] if fitting else scales[0])
    elif error is not None:
        for s in scales:
            rank = ranks_at(s)
            (core, _), _ = tucker2(*rank)
            if np.sqrt(max(norm ** 2 - float(np.vdot(core, core)), 0.0)) <= error * norm:
                break
    r1, r2 = (rank, rank) if isinstance(rank, (int, np.integer)) else tuple(rank)
    (core, (u, v)), _ = tucker2(int(r1), int(r2))
    new = TuckerConv2D(filters, (kh, kw), (core.shape[2], core.shape[3]), **common)
    new.build((None, None, None, channels))
    new.set_weights([u, core, v.T] + bias)
    return new


def compress_layer(model: Any, layer: Any, *, method: str | None = None, rank: Any = None,
                   compression: float | None = None, error: float | None = None,
                   input_factors: Sequence[int] | None = None,
                   output_factors: Sequence[int] | None = None, num_cores: int = 3,
                   random_state: Any = 0) -> Any:
    r"""A copy of a Sequential ``model`` with one trained layer replaced by its decomposed form.

    The new layer is initialised from the decomposition of the trained kernel, so before any
    fine-tuning the model computes what the original computes up to the decomposition's
    error; the bias and activation are kept. Every other layer is a copy (same config and
    weights), so training the result leaves ``model`` unchanged. Compile the result before
    training it.

    - ``Dense`` → :class:`TTDense` (``method='tt'``): the kernel, reshaped to
      :math:`(n_1, \dots, n_d, m_1, \dots, m_d)`, by
      :func:`~nablanet.tensor_algebra.tensor_train_matrix`.
    - ``Conv2D`` → :class:`CPConv2D` (``method='cp'``, the default): a CP decomposition of
      the :math:`(k_h, k_w, C, F)` kernel (ALS from the SVD start), the weights folded into
      the output factor; or → :class:`TuckerConv2D` (``method='tucker'``): Tucker-2 of the
      kernel on its channel modes (:func:`~nablanet.tensor_algebra.partial_tucker`).

    Give exactly one of

    - ``rank``: the TT rank (int or all ranks), the CP rank, or the Tucker-2 ranks
      :math:`(R_1, R_2)`;
    - ``compression``: the largest rank whose decomposed layer has at most
      ``kernel.size / compression`` weights (Tucker-2: the same fraction of both channel
      counts);
    - ``error``: the smallest rank whose relative kernel error
      :math:`\lVert K - \hat K \rVert_F / \lVert K \rVert_F` is at most ``error``.

    Parameters
    ----------
    model : Sequential
    layer : Layer or str
        The layer of ``model`` (or its name).
    method : {'tt', 'cp', 'tucker'}, optional
    rank, compression, error
        The target, as above.
    input_factors, output_factors, num_cores
        The TT-matrix shape of a Dense kernel (default: :func:`balanced_factors` of each
        size into ``num_cores``).
    random_state
        For the CP start.

    Returns
    -------
    Sequential (uncompiled)

    Examples
    --------
    >>> from nablanet import layers, models
    >>> model = models.Sequential([layers.Input((12,)), layers.Dense(8), layers.Dense(2)])
    >>> small = compress_layer(model, model.layers[0], rank=2, input_factors=(4, 3),
    ...                        output_factors=(2, 4))
    >>> [type(l).__name__ for l in small.layers], small.layers[0].count_params()
    (['TTDense', 'Dense'], 48)
    """
    from nablanet import layers as nl
    from nablanet import models

    if not isinstance(model, models.Sequential):
        raise ValueError(f"compress_layer: only Sequential models are supported. "
                         f"Received: {type(model).__name__}")
    target = model.get_layer(layer) if isinstance(layer, str) else layer
    if target not in model.layers:
        raise ValueError(f"compress_layer: the layer {getattr(target, 'name', target)!r} is "
                         f"not a layer of the model {model.name!r}")
    _check_target(rank, compression, error)
    if isinstance(target, nl.Dense):
        method = method or "tt"
        if method != "tt":
            raise ValueError(f"compress_layer: a Dense layer is decomposed with method='tt'. "
                             f"Received: method={method!r}")
        new = _decompose_dense(target, rank, compression, error, input_factors,
                               output_factors, num_cores)
    elif isinstance(target, nl.Conv2D):
        method = method or "cp"
        if method not in ("cp", "tucker"):
            raise ValueError(f"compress_layer: a Conv2D layer is decomposed with method='cp' "
                             f"or 'tucker'. Received: method={method!r}")
        new = _decompose_conv(target, method, rank, compression, error, random_state)
    else:
        raise ValueError(f"compress_layer: only Dense and Conv2D layers can be decomposed. "
                         f"Received: a {type(target).__name__} layer")

    stack: list[Any] = [nl.Input(shape=tuple(model.input_shape[1:]))]
    for old in model.layers:
        stack.append(new if old is target else type(old).from_config(old.get_config()))
    result = models.Sequential(stack, name=f"{model.name}_compressed")
    for old, copy in zip(model.layers, result.layers):
        if old is not target:
            copy.set_weights(old.get_weights())
    return result
