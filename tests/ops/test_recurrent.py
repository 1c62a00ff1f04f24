"""Fused recurrent primitives against PyTorch, a plain NumPy loop and central differences."""

from __future__ import annotations

import numpy as np
import op_table  # tests/ops/op_table.py (on pytest's pythonpath)
import pytest
import torch

from nablanet.autograd.tensor import Tensor
from nablanet.layers import recurrent_weights as weights
from nablanet.ops import recurrent
from nablanet.ops.recurrent import (
    LSTMSequence,
    gru,
    lstm,
    simple_rnn,
)
from nablanet.testing import gradcheck

RNG = np.random.default_rng(7)
SIZES = [(1, 1, 2, 3), (3, 5, 4, 6), (4, 17, 3, 5)]  # (N, T, D, u)


def f32(*shape: int, scale: float = 0.5) -> np.ndarray:
    return (scale * RNG.standard_normal(shape)).astype(np.float32)


def leaf(a: np.ndarray) -> Tensor:
    return Tensor(a, dtype=a.dtype, requires_grad=True)


def torch_leaf(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, requires_grad=True)


def close(actual: np.ndarray, expected, atol: float = 2e-5, rtol: float = 1e-4) -> None:
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol)


# --- reference comparisons with torch.nn ------------------------------------------------------


@pytest.mark.parametrize("n,t,d,u", SIZES)
def test_lstm_matches_torch(n: int, t: int, d: int, u: int) -> None:
    x, h0, c0 = f32(n, t, d, scale=1.0), f32(n, u), f32(n, u)
    kernel, rk, bias = f32(d, 4 * u), f32(u, 4 * u), f32(4 * u)
    w_seq, w_h, w_c = f32(n, t, u, scale=1.0), f32(n, u, scale=1.0), f32(n, u, scale=1.0)

    ours = [leaf(a) for a in (x, h0, c0, kernel, rk, bias)]
    seq, h, c = lstm(*ours)
    ((seq * Tensor(w_seq)).sum() + (h * Tensor(w_h)).sum() + (c * Tensor(w_c)).sum()).backward()

    ref = torch.nn.LSTM(d, u, batch_first=True)
    with torch.no_grad():
        for p, v in zip((ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0),
                        weights.lstm_weights_to_torch(kernel, rk, bias)):
            p.copy_(torch.from_numpy(v))
    tx, th0, tc0 = torch_leaf(x), torch_leaf(h0[None]), torch_leaf(c0[None])
    tseq, (th, tc) = ref(tx, (th0, tc0))
    ((tseq * torch.from_numpy(w_seq)).sum() + (th[0] * torch.from_numpy(w_h)).sum()
     + (tc[0] * torch.from_numpy(w_c)).sum()).backward()

    close(seq.data, tseq)
    close(h.data, th[0])
    close(c.data, tc[0])
    close(ours[0].grad, tx.grad)
    close(ours[1].grad, th0.grad[0])
    close(ours[2].grad, tc0.grad[0])
    dk, drk, _ = weights.lstm_weights_from_torch(ref.weight_ih_l0.grad, ref.weight_hh_l0.grad)
    close(ours[3].grad, dk, atol=1e-4)
    close(ours[4].grad, drk, atol=1e-4)
    close(ours[5].grad, ref.bias_ih_l0.grad, atol=1e-4)


