r"""Fast recurrences: the compiled LSTM and the GRU on preallocated buffers.

:class:`FastLSTMSequence` is the float32 LSTM of :mod:`nablanet.ops.recurrent` with its whole
time loop in two numba kernels: the same maths as the reference
(:class:`nablanet.ops.recurrent.LSTMSequence`), organised for the machine:

* the whole forward loop and the whole backward loop are one compiled call each, with no
  Python-level work per step; per step, the GEMMs are :func:`nablanet.kernels.simd.gemm`
  (4 × 64 output tiles held in vector registers across the inner dimension), and the gate
  non-linearities and the cell update are one fused pass over the step's rows;
* the logistic function is :math:`\sigma(z) = \tfrac12(1 + \tanh(z/2))` with the halving folded
  into the weights (the sigmoid columns of ``kernel``, ``recurrent_kernel`` and ``bias`` are
  scaled by ½ once per call), and tanh is a vectorisable rational approximation
  (|error| < 4e-7; ``np.tanh`` inside a compiled loop does not vectorise);
* backward accumulates the weight gradients every few steps while those steps' gate gradients
  are still in cache: one product over about :data:`WEIGHT_GRAD_ROWS` gathered rows (4 steps
  of a 32-row slice) rather than one per step, so that the output tiles, as large as the
  weights, are loaded and stored once per few steps (the same terms in the same order: the
  same bits as one product per step);
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

:class:`FastGRUSequence` runs the reference GRU's step loop on buffers allocated once per call:
for float32 with the default activations and ``reset_after`` (Keras's default) as two compiled
loops organised like the LSTM's (per-step ``H_{t-1} W_h`` by :func:`nablanet.kernels.simd.gemm`,
the gates in one fused pass, one batch slice per thread); otherwise in NumPy (in-place
activations, ``out=`` products), for every dtype and activation. Its weight gradients are
products over all steps after the loop. SimpleRNN has no fast implementation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.kernels import threads
from nablanet.kernels._numba import njit
from nablanet.kernels.linalg import transposed
from nablanet.kernels.registry import register
from nablanet.kernels.simd import gemm, wide_vectors
from nablanet.kernels.threads import split_parts
from nablanet.ops.recurrent import GRUSequence, LSTMSequence, _gru_setup, _Setup

#: Rows of ``dG`` (a few time steps of one batch slice) gathered for each weight-gradient
#: product of the compiled LSTM's backward loop (docs/performance.md, "Tenth session").
WEIGHT_GRAD_ROWS = 128

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
def _lstm_forward(x3, kernel, bias, rk, gates, hs, cs, tc, hold,  # type: ignore[no-untyped-def]
                  has_mask, scale, shift, r0, r1):
    """The LSTM time loop for the batch rows ``r0:r1`` (tanh / sigmoid; the sigmoid columns of
    ``kernel``, ``rk`` and ``bias`` pre-scaled by 1/2). Per step: ``bias + X_t kernel + H_{t-1}
    rk`` into ``gates[t]``, then the activations in place (``tanh(g) * scale + shift``: the
    logistic function on the sigmoid columns) and the cell update, as in the NumPy path."""
    wide_vectors()
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
        gemm(x3[step, r0:r1], kernel, g, True)
        gemm(hp, rk, g, True)
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
def _lstm_backward(gates, cs, tc, gh, rk_t, dh, dc, dh_next, hold,  # type: ignore[no-untyped-def]
                   has_mask, x3, hs, kernel_t, dx, need_dx, need_dk, need_drk, dk, drk, db,
                   chunk, r0, r1):
    """BPTT for :func:`_lstm_forward` on the batch rows ``r0:r1``. Per step (newest first) the
    pre-activation gradient ``dG_t`` goes into the next rows of a buffer of ``chunk`` steps, its
    column sums are added to ``db``, ``dG_t W_h^T`` becomes the next ``dh`` and ``dG_t
    kernel^T`` goes to ``dx[t]``; ``X_t`` and ``H_{t-1}`` are copied beside it. Once ``chunk``
    steps are gathered (or at the last step), ``X^T dG`` and ``H^T dG`` over the gathered rows
    are added to ``dk`` and ``drk`` (this slice's own accumulators: ``db``, ``dk``, ``drk``).
    ``gh`` is the output gradient as given, ``(N, T + 1, u)``; ``dc`` starts as the gradient of
    ``C_T``; the gradients of ``h0`` / ``c0`` are left in ``dh`` / ``dc``."""
    wide_vectors()
    t, _, g4 = gates.shape
    u = g4 // 4
    d = x3.shape[2]
    n = r1 - r0
    cur = dh[r0:r1]
    nxt = dh_next[r0:r1]
    dcs = dc[r0:r1]
    dg_rows = np.empty((chunk * n, g4), dtype=gates.dtype)
    h_rows = np.empty((chunk * n, u), dtype=gates.dtype)
    x_rows = np.empty((chunk * n, d), dtype=gates.dtype)
    for step in range(t - 1, -1, -1):
        q = (t - 1 - step) % chunk
        dd = dg_rows[q * n:(q + 1) * n]
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
        gemm(dd, rk_t, nxt, True)
        if has_mask:
            for i in range(n):
                if hold[step, r0 + i]:
                    for j in range(u):
                        nxt[i, j] = cur[i, j]
        if need_dx:
            gemm(dd, kernel_t, dx[step, r0:r1], True)
        if need_dk:
            x_rows[q * n:(q + 1) * n] = x3[step, r0:r1]
        if need_drk:
            h_rows[q * n:(q + 1) * n] = hs[step, r0:r1]
        if q == chunk - 1 or step == 0:
            rows = (q + 1) * n
            if need_dk:
                gemm(x_rows[:rows].T, dg_rows[:rows], dk, True)
            if need_drk:
                gemm(h_rows[:rows].T, dg_rows[:rows], drk, True)
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
        rk_t = transposed(self.rk)
        kernel_t = transposed(self.kernel) if needs[0] else one  # dx only
        dh_next = np.empty((n, u), dtype=dt)
        chunk = max(1, min(t, WEIGHT_GRAD_ROWS // max(1, n // parts)))  # steps per product
        x3 = s.x2.reshape(t, n, d)
        hold, has_mask = _hold_args(s)
        kernel_loop: Any = _lstm_backward
        split_parts(lambda part, r0, r1: kernel_loop(
            self.gates, self.c_all, self.tc, gh, rk_t, dh, dc, dh_next, hold, has_mask, x3,
            self.h_all, kernel_t, dx, needs[0], needs[3], needs[4], dk[part], drk[part], db[part],
            chunk, r0, r1), n, parts)
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


# --- GRU: the reference's loop on preallocated buffers, compiled for float32 ------------------


_HALF = _F32(0.5)


@_jit
def _gru_forward(gates, hs, hw, rk, b_h, hold, has_mask, r0, r1):  # type: ignore[no-untyped-def]
    """The GRU time loop (``reset_after``, tanh / sigmoid) for the batch rows ``r0:r1``. On
    entry ``gates[t]`` holds ``X_t W_x + b_x``; per step ``hw[t] = b_h + H_{t-1} W_h`` (kept for
    backward), then in place ``Z_t``, ``R_t`` (the logistic function as ``tanh(v/2)/2 + 1/2``)
    and ``H~_t = tanh(A_t)``, ``A_t`` the x-side candidate term plus ``R_t`` times the h-side
    one, and ``H_t = H~_t + Z_t (H_{t-1} - H~_t)``; a held row keeps ``H_{t-1}``."""
    wide_vectors()
    t, _, u3 = gates.shape
    u = u3 // 3
    n = r1 - r0
    for step in range(t):
        g = gates[step, r0:r1]
        hp = hw[step, r0:r1]
        h_prev = hs[step, r0:r1]
        h = hs[step + 1, r0:r1]
        for i in range(n):
            for j in range(u3):
                hp[i, j] = b_h[j]
        gemm(h_prev, rk, hp, True)
        for i in range(n):
            gz, gr, ga = g[i, :u], g[i, u:2 * u], g[i, 2 * u:]
            hz, hr, hh = hp[i, :u], hp[i, u:2 * u], hp[i, 2 * u:]
            hpi, hi = h_prev[i], h[i]
            for j in range(u):
                z = _tanh(_HALF * (gz[j] + hz[j])) * _HALF + _HALF
                r = _tanh(_HALF * (gr[j] + hr[j])) * _HALF + _HALF
                a = _tanh(ga[j] + r * hh[j])
                gz[j] = z
                gr[j] = r
                ga[j] = a
                hi[j] = a + z * (hpi[j] - a)
            if has_mask and hold[step, r0 + i]:
                for j in range(u):
                    hi[j] = hpi[j]


@_jit
def _gru_backward(gates, hs, hw, gh, rk_t, dgates, dh, dh_next, hold,  # type: ignore[no-untyped-def]
                  has_mask, r0, r1):
    """BPTT for :func:`_gru_forward` on the batch rows ``r0:r1``, newest step first: ``dgates[t]``
    gets ``[dZ, dR, dA ⊙ R, dA]`` (the pre-activation gradients; zero on a held row) and the
    next ``dh`` is ``dH ⊙ Z + [dZ, dR, dA ⊙ R] W_h^T`` (a held row passes ``dH`` on). ``gh``
    is the output gradient ``(N, T, u)``; the gradient of ``h0`` is left in ``dh``."""
    wide_vectors()
    t, _, u3 = gates.shape
    u = u3 // 3
    n = r1 - r0
    cur = dh[r0:r1]
    nxt = dh_next[r0:r1]
    rows = np.empty((n, u3), dtype=gates.dtype)  # [dZ, dR, dA ⊙ R] of the step, for W_h^T
    for step in range(t - 1, -1, -1):
        g = gates[step, r0:r1]
        hp = hw[step, r0:r1]
        h_prev = hs[step, r0:r1]
        d = dgates[step, r0:r1]
        for i in range(n):
            masked = has_mask and hold[step, r0 + i]
            gz, gr, ga, hh = g[i, :u], g[i, u:2 * u], g[i, 2 * u:], hp[i, 2 * u:]
            dz, dr, dar, da = d[i, :u], d[i, u:2 * u], d[i, 2 * u:3 * u], d[i, 3 * u:]
            curi, ghi, hpi, nxi, row = cur[i], gh[r0 + i, step], h_prev[i], nxt[i], rows[i]
            for j in range(u):
                dhv = curi[j] + ghi[j]
                z = gz[j]
                r = gr[j]
                a = ga[j]
                dav = dhv * (_ONE - z) * (_ONE - a * a)
                dz[j] = dhv * (hpi[j] - a) * z * (_ONE - z)
                dr[j] = dav * hh[j] * r * (_ONE - r)
                dar[j] = dav * r
                da[j] = dav
                nxi[j] = dhv if masked else dhv * z
            if masked:
                for j in range(4 * u):
                    d[i, j] = _ZERO
            for j in range(u3):
                row[j] = d[i, j]
        gemm(rows, rk_t, nxt, True)
        cur, nxt = nxt, cur
    if t % 2 == 1:
        out = dh[r0:r1]
        for i in range(n):
            for j in range(u):
                out[i, j] = cur[i, j]


def _gru_compiled(dtype: np.dtype, act: str, rec: str, reset_after: bool) -> bool:
    """Whether the compiled loops apply: float32, tanh / sigmoid, ``reset_after``, numba."""
    return (_gru_forward is not None and dtype == np.float32 and act == "tanh"
            and rec == "sigmoid" and reset_after)


def _activate_(name: str, a: np.ndarray) -> None:
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


def _scale_by_derivative_(name: str, y: np.ndarray, g: np.ndarray, tmp: np.ndarray) -> None:
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


class FastGRUSequence(GRUSequence):
    """:class:`nablanet.ops.recurrent.GRUSequence` with the same step loop organised for the
    machine: the gates of every step in one preallocated ``(T, N, 3u)`` block whose z and r
    columns are activated in place together, every product and gate written with ``out=`` into
    buffers reused across steps, and backward's gate gradients kept in one ``(T, N, ·)`` block
    whose weight gradients are GEMMs after the loop. The step loops are compiled
    (:func:`_gru_forward`, :func:`_gru_backward`) where :func:`_gru_compiled` says so, and
    otherwise NumPy and BLAS with fewer temporaries per step than the reference, which
    allocates each equation's result."""

    __slots__ = ("gates", "h_all", "rec_store")
    gates: Any  # (T, N, 3u): Z_t, R_t, H~_t
    h_all: Any  # (T + 1, N, u): H_0 … H_T
    rec_store: Any  # reset_after: H_{t-1} W_hh + b_hh (T, N, 3u); otherwise R_t ⊙ H_{t-1}

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
        gates = np.empty((t, n, 3 * u), dtype=dt)
        np.matmul(s.x2, kernel, out=gates.reshape(t * n, 3 * u))
        b_h = None
        if b is not None:
            if reset_after:
                gates += b[0]
                b_h = b[1]
            else:
                gates += b
        hs = np.empty((t + 1, n, u), dtype=dt)
        hs[0] = s.state(h0)
        # reset_after: H_{t-1} W_h + b_h per step (N, T, 3u); otherwise R_t * H_{t-1} (N, T, u)
        rec_store = np.empty((t, n, 3 * u if reset_after else u), dtype=dt)
        self.s, self.kernel, self.rk, self.has_bias = s, kernel, rk, b is not None
        self.gates, self.h_all, self.rec_store = gates, hs, rec_store
        self.act, self.rec = act, rec
        self.go_backwards, self.reset_after = go_backwards, reset_after
        if _gru_compiled(dt, act, rec, reset_after):
            b_h = np.zeros(3 * u, dtype=dt) if b_h is None else b_h
            hold, has_mask = _hold_args(s)
            kernel_loop: Any = _gru_forward
            split_parts(lambda part, r0, r1: kernel_loop(gates, hs, rec_store, rk, b_h, hold,
                                                         has_mask, r0, r1), n, _parts(n))
        else:
            self._forward_steps(gates, hs, rec_store, rk, b_h, act, rec, reset_after)
        return hs[1:].transpose(1, 0, 2)

    def _forward_steps(self, gates: np.ndarray, hs: np.ndarray, rec_store: np.ndarray,
                       rk: np.ndarray, b_h: Any, act: str, rec: str, reset_after: bool) -> None:
        """The step loop in NumPy: ``hs[1:]``, the activated gates and ``rec_store``."""
        t, n, u3 = gates.shape
        u = u3 // 3
        u2, dt, s = 2 * u, gates.dtype, self.s
        rk_zr, rk_h = rk[:, :u2], rk[:, u2:]
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
                np.matmul(h_prev, rk, out=hp)
                if b_h is not None:
                    hp += b_h
                gzr += hp[:, :u2]
            else:
                np.matmul(h_prev, rk_zr, out=buf)
                gzr += buf
            _activate_(rec, gzr)  # Z_t, R_t
            if reset_after:
                np.multiply(r, hp[:, u2:], out=tmp)
            else:
                rh = rec_store[step]
                np.multiply(r, h_prev, out=rh)
                np.matmul(rh, rk_h, out=tmp)
            a += tmp
            _activate_(act, a)
            h = hs[step + 1]
            np.subtract(h_prev, a, out=tmp)
            tmp *= g[:, :u]
            np.add(a, tmp, out=h)
            if masked_steps is not None and masked_steps[step]:
                np.copyto(h, h_prev, where=hold[step])

    def backward(self, grad: np.ndarray) -> tuple[Any, ...]:
        s = self.s
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        # reset_after: per step [dZ, dR, d(H W_hh + b_hh), dA] so that [:, :3u] is the
        # recurrent-side gradient and [dZ, dR, dA] the input-side one; otherwise [dZ, dR, dA].
        dgates = np.empty((t, n, 4 * u if self.reset_after else 3 * u), dtype=dt)
        if _gru_compiled(dt, self.act, self.rec, self.reset_after):
            rk_t = transposed(self.rk)
            gh = np.ascontiguousarray(grad, dtype=dt)  # (N, T, u)
            dh, dh_next = np.zeros((n, u), dtype=dt), np.empty((n, u), dtype=dt)
            hold_flags, has_mask = _hold_args(s)
            kernel_loop: Any = _gru_backward
            split_parts(lambda part, r0, r1: kernel_loop(
                self.gates, self.h_all, self.rec_store, gh, rk_t, dgates, dh, dh_next,
                hold_flags, has_mask, r0, r1), n, _parts(n))
        else:
            dh = self._backward_steps(np.asarray(grad, dtype=dt), dgates)
        return self._weight_grads(dgates, dh)

    def _backward_steps(self, grad: np.ndarray, dgates: np.ndarray) -> np.ndarray:
        """BPTT's step loop in NumPy: fills ``dgates``; returns the gradient of ``h0``."""
        s = self.s
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        u2, u3 = 2 * u, 3 * u
        gates, hs, store, act, rec = self.gates, self.h_all, self.rec_store, self.act, self.rec
        hold, masked_steps = s.hold, s.masked_steps
        reset_after = self.reset_after
        grad = grad.transpose(1, 0, 2)  # time-major view
        rk = self.rk
        if reset_after:
            rk_t = transposed(rk)
        else:
            rk_zr_t, rk_h_t = transposed(rk[:, :u2]), transposed(rk[:, u2:])
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
            _scale_by_derivative_(act, a, da, tmp)
            if reset_after:
                hp_h = store[step, :, u2:]
                np.multiply(da, hp_h, out=dr)
                np.multiply(da, r, out=d[:, u2:u3])
            else:
                np.matmul(da, rk_h_t, out=drh)
                np.multiply(drh, h_prev, out=dr)
            _scale_by_derivative_(rec, g[:, :u2], d[:, :u2], tmp2)
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
        return dh

    def _weight_grads(self, dgates: np.ndarray, dh: np.ndarray) -> tuple[Any, ...]:
        """The gradients from the step loop's gate gradients: GEMMs over all steps."""
        s, reset_after, hs, rk = self.s, self.reset_after, self.h_all, self.rk
        n, t, u, dt = s.n, s.t, s.u, s.dtype
        u2, u3 = 2 * u, 3 * u
        store = self.rec_store
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
                drk = np.matmul(hs[:t].reshape(t * n, u).T, dhp)
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
                np.matmul(hs[:t].reshape(t * n, u).T, d2[:, :u2], out=drk[:, :u2])
                np.matmul(store.reshape(t * n, u).T, d2[:, u2:], out=drk[:, u2:])
            if self.has_bias and needs[4]:
                db = d2.sum(axis=0)
        return dx, dh, dk, drk, db


@register("gru")
def gru(x: Any, h0: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None,
        **options: Any) -> Tensor | None:
    """The hidden sequence from :class:`FastGRUSequence` (every dtype and activation; compiled
    step loops for float32, tanh / sigmoid and ``reset_after``)."""
    return FastGRUSequence.apply(x, h0, kernel, recurrent_kernel, bias, **options)
