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

**Performance.** The input projection of all time steps is one GEMM
(``(N·T, D) @ kernel``); each step is one ``(N, u) @ recurrent_kernel`` GEMM (two for GRU with
``reset_after=False``) with the gate non-linearities applied in place on the fused gate block
(the logistic function is evaluated through
:math:`\sigma(x) = \tfrac12(1 + \tanh(x/2))`; only the compiled LSTM loop folds that halving
into its weights); the backward loop stores the pre-activation gradients of all
steps in one ``(N·T, gates)`` array and the weight gradients are GEMMs after the loop. The input
gradient is skipped when the input does not require one.

The float32 LSTM with the default activations has a second, compiled implementation of the
same maths (numba; used when numba is importable and ``USE_NUMBA`` is true): the whole forward
loop and the whole backward loop are one call each, the per-step GEMMs are register-blocked
loops that LLVM vectorises, the weight gradients are accumulated step by step while the step's
gate gradients are in cache, tanh is a vectorisable rational approximation (error < 4e-7), and
the batch is split into one slice per allowed thread (the BLAS limit that
:func:`nablanet.utils.limit_threads` sets, on plain Python threads: numba's threading layer is
never started). Samples are independent, so the threads never synchronise inside the time
loop; each slice has its own weight-gradient accumulators, summed at the end, so results
depend on the thread count only through that summation order (docs/performance.md has the
measurements against the NumPy loop, whose per-step cost is dominated by small GEMMs and
per-call overheads). The NumPy code stays the reference; the op table compares the two paths,
and ``NABLANET_KERNELS=reference`` (:func:`nablanet.set_kernels`) runs the NumPy code.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from nablanet.autograd.function import Function
from nablanet.autograd.tensor import Tensor
from nablanet.kernels._numba import numba_module
from nablanet.kernels.registry import get_kernels
from nablanet.kernels.threads import worker_count

ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear")


# --- helpers ---------------------------------------------------------------------------------


def _activate(name: str, a: np.ndarray) -> None:
    """Apply the activation ``name`` to ``a`` in place (Keras's definitions)."""
    if name == "tanh":
        np.tanh(a, out=a)
    elif name == "sigmoid":
        a *= 0.5
        np.tanh(a, out=a)
        a *= 0.5
        a += 0.5
    elif name == "hard_sigmoid":  # Keras 3: relu6(x + 3) / 6
        a *= 1.0 / 6.0
        a += 0.5
        np.clip(a, 0.0, 1.0, out=a)
    elif name == "relu":
        np.maximum(a, 0.0, out=a)
    # "linear": identity


def _scale_by_derivative(name: str, y: np.ndarray, g: np.ndarray, tmp: np.ndarray) -> None:
    """``g *= act'(x)`` in place, the derivative written with the output ``y = act(x)``."""
    if name == "tanh":
        np.multiply(y, y, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        g *= tmp
    elif name == "sigmoid":
        np.subtract(1.0, y, out=tmp)
        tmp *= y
        g *= tmp
    elif name == "hard_sigmoid":
        g *= (y > 0.0) & (y < 1.0)
        g *= 1.0 / 6.0
    elif name == "relu":
        g *= y > 0.0


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

    def h_prev_matrix(self, hs: np.ndarray) -> np.ndarray:
        """``(T·N, u)`` matrix of the states entering each step (``hs[0] = h0``, time-major)."""
        return hs[: self.t].reshape(self.t * self.n, self.u)

    def input_grad(self, dg: np.ndarray, kernel: np.ndarray, go_backwards: bool) -> np.ndarray:
        dx = np.matmul(dg, kernel.T).reshape(self.t, self.n, self.d).transpose(1, 0, 2)
        return dx[:, ::-1] if go_backwards else dx


# --- compiled kernels (optional numba) -------------------------------------------------------
#
# The NumPy code in the Functions below is the reference. When numba is importable, the float32
# LSTM with the default activations (tanh, sigmoid) runs its whole time loop in two compiled
# kernels instead (run on slices of the batch in parallel threads): per step the GEMMs (4 x 8
# register-blocked loops that LLVM vectorises) and one fused elementwise pass, with no
# Python-level work per step. The kernels are plain Python
# functions here, compiled on first use with ``numba.njit(cache=True)`` (so a later process
# loads them from numba's cache). Set ``USE_NUMBA = False`` to force the NumPy path.
#
# Two rules keep LLVM vectorising the loops: ``error_model="numpy"`` (Python's zero-division
# check blocks it) and indices that numba can see are non-negative (``range(u)`` over a row
# slice rather than ``range(2 * u, 3 * u)``, whose negative-index wrap-around check blocks it).

USE_NUMBA = True
_NB: dict[str, Any] | None = None  # compiled kernels, {} when numba is unavailable

# Rational approximation of tanh on [-7.9053, 7.9053] (the form used by Eigen's fast float tanh);
# |error| < 4e-7 in float32, and it vectorises (np.tanh inside a compiled loop does not).
_F32 = np.float32
_TANH_CLAMP = _F32(7.90531110763549805)
_TA = tuple(_F32(v) for v in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                              5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                              4.89352455891786e-03))
_TB = tuple(_F32(v) for v in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                              4.89352518554385e-03))
_HALF, _ONE, _ZERO = _F32(0.5), _F32(1.0), _F32(0.0)


