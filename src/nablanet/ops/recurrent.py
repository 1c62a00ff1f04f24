r"""Fused whole-sequence recurrent primitives: LSTM, GRU and simple RNN with hand-written BPTT.

Each primitive runs a whole sequence in one :class:`~nablanet.autograd.Function`, so the graph
holds one node per layer call instead of a dozen per time step, and backpropagation through time
is an iterative loop (thousands of steps are fine). Layouts and gate orders are Keras's:

=============  ====================  =======================  ==============================
cell           ``kernel``            ``recurrent_kernel``     ``bias``
=============  ====================  =======================  ==============================
LSTM (i,f,c,o) ``(input_dim, 4u)``   ``(u, 4u)``              ``(4u,)``
GRU (z,r,h)    ``(input_dim, 3u)``   ``(u, 3u)``              ``(3u,)``, or ``(2, 3u)`` when
                                                              ``reset_after`` (row 0 input,
                                                              row 1 recurrent bias)
SimpleRNN      ``(input_dim, u)``    ``(u, u)``               ``(u,)``
=============  ====================  =======================  ==============================

Inputs are batch-major ``(N, T, D)``; outputs are batch-major too.

**What the Functions return.** A Function returns one array, so:

* :class:`LSTMSequence` returns ``(N, T + 1, u)``: rows ``0 … T-1`` are the hidden states
  :math:`H_1 … H_T` (in output order), row ``T`` is the final cell state :math:`C_T`.
* :class:`GRUSequence` and :class:`SimpleRNNSequence` return the hidden sequence ``(N, T, u)``.

The plain functions :func:`lstm`, :func:`gru` and :func:`simple_rnn` slice that array (slicing is
differentiable) and return ``(sequence, h_T[, c_T])``. The last output always equals the final
hidden state, so ``sequence[:, -1]`` is :math:`H_T` even with masking and ``go_backwards``.

**Masking** (``mask`` of shape ``(N, T)``, True = keep): at a masked step the state carries over
unchanged, :math:`H_t = H_{t-1}` (and :math:`C_t = C_{t-1}`), and the output at that step is that
carried state, i.e. the previous output (for leading masked steps: the initial state). This is
Keras's rule "the output of a masked step repeats the previous output" with the previous output
of step 0 taken to be the initial state (Keras's JAX/NumPy backends; its TensorFlow backend emits
zeros for *leading* masked steps instead). **go_backwards** processes the time steps in reverse
and returns the outputs in that reversed order (as Keras).

**How the loops are written.** These classes are the reference: each step is the docstring's
equations in plain NumPy, one line each. Only the input projection of all time steps is taken
out of the loop, as one GEMM (``(N·T, D) @ kernel``); each step adds its ``(N, u) @
recurrent_kernel`` product. Backward walks the steps newest first, keeps the gradients of the
gates' pre-activations of every step, and forms the weight gradients after the loop as GEMMs
over all steps. The input gradient is skipped when the input does not require one.

The public functions :func:`lstm`, :func:`gru` and :func:`simple_rnn` go through
:func:`nablanet.kernels.registry.dispatch`: the float32 LSTM with the default activations runs
the compiled loops of :mod:`nablanet.kernels.recurrent` unless ``NABLANET_KERNELS=reference``
(:func:`nablanet.set_kernels`); the op table checks that both give the same values and
gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor
from nablanet.kernels.registry import dispatch

ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear")


# --- helpers ---------------------------------------------------------------------------------


def _activation(name: str, a: np.ndarray) -> np.ndarray:
    """Keras's activation ``name`` at ``a`` (same dtype)."""
    if name == "tanh":
        return np.tanh(a)
    if name == "sigmoid":  # 1 / (1 + exp(-a)), written with tanh so that exp never overflows
        return 0.5 * np.tanh(0.5 * a) + 0.5
    if name == "hard_sigmoid":  # Keras 3: relu6(a + 3) / 6
        return np.clip(a / 6 + 0.5, 0.0, 1.0)
    if name == "relu":
        return np.maximum(a, 0.0)
    return a  # linear