@pytest.mark.parametrize("n,t,d,u", SIZES)
def test_gru_reset_after_matches_torch(n: int, t: int, d: int, u: int) -> None:
    x, h0 = f32(n, t, d, scale=1.0), f32(n, u)
    kernel, rk, bias = f32(d, 3 * u), f32(u, 3 * u), f32(2, 3 * u)
    w_seq, w_h = f32(n, t, u, scale=1.0), f32(n, u, scale=1.0)

    ours = [leaf(a) for a in (x, h0, kernel, rk, bias)]
    seq, h = gru(*ours, reset_after=True)
    ((seq * Tensor(w_seq)).sum() + (h * Tensor(w_h)).sum()).backward()

    ref = torch.nn.GRU(d, u, batch_first=True)
    with torch.no_grad():
        for p, v in zip((ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0),
                        weights.gru_weights_to_torch(kernel, rk, bias)):
            p.copy_(torch.from_numpy(v))
    tx, th0 = torch_leaf(x), torch_leaf(h0[None])
    tseq, th = ref(tx, th0)
    ((tseq * torch.from_numpy(w_seq)).sum() + (th[0] * torch.from_numpy(w_h)).sum()).backward()

    close(seq.data, tseq)
    close(h.data, th[0])
    close(ours[0].grad, tx.grad)
    close(ours[1].grad, th0.grad[0])
    dk, drk, db = weights.gru_weights_from_torch(ref.weight_ih_l0.grad, ref.weight_hh_l0.grad,
                                                 ref.bias_ih_l0.grad, ref.bias_hh_l0.grad)
    close(ours[2].grad, dk, atol=1e-4)
    close(ours[3].grad, drk, atol=1e-4)
    close(ours[4].grad, db, atol=1e-4)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("n,t,d,u", SIZES[1:])
def test_simple_rnn_matches_torch(n: int, t: int, d: int, u: int, nonlinearity: str) -> None:
    x, h0 = f32(n, t, d, scale=1.0), f32(n, u)
    kernel, rk, bias = f32(d, u), f32(u, u), f32(u)
    w_seq = f32(n, t, u, scale=1.0)
    ours = [leaf(a) for a in (x, h0, kernel, rk, bias)]
    seq, h = simple_rnn(*ours, activation=nonlinearity)
    (seq * Tensor(w_seq)).sum().backward()

    ref = torch.nn.RNN(d, u, nonlinearity=nonlinearity, batch_first=True)
    with torch.no_grad():
        for p, v in zip((ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0),
                        weights.simple_rnn_weights_to_torch(kernel, rk, bias)):
            p.copy_(torch.from_numpy(v))
    tx, th0 = torch_leaf(x), torch_leaf(h0[None])
    tseq, th = ref(tx, th0)
    (tseq * torch.from_numpy(w_seq)).sum().backward()

    close(seq.data, tseq)
    close(h.data, th[0])
    close(ours[0].grad, tx.grad)
    close(ours[1].grad, th0.grad[0])
    dk, drk, _ = weights.simple_rnn_weights_from_torch(ref.weight_ih_l0.grad,
                                                       ref.weight_hh_l0.grad)
    close(ours[2].grad, dk, atol=1e-4)
    close(ours[3].grad, drk, atol=1e-4)
    close(ours[4].grad, ref.bias_ih_l0.grad, atol=1e-4)


# --- GRU reset_after=False: the chapter's corrected equation, written plainly ------------------


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def test_gru_reset_before_matches_chapter_equation() -> None:
    n, t, d, u = 3, 6, 4, 5
    x, h0 = RNG.standard_normal((n, t, d)), 0.5 * RNG.standard_normal((n, u))
    kernel, rk = 0.5 * RNG.standard_normal((d, 3 * u)), 0.5 * RNG.standard_normal((u, 3 * u))
    bias = 0.3 * RNG.standard_normal(3 * u)
    w_xz, w_xr, w_xh = np.split(kernel, 3, axis=1)
    w_hz, w_hr, w_hh = np.split(rk, 3, axis=1)
    b_z, b_r, b_h = np.split(bias, 3)
    h_prev, expected = h0, []
    for step in range(t):
        x_t = x[:, step]
        r_t = sigmoid(x_t @ w_xr + h_prev @ w_hr + b_r)
        z_t = sigmoid(x_t @ w_xz + h_prev @ w_hz + b_z)
        h_tilde = np.tanh(x_t @ w_xh + (r_t * h_prev) @ w_hh + b_h)
        h_prev = z_t * h_prev + (1 - z_t) * h_tilde
        expected.append(h_prev)
    seq, h = gru(*(Tensor(a, dtype=np.float64) for a in (x, h0, kernel, rk, bias)),
                 reset_after=False)
    np.testing.assert_allclose(seq.data, np.stack(expected, axis=1), atol=1e-12)
    np.testing.assert_allclose(h.data, expected[-1], atol=1e-12)