def _k_tanh(x):  # noqa: ANN001, ANN202
    """``tanh(x)`` for a float32 scalar: ``x P(x^2) / Q(x^2)`` after clamping (NaN stays NaN)."""
    if x > _TANH_CLAMP:
        x = _TANH_CLAMP
    elif x < -_TANH_CLAMP:
        x = -_TANH_CLAMP
    x2 = x * x
    p = _TA[0]
    p = p * x2 + _TA[1]
    p = p * x2 + _TA[2]
    p = p * x2 + _TA[3]
    p = p * x2 + _TA[4]
    p = p * x2 + _TA[5]
    p = p * x2 + _TA[6]
    q = _TB[0]
    q = q * x2 + _TB[1]
    q = q * x2 + _TB[2]
    q = q * x2 + _TB[3]
    return x * p / q


def _k_gemm_acc(a, b, out):  # noqa: ANN001, ANN202
    """``out += a @ b`` for C-contiguous 2-D arrays, 4 rows x 8 inner indices per pass: each
    vector of 8 rows of ``b`` feeds 32 fused multiply-adds into 4 output rows, and the ``j``
    loop vectorises. Each pass reads and writes half as many output rows as 8 x 4 blocks do."""
    n, kk = a.shape
    m = b.shape[1]
    k8 = kk - kk % 8
    i = 0
    while i + 4 <= n:
        for k in range(0, k8, 8):
            p00, p01, p02, p03 = a[i, k], a[i, k + 1], a[i, k + 2], a[i, k + 3]
            p04, p05, p06, p07 = a[i, k + 4], a[i, k + 5], a[i, k + 6], a[i, k + 7]
            p10, p11, p12, p13 = a[i + 1, k], a[i + 1, k + 1], a[i + 1, k + 2], a[i + 1, k + 3]
            p14, p15, p16, p17 = a[i + 1, k + 4], a[i + 1, k + 5], a[i + 1, k + 6], a[i + 1, k + 7]
            p20, p21, p22, p23 = a[i + 2, k], a[i + 2, k + 1], a[i + 2, k + 2], a[i + 2, k + 3]
            p24, p25, p26, p27 = a[i + 2, k + 4], a[i + 2, k + 5], a[i + 2, k + 6], a[i + 2, k + 7]
            p30, p31, p32, p33 = a[i + 3, k], a[i + 3, k + 1], a[i + 3, k + 2], a[i + 3, k + 3]
            p34, p35, p36, p37 = a[i + 3, k + 4], a[i + 3, k + 5], a[i + 3, k + 6], a[i + 3, k + 7]
            for j in range(m):
                w0, w1, w2, w3 = b[k, j], b[k + 1, j], b[k + 2, j], b[k + 3, j]
                w4, w5, w6, w7 = b[k + 4, j], b[k + 5, j], b[k + 6, j], b[k + 7, j]
                out[i, j] += ((p00 * w0 + p01 * w1 + p02 * w2 + p03 * w3)
                              + (p04 * w4 + p05 * w5 + p06 * w6 + p07 * w7))
                out[i + 1, j] += ((p10 * w0 + p11 * w1 + p12 * w2 + p13 * w3)
                                  + (p14 * w4 + p15 * w5 + p16 * w6 + p17 * w7))
                out[i + 2, j] += ((p20 * w0 + p21 * w1 + p22 * w2 + p23 * w3)
                                  + (p24 * w4 + p25 * w5 + p26 * w6 + p27 * w7))
                out[i + 3, j] += ((p30 * w0 + p31 * w1 + p32 * w2 + p33 * w3)
                                  + (p34 * w4 + p35 * w5 + p36 * w6 + p37 * w7))
        for k in range(k8, kk):
            a0, a1, a2, a3 = a[i, k], a[i + 1, k], a[i + 2, k], a[i + 3, k]
            for j in range(m):
                w = b[k, j]
                out[i, j] += a0 * w
                out[i + 1, j] += a1 * w
                out[i + 2, j] += a2 * w
                out[i + 3, j] += a3 * w
        i += 4
    while i < n:
        for k in range(kk):
            a0 = a[i, k]
            for j in range(m):
                out[i, j] += a0 * b[k, j]
        i += 1