def _derivative(name: str, y: np.ndarray) -> np.ndarray:
    """The activation's derivative, written with its output ``y = act(a)``."""
    if name == "tanh":
        return 1 - y * y
    if name == "sigmoid":
        return y * (1 - y)
    if name == "hard_sigmoid":
        return ((y > 0) & (y < 1)).astype(y.dtype) / 6
    if name == "relu":
        return (y > 0).astype(y.dtype)
    return np.ones_like(y)  # linear


def _check_activation(op: str, arg: str, value: Any) -> str:
    if not isinstance(value, str) or value not in ACTIVATIONS:
        raise ValueError(
            f"{op}: {arg} must be one of {', '.join(ACTIVATIONS)}. Received: {arg}={value!r}"
        )
    return value


class _Setup:
    """Validated shapes, dtype, the (reversed) input matrix and the mask of one call."""

    __slots__ = ("n", "t", "d", "u", "dtype", "x2", "hold", "masked_steps")
    # Both are None without a mask; the step loops only index them after checking
    # ``masked_steps is not None`` (per step), which mypy cannot follow.
    hold: Any  # (T, N, 1) bool: True where the step is masked and the state is held
    masked_steps: Any  # (T,) bool: whether any sample is masked at the step

    def __init__(self, op: str, gates: int, x: Any, states: list[tuple[str, Any]], kernel: Any,
                 recurrent_kernel: Any, bias: Any, bias_shape: tuple[int, ...], mask: Any,
                 go_backwards: bool) -> None:
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(
                f"{op}: expected inputs of shape (batch, timesteps, features). "
                f"Received: inputs.shape={x.shape}"
            )
        n, t, d = x.shape
        if t == 0:
            raise ValueError(f"{op}: the sequence must have at least one time step. "
                             f"Received: inputs.shape={x.shape}")
        kernel = np.asarray(kernel)
        if kernel.ndim != 2 or kernel.shape[0] != d or kernel.shape[1] % gates:
            raise ValueError(
                f"{op}: expected kernel of shape (input_dim, {gates} * units) with "
                f"input_dim={d}. Received: kernel.shape={kernel.shape}"
            )
        u = kernel.shape[1] // gates
        if np.shape(recurrent_kernel) != (u, gates * u):
            raise ValueError(
                f"{op}: expected recurrent_kernel of shape {(u, gates * u)}. "
                f"Received: recurrent_kernel.shape={np.shape(recurrent_kernel)}"
            )
        expected_bias = tuple(s if s != -1 else gates * u for s in bias_shape)
        if bias is not None and np.shape(bias) != expected_bias:
            raise ValueError(
                f"{op}: expected bias of shape {expected_bias}. "
                f"Received: bias.shape={np.shape(bias)}"
            )
        for name, s in states:
            if s is not None and np.shape(s) != (n, u):
                raise ValueError(
                    f"{op}: expected {name} of shape {(n, u)}. Received: {name}.shape={np.shape(s)}"
                )
        dtype = np.result_type(x.dtype, kernel.dtype, np.float32)
        if dtype.kind != "f":
            dtype = np.dtype(np.float32)
        xs = x[:, ::-1] if go_backwards else x
        # time-major internally: every per-step slice is contiguous
        self.x2 = np.ascontiguousarray(xs.transpose(1, 0, 2), dtype=dtype).reshape(t * n, d)
        self.n, self.t, self.d, self.u, self.dtype = n, t, d, u, dtype
        self.hold = None
        self.masked_steps = None
        if mask is not None:
            m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
            if m.shape != (n, t):
                raise ValueError(
                    f"{op}: expected mask of shape {(n, t)}. Received: mask.shape={m.shape}"
                )
            m = m.astype(bool)
            if go_backwards:
                m = m[:, ::-1]
            if not m.all():
                self.hold = np.ascontiguousarray(~m.T)[:, :, None]  # (T, N, 1): True = masked
                self.masked_steps = self.hold.any(axis=(1, 2)).tolist()

    def state(self, s: Any) -> np.ndarray:
        if s is None:
            return np.zeros((self.n, self.u), dtype=self.dtype)
        return np.asarray(s, dtype=self.dtype)

    def held(self, step: int) -> Any:
        """The ``(N, 1)`` rows whose state is held at ``step`` (masked), or None if none is."""
        if self.masked_steps is None or not self.masked_steps[step]:
            return None
        return self.hold[step]

    def input_grad(self, dg: np.ndarray, kernel: np.ndarray, go_backwards: bool) -> np.ndarray:
        """``dX = dG kernel^T`` from the ``(T·N, gates)`` input-side gradients, batch-major."""
        dx = np.matmul(dg, kernel.T).reshape(self.t, self.n, self.d).transpose(1, 0, 2)
        return dx[:, ::-1] if go_backwards else dx


