r"""The compiled LSTM: the float32 LSTM of :mod:`nablanet.ops.recurrent` with its whole time loop in
two numba kernels.

The same maths as the reference (:class:`nablanet.ops.recurrent.LSTMSequence`), organised for
the machine:

* the whole forward loop and the whole backward loop are one compiled call each, with no
  Python-level work per step; per step, the GEMMs are register-blocked loops (4 rows × 8 inner
  indices) that LLVM vectorises, and the gate non-linearities and the cell update are one fused
  pass over the step's rows;
* the logistic function is :math:`\sigma(z) = \tfrac12(1 + \tanh(z/2))` with the halving folded
  into the weights (the sigmoid columns of ``kernel``, ``recurrent_kernel`` and ``bias`` are
  scaled by ½ once per call), and tanh is a vectorisable rational approximation
  (|error| < 4e-7; ``np.tanh`` inside a compiled loop does not vectorise);
* backward accumulates the weight gradients step by step while the step's gate gradients are
  still in cache;
* the batch is split into one slice per allowed thread
  (:func:`nablanet.kernels.threads.split_parts`; samples are independent, so the slices never
  wait for each other inside the time loop). Each slice has its own weight-gradient
  accumulators, summed at the end, so results depend on the thread count only through that
  summation order.

It applies to float32 with the default activations (tanh, sigmoid); anything else, or numba
missing or switched off (:mod:`nablanet.kernels._numba`), runs the reference. Two rules keep
LLVM vectorising the loops: ``error_model="numpy"`` (Python's zero-division check blocks it) and
indices that numba can see are non-negative (``range(u)`` over a row slice rather than
``range(2 * u, 3 * u)``, whose negative-index wrap-around check blocks it). docs/performance.md
records the measurements.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.kernels import threads
from nablanet.kernels._numba import njit
from nablanet.kernels.registry import register
from nablanet.kernels.threads import split_parts
from nablanet.ops.recurrent import LSTMSequence, _Setup

# fastmath "contract" only (fused multiply-adds; no reassociation, NaN and inf kept)
_jit = njit(fastmath={"contract"}, error_model="numpy")

# Rational approximation of tanh on [-7.9053, 7.9053] (the form used by Eigen's fast float tanh).
_F32 = np.float32
_TANH_CLAMP = _F32(7.90531110763549805)
_TA = tuple(_F32(v) for v in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                              5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                              4.89352455891786e-03))
_TB = tuple(_F32(v) for v in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                              4.89352518554385e-03))
_ONE, _ZERO = _F32(1.0), _F32(0.0)


# --- compiled kernels -------------------------------------------------------------------------
@_jit
def _tanh(x):  # type: ignore[no-untyped-def]
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


@_jit
def _gemm_acc(a, b, out):  # type: ignore[no-untyped-def]
    """``out += a @ b`` for C-contiguous 2-D arrays, 4 rows x 8 inner indices per pass: each
    vector of 8 rows of ``b`` feeds 32 fused multiply-adds into 4 output rows, and the ``j``
    loop vectorises. Each pass reads and writes half as many output rows as 8 x 4 blocks do. A
    remainder of 4 inner indices is one more pass (the weight gradients of a 4-row batch
    slice), the last 1-3 one pass each."""
    n, kk = a.shape
    m = b.shape[1]
    k8 = kk - kk % 8
    k4 = kk - kk % 4
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
        if k4 > k8:  # four more inner indices in one pass (a batch slice of 4 rows)
            k = k8
            q00, q01, q02, q03 = a[i, k], a[i, k + 1], a[i, k + 2], a[i, k + 3]
            q10, q11, q12, q13 = a[i + 1, k], a[i + 1, k + 1], a[i + 1, k + 2], a[i + 1, k + 3]
            q20, q21, q22, q23 = a[i + 2, k], a[i + 2, k + 1], a[i + 2, k + 2], a[i + 2, k + 3]
            q30, q31, q32, q33 = a[i + 3, k], a[i + 3, k + 1], a[i + 3, k + 2], a[i + 3, k + 3]
            for j in range(m):
                w0, w1, w2, w3 = b[k, j], b[k + 1, j], b[k + 2, j], b[k + 3, j]
                out[i, j] += (q00 * w0 + q01 * w1) + (q02 * w2 + q03 * w3)
                out[i + 1, j] += (q10 * w0 + q11 * w1) + (q12 * w2 + q13 * w3)
                out[i + 2, j] += (q20 * w0 + q21 * w1) + (q22 * w2 + q23 * w3)
                out[i + 3, j] += (q30 * w0 + q31 * w1) + (q32 * w2 + q33 * w3)
        for k in range(k4, kk):
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


@_jit
def _gemm_tn_acc(a, b, out):  # type: ignore[no-untyped-def]
    """``out += a.T @ b`` for C-contiguous 2-D arrays (``a`` is ``(K, n)``), blocked as
    :func:`_gemm_acc`."""
    kk, n = a.shape
    m = b.shape[1]
    k8 = kk - kk % 8
    k4 = kk - kk % 4
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
        if k4 > k8:  # four more inner indices in one pass (a batch slice of 4 rows)
            k = k8
            q00, q01, q02, q03 = a[k, i], a[k + 1, i], a[k + 2, i], a[k + 3, i]
            q10, q11, q12, q13 = a[k, i + 1], a[k + 1, i + 1], a[k + 2, i + 1], a[k + 3, i + 1]
            q20, q21, q22, q23 = a[k, i + 2], a[k + 1, i + 2], a[k + 2, i + 2], a[k + 3, i + 2]
            q30, q31, q32, q33 = a[k, i + 3], a[k + 1, i + 3], a[k + 2, i + 3], a[k + 3, i + 3]
            for j in range(m):
                w0, w1, w2, w3 = b[k, j], b[k + 1, j], b[k + 2, j], b[k + 3, j]
                out[i, j] += (q00 * w0 + q01 * w1) + (q02 * w2 + q03 * w3)
                out[i + 1, j] += (q10 * w0 + q11 * w1) + (q12 * w2 + q13 * w3)
                out[i + 2, j] += (q20 * w0 + q21 * w1) + (q22 * w2 + q23 * w3)
                out[i + 3, j] += (q30 * w0 + q31 * w1) + (q32 * w2 + q33 * w3)
        for k in range(k4, kk):
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


@_jit
def _lstm_forward(x3, kernel, bias, rk, gates, hs, cs, tc, hold,  # type: ignore[no-untyped-def]
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
        _gemm_acc(x3[step, r0:r1], kernel, g)
        _gemm_acc(hp, rk, g)
        for i in range(n):
            for j in range(g4):
                g[i, j] = _tanh(g[i, j]) * scale[j] + shift[j]
            gi, gf, gc, go = g[i, :u], g[i, u:2 * u], g[i, 2 * u:3 * u], g[i, 3 * u:]
            ci, cpi, tci, hi = c[i], cp[i], tct[i], h[i]
            for j in range(u):
                cv = gf[j] * cpi[j] + gi[j] * gc[j]
                tv = _tanh(cv)
                ci[j] = cv
                tci[j] = tv
                hi[j] = go[j] * tv
            if has_mask and hold[step, r0 + i]:
                for j in range(u):
                    h[i, j] = hp[i, j]
                    c[i, j] = cp[i, j]


@_jit
def _lstm_backward(gates, cs, tc, gh, rk_t, d, dh, dc, dh_next, hold,  # type: ignore[no-untyped-def]
                   has_mask, x3, hs, kernel_t, dx, need_dx, need_dk, need_drk, dk, drk, db,
                   r0, r1):
    """BPTT for :func:`_lstm_forward` on the batch rows ``r0:r1``. Per step (newest first) the
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
        _gemm_acc(dd, rk_t, nxt)
        if has_mask:
            for i in range(n):
                if hold[step, r0 + i]:
                    for j in range(u):
                        nxt[i, j] = cur[i, j]
        if need_dx:
            _gemm_acc(dd, kernel_t, dx[step, r0:r1])
        if need_dk:
            _gemm_tn_acc(x3[step, r0:r1], dd, dk)
        if need_drk:
            _gemm_tn_acc(hs[step, r0:r1], dd, drk)
        cur, nxt = nxt, cur
    if t % 2 == 1:
        out = dh[r0:r1]
        for i in range(n):
            for j in range(u):
                out[i, j] = cur[i, j]