# --- masking and go_backwards against a plain per-step loop ----------------------------------


def _act(name: str, v: np.ndarray) -> np.ndarray:
    return {"tanh": np.tanh, "sigmoid": sigmoid, "relu": lambda a: np.maximum(a, 0),
            "linear": lambda a: a, "hard_sigmoid": lambda a: np.clip(a / 6 + 0.5, 0, 1)}[name](v)


def loop_reference(cell: str, x, h0, c0, kernel, rk, bias, mask=None, go_backwards=False,
                   activation="tanh", recurrent_activation="sigmoid", reset_after=True):
    """Keras's semantics step by step: masked steps keep the state and repeat the last output."""
    if go_backwards:
        x = x[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    u = h0.shape[1]
    h, c, outputs = h0, c0, []
    for step in range(x.shape[1]):
        x_t = x[:, step]
        if cell == "lstm":
            i, f, cc, o = np.split(x_t @ kernel + h @ rk + bias, 4, axis=1)
            rec = recurrent_activation
            c_new = _act(rec, f) * c + _act(rec, i) * _act(activation, cc)
            h_new = _act(rec, o) * _act(activation, c_new)
        elif cell == "gru":
            if reset_after:
                xp, hp = x_t @ kernel + bias[0], h @ rk + bias[1]
            else:
                xp, hp = x_t @ kernel + bias, h @ rk
            z = _act(recurrent_activation, xp[:, :u] + hp[:, :u])
            r = _act(recurrent_activation, xp[:, u:2 * u] + hp[:, u:2 * u])
            if reset_after:
                cand = _act(activation, xp[:, 2 * u:] + r * hp[:, 2 * u:])
            else:
                cand = _act(activation, xp[:, 2 * u:] + (r * h) @ rk[:, 2 * u:])
            h_new, c_new = z * h + (1 - z) * cand, c
        else:
            h_new, c_new = _act(activation, x_t @ kernel + h @ rk + bias), c
        if mask is not None:
            keep = mask[:, step, None]
            h_new = np.where(keep, h_new, h)
            c_new = np.where(keep, c_new, c)
        h, c = h_new, c_new
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


MASK = np.array([[True, True, False, True, True, False, False],
                 [False, False, True, True, False, True, True],
                 [False, False, False, False, False, False, False]])


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("cell,extra", [
    ("lstm", {}), ("lstm", {"activation": "relu", "recurrent_activation": "hard_sigmoid"}),
    ("gru", {"reset_after": True}), ("gru", {"reset_after": False, "activation": "linear"}),
    ("simple_rnn", {}), ("simple_rnn", {"activation": "sigmoid"}),
])
def test_masking_and_go_backwards_match_loop(cell: str, extra: dict, go_backwards: bool) -> None:
    n, t, d, u = 3, 7, 4, 5
    gates = {"lstm": 4, "gru": 3, "simple_rnn": 1}[cell]
    x, h0, c0 = RNG.standard_normal((n, t, d)), RNG.standard_normal((n, u)), RNG.standard_normal(
        (n, u))
    kernel, rk = 0.5 * RNG.standard_normal((d, gates * u)), 0.5 * RNG.standard_normal(
        (u, gates * u))
    bias_shape = (2, 3 * u) if extra.get("reset_after") else (gates * u,)
    bias = 0.3 * RNG.standard_normal(bias_shape)
    for mask in (MASK, None):
        exp_seq, exp_h, exp_c = loop_reference(cell, x, h0, c0, kernel, rk, bias, mask=mask,
                                               go_backwards=go_backwards, **extra)
        arrays = [Tensor(a, dtype=np.float64) for a in (x, h0, c0, kernel, rk, bias)]
        if cell == "lstm":
            seq, h, c = lstm(*arrays, mask=mask, go_backwards=go_backwards, **extra)
            np.testing.assert_allclose(c.data, exp_c, atol=1e-12)
        else:
            fn = gru if cell == "gru" else simple_rnn
            seq, h = fn(arrays[0], arrays[1], *arrays[3:], mask=mask, go_backwards=go_backwards,
                        **extra)
        np.testing.assert_allclose(seq.data, exp_seq, atol=1e-12)
        np.testing.assert_allclose(h.data, exp_h, atol=1e-12)
        if mask is not None:  # a fully masked sample repeats its initial state
            np.testing.assert_array_equal(seq.data[2], np.broadcast_to(h0[2], (t, u)))


def test_masked_gradients_match_torch_loop() -> None:
    """Gradients with a mask and go_backwards against torch autograd through a per-step loop."""
    n, t, d, u = 3, 7, 4, 5
    arrays = [f32(n, t, d, scale=1.0), f32(n, u), f32(n, u), f32(d, 4 * u), f32(u, 4 * u),
              f32(4 * u)]
    w = f32(n, t + 1, u, scale=1.0)
    ours = [leaf(a) for a in arrays]
    out = LSTMSequence.apply(*ours, mask=MASK, go_backwards=True)
    (out * Tensor(w)).sum().backward()
    theirs = [torch_leaf(a) for a in arrays]
    ref = op_table._t_recurrent("lstm", mask=MASK, go_backwards=True)(*theirs)
    (ref * torch.from_numpy(w)).sum().backward()
    close(out.data, ref)
    for a, b in zip(ours, theirs):
        close(a.grad, b.grad, atol=1e-4)


def test_go_backwards_equals_reversed_input() -> None:
    n, t, d, u = 2, 6, 3, 4
    x, kernel, rk = f32(n, t, d), f32(d, 3 * u), f32(u, 3 * u)
    a = leaf(x)
    seq, _ = gru(a, None, kernel, rk, None, go_backwards=True)
    (seq * seq).sum().backward()
    b = leaf(np.ascontiguousarray(x[:, ::-1]))
    seq_b, _ = gru(b, None, kernel, rk, None)
    (seq_b * seq_b).sum().backward()
    close(seq.data, seq_b.data, atol=1e-6)
    close(a.grad, b.grad[:, ::-1], atol=1e-6)


# --- long sequences, gradient checks, dtype, errors -------------------------------------------


def test_two_thousand_step_backward_runs() -> None:
    n, t, d, u = 2, 2000, 3, 4
    arrays = [f32(n, t, d), None, None, f32(d, 4 * u), f32(u, 4 * u), f32(4 * u)]
    x, kernel = leaf(arrays[0]), leaf(arrays[3])
    seq, h, c = lstm(x, None, None, kernel, arrays[4], arrays[5])
    assert seq.dtype == np.float32
    (seq.sum() + h.sum() + c.sum()).backward()
    assert x.grad.shape == (n, t, d) and np.isfinite(x.grad).all()
    assert np.isfinite(kernel.grad).all() and np.abs(kernel.grad).sum() > 0
    r = leaf(f32(u, 3 * u))
    seq, h = gru(x, None, f32(d, 3 * u), r, None)
    h.sum().backward()
    assert np.isfinite(r.grad).all()


RECURRENT_CASES = [c for c in op_table.CASES
                   if c.op in ("LSTMSequence", "GRUSequence", "SimpleRNNSequence")]


def test_op_table_covers_every_recurrent_function() -> None:
    assert {c.op for c in RECURRENT_CASES} == {"LSTMSequence", "GRUSequence",
                                                "SimpleRNNSequence"}


@pytest.mark.parametrize("case", RECURRENT_CASES, ids=[c.id for c in RECURRENT_CASES])
def test_op_table_gradcheck(case) -> None:  # noqa: ANN001
    assert gradcheck(case.fn, *case.inputs)
    tensors = [Tensor(np.ascontiguousarray(a), dtype=np.float64) for a in case.inputs]
    expected = case.torch_fn(*(torch.from_numpy(np.ascontiguousarray(a)) for a in case.inputs))
    np.testing.assert_allclose(case.fn(*tensors).data, expected.numpy(), atol=1e-12)


def test_float32_stays_float32_and_states_default_to_zero() -> None:
    x, kernel, rk = f32(2, 3, 4), f32(4, 8), f32(2, 8)
    seq, h, c = lstm(x, None, None, kernel, rk, None)
    assert seq.dtype == h.dtype == c.dtype == np.float32
    zeros = np.zeros((2, 2), np.float32)
    seq0, _, _ = lstm(x, zeros, zeros, kernel, rk, np.zeros(8, np.float32))
    np.testing.assert_array_equal(seq.data, seq0.data)


def test_errors_echo_what_was_received() -> None:
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=r"lstm: expected kernel .* kernel.shape=\(4, 7\)"):
        lstm(x, None, None, np.zeros((4, 7)), np.zeros((2, 8)))
    with pytest.raises(ValueError, match=r"gru: expected bias of shape \(2, 6\)"):
        gru(x, None, np.zeros((4, 6)), np.zeros((2, 6)), np.zeros(6))
    with pytest.raises(ValueError, match=r"Received: inputs.shape=\(3, 4\)"):
        simple_rnn(x[0], None, np.zeros((3, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"Received: activation='softplus'"):
        simple_rnn(x, None, np.zeros((4, 2)), np.zeros((2, 2)), activation="softplus")
    with pytest.raises(ValueError, match=r"Received: mask.shape=\(2, 4\)"):
        gru(x, None, np.zeros((4, 6)), np.zeros((2, 6)), mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"Received: h0.shape=\(3, 2\)"):
        simple_rnn(x, np.zeros((3, 2)), np.zeros((4, 2)), np.zeros((2, 2)))


# --- the compiled (numba) LSTM path against the NumPy reference path ---------------------------


def _lstm_both_paths(monkeypatch: pytest.MonkeyPatch, arrays: list, **options: object) -> list:
    """Output and input gradients of one LSTM call, once per path (compiled, then NumPy)."""
    results = []
    w = None
    for use in (True, False):
        monkeypatch.setattr(recurrent, "USE_NUMBA", use)
        ours = [None if a is None else leaf(a) for a in arrays]
        out = LSTMSequence.apply(*ours, **options)
        if w is None:
            w = f32(*out.shape, scale=1.0)
        (out * Tensor(w)).sum().backward()
        results.append([out.data] + [None if a is None else a.grad for a in ours])
    return results


@pytest.mark.parametrize("n,t,d,u", [(1, 1, 2, 3), (8, 5, 4, 4), (11, 9, 3, 6), (16, 4, 8, 9)])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_compiled_lstm_matches_numpy_path(monkeypatch: pytest.MonkeyPatch, n: int, t: int,
                                          d: int, u: int, go_backwards: bool,
                                          masked: bool) -> None:
    """Sizes cover the kernels' 8-row and 4-index blocks and every remainder (on the fast
    path whatever NABLANET_KERNELS says)."""
    from nablanet.kernels import registry

    monkeypatch.setattr(registry, "_MODE", ["fast"])
    assert recurrent._kernels(), "numba is not importable: the compiled path is not tested"
    assert recurrent._use_kernels(np.dtype(np.float32), True)
    arrays = [f32(n, t, d, scale=1.0), f32(n, u), f32(n, u), f32(d, 4 * u), f32(u, 4 * u),
              f32(4 * u)]
    mask = RNG.random((n, t)) > 0.3 if masked else None
    compiled, reference = _lstm_both_paths(monkeypatch, arrays, mask=mask,
                                           go_backwards=go_backwards)
    for a, b in zip(compiled, reference):
        close(a, b, atol=2e-5)


def test_compiled_lstm_optional_inputs_and_large_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """No initial states or bias, saturating gates (|pre-activation| up to ~40) and a NaN."""
    n, t, d, u = 9, 6, 5, 7
    x = f32(n, t, d, scale=20.0)
    arrays = [x, None, None, f32(d, 4 * u, scale=1.0), f32(u, 4 * u, scale=1.0), None]
    compiled, reference = _lstm_both_paths(monkeypatch, arrays)
    for a, b in zip(compiled, reference):  # float32 sums of large terms: scale the tolerance
        if b is not None:
            close(a, b, atol=2e-5 * max(1.0, float(np.abs(b).max())))
    x[3, 2, 1] = np.nan  # a NaN propagates (it must never turn into a silent finite value)
    compiled, reference = _lstm_both_paths(monkeypatch, arrays)
    np.testing.assert_array_equal(np.isnan(compiled[0]), np.isnan(reference[0]))
    assert np.isnan(compiled[0][3, 2:]).all() and not np.isnan(compiled[0][:3]).any()


def test_compiled_tanh_approximation_is_accurate() -> None:
    recurrent._kernels()
    x = np.linspace(-12.0, 12.0, 4001, dtype=np.float32)
    approx = np.array([recurrent._nb_tanh(v) for v in x], dtype=np.float32)
    assert approx.dtype == np.float32
    np.testing.assert_allclose(approx, np.tanh(x.astype(np.float64)), rtol=0, atol=5e-7)
    assert np.isnan(recurrent._nb_tanh(np.float32(np.nan)))


@pytest.mark.parametrize("rows, inner, cols", [(1, 1, 1), (3, 7, 5), (4, 8, 16), (5, 9, 33),
                                               (13, 17, 16), (32, 128, 40)])
def test_compiled_gemm_kernels_accumulate_every_shape(rows: int, inner: int, cols: int) -> None:
    """``out += a @ b`` and ``out += a.T @ b`` for block-size multiples and every remainder."""
    recurrent._kernels()
    rng = np.random.default_rng(rows * 100 + inner)
    a = rng.standard_normal((rows, inner), dtype=np.float32)
    b = rng.standard_normal((inner, cols), dtype=np.float32)
    out = rng.standard_normal((rows, cols), dtype=np.float32)
    expected = out.astype(np.float64) + a.astype(np.float64) @ b
    recurrent._nb_gemm_acc(a, b, out)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    b2 = rng.standard_normal((rows, cols), dtype=np.float32)
    out_t = rng.standard_normal((inner, cols), dtype=np.float32)
    expected_t = out_t.astype(np.float64) + a.T.astype(np.float64) @ b2
    recurrent._nb_gemm_tn_acc(a, b2, out_t)
    np.testing.assert_allclose(out_t, expected_t, rtol=1e-5, atol=1e-5)


# --- weight conversion -------------------------------------------------------------------------


def test_weight_conversion_round_trips() -> None:
    u, d = 3, 2
    for gates, to_torch, from_torch in [
        (4, weights.lstm_weights_to_torch, weights.lstm_weights_from_torch),
        (3, weights.gru_weights_to_torch, weights.gru_weights_from_torch),
        (1, weights.simple_rnn_weights_to_torch, weights.simple_rnn_weights_from_torch),
    ]:
        kernel, rk = f32(d, gates * u), f32(u, gates * u)
        bias = f32(2, 3 * u) if gates == 3 else f32(gates * u)
        back = from_torch(*to_torch(kernel, rk, bias))
        for a, b in zip(back, (kernel, rk, bias)):
            np.testing.assert_array_equal(a, b)
    # torch's GRU is r, z, n: Keras's z block is torch's second block
    w_ih = np.arange(3 * u * d, dtype=np.float32).reshape(3 * u, d)
    kernel, _, bias = weights.gru_weights_from_torch(w_ih, np.zeros((3 * u, u)),
                                                     torch.arange(9.0), None)
    np.testing.assert_array_equal(kernel[:, :u], w_ih[u:2 * u].T)
    np.testing.assert_array_equal(bias[0, :u], np.arange(3.0, 6.0))
    np.testing.assert_array_equal(bias[1], np.zeros(3 * u))
    with pytest.raises(ValueError, match="PyTorch has no reset_after=False GRU"):
        weights.gru_weights_to_torch(kernel, np.zeros((u, 3 * u)), np.zeros(3 * u))