# --- LSTM ------------------------------------------------------------------------------------


class LSTMSequence(Function):
    r"""LSTM over a whole sequence (Keras gate order i, f, c, o), with backpropagation through time.

    For each step (the chapter's §8.5.1, forget gate corrected as in ERRATA 8.5.1; :math:`\sigma`
    is ``recurrent_activation``, :math:`\tanh` stands for ``activation``):

    .. math::

        I_t &= \sigma(X_t W_{xi} + H_{t-1} W_{hi} + b_i) \\
        F_t &= \sigma(X_t W_{xf} + H_{t-1} W_{hf} + b_f) \\
        O_t &= \sigma(X_t W_{xo} + H_{t-1} W_{ho} + b_o) \\
        \tilde C_t &= \tanh(X_t W_{xc} + H_{t-1} W_{hc} + b_c) \\
        C_t &= F_t \odot C_{t-1} + I_t \odot \tilde C_t \\
        H_t &= O_t \odot \tanh(C_t)

    with ``kernel`` :math:`= [W_{xi}, W_{xf}, W_{xc}, W_{xo}]` and ``recurrent_kernel``
    :math:`= [W_{hi}, W_{hf}, W_{hc}, W_{ho}]`. Backward, with :math:`\bar H_t` the output gradient
    plus the recurrent one and :math:`\bar C_t` carried from step :math:`t+1`:

    .. math::

        \bar O_t = \bar H_t \odot \tanh C_t,\quad
        \bar C_t \mathrel{+}= \bar H_t \odot O_t \odot \tanh'(C_t),\quad
        \bar I_t = \bar C_t \odot \tilde C_t,\quad \bar F_t = \bar C_t \odot C_{t-1},\quad
        \bar{\tilde C}_t = \bar C_t \odot I_t,

    :math:`\bar C_{t-1} = \bar C_t \odot F_t`, the gate pre-activation gradients
    :math:`\bar G_t` follow through the activations' derivatives, :math:`\bar H_{t-1} = \bar G_t
    W_h^\top`, and after the loop :math:`\bar W_x = X^\top \bar G`, :math:`\bar W_h =
    H_{\text{prev}}^\top \bar G`, :math:`\bar b = \sum \bar G`, :math:`\bar X = \bar G W_x^\top`.

    Inputs ``(x, h0, c0, kernel, recurrent_kernel, bias)``; ``h0``, ``c0`` and ``bias`` may be
    None (zeros / no bias). Output ``(N, T + 1, u)``: the hidden sequence then the final cell state.
    """

    __slots__ = ("s", "kernel", "rk", "has_bias", "act", "rec", "go_backwards", "hs", "cs",
                 "steps")

    def forward(self, x: np.ndarray, h0: Any, c0: Any, kernel: np.ndarray,
                recurrent_kernel: np.ndarray, bias: Any, *, activation: str = "tanh",
                recurrent_activation: str = "sigmoid", mask: Any = None,
                go_backwards: bool = False) -> np.ndarray:
        act = _check_activation("lstm", "activation", activation)
        rec = _check_activation("lstm", "recurrent_activation", recurrent_activation)
        s = _Setup("lstm", 4, x, [("h0", h0), ("c0", c0)], kernel, recurrent_kernel, bias,
                   (-1,), mask, go_backwards)
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        kernel = np.asarray(kernel, dtype=dt)
        rk = np.asarray(recurrent_kernel, dtype=dt)
        xw = (s.x2 @ kernel).reshape(t, n, 4 * u)  # X_t W_x of every step: one GEMM
        if bias is not None:
            xw += np.asarray(bias, dtype=dt)
        hs, cs = [s.state(h0)], [s.state(c0)]  # H_0 … H_T and C_0 … C_T
        steps = []  # per step: I_t, F_t, C~_t, O_t, tanh(C_t) (before masking)
        for step in range(t):
            h_prev, c_prev = hs[step], cs[step]
            z = xw[step] + h_prev @ rk  # the four gates' pre-activations
            i = _activation(rec, z[:, :u])
            f = _activation(rec, z[:, u : 2 * u])
            c_tilde = _activation(act, z[:, 2 * u : 3 * u])
            o = _activation(rec, z[:, 3 * u :])
            c = f * c_prev + i * c_tilde
            tanh_c = _activation(act, c)
            h = o * tanh_c
            held = s.held(step)
            if held is not None:  # masked rows keep their state
                h, c = np.where(held, h_prev, h), np.where(held, c_prev, c)
            hs.append(h)
            cs.append(c)
            steps.append((i, f, c_tilde, o, tanh_c))
        self.s, self.kernel, self.rk, self.has_bias = s, kernel, rk, bias is not None
        self.act, self.rec, self.go_backwards = act, rec, go_backwards
        self.hs, self.cs, self.steps = hs, cs, steps
        return np.stack(hs[1:] + [cs[t]], axis=1)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        s, act, rec = self.s, self.act, self.rec
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        grad = np.asarray(grad, dtype=dt)
        dh = np.zeros((n, u), dtype=dt)  # gradient reaching H_t from step t + 1
        dc = grad[:, t].copy()  # gradient reaching C_t from step t + 1 (C_T: from the output)
        dg = np.empty((t, n, 4 * u), dtype=dt)  # the gates' pre-activation gradients \bar G_t
        for step in range(t - 1, -1, -1):
            i, f, c_tilde, o, tanh_c = self.steps[step]
            dh = dh + grad[:, step]  # \bar H_t
            dc_t = dc + dh * o * _derivative(act, tanh_c)  # \bar C_t
            d_i, d_f, d_c_tilde, d_o = dc_t * c_tilde, dc_t * self.cs[step], dc_t * i, dh * tanh_c
            dg[step] = np.concatenate([d_i * _derivative(rec, i), d_f * _derivative(rec, f),
                                       d_c_tilde * _derivative(act, c_tilde),
                                       d_o * _derivative(rec, o)], axis=1)
            dh_prev, dc_prev = dg[step] @ self.rk.T, dc_t * f
            held = s.held(step)
            if held is not None:  # a held row passes its gradients through; its gates get none
                dg[step][held[:, 0]] = 0
                dh_prev, dc_prev = np.where(held, dh, dh_prev), np.where(held, dc, dc_prev)
            dh, dc = dh_prev, dc_prev
        needs = self.needs_input_grad
        dg2 = dg.reshape(t * n, 4 * u)
        h_prev = np.concatenate(self.hs[:t])  # the state entering each step, (T·N, u)
        dx = s.input_grad(dg2, self.kernel, self.go_backwards) if needs[0] else None
        dk = s.x2.T @ dg2 if needs[3] else None
        drk = h_prev.T @ dg2 if needs[4] else None
        db = dg2.sum(axis=0) if self.has_bias and needs[5] else None
        return dx, dh, dc, dk, drk, db