# --- the Function ----------------------------------------------------------------------------


def _parts(n: int) -> int:
    """Batch slices: one per allowed thread, at least 4 rows each."""
    return max(1, min(threads.worker_count(), n // 4))


def _hold_args(s: _Setup) -> tuple[np.ndarray, bool]:
    """``(hold, has_mask)`` for the kernels: the ``(T, N)`` masked-step flags."""
    if s.hold is None:
        return np.zeros((1, 1), dtype=bool), False
    return np.ascontiguousarray(s.hold[:, :, 0]), True


class FastLSTMSequence(LSTMSequence):
    """:class:`nablanet.ops.recurrent.LSTMSequence` (float32, tanh / sigmoid) as two compiled
    loops over slices of the batch (see the module docstring)."""

    __slots__ = ("gates", "h_all", "c_all", "tc")
    gates: Any  # (T, N, 4u): I_t, F_t, C~_t, O_t
    h_all: Any  # (T + 2, N, u): H_0 … H_T, C_T
    c_all: Any  # (T + 1, N, u): C_0 … C_T
    tc: Any  # (T, N, u): tanh(C_t) before masking

    def forward(self, x: np.ndarray, h0: Any, c0: Any, kernel: np.ndarray,
                recurrent_kernel: np.ndarray, bias: Any, *, activation: str = "tanh",
                recurrent_activation: str = "sigmoid", mask: Any = None,
                go_backwards: bool = False) -> np.ndarray:
        s = _Setup("lstm", 4, x, [("h0", h0), ("c0", c0)], kernel, recurrent_kernel, bias,
                   (-1,), mask, go_backwards)
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        kernel = np.asarray(kernel, dtype=dt)
        rk = np.asarray(recurrent_kernel, dtype=dt)
        # sigma(z) = tanh(z / 2) / 2 + 1 / 2 on the i, f, o columns: tanh(.) * scale + shift
        scale = np.full(4 * u, 0.5, dtype=dt)
        scale[2 * u : 3 * u] = 1.0
        shift = 1.0 - scale
        b = np.zeros(4 * u, dtype=dt) if bias is None else np.asarray(bias, dtype=dt) * scale
        k_half, rk_half = np.ascontiguousarray(kernel * scale), np.ascontiguousarray(rk * scale)
        gates = np.empty((t, n, 4 * u), dtype=dt)
        hs = np.empty((t + 2, n, u), dtype=dt)  # h0, H_1 … H_T, C_T
        cs = np.empty((t + 1, n, u), dtype=dt)  # c0, C_1 … C_T
        tc = np.empty((t, n, u), dtype=dt)
        hs[0] = s.state(h0)
        cs[0] = s.state(c0)
        x3 = s.x2.reshape(t, n, s.d)
        hold, has_mask = _hold_args(s)
        kernel_loop: Any = _lstm_forward
        split_parts(lambda part, r0, r1: kernel_loop(x3, k_half, b, rk_half, gates, hs, cs, tc,
                                                     hold, has_mask, scale, shift, r0, r1),
                    n, _parts(n))
        hs[t + 1] = cs[t]
        self.s, self.kernel, self.rk, self.has_bias = s, kernel, rk, bias is not None
        self.act, self.rec, self.go_backwards = "tanh", "sigmoid", go_backwards
        self.gates, self.h_all, self.c_all, self.tc = gates, hs, cs, tc
        return hs[1:].transpose(1, 0, 2)

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        s = self.s
        n, t, d, u, dt = s.n, s.t, s.d, s.u, s.dtype
        needs = self.needs_input_grad
        gh = np.ascontiguousarray(grad, dtype=dt)  # (N, T + 1, u)
        dh = np.zeros((n, u), dtype=dt)
        dc = np.array(gh[:, t], dtype=dt, copy=True)
        parts = _parts(n)
        one = np.zeros((1, 1), dtype=dt)  # stands in for an output that is not wanted
        dx = np.zeros((t, n, d), dtype=dt) if needs[0] else one[None]
        dk = np.zeros((parts, d, 4 * u), dtype=dt) if needs[3] else one[None].repeat(parts, 0)
        drk = np.zeros((parts, u, 4 * u), dtype=dt) if needs[4] else one[None].repeat(parts, 0)
        db = np.zeros((parts, 4 * u), dtype=dt)
        rk_t = np.ascontiguousarray(self.rk.T)
        kernel_t = np.ascontiguousarray(self.kernel.T)
        d_buf, dh_next = np.empty((n, 4 * u), dtype=dt), np.empty((n, u), dtype=dt)
        x3 = s.x2.reshape(t, n, d)
        hold, has_mask = _hold_args(s)
        kernel_loop: Any = _lstm_backward
        split_parts(lambda part, r0, r1: kernel_loop(
            self.gates, self.c_all, self.tc, gh, rk_t, d_buf, dh, dc, dh_next, hold, has_mask, x3,
            self.h_all, kernel_t, dx, needs[0], needs[3], needs[4], dk[part], drk[part], db[part],
            r0, r1), n, parts)
        dk, drk, db = (a[0] if parts == 1 else a.sum(axis=0) for a in (dk, drk, db))
        if needs[0]:
            dx = dx.transpose(1, 0, 2)
            dx = dx[:, ::-1] if self.go_backwards else dx
        return (dx if needs[0] else None, dh, dc, dk if needs[3] else None,
                drk if needs[4] else None, db if self.has_bias and needs[5] else None)


def _dtype(a: Any) -> np.dtype:
    return a.dtype if isinstance(a, (Tensor, np.ndarray)) else np.asarray(a).dtype


@register("lstm")
def lstm(x: Any, h0: Any, c0: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None, *,
         activation: str = "tanh", recurrent_activation: str = "sigmoid",
         **options: Any) -> Tensor | None:
    """The packed output of :class:`FastLSTMSequence`, or None (another dtype than float32,
    other activations, or numba absent) so that the reference runs."""
    if _lstm_forward is None or activation != "tanh" or recurrent_activation != "sigmoid":
        return None
    if np.result_type(_dtype(x), _dtype(kernel), np.float32) != np.float32:
        return None
    return FastLSTMSequence.apply(x, h0, c0, kernel, recurrent_kernel, bias, **options)