def _k_gemm_tn_acc(a, b, out):  # noqa: ANN001, ANN202
    """``out += a.T @ b`` for C-contiguous 2-D arrays (``a`` is ``(K, n)``), blocked as
    :func:`_k_gemm_acc`."""
    kk, n = a.shape
    m = b.shape[1]
    k8 = kk - kk % 8
    i = 0
    while i + 4 <= n:
        for k in range(0, k8, 8):
            p00, p01, p02, p03 = a[k, i], a[k + 1, i], a[k + 2, i], a[k + 3, i]
            p04, p05, p06, p07 = a[k + 4, i], a[k + 5, i], a[k + 6, i], a[k + 7, i]
            p10, p11, p12, p13 = a[k, i + 1], a[k + 1, i + 1], a[k + 2, i + 1], a[k + 3, i + 1]
            p14, p15, p16, p17 = a[k + 4, i + 1], a[k + 5, i + 1], a[k + 6, i + 1], a[k + 7, i + 1]
            p20, p21, p22, p23 = a[k, i + 2], a[k + 1, i + 2], a[k + 2, i + 2], a[k + 3, i + 2]
            p24, p25, p26, p27 = a[k + 4, i + 2], a[k + 5, i + 2], a[k + 6, i + 2], a[k + 7, i + 2]
            p30, p31, p32, p33 = a[k, i + 3], a[k + 1, i + 3], a[k + 2, i + 3], a[k + 3, i + 3]
            p34, p35, p36, p37 = a[k + 4, i + 3], a[k + 5, i + 3], a[k + 6, i + 3], a[k + 7, i + 3]
            for j in range(m):
                w0, w1, w2, w3 = b[k, j], b[k + 1, j], b[k + 2, j], b[k + 3, j]
                w4, w5, w6, w7 = b[k + 4, j], b[k + 5, j], b[k + 6, j], b[k + 7, j]
                out[i, j] += ((p00 * w0 + p01 * w1 + p02 * w2 + p03 * w3)
                              + (p04 * w4 + p05 * w5 + p06 * w6 + p07 * w7))
                out[i + 1, j] += ((p10 * w0 + p11 * w1 + p12 * w2 + p13 * w3)
                                  + (p14 * w4 + p15 * w5 + p16 * w6 + p17 * w7))
                out[i + 2, j] += ((p20 * w0 + p21 * w1 + p22 * w2 + p23 * w3)
                                  + (p24 * w4 + p25 * w5 + p26 * w6 + p27 * w7))
                out[i + 3, j] += ((p30 * w0 + p31 * w1 + p32 * w2 + p33 * w3)
                                  + (p34 * w4 + p35 * w5 + p36 * w6 + p37 * w7))
        for k in range(k8, kk):
            a0, a1, a2, a3 = a[k, i], a[k, i + 1], a[k, i + 2], a[k, i + 3]
            for j in range(m):
                w = b[k, j]
                out[i, j] += a0 * w
                out[i + 1, j] += a1 * w
                out[i + 2, j] += a2 * w
                out[i + 3, j] += a3 * w
        i += 4
    while i < n:
        for k in range(kk):
            a0 = a[k, i]
            for j in range(m):
                out[i, j] += a0 * b[k, j]
        i += 1


def _k_lstm_forward(x3, kernel, bias, rk, gates, hs, cs, tc, hold,  # noqa: ANN001, ANN202
                    has_mask, scale, shift, r0, r1):
    """The LSTM time loop for the batch rows ``r0:r1`` (tanh / sigmoid; the sigmoid columns of
    ``kernel``, ``rk`` and ``bias`` pre-scaled by 1/2). Per step: ``bias + X_t kernel + H_{t-1}
    rk`` into ``gates[t]``, then the activations in place (``tanh(g) * scale + shift``: the
    logistic function on the sigmoid columns) and the cell update, as in the NumPy path."""
    t, _, g4 = gates.shape
    u = g4 // 4
    n = r1 - r0
    for step in range(t):
        g = gates[step, r0:r1]
        hp = hs[step, r0:r1]
        cp = cs[step, r0:r1]
        c = cs[step + 1, r0:r1]
        h = hs[step + 1, r0:r1]
        tct = tc[step, r0:r1]
        for i in range(n):
            for j in range(g4):
                g[i, j] = bias[j]
        _nb_gemm_acc(x3[step, r0:r1], kernel, g)
        _nb_gemm_acc(hp, rk, g)
        for i in range(n):
            for j in range(g4):
                g[i, j] = _nb_tanh(g[i, j]) * scale[j] + shift[j]
            gi, gf, gc, go = g[i, :u], g[i, u:2 * u], g[i, 2 * u:3 * u], g[i, 3 * u:]
            ci, cpi, tci, hi = c[i], cp[i], tct[i], h[i]
            for j in range(u):
                cv = gf[j] * cpi[j] + gi[j] * gc[j]
                tv = _nb_tanh(cv)
                ci[j] = cv
                tci[j] = tv
                hi[j] = go[j] * tv
            if has_mask and hold[step, r0 + i]:
                for j in range(u):
                    h[i, j] = hp[i, j]
                    c[i, j] = cp[i, j]