# --- GRU -------------------------------------------------------------------------------------


def _gru_setup(x: Any, h0: Any, kernel: Any, recurrent_kernel: Any, bias: Any,
               activation: Any, recurrent_activation: Any, reset_after: Any, mask: Any,
               go_backwards: bool) -> tuple[str, str, bool, _Setup]:
    """The GRU's arguments checked: ``(activation, recurrent_activation, reset_after, setup)``;
    the bias is ``(2, 3u)`` (input and recurrent biases) with ``reset_after``, else ``(3u,)``."""
    act = _check_activation("gru", "activation", activation)
    rec = _check_activation("gru", "recurrent_activation", recurrent_activation)
    reset_after = bool(reset_after)
    s = _Setup("gru", 3, x, [("h0", h0)], kernel, recurrent_kernel, bias,
               (2, -1) if reset_after else (-1,), mask, go_backwards)
    return act, rec, reset_after, s


class GRUSequence(Function):
    r"""GRU over a whole sequence (Keras gate order z, r, h), with backpropagation through time.

    The chapter's §8.5.2 with the candidate state corrected (ERRATA 8.5.2); :math:`\sigma` is
    ``recurrent_activation`` and :math:`\tanh` stands for ``activation``:

    .. math::

        Z_t &= \sigma(X_t W_{xz} + H_{t-1} W_{hz} + b_z) \\
        R_t &= \sigma(X_t W_{xr} + H_{t-1} W_{hr} + b_r) \\
        \tilde H_t &= \tanh(X_t W_{xh} + (R_t \odot H_{t-1}) W_{hh} + b_h)
            \quad (\texttt{reset_after=False}) \\
        \tilde H_t &= \tanh(X_t W_{xh} + b_{xh} + R_t \odot (H_{t-1} W_{hh} + b_{hh}))
            \quad (\texttt{reset_after=True}, \text{Keras's default and PyTorch's form}) \\
        H_t &= Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde H_t

    With ``reset_after=True`` the bias is ``(2, 3u)``: row 0 the input bias
    :math:`[b_{xz}, b_{xr}, b_{xh}]`, row 1 the recurrent bias :math:`[b_{hz}, b_{hr}, b_{hh}]`
    (the z and r gates see their sum). Backward, with :math:`A_t` the candidate's argument:

    .. math::

        \bar Z_t = \bar H_t \odot (H_{t-1} - \tilde H_t),\quad
        \bar A_t = \bar H_t \odot (1 - Z_t) \odot \tanh'(A_t),\quad
        \bar H_{t-1} \mathrel{+}= \bar H_t \odot Z_t,

    then through the reset gate (:math:`\bar R_t = \bar A_t \odot (H_{t-1} W_{hh} + b_{hh})` for
    ``reset_after=True``, :math:`\bar R_t = (\bar A_t W_{hh}^\top) \odot H_{t-1}` otherwise) and
    the gates' derivatives; the weight gradients are GEMMs over all steps after the loop.

    Inputs ``(x, h0, kernel, recurrent_kernel, bias)``; ``h0`` and ``bias`` may be None.
    Output: the hidden sequence ``(N, T, u)``.
    """

    __slots__ = ("s", "kernel", "rk", "has_bias", "act", "rec", "go_backwards", "reset_after",
                 "hs", "steps")

    def forward(self, x: np.ndarray, h0: Any, kernel: np.ndarray, recurrent_kernel: np.ndarray,
                bias: Any, *, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                reset_after: bool = True, mask: Any = None,
                go_backwards: bool = False) -> np.ndarray:
        act, rec, reset_after, s = _gru_setup(x, h0, kernel, recurrent_kernel, bias, activation,
                                              recurrent_activation, reset_after, mask,
                                              go_backwards)
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        kernel = np.asarray(kernel, dtype=dt)
        rk = np.asarray(recurrent_kernel, dtype=dt)
        b = None if bias is None else np.asarray(bias, dtype=dt)
        b_x, b_h = (b[0], b[1]) if b is not None and reset_after else (b, None)
        xw = (s.x2 @ kernel).reshape(t, n, 3 * u)  # X_t W_x of every step: one GEMM
        if b_x is not None:
            xw += b_x
        hs = [s.state(h0)]  # H_0 … H_T
        steps = []  # per step: Z_t, R_t, H~_t and the candidate's H_{t-1} term, h_part:
        # H_{t-1} W_hh + b_hh (reset_after, multiplied by R_t) or R_t ⊙ H_{t-1} (then times W_hh)
        for step in range(t):
            h_prev, xw_t = hs[step], xw[step]
            if reset_after:
                hw = h_prev @ rk if b_h is None else h_prev @ rk + b_h
                zr = _activation(rec, xw_t[:, : 2 * u] + hw[:, : 2 * u])  # Z_t, R_t
                r = zr[:, u:]
                h_tilde = _activation(act, xw_t[:, 2 * u :] + r * hw[:, 2 * u :])
                h_part = hw[:, 2 * u :]
            else:
                zr = _activation(rec, xw_t[:, : 2 * u] + h_prev @ rk[:, : 2 * u])
                r = zr[:, u:]
                h_part = r * h_prev
                h_tilde = _activation(act, xw_t[:, 2 * u :] + h_part @ rk[:, 2 * u :])
            z = zr[:, :u]
            h = z * h_prev + (1 - z) * h_tilde
            held = s.held(step)
            if held is not None:  # masked rows keep their state
                h = np.where(held, h_prev, h)
            hs.append(h)
            steps.append((z, r, h_tilde, h_part))
        self.s, self.kernel, self.rk, self.has_bias = s, kernel, rk, b is not None
        self.act, self.rec, self.go_backwards = act, rec, go_backwards
        self.reset_after, self.hs, self.steps = reset_after, hs, steps
        return np.stack(hs[1:], axis=1)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        s, act, rec, rk = self.s, self.act, self.rec, self.rk
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        grad = np.asarray(grad, dtype=dt)
        reset_after = self.reset_after
        dh = np.zeros((n, u), dtype=dt)  # gradient reaching H_t from step t + 1
        dxw = np.empty((t, n, 3 * u), dtype=dt)  # gradients of X_t W_x (+ b_x): dZ, dR, dA
        # and of the recurrent products: H_{t-1} W_hh (+ b_hh) with reset_after (dZ, dR, R ⊙ dA),
        # otherwise H_{t-1} W_hz|W_hr (dZ, dR) and (R ⊙ H_{t-1}) W_hh (dA)
        dhw = np.empty((t, n, 3 * u), dtype=dt)
        for step in range(t - 1, -1, -1):
            z, r, h_tilde, h_part = self.steps[step]
            h_prev = self.hs[step]
            dh = dh + grad[:, step]  # \bar H_t
            d_z = dh * (h_prev - h_tilde) * _derivative(rec, z)
            d_a = dh * (1 - z) * _derivative(act, h_tilde)  # the candidate's argument A_t
            if reset_after:
                d_r = d_a * h_part * _derivative(rec, r)
                dhw[step] = np.concatenate([d_z, d_r, d_a * r], axis=1)
                dh_prev = dh * z + dhw[step] @ rk.T
            else:
                d_h_part = d_a @ rk[:, 2 * u :].T  # gradient of R_t ⊙ H_{t-1}
                d_r = d_h_part * h_prev * _derivative(rec, r)
                dhw[step] = np.concatenate([d_z, d_r, d_a], axis=1)
                dh_prev = dh * z + d_h_part * r + dhw[step, :, : 2 * u] @ rk[:, : 2 * u].T
            dxw[step] = np.concatenate([d_z, d_r, d_a], axis=1)
            held = s.held(step)
            if held is not None:  # a held row passes its gradient through; its gates get none
                dxw[step][held[:, 0]] = 0
                dhw[step][held[:, 0]] = 0
                dh_prev = np.where(held, dh, dh_prev)
            dh = dh_prev
        needs = self.needs_input_grad
        dxw2, dhw2 = dxw.reshape(t * n, 3 * u), dhw.reshape(t * n, 3 * u)
        h_prev_all = np.concatenate(self.hs[:t])  # the state entering each step, (T·N, u)
        dx = s.input_grad(dxw2, self.kernel, self.go_backwards) if needs[0] else None
        dk = s.x2.T @ dxw2 if needs[2] else None
        drk = db = None
        if needs[3]:
            if reset_after:
                drk = h_prev_all.T @ dhw2
            else:
                h_part_all = np.concatenate([h_part for _, _, _, h_part in self.steps])
                drk = np.concatenate([h_prev_all.T @ dhw2[:, : 2 * u],
                                      h_part_all.T @ dhw2[:, 2 * u :]], axis=1)
        if self.has_bias and needs[4]:
            db = np.stack([dxw2.sum(axis=0), dhw2.sum(axis=0)]) if reset_after else \
                dxw2.sum(axis=0)
        return dx, dh, dk, drk, db


