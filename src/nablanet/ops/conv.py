r"""Convolution primitives, channels-last as in Keras: ``conv2d``, ``conv1d``, ``conv2d_transpose``.

All three compute the *cross-correlation* of the chapter's eq. (16) (corrected, see ERRATA 7.1),

.. math::

    s(i, j) = \sum_m \sum_n x(i + m, j + n)\, y(m, n),

summed over input channels as well, for every output channel: what Keras's ``Conv2D`` computes.
The true convolution of eqs. (13)–(15) is :func:`nablanet.functional.convolve2d`.

The reference code here is the textbook im2col form: the padded input's windows, copied, are the
im2col matrix :math:`X` of shape ``(N·Ho·Wo, kh·kw·C)`` (:func:`im2col`); the forward pass is one
matrix product :math:`Y = X W` with the kernel reshaped to ``(kh·kw·C, F)``; backward is
:math:`\bar W = X^\top \bar Y`, :math:`\bar b = \sum_\text{rows} \bar Y` and
:math:`\bar X = \bar Y W^\top`, scattered back onto the input by :func:`col2im`, a loop over the
kernel's taps. The fast CPU implementation of the same primitives (the im2col matrix built a few
images at a time on worker threads, compiled col2im) is :mod:`nablanet.kernels.conv`; which one
runs is :func:`nablanet.set_kernels`'s choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor
from nablanet.kernels.registry import dispatch

Pads = tuple[tuple[int, int], tuple[int, int]]


# --- argument handling ------------------------------------------------------------------------
def normalize_tuple(value: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    """``value`` as a tuple of ``n`` positive ints (an int is repeated), or a ValueError."""
    if isinstance(value, (int, np.integer)):
        values: tuple[Any, ...] = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = ()
    if len(values) != n or not all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
        raise ValueError(
            f"{op}: {name} must be a positive integer or a tuple of {n} positive integers. "
            f"Received: {name}={value!r}"
        )
    return tuple(int(v) for v in values)


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    r"""TensorFlow's 'same' padding along one axis: ``(before, after)``.

    .. math::

        o = \lceil n / s \rceil, \quad
        p = \max((o - 1) s + (k - 1) d + 1 - n,\; 0), \quad
        p_\text{before} = \lfloor p / 2 \rfloor, \quad p_\text{after} = p - p_\text{before}
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding: Any, spatial: Sequence[int], kernel: Sequence[int],
                    strides: Sequence[int], dilation: Sequence[int], op: str,
                    allowed: tuple[str, ...] = ("valid", "same")) -> Pads:
    """Per-axis ``(before, after)`` padding for 'valid', 'same' (TF rule) or 'causal'."""
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        choices = " or ".join(repr(a) for a in allowed)
        raise ValueError(f"{op}: padding must be {choices}. Received: padding={padding!r}")
    if mode == "valid":
        return ((0, 0), (0, 0))
    if mode == "causal":  # 1-D only (height 1): all padding on the left of the width axis
        return ((0, 0), ((kernel[1] - 1) * dilation[1], 0))
    return tuple(  # type: ignore[return-value]
        same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides, dilation)
    )


def _check_4d(op: str, x: np.ndarray, w: np.ndarray, kernel_axes: str,
              shown: tuple[int, ...]) -> None:
    """A ValueError naming the op unless ``x`` is NHWC and ``w`` a 4-D kernel
    ``(kernel_height, kernel_width, <kernel_axes>)``; ``shown`` is the input shape as given."""
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (batch, height, width, channels); "
                         f"received an input of shape {shown}")
    if w.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D kernel (kernel_height, kernel_width, "
                         f"{kernel_axes}); received a kernel of shape {w.shape}")


def _check_fits(op: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...],
                padded: tuple[int, ...], effective: tuple[int, ...]) -> None:
    if any(p < e for p, e in zip(padded, effective)):
        raise ValueError(
            f"{op}: the kernel (effective size {effective} with dilation) is larger than the "
            f"padded input {padded} (input shape {x_shape}, kernel shape {w_shape})"
        )