def _k_lstm_backward(gates, cs, tc, gh, rk_t, d, dh, dc, dh_next, hold,  # noqa: ANN001, ANN202
                     has_mask, x3, hs, kernel_t, dx, need_dx, need_dk, need_drk, dk, drk, db,
                     r0, r1):
    """BPTT for :func:`_k_lstm_forward` on the batch rows ``r0:r1``. Per step (newest first) the
    pre-activation gradient ``dG_t`` goes into rows of the ``(N, 4u)`` buffer ``d`` and, while
    it is in cache, ``dG_t W_h^T`` becomes the next ``dh``, ``dG_t kernel^T`` goes to ``dx[t]``
    and ``X_t^T dG_t``, ``H_{t-1}^T dG_t`` and the column sums of ``dG_t`` are added to ``dk``,
    ``drk``, ``db`` (this slice's own accumulators). ``gh`` is the output gradient as given,
    ``(N, T + 1, u)``; ``dc`` starts as the gradient of ``C_T``; the gradients of ``h0`` / ``c0``
    are left in ``dh`` / ``dc``."""
    t, _, g4 = gates.shape
    u = g4 // 4
    n = r1 - r0
    cur = dh[r0:r1]
    nxt = dh_next[r0:r1]
    dd = d[r0:r1]
    dcs = dc[r0:r1]
    for step in range(t - 1, -1, -1):
        g = gates[step, r0:r1]
        tct = tc[step, r0:r1]
        cp = cs[step, r0:r1]
        for i in range(n):
            masked = has_mask and hold[step, r0 + i]
            gi, gf, gc, go = g[i, :u], g[i, u:2 * u], g[i, 2 * u:3 * u], g[i, 3 * u:]
            di, df, dcc, do = dd[i, :u], dd[i, u:2 * u], dd[i, 2 * u:3 * u], dd[i, 3 * u:]
            curi, ghi, tci, dci, cpi = cur[i], gh[r0 + i, step], tct[i], dcs[i], cp[i]
            for j in range(u):
                dhv = curi[j] + ghi[j]
                curi[j] = dhv
                ig = gi[j]
                fg = gf[j]
                cg = gc[j]
                og = go[j]
                tv = tci[j]
                dcv = dci[j] + dhv * og * (_ONE - tv * tv)
                di[j] = dcv * cg * ig * (_ONE - ig)
                df[j] = dcv * cpi[j] * fg * (_ONE - fg)
                dcc[j] = dcv * ig * (_ONE - cg * cg)
                do[j] = dhv * tv * og * (_ONE - og)
                if not masked:
                    dci[j] = dcv * fg
            if masked:
                for j in range(g4):
                    dd[i, j] = _ZERO
            for j in range(g4):
                db[j] += dd[i, j]
        for i in range(n):
            for j in range(u):
                nxt[i, j] = _ZERO
        _nb_gemm_acc(dd, rk_t, nxt)
        if has_mask:
            for i in range(n):
                if hold[step, r0 + i]:
                    for j in range(u):
                        nxt[i, j] = cur[i, j]
        if need_dx:
            _nb_gemm_acc(dd, kernel_t, dx[step, r0:r1])
        if need_dk:
            _nb_gemm_tn_acc(x3[step, r0:r1], dd, dk)
        if need_drk:
            _nb_gemm_tn_acc(hs[step, r0:r1], dd, drk)
        cur, nxt = nxt, cur
    if t % 2 == 1:
        out = dh[r0:r1]
        for i in range(n):
            for j in range(u):
                out[i, j] = cur[i, j]


_nb_tanh: Any = _k_tanh
_nb_gemm_acc: Any = _k_gemm_acc
_nb_gemm_tn_acc: Any = _k_gemm_tn_acc
_POOL: ThreadPoolExecutor | None = None  # runs the batch slices after the first
_POOL_SIZE = 0


def _part_args(args: tuple[Any, ...], per_part: tuple[np.ndarray, ...], p: int,
               bounds: list[int]) -> tuple[Any, ...]:
    return (*args, *(a[p] for a in per_part), bounds[p], bounds[p + 1])