# --- SimpleRNN -------------------------------------------------------------------------------


class SimpleRNNSequence(Function):
    r"""Fully connected (Elman) RNN over a whole sequence, with backpropagation through time.

    .. math::

        H_t = \phi(X_t W_x + H_{t-1} W_h + b), \qquad
        \bar A_t = \bar H_t \odot \phi'(A_t), \quad \bar H_{t-1} = \bar A_t W_h^\top,

    :math:`\phi` = ``activation``; after the loop :math:`\bar W_x = X^\top \bar A`,
    :math:`\bar W_h = H_{\text{prev}}^\top \bar A`, :math:`\bar b = \sum \bar A`.

    Inputs ``(x, h0, kernel, recurrent_kernel, bias)``; ``h0`` and ``bias`` may be None.
    Output: the hidden sequence ``(N, T, u)``.
    """

    __slots__ = ("s", "kernel", "rk", "has_bias", "act", "go_backwards", "hs", "outs")

    def forward(self, x: np.ndarray, h0: Any, kernel: np.ndarray, recurrent_kernel: np.ndarray,
                bias: Any, *, activation: str = "tanh", mask: Any = None,
                go_backwards: bool = False) -> np.ndarray:
        act = _check_activation("simple_rnn", "activation", activation)
        s = _Setup("simple_rnn", 1, x, [("h0", h0)], kernel, recurrent_kernel, bias, (-1,),
                   mask, go_backwards)
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        kernel = np.asarray(kernel, dtype=dt)
        rk = np.asarray(recurrent_kernel, dtype=dt)
        xw = (s.x2 @ kernel).reshape(t, n, u)  # X_t W_x of every step: one GEMM
        if bias is not None:
            xw += np.asarray(bias, dtype=dt)
        hs = [s.state(h0)]  # H_0 … H_T
        outs = []  # phi(A_t) before masking
        for step in range(t):
            h_prev = hs[step]
            out = _activation(act, xw[step] + h_prev @ rk)
            held = s.held(step)
            hs.append(out if held is None else np.where(held, h_prev, out))
            outs.append(out)
        self.s, self.kernel, self.rk, self.has_bias = s, kernel, rk, bias is not None
        self.act, self.go_backwards, self.hs, self.outs = act, go_backwards, hs, outs
        return np.stack(hs[1:], axis=1)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        s = self.s
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        grad = np.asarray(grad, dtype=dt)
        dh = np.zeros((n, u), dtype=dt)  # gradient reaching H_t from step t + 1
        da = np.empty((t, n, u), dtype=dt)  # pre-activation gradients
        for step in range(t - 1, -1, -1):
            dh = dh + grad[:, step]  # \bar H_t
            da[step] = dh * _derivative(self.act, self.outs[step])
            dh_prev = da[step] @ self.rk.T
            held = s.held(step)
            if held is not None:  # a held row passes its gradient through
                da[step][held[:, 0]] = 0
                dh_prev = np.where(held, dh, dh_prev)
            dh = dh_prev
        needs = self.needs_input_grad
        da2 = da.reshape(t * n, u)
        dx = s.input_grad(da2, self.kernel, self.go_backwards) if needs[0] else None
        dk = s.x2.T @ da2 if needs[2] else None
        drk = np.concatenate(self.hs[:t]).T @ da2 if needs[3] else None
        db = da2.sum(axis=0) if self.has_bias and needs[4] else None
        return dx, dh, dk, drk, db