# --- im2col / col2im --------------------------------------------------------------------------
def windows(xp: np.ndarray, kernel: tuple[int, ...], strides: tuple[int, ...],
            dilation: tuple[int, ...], out_hw: tuple[int, ...]) -> np.ndarray:
    """The windows of a padded NHWC array as a read-only ``(N, Ho, Wo, kh, kw, C)`` view."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, strides, dilation, out_hw
    sn, sy, sx, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (xp.shape[0], ho, wo, kh, kw, xp.shape[3]),
        (sn, sy * sh, sx * sw, sy * dh, sx * dw, sc), writeable=False)


def im2col(xp: np.ndarray, kernel: tuple[int, ...], strides: tuple[int, ...],
           dilation: tuple[int, ...], out_hw: tuple[int, ...],
           out: np.ndarray | None = None) -> np.ndarray:
    """Windows of a padded NHWC array as a contiguous ``(N, Ho, Wo, kh, kw, C)`` array.

    ``out``, if given, is a C-contiguous array of that shape and dtype to copy into.
    """
    view = windows(xp, kernel, strides, dilation, out_hw)
    if out is None:
        return np.ascontiguousarray(view)
    np.copyto(out, view)
    return out


def col2im(cols: np.ndarray, padded_shape: tuple[int, ...], strides: tuple[int, ...],
           dilation: tuple[int, ...]) -> np.ndarray:
    r"""Adjoint of :func:`im2col`: scatter-add ``(N, Ho, Wo, kh, kw, C)`` windows into an array,
    one strided slice per kernel tap :math:`(i, j)`.

    .. math::

        \bar x_p[n, o_y s_h + i d_h, o_x s_w + j d_w, c] \mathrel{+}=
        \bar X[n, o_y, o_x, i, j, c]
    """
    out = np.zeros(padded_shape, dtype=cols.dtype)
    col2im_add(cols, out, strides, dilation)
    return out


def col2im_add(cols: np.ndarray, out: np.ndarray, strides: tuple[int, ...],
               dilation: tuple[int, ...]) -> None:
    """``out += col2im(cols)`` in place: for each kernel tap, one strided slice of ``out``."""
    _, ho, wo, kh, kw, _ = cols.shape
    (sh, sw), (dh, dw) = strides, dilation
    for i in range(kh):
        for j in range(kw):
            out[:, i * dh : i * dh + (ho - 1) * sh + 1 : sh,
                j * dw : j * dw + (wo - 1) * sw + 1 : sw, :] += cols[:, :, :, i, j, :]


def _check_bias(op: str, b: Any, filters: int) -> None:
    """Raise ValueError unless ``b`` is None or has shape ``(filters,)``."""
    if b is not None and np.shape(b) != (filters,):
        raise ValueError(f"{op}: bias must have shape ({filters},) to match the kernel's "
                         f"{filters} filters; received a bias of shape {np.shape(b)}")


def _pad_nhwc(x: np.ndarray, pads: Pads) -> np.ndarray:
    if pads == ((0, 0), (0, 0)):
        return x
    (pt, pb), (pl, pr) = pads
    n, h, w, c = x.shape
    xp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
    xp[:, pt : pt + h, pl : pl + w, :] = x
    return xp


def _crop_nhwc(xp: np.ndarray, pads: Pads, hw: tuple[int, int]) -> np.ndarray:
    if pads == ((0, 0), (0, 0)) and xp.shape[1:3] == hw:
        return xp
    (pt, _), (pl, _) = pads
    return xp[:, pt : pt + hw[0], pl : pl + hw[1], :]


# --- conv2d -----------------------------------------------------------------------------------
class Conv2D(Function):
    r"""2-D cross-correlation with bias (NHWC input, Keras kernel ``(kh, kw, C/G, F)``).

    .. math::

        y[n, i, j, f] = b_f + \sum_{m, l, c} x_p[n, i s_h + m d_h, j s_w + l d_w, c]\,
                        w[m, l, c, f]

    with :math:`x_p` the zero-padded input and, for ``groups`` :math:`G > 1`, the sum over
    :math:`c` restricted to the input channels of the filter's group.

    As matrices, group by group: :math:`Y = X W + b` with :math:`X` the im2col matrix and
    :math:`W` the kernel as a ``(kh·kw·C/G, F/G)`` matrix. Backward:
    :math:`\bar W = X^\top \bar Y`, :math:`\bar b = \sum_\text{rows} \bar Y`,
    :math:`\bar X = \bar Y W^\top`, and the padded input's gradient is col2im of
    :math:`\bar X`, :math:`\bar x_p[n, i s_h + m d_h, j s_w + l d_w, :] \mathrel{+}=
    \bar X[n, i, j, m, l, :]`.

    With ``activation='relu'`` the primitive returns :math:`z = \max(0, y)` and backward
    first masks the incoming gradient, :math:`\bar Y = \bar z\,[z > 0]` (subgradient 0 at 0,
    as PyTorch), so a ``Conv2D(..., activation='relu')`` layer needs no ReLU node of its own.
    """

    __slots__ = ("cols", "w2", "x_shape", "w_shape", "padded_shape", "pads", "strides",
                 "dilation", "out_hw", "groups", "has_bias", "out")
    cols: Any  # the im2col matrices, one per group
    w2: np.ndarray  # the kernel as a (kh·kw·C/G, F) matrix
    w_shape: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    out_hw: tuple[int, int]

    op_name = "conv2d"

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = (1, 1), padding: Any = "valid", dilation_rate: Any = (1, 1),
                groups: int = 1, activation: str | None = None,
                _shown: tuple[Any, Any] | None = None) -> np.ndarray:
        xp = self._setup(x, w, b, strides, padding, dilation_rate, groups, activation, _shown)
        n, (ho, wo), (kh, kw, cg, filters) = xp.shape[0], self.out_hw, self.w_shape
        windows_ = im2col(xp, (kh, kw), self.strides, self.dilation, (ho, wo))
        by_group = windows_.reshape(n * ho * wo, kh * kw, groups, cg)
        fg = filters // groups
        self.cols = [np.ascontiguousarray(by_group[:, :, g]).reshape(n * ho * wo, kh * kw * cg)
                     for g in range(groups)]  # X, one im2col matrix per group
        y = np.concatenate([X @ self.w2[:, g * fg : (g + 1) * fg]  # Y = X W
                            for g, X in enumerate(self.cols)], axis=1)
        if b is not None:
            y += b
        if activation == "relu":
            y = np.maximum(y, np.zeros((), y.dtype))
            self.out = y
        return y.reshape(n, ho, wo, filters)

    def _setup(self, x: Any, w: Any, b: np.ndarray | None, strides: Any, padding: Any,
               dilation_rate: Any, groups: int, activation: str | None,
               shown: tuple[Any, Any] | None) -> np.ndarray:
        """Check the arguments and save the geometry; returns the padded input."""
        op = self.op_name
        if activation not in (None, "linear", "relu"):
            raise ValueError(f"{op}: activation must be None, 'linear' or 'relu'. "
                             f"Received: activation={activation!r}")
        x = np.asarray(x)
        w = np.asarray(w)
        xs, ws = (x.shape, w.shape) if shown is None else shown  # shapes as the user gave them
        _check_4d(op, x, w, "in_channels // groups, filters", xs)
        strides = normalize_tuple(strides, 2, "strides", op)
        dilation = normalize_tuple(dilation_rate, 2, "dilation_rate", op)
        if not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{op}: groups must be a positive integer. Received: groups={groups}")
        kh, kw, cg, filters = w.shape
        channels = x.shape[3]
        if channels % groups or filters % groups:
            raise ValueError(
                f"{op}: groups={groups} must divide both the input channels ({channels}) and "
                f"the filters ({filters}) (input shape {xs}, kernel shape {ws})"
            )
        if cg * groups != channels:
            raise ValueError(
                f"{op}: input has {channels} channels but the kernel expects {cg * groups} "
                f"(input shape {xs}, kernel shape {ws})"
            )
        _check_bias(op, b, filters)
        pads = resolve_padding(padding, x.shape[1:3], (kh, kw), strides, dilation, op,
                               ("valid", "same", "causal") if op == "conv1d" else ("valid", "same"))
        xp = _pad_nhwc(x, pads)
        eff = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
        two_d = op != "conv1d"
        _check_fits(op, xs, ws, xp.shape[1:3] if two_d else xp.shape[2:3],
                    eff if two_d else eff[1:])
        ho = (xp.shape[1] - eff[0]) // strides[0] + 1
        wo = (xp.shape[2] - eff[1]) // strides[1] + 1
        self.w2 = w.reshape(kh * kw * cg, filters)
        self.x_shape, self.w_shape, self.padded_shape = x.shape, w.shape, xp.shape
        self.pads, self.strides, self.dilation = pads, strides, dilation
        self.out_hw, self.groups, self.has_bias = (ho, wo), groups, b is not None
        self.cols = self.out = None
        return xp

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        n, ho, wo, filters = grad.shape
        kh, kw, cg, _ = self.w_shape
        groups = self.groups
        fg = filters // groups
        g2 = grad.reshape(n * ho * wo, filters)
        if self.out is not None:  # the fused relu: dY = dZ [Z > 0]
            g2 = g2 * (self.out > 0)
        gx = gw = gb = None
        if self.needs_input_grad[1]:  # dW = X^T dY
            gw = np.concatenate([X.T @ g2[:, g * fg : (g + 1) * fg]
                                 for g, X in enumerate(self.cols)], axis=1).reshape(self.w_shape)
        if self.has_bias and self.needs_input_grad[2]:  # db = sum of the rows of dY
            gb = g2.sum(axis=0)
        if self.needs_input_grad[0]:  # dX = dY W^T, then col2im
            dcols = np.stack([g2[:, g * fg : (g + 1) * fg] @ self.w2[:, g * fg : (g + 1) * fg].T
                              for g in range(groups)], axis=2)  # (M, kh·kw·C/G, G)
            dcols = dcols.reshape(n, ho, wo, kh, kw, cg, groups).swapaxes(5, 6)
            dxp = col2im(dcols.reshape(n, ho, wo, kh, kw, groups * cg), self.padded_shape,
                         self.strides, self.dilation)
            gx = _crop_nhwc(dxp, self.pads, self.x_shape[1:3])
        return (gx, gw, gb) if self.has_bias else (gx, gw)


class Conv1D(Conv2D):
    r"""1-D cross-correlation on NWC input, kernel ``(k, C/G, F)``: :class:`Conv2D` at height 1.

    .. math:: y[n, i, f] = b_f + \sum_{m, c} x_p[n, i s + m d, c]\, w[m, c, f]

    ``padding='causal'`` pads :math:`(k - 1) d` zeros on the left only (Keras).
    """

    __slots__ = ()

    op_name = "conv1d"

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = 1, padding: Any = "valid", dilation_rate: Any = 1,
                groups: int = 1, activation: str | None = None,
                _shown: tuple[Any, Any] | None = None) -> np.ndarray:
        x = np.asarray(x)
        w = np.asarray(w)
        if x.ndim != 3:
            raise ValueError(
                f"conv1d: expected a 3-D input (batch, steps, channels); received an input of "
                f"shape {x.shape}"
            )
        if w.ndim != 3:
            raise ValueError(
                f"conv1d: expected a 3-D kernel (kernel_size, in_channels // groups, filters); "
                f"received a kernel of shape {w.shape}"
            )
        (s,) = normalize_tuple(strides, 1, "strides", "conv1d")
        (d,) = normalize_tuple(dilation_rate, 1, "dilation_rate", "conv1d")
        out = super().forward(x[:, None], w[None], b, strides=(1, s), padding=padding,
                              dilation_rate=(1, d), groups=groups, activation=activation,
                              _shown=(x.shape, w.shape))
        return out[:, 0]

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        grads = super().backward(grad[:, None])
        gx, gw = grads[0], grads[1]
        gx = None if gx is None else gx[:, 0]
        gw = None if gw is None else gw[0]
        return (gx, gw) + tuple(grads[2:])


# --- conv2d_transpose -------------------------------------------------------------------------
def deconv_output_length(size: int, kernel: int, stride: int, padding: str, dilation: int = 1,
                         output_padding: int | None = None) -> int:
    """Output length of a transposed convolution along one axis, as Keras computes it."""
    k = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride if padding == "same" else size * stride + max(k - stride, 0)
    pad = k // 2 if padding == "same" else 0
    return (size - 1) * stride + k - 2 * pad + output_padding


class Conv2DTranspose(Function):
    r"""Transposed 2-D convolution (NHWC; Keras kernel layout ``(kh, kw, F, C_in)``).

    The adjoint of :class:`Conv2D` with the same kernel, strides, dilation and padding, taken
    at the output size Keras computes (:func:`deconv_output_length`):

    .. math::

        y_\text{full}[n, i s_h + m d_h, j s_w + l d_w, f] \mathrel{+}=
            \sum_c x[n, i, j, c]\, w[m, l, f, c], \qquad
        y = b + y_\text{full}[:, p_t : p_t + H_o,\; p_l : p_l + W_o, :]

    where :math:`p_t, p_l` is TensorFlow's 'same' padding before (0 for 'valid'); output
    positions beyond the full result are zero (plus bias).
    """

    __slots__ = ("x2", "w2", "x_shape", "w_shape", "full_shape", "offset", "out_hw", "strides",
                 "dilation", "has_bias")

    _col2im = staticmethod(col2im)  # (a fast kernel replaces it: nablanet.kernels.conv)

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = (1, 1), padding: Any = "valid", output_padding: Any = None,
                dilation_rate: Any = (1, 1)) -> np.ndarray:
        op = "conv2d_transpose"
        x = np.asarray(x)
        w = np.asarray(w)
        _check_4d(op, x, w, "filters, in_channels", x.shape)
        strides = normalize_tuple(strides, 2, "strides", op)
        dilation = normalize_tuple(dilation_rate, 2, "dilation_rate", op)
        mode = padding.lower() if isinstance(padding, str) else padding
        if mode not in ("valid", "same"):
            raise ValueError(f"{op}: padding must be 'valid' or 'same'. Received: "
                             f"padding={padding!r}")
        kh, kw, filters, channels = w.shape
        if x.shape[3] != channels:
            raise ValueError(
                f"{op}: input has {x.shape[3]} channels but the kernel expects {channels} "
                f"(input shape {x.shape}, kernel shape {w.shape})"
            )
        _check_bias(op, b, filters)
        if output_padding is not None:
            output_padding = tuple(
                int(p) for p in np.broadcast_to(np.asarray(output_padding, dtype=int), (2,))
            )
            if len(output_padding) != 2 or any(
                p < 0 or p >= s for p, s in zip(output_padding, strides)
            ):
                raise ValueError(
                    f"{op}: output_padding must be non-negative and smaller than the strides "
                    f"{strides}. Received: output_padding={output_padding}"
                )
        n, h, wd, _ = x.shape
        eff = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
        out_hw = tuple(
            deconv_output_length(size, k, s, mode, d,
                                 None if output_padding is None else output_padding[a])
            for a, (size, k, s, d) in enumerate(zip((h, wd), (kh, kw), strides, dilation))
        )
        full = tuple((size - 1) * s + e for size, s, e in zip((h, wd), strides, eff))
        if mode == "same":
            offset = tuple(max(f - o, 0) // 2 for f, o in zip(full, out_hw))
        else:
            offset = (0, 0)
        x2 = x.reshape(n * h * wd, channels)
        w2 = w.reshape(kh * kw * filters, channels)
        cols = (x2 @ w2.T).reshape(n, h, wd, kh, kw, filters)
        yfull = self._col2im(cols, (n, full[0], full[1], filters), strides, dilation)
        out = self._window(yfull, offset, out_hw)
        if b is not None:
            out += b
        self.x2, self.w2 = x2, w2
        self.x_shape, self.w_shape = x.shape, w.shape
        self.full_shape = (n, full[0], full[1], filters)
        self.offset, self.out_hw = offset, out_hw
        self.strides, self.dilation = strides, dilation
        self.has_bias = b is not None
        return out

    @staticmethod
    def _window(a: np.ndarray, offset: tuple[int, ...], size: tuple[int, ...]) -> np.ndarray:
        """``a[:, o:o+size]`` on both spatial axes, zero-extended past the end of ``a``."""
        (oy, ox), (sy, sx) = offset, size
        if (oy, ox) == (0, 0) and a.shape[1:3] == (sy, sx):
            return a
        out = np.zeros((a.shape[0], sy, sx, a.shape[3]), dtype=a.dtype)
        hy = min(sy, a.shape[1] - oy)
        hx = min(sx, a.shape[2] - ox)
        out[:, :hy, :hx] = a[:, oy : oy + hy, ox : ox + hx]
        return out

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        n, h, wd, channels = self.x_shape
        kh, kw, filters, _ = self.w_shape
        (oy, ox), (sy, sx) = self.offset, self.out_hw
        full = self.full_shape
        if (oy, ox) == (0, 0) and (sy, sx) == full[1:3]:
            gfull = grad
        else:
            gfull = np.zeros(full, dtype=grad.dtype)
            hy = min(sy, full[1] - oy)
            hx = min(sx, full[2] - ox)
            gfull[:, oy : oy + hy, ox : ox + hx] = grad[:, :hy, :hx]
        cols = im2col(gfull, (kh, kw), self.strides, self.dilation, (h, wd))
        cols = cols.reshape(n * h * wd, kh * kw * filters)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = (cols @ self.w2).reshape(self.x_shape)
        if self.needs_input_grad[1]:
            gw = (cols.T @ self.x2).reshape(self.w_shape)
        if self.has_bias and self.needs_input_grad[2]:
            gb = grad.reshape(-1, grad.shape[3]).sum(axis=0)
        return (gx, gw, gb) if self.has_bias else (gx, gw)


# --- public functions -------------------------------------------------------------------------
def with_bias(primitive: type[Function]) -> Callable[..., Tensor]:
    """``primitive.apply`` on ``(x, w, bias=None, **options)``: the bias is an input only when
    given."""

    def run(x: Any, w: Any, bias: Any = None, **options: Any) -> Tensor:
        if bias is None:
            return primitive.apply(x, w, **options)
        return primitive.apply(x, w, bias, **options)

    return run


def conv2d(x: Any, w: Any, bias: Any = None, strides: int | Sequence[int] = (1, 1),
           padding: str = "valid", dilation_rate: int | Sequence[int] = (1, 1),
           groups: int = 1, activation: str | None = None) -> Tensor:
    r"""2-D cross-correlation (what Keras's ``Conv2D`` computes), NHWC, with optional bias.

    Parameters
    ----------
    x : Tensor or array, shape ``(batch, height, width, channels)``
    w : Tensor or array, shape ``(kernel_height, kernel_width, channels // groups, filters)``
    bias : Tensor or array of shape ``(filters,)``, optional
    strides, dilation_rate : int or pair of ints
    padding : {'valid', 'same'}
        'same' pads as TensorFlow: :math:`o = \lceil n/s \rceil`, total padding
        :math:`\max((o-1)s + (k-1)d + 1 - n, 0)`, the smaller half before.
    groups : int
        Split channels and filters into ``groups`` independent convolutions.
    activation : {None, 'linear', 'relu'}
        ``'relu'`` returns :math:`\max(0, y)`, fused into the primitive (what a
        ``Conv2D(..., activation='relu')`` layer uses).

    Returns
    -------
    Tensor of shape ``(batch, out_height, out_width, filters)``.

    Notes
    -----
    .. math::

        y[n, i, j, f] = b_f + \sum_{m, l, c} x_p[n, i s_h + m d_h, j s_w + l d_w, c]\, w[m, l, c, f]

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> conv2d(x, np.ones((2, 2, 1, 1))).shape
    (1, 3, 3, 1)
    """
    return dispatch("conv2d", with_bias(Conv2D), x, w, bias, strides=strides, padding=padding,  # type: ignore[no-any-return]
                    dilation_rate=dilation_rate, groups=groups, activation=activation)


def conv1d(x: Any, w: Any, bias: Any = None, strides: int = 1, padding: str = "valid",
           dilation_rate: int = 1, groups: int = 1, activation: str | None = None) -> Tensor:
    r"""1-D cross-correlation (Keras ``Conv1D``), input ``(batch, steps, channels)``.

    ``w`` has shape ``(kernel_size, channels // groups, filters)``; ``padding`` is 'valid',
    'same' (TensorFlow's rule) or 'causal' (:math:`(k-1)d` zeros on the left);
``activation='relu'`` fuses :math:`\max(0, \cdot)` into the primitive as for :func:`conv2d`.

    .. math:: y[n, i, f] = b_f + \sum_{m, c} x_p[n, i s + m d, c]\, w[m, c, f]

    Examples
    --------
    >>> import numpy as np
    >>> conv1d(np.ones((2, 10, 3)), np.ones((3, 3, 4)), padding="causal").shape
    (2, 10, 4)
    """
    return dispatch("conv1d", with_bias(Conv1D), x, w, bias, strides=strides, padding=padding,  # type: ignore[no-any-return]
                    dilation_rate=dilation_rate, groups=groups, activation=activation)


def conv2d_transpose(x: Any, w: Any, bias: Any = None, strides: int | Sequence[int] = (1, 1),
                     padding: str = "valid", output_padding: int | Sequence[int] | None = None,
                     dilation_rate: int | Sequence[int] = (1, 1)) -> Tensor:
    r"""Transposed convolution (Keras ``Conv2DTranspose``), NHWC.

    ``w`` has Keras's layout ``(kernel_height, kernel_width, filters, channels)``. The output
    size per axis is Keras's: without ``output_padding``, ``n·s`` for 'same' and
    ``n·s + max(k - s, 0)`` for 'valid'; with it, ``(n-1)s + k - 2p + output_padding`` where
    :math:`p = \lfloor k/2 \rfloor` for 'same' and 0 for 'valid' (:math:`k` the dilated size).

    .. math::

        y_\text{full}[n, i s_h + m d_h, j s_w + l d_w, f] \mathrel{+}=
            \sum_c x[n, i, j, c]\, w[m, l, f, c]

    Examples
    --------
    >>> import numpy as np
    >>> conv2d_transpose(np.ones((1, 4, 4, 3)), np.ones((3, 3, 8, 3)), strides=2,
    ...                  padding="same").shape
    (1, 8, 8, 8)
    """
    return dispatch("conv2d_transpose", with_bias(Conv2DTranspose), x, w, bias,  # type: ignore[no-any-return]
                    strides=strides, padding=padding, output_padding=output_padding,
                    dilation_rate=dilation_rate)