def _run_parts(kernel: Any, parts: int, n: int, *args: Any,
               per_part: tuple[np.ndarray, ...] = ()) -> None:
    """Run ``kernel(*args, *[a[p] for a in per_part], r0, r1)`` on ``parts`` slices of the ``n``
    batch rows at once: the first slice in this thread, the others in worker threads (the
    kernels release the GIL). The samples of a batch are independent, so the slices never wait
    for each other inside the time loop."""
    global _POOL, _POOL_SIZE
    bounds = [p * n // parts for p in range(parts + 1)]
    futures = []
    if parts > 1:
        if _POOL is None or _POOL_SIZE < parts - 1:
            _POOL = ThreadPoolExecutor(max_workers=parts - 1, thread_name_prefix="nablanet-rnn")
            _POOL_SIZE = parts - 1
        futures = [_POOL.submit(kernel, *_part_args(args, per_part, p, bounds))
                   for p in range(1, parts)]
    kernel(*_part_args(args, per_part, 0, bounds))
    for f in futures:
        f.result()


def _kernels() -> dict[str, Any]:
    """The compiled kernels (compiled or loaded from numba's cache on first use); ``{}`` when
    numba cannot be imported, in which case the NumPy code runs."""
    global _NB, _nb_tanh, _nb_gemm_acc, _nb_gemm_tn_acc
    if _NB is None:
        numba = numba_module()
        if numba is None:
            _NB = {}
            return _NB
        # fastmath "contract" only (fused multiply-adds; no reassociation, NaN and inf kept);
        # error_model "numpy": no zero-division check, which would stop the loops vectorising;
        # nogil: the batch slices run in parallel threads
        jit = numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
        _nb_tanh = jit(_k_tanh)
        _nb_gemm_acc = jit(_k_gemm_acc)
        _nb_gemm_tn_acc = jit(_k_gemm_tn_acc)
        _NB = {"lstm_forward": jit(_k_lstm_forward), "lstm_backward": jit(_k_lstm_backward),
               "threads": worker_count}  # (numba's own threading layer is never started)
    return _NB


def _hold_args(s: _Setup) -> tuple[np.ndarray, bool]:
    """``(hold, has_mask)`` for the kernels: the ``(T, N)`` masked-step flags."""
    if s.hold is None:
        return np.zeros((1, 1), dtype=bool), False
    return np.ascontiguousarray(s.hold[:, :, 0]), True


def _parts(n: int) -> int:
    """Batch slices for the kernels: one per numba thread, at least 4 rows each."""
    return max(1, min(int(_kernels()["threads"]()), n // 4))


def _use_kernels(dtype: np.dtype, fast: bool) -> dict[str, Any]:
    """The kernels when they apply (float32, default activations, numba present), else ``{}``."""
    if not (USE_NUMBA and fast and dtype == np.float32) or get_kernels() != "fast":
        return {}
    return _kernels()


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

    __slots__ = ("s", "kernel", "rk", "has_bias", "gates", "hs", "cs", "tc", "act", "rec",
                 "fast", "go_backwards")

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
        b = None if bias is None else np.asarray(bias, dtype=dt)
        kern = _use_kernels(dt, act == "tanh" and rec == "sigmoid")
        if kern:  # the compiled loop: sigma(z) = (1 + tanh(z/2)) / 2, halving in the weights
            scale = np.full(4 * u, 0.5, dtype=dt)
            scale[2 * u : 3 * u] = 1.0
            shift = 1.0 - scale
            k_eff, rk_eff = kernel * scale, rk * scale
            b_eff = None if b is None else b * scale
        else:
            k_eff, rk_eff, b_eff = kernel, rk, b
        gates = np.empty((t, n, 4 * u), dtype=dt)
        hs = np.empty((t + 2, n, u), dtype=dt)  # h0, H_1 … H_T, C_T
        cs = np.empty((t + 1, n, u), dtype=dt)  # c0, C_1 … C_T
        tc = np.empty((t, n, u), dtype=dt)  # tanh(C_t) before masking
        hs[0] = s.state(h0)
        cs[0] = s.state(c0)
        if kern:  # the whole loop, input projection included, in one compiled call
            b_k = np.zeros(4 * u, dtype=dt) if b_eff is None else np.ascontiguousarray(b_eff)
            _run_parts(kern["lstm_forward"], _parts(n), n, s.x2.reshape(t, n, s.d),
                       np.ascontiguousarray(k_eff), b_k, np.ascontiguousarray(rk_eff), gates, hs,
                       cs, tc, *_hold_args(s), scale, shift)
        else:
            np.matmul(s.x2, k_eff, out=gates.reshape(t * n, 4 * u))
            if b_eff is not None:
                gates += b_eff
        buf = np.empty((n, 4 * u), dtype=dt)
        tmp = np.empty((n, u), dtype=dt)
        u2, u3 = 2 * u, 3 * u
        hold, masked_steps = s.hold, s.masked_steps
        for step in range(0 if kern else t):  # NumPy reference path, the equations as written
            g = gates[step]  # X_t W_x + b, then + H_{t-1} W_h
            h_prev = hs[step]
            np.matmul(h_prev, rk_eff, out=buf)
            g += buf
            _activate(rec, g[:, :u2])  # I_t, F_t
            _activate(act, g[:, u2:u3])  # C~_t
            _activate(rec, g[:, u3:])  # O_t
            c = cs[step + 1]
            np.multiply(g[:, u:u2], cs[step], out=c)
            np.multiply(g[:, :u], g[:, u2:u3], out=tmp)
            c += tmp
            tct = tc[step]
            if act == "tanh":
                np.tanh(c, out=tct)
            else:
                np.copyto(tct, c)
                _activate(act, tct)
            h = hs[step + 1]
            np.multiply(g[:, u3:], tct, out=h)
            if masked_steps is not None and masked_steps[step]:
                np.copyto(h, h_prev, where=hold[step])
                np.copyto(c, cs[step], where=hold[step])
        hs[t + 1] = cs[t]
        self.s, self.kernel, self.rk, self.has_bias = s, kernel, rk, b is not None
        self.gates, self.hs, self.cs, self.tc = gates, hs, cs, tc
        self.act, self.rec, self.go_backwards = act, rec, go_backwards
        self.fast = bool(kern)  # (backward takes the same path)
        return hs[1:].transpose(1, 0, 2)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        s = self.s
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        u2, u3 = 2 * u, 3 * u
        gates, cs, tc, act, rec = self.gates, self.cs, self.tc, self.act, self.rec
        hold, masked_steps = s.hold, s.masked_steps
        gh = np.asarray(grad, dtype=dt).transpose(1, 0, 2)  # time-major view
        rk_t = np.ascontiguousarray(self.rk.T)
        dh = np.zeros((n, u), dtype=dt)
        dh_next = np.empty((n, u), dtype=dt)
        dc = np.array(gh[t], dtype=dt, copy=True)
        if self.fast:
            return self._backward_compiled(grad, rk_t, dh, dc, dh_next)
        needs = self.needs_input_grad
        dgates = np.empty((t, n, 4 * u), dtype=dt)
        dc_in = np.empty((n, u), dtype=dt)
        tmp = np.empty((n, u), dtype=dt)
        tmp2 = np.empty((n, u), dtype=dt)
        tmp4 = np.empty((n, 4 * u), dtype=dt)
        for step in range(t - 1, -1, -1):
            masked = masked_steps is not None and masked_steps[step]
            dh += gh[step]
            if masked:
                np.copyto(dc_in, dc)
            g = gates[step]
            d = dgates[step]
            tct = tc[step]
            np.multiply(dh, tct, out=d[:, u3:])  # dO
            np.multiply(dh, g[:, u3:], out=tmp)
            _scale_by_derivative(act, tct, tmp, tmp2)
            dc += tmp
            np.multiply(dc, g[:, u2:u3], out=d[:, :u])  # dI
            np.multiply(dc, cs[step], out=d[:, u:u2])  # dF
            np.multiply(dc, g[:, :u], out=d[:, u2:u3])  # dC~
            dc *= g[:, u:u2]
            _scale_by_derivative(rec, g[:, :u2], d[:, :u2], tmp4[:, :u2])
            _scale_by_derivative(act, g[:, u2:u3], d[:, u2:u3], tmp)
            _scale_by_derivative(rec, g[:, u3:], d[:, u3:], tmp)
            if masked:
                m = hold[step]
                np.copyto(d, 0.0, where=m)
                np.matmul(d, rk_t, out=dh_next)
                np.copyto(dh_next, dh, where=m)
                np.copyto(dc, dc_in, where=m)
            else:
                np.matmul(d, rk_t, out=dh_next)
            dh, dh_next = dh_next, dh
        dg2 = dgates.reshape(t * n, 4 * u)
        dx = s.input_grad(dg2, self.kernel, self.go_backwards) if needs[0] else None
        dk = np.matmul(s.x2.T, dg2) if needs[3] else None
        drk = np.matmul(s.h_prev_matrix(self.hs).T, dg2) if needs[4] else None
        db = dg2.sum(axis=0) if self.has_bias and needs[5] else None
        return dx, dh, dc, dk, drk, db

    def _backward_compiled(self, grad: np.ndarray, rk_t: np.ndarray, dh: np.ndarray,
                           dc: np.ndarray, dh_next: np.ndarray) -> tuple[Any, ...]:
        """The same backward pass as one call of :func:`_k_lstm_backward`."""
        s = self.s
        n, t, d, u, dt = s.n, s.t, s.d, s.u, s.dtype
        needs = self.needs_input_grad
        parts = _parts(n)
        one = np.zeros((1, 1), dtype=dt)  # stands in for an output that is not wanted
        dx = np.zeros((t, n, d), dtype=dt) if needs[0] else one[None]
        dk = np.zeros((parts, d, 4 * u), dtype=dt) if needs[3] else one[None].repeat(parts, 0)
        drk = np.zeros((parts, u, 4 * u), dtype=dt) if needs[4] else one[None].repeat(parts, 0)
        db = np.zeros((parts, 4 * u), dtype=dt)
        _run_parts(_kernels()["lstm_backward"], parts, n, self.gates, self.cs, self.tc,
                   np.ascontiguousarray(grad, dtype=dt), rk_t, np.empty((n, 4 * u), dtype=dt), dh,
                   dc, dh_next, *_hold_args(s), s.x2.reshape(t, n, d), self.hs,
                   np.ascontiguousarray(self.kernel.T), dx, needs[0], needs[3], needs[4],
                   per_part=(dk, drk, db))
        dk, drk, db = (a[0] if parts == 1 else a.sum(axis=0) for a in (dk, drk, db))
        if needs[0]:
            dx = dx.transpose(1, 0, 2)
            dx = dx[:, ::-1] if self.go_backwards else dx
        return (dx if needs[0] else None, dh, dc, dk if needs[3] else None,
                drk if needs[4] else None, db if self.has_bias and needs[5] else None)


# --- GRU -------------------------------------------------------------------------------------


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

    __slots__ = ("s", "kernel", "rk", "has_bias", "gates", "hs", "rec_store", "act", "rec",
                 "go_backwards", "reset_after")

    def forward(self, x: np.ndarray, h0: Any, kernel: np.ndarray, recurrent_kernel: np.ndarray,
                bias: Any, *, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                reset_after: bool = True, mask: Any = None,
                go_backwards: bool = False) -> np.ndarray:
        act = _check_activation("gru", "activation", activation)
        rec = _check_activation("gru", "recurrent_activation", recurrent_activation)
        reset_after = bool(reset_after)
        s = _Setup("gru", 3, x, [("h0", h0)], kernel, recurrent_kernel, bias,
                   (2, -1) if reset_after else (-1,), mask, go_backwards)
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        u2 = 2 * u
        kernel = np.asarray(kernel, dtype=dt)
        rk = np.asarray(recurrent_kernel, dtype=dt)
        b = None if bias is None else np.asarray(bias, dtype=dt)
        k_eff, rk_eff, b_eff = kernel, rk, b
        gates = np.empty((t, n, 3 * u), dtype=dt)
        np.matmul(s.x2, k_eff, out=gates.reshape(t * n, 3 * u))
        b_h = None
        if b_eff is not None:
            if reset_after:
                gates += b_eff[0]
                b_h = b_eff[1]
            else:
                gates += b_eff
        hs = np.empty((t + 1, n, u), dtype=dt)
        hs[0] = s.state(h0)
        # reset_after: H_{t-1} W_h + b_h per step (N, T, 3u); otherwise R_t * H_{t-1} (N, T, u)
        rec_store = np.empty((t, n, 3 * u if reset_after else u), dtype=dt)
        rk_zr, rk_h = rk_eff[:, :u2], rk_eff[:, u2:]
        buf = np.empty((n, u2), dtype=dt)
        tmp = np.empty((n, u), dtype=dt)
        hold, masked_steps = s.hold, s.masked_steps
        for step in range(t):
            g = gates[step]
            h_prev = hs[step]
            gzr, a = g[:, :u2], g[:, u2:]
            r = g[:, u:u2]
            if reset_after:
                hp = rec_store[step]
                np.matmul(h_prev, rk_eff, out=hp)
                if b_h is not None:
                    hp += b_h
                gzr += hp[:, :u2]
            else:
                np.matmul(h_prev, rk_zr, out=buf)
                gzr += buf
            _activate(rec, gzr)  # Z_t, R_t
            if reset_after:
                np.multiply(r, hp[:, u2:], out=tmp)
            else:
                rh = rec_store[step]
                np.multiply(r, h_prev, out=rh)
                np.matmul(rh, rk_h, out=tmp)
            a += tmp
            _activate(act, a)
            h = hs[step + 1]
            np.subtract(h_prev, a, out=tmp)
            tmp *= g[:, :u]
            np.add(a, tmp, out=h)
            if masked_steps is not None and masked_steps[step]:
                np.copyto(h, h_prev, where=hold[step])
        self.s, self.kernel, self.rk, self.has_bias = s, kernel, rk, b is not None
        self.gates, self.hs, self.rec_store = gates, hs, rec_store
        self.act, self.rec = act, rec
        self.go_backwards, self.reset_after = go_backwards, reset_after
        return hs[1:].transpose(1, 0, 2)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        s = self.s
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        u2, u3 = 2 * u, 3 * u
        gates, hs, store, act, rec = self.gates, self.hs, self.rec_store, self.act, self.rec
        hold, masked_steps = s.hold, s.masked_steps
        reset_after = self.reset_after
        grad = np.asarray(grad, dtype=dt).transpose(1, 0, 2)  # time-major view
        # reset_after: per step [dZ, dR, d(H W_hh + b_hh), dA] so that [:, :3u] is the
        # recurrent-side gradient and [dZ, dR, dA] the input-side one; otherwise [dZ, dR, dA].
        dgates = np.empty((t, n, 4 * u if reset_after else u3), dtype=dt)
        rk = self.rk
        rk_t = np.ascontiguousarray(rk.T)
        rk_zr_t = np.ascontiguousarray(rk[:, :u2].T)
        rk_h_t = np.ascontiguousarray(rk[:, u2:].T)
        dh = np.zeros((n, u), dtype=dt)
        dh_next = np.empty((n, u), dtype=dt)
        tmp = np.empty((n, u), dtype=dt)
        drh = np.empty((n, u), dtype=dt)
        tmp2 = np.empty((n, u2), dtype=dt)
        da_col = u3 if reset_after else u2
        for step in range(t - 1, -1, -1):
            dh += grad[step]
            g = gates[step]
            h_prev = hs[step]
            z, r, a = g[:, :u], g[:, u:u2], g[:, u2:]
            d = dgates[step]
            dz, dr, da = d[:, :u], d[:, u:u2], d[:, da_col:]
            np.subtract(h_prev, a, out=dz)
            dz *= dh
            np.subtract(1.0, z, out=da)
            da *= dh
            _scale_by_derivative(act, a, da, tmp)
            if reset_after:
                hp_h = store[step, :, u2:]
                np.multiply(da, hp_h, out=dr)
                np.multiply(da, r, out=d[:, u2:u3])
            else:
                np.matmul(da, rk_h_t, out=drh)
                np.multiply(drh, h_prev, out=dr)
            _scale_by_derivative(rec, g[:, :u2], d[:, :u2], tmp2)
            masked = masked_steps is not None and masked_steps[step]
            if masked:
                np.copyto(d, 0.0, where=hold[step])
            if reset_after:
                np.matmul(d[:, :u3], rk_t, out=dh_next)
            else:
                np.matmul(d[:, :u2], rk_zr_t, out=dh_next)
                drh *= r
                dh_next += drh
            np.multiply(dh, z, out=tmp)
            dh_next += tmp
            if masked:
                np.copyto(dh_next, dh, where=hold[step])
            dh, dh_next = dh_next, dh
        needs = self.needs_input_grad
        d2 = dgates.reshape(t * n, -1)
        kernel = self.kernel
        dx = dk = drk = db = None
        if reset_after:
            dzr, dhp, da2 = d2[:, :u2], d2[:, :u3], d2[:, u3:]
            if needs[0]:
                dxs = np.matmul(dzr, kernel[:, :u2].T)
                dxs += np.matmul(da2, kernel[:, u2:].T)
                dx = dxs.reshape(t, n, s.d).transpose(1, 0, 2)
                dx = dx[:, ::-1] if self.go_backwards else dx
            if needs[2]:
                dk = np.empty_like(kernel)
                np.matmul(s.x2.T, dzr, out=dk[:, :u2])
                np.matmul(s.x2.T, da2, out=dk[:, u2:])
            if needs[3]:
                drk = np.matmul(s.h_prev_matrix(hs).T, dhp)
            if self.has_bias and needs[4]:
                db = np.empty((2, u3), dtype=dt)
                db[1] = dhp.sum(axis=0)
                db[0, :u2] = db[1, :u2]
                db[0, u2:] = da2.sum(axis=0)
        else:
            if needs[0]:
                dx = s.input_grad(d2, kernel, self.go_backwards)
            if needs[2]:
                dk = np.matmul(s.x2.T, d2)
            if needs[3]:
                drk = np.empty_like(rk)
                np.matmul(s.h_prev_matrix(hs).T, d2[:, :u2], out=drk[:, :u2])
                np.matmul(store.reshape(t * n, u).T, d2[:, u2:], out=drk[:, u2:])
            if self.has_bias and needs[4]:
                db = d2.sum(axis=0)
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

    __slots__ = ("s", "kernel", "rk", "has_bias", "gates", "hs", "act", "go_backwards")

    def forward(self, x: np.ndarray, h0: Any, kernel: np.ndarray, recurrent_kernel: np.ndarray,
                bias: Any, *, activation: str = "tanh", mask: Any = None,
                go_backwards: bool = False) -> np.ndarray:
        act = _check_activation("simple_rnn", "activation", activation)
        s = _Setup("simple_rnn", 1, x, [("h0", h0)], kernel, recurrent_kernel, bias, (-1,),
                   mask, go_backwards)
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        kernel = np.asarray(kernel, dtype=dt)
        rk = np.asarray(recurrent_kernel, dtype=dt)
        pre = np.empty((t, n, u), dtype=dt)
        np.matmul(s.x2, kernel, out=pre.reshape(t * n, u))
        if bias is not None:
            pre += np.asarray(bias, dtype=dt)
        hs = np.empty((t + 1, n, u), dtype=dt)
        hs[0] = s.state(h0)
        hold, masked_steps = s.hold, s.masked_steps
        for step in range(t):
            h_prev, h = hs[step], hs[step + 1]
            np.matmul(h_prev, rk, out=h)
            h += pre[step]
            _activate(act, h)
            if masked_steps is not None and masked_steps[step]:
                np.copyto(h, h_prev, where=hold[step])
        self.s, self.kernel, self.rk, self.has_bias = s, kernel, rk, bias is not None
        self.gates, self.hs, self.act, self.go_backwards = pre, hs, act, go_backwards
        return hs[1:].transpose(1, 0, 2)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        s = self.s
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        hs, act = self.hs, self.act
        hold, masked_steps = s.hold, s.masked_steps
        grad = np.asarray(grad, dtype=dt).transpose(1, 0, 2)  # time-major view
        dpre = np.empty((t, n, u), dtype=dt)
        rk_t = np.ascontiguousarray(self.rk.T)
        dh = np.zeros((n, u), dtype=dt)
        dh_next = np.empty((n, u), dtype=dt)
        tmp = np.empty((n, u), dtype=dt)
        for step in range(t - 1, -1, -1):
            dh += grad[step]
            d = dpre[step]
            np.copyto(d, dh)
            masked = masked_steps is not None and masked_steps[step]
            # phi(A_t) is H_t on the rows that are not masked; masked rows are zeroed below
            _scale_by_derivative(act, hs[step + 1], d, tmp)
            if masked:
                np.copyto(d, 0.0, where=hold[step])
                np.matmul(d, rk_t, out=dh_next)
                np.copyto(dh_next, dh, where=hold[step])
            else:
                np.matmul(d, rk_t, out=dh_next)
            dh, dh_next = dh_next, dh
        needs = self.needs_input_grad
        d2 = dpre.reshape(t * n, u)
        dx = s.input_grad(d2, self.kernel, self.go_backwards) if needs[0] else None
        dk = np.matmul(s.x2.T, d2) if needs[2] else None
        drk = np.matmul(s.h_prev_matrix(hs).T, d2) if needs[3] else None
        db = d2.sum(axis=0) if self.has_bias and needs[4] else None
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
    packed = LSTMSequence.apply(x, h0, c0, kernel, recurrent_kernel, bias, activation=activation,
                                recurrent_activation=recurrent_activation, mask=mask,
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
    seq = GRUSequence.apply(x, h0, kernel, recurrent_kernel, bias, activation=activation,
                            recurrent_activation=recurrent_activation, reset_after=reset_after,
                            mask=mask, go_backwards=go_backwards)
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
    seq = SimpleRNNSequence.apply(x, h0, kernel, recurrent_kernel, bias, activation=activation,
                                  mask=mask, go_backwards=go_backwards)
    return seq, seq[:, -1]