# --- plain functions -------------------------------------------------------------------------


def lstm(x: Any, h0: Any, c0: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None, *,
         activation: str = "tanh", recurrent_activation: str = "sigmoid", mask: Any = None,
         go_backwards: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """Run an LSTM over ``x`` ``(N, T, D)``; returns ``(sequence, h_T, c_T)``.

    ``sequence`` is ``(N, T, u)`` (reversed order when ``go_backwards``), ``h_T`` and ``c_T`` are
    the final states ``(N, u)``; all three are differentiable slices of one
    :class:`LSTMSequence` output. ``h0`` / ``c0`` / ``bias`` may be None (zeros / no bias).

    Examples
    --------
    >>> import numpy as np, nablanet as nb
    >>> x = nb.tensor(np.ones((2, 5, 3)))
    >>> seq, h, c = lstm(x, None, None, np.full((3, 8), 0.1), np.zeros((2, 8)), np.zeros(8))
    >>> seq.shape, h.shape, c.shape
    ((2, 5, 2), (2, 2), (2, 2))
    """
    packed = dispatch("lstm", LSTMSequence.apply, x, h0, c0, kernel, recurrent_kernel, bias,
                      activation=activation, recurrent_activation=recurrent_activation, mask=mask,
                      go_backwards=go_backwards)
    t = packed.shape[1] - 1
    return packed[:, :t], packed[:, t - 1], packed[:, t]


def gru(x: Any, h0: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None, *,
        activation: str = "tanh", recurrent_activation: str = "sigmoid", reset_after: bool = True,
        mask: Any = None, go_backwards: bool = False) -> tuple[Tensor, Tensor]:
    """Run a GRU over ``x`` ``(N, T, D)``; returns ``(sequence, h_T)``.

    ``bias`` is ``(2, 3u)`` when ``reset_after`` (Keras's default), ``(3u,)`` otherwise.

    Examples
    --------
    >>> import numpy as np, nablanet as nb
    >>> seq, h = gru(nb.tensor(np.ones((2, 5, 3))), None, np.full((3, 6), 0.1), np.zeros((2, 6)))
    >>> seq.shape, h.shape
    ((2, 5, 2), (2, 2))
    """
    seq = dispatch("gru", GRUSequence.apply, x, h0, kernel, recurrent_kernel, bias,
                   activation=activation, recurrent_activation=recurrent_activation,
                   reset_after=reset_after, mask=mask, go_backwards=go_backwards)
    return seq, seq[:, -1]


def simple_rnn(x: Any, h0: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None, *,
               activation: str = "tanh", mask: Any = None,
               go_backwards: bool = False) -> tuple[Tensor, Tensor]:
    """Run a fully connected RNN over ``x`` ``(N, T, D)``; returns ``(sequence, h_T)``.

    Examples
    --------
    >>> import numpy as np, nablanet as nb
    >>> seq, h = simple_rnn(nb.tensor(np.ones((2, 5, 3))), None, np.ones((3, 4)), np.eye(4))
    >>> seq.shape, h.shape
    ((2, 5, 4), (2, 4))
    """
    seq = dispatch("simple_rnn", SimpleRNNSequence.apply, x, h0, kernel, recurrent_kernel, bias,
                   activation=activation, mask=mask, go_backwards=go_backwards)
    return seq, seq[:, -1]
