"""Fused recurrent primitives against PyTorch and a plain NumPy loop (central differences: the
op table, tests/ops/test_op_table.py)."""

from __future__ import annotations

import numpy as np
import op_table  # tests/ops/op_table.py (on pytest's pythonpath)
import pytest
import torch

from nablanet.autograd.tensor import Tensor
from nablanet.kernels.registry import use_kernels
from nablanet.layers import recurrent_weights as weights
from nablanet.ops.recurrent import (
    gru,
    lstm,
    simple_rnn,
)

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
    weights_out = [f32(n, t, u, scale=1.0), f32(n, u, scale=1.0), f32(n, u, scale=1.0)]
    ours = [leaf(a) for a in arrays]
    outs = lstm(*ours, mask=MASK, go_backwards=True)
    sum(((o * Tensor(w)).sum() for o, w in zip(outs, weights_out)), Tensor(0.0)).backward()
    theirs = [torch_leaf(a) for a in arrays]
    refs = op_table._t_recurrent("lstm", mask=MASK, go_backwards=True)(*theirs)
    sum((r * torch.from_numpy(w)).sum() for r, w in zip(refs, weights_out)).backward()
    for out, ref in zip(outs, refs):
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
def test_op_table_case_matches_torch_in_float64(case) -> None:  # noqa: ANN001
    """The reference in float64 equals the torch loop to 1e-12 (the op table's comparison with
    PyTorch runs in float32, its gradient check in float64)."""
    tensors = [Tensor(np.ascontiguousarray(a), dtype=np.float64) for a in case.inputs]
    expected = case.torch_fn(*(torch.from_numpy(np.ascontiguousarray(a)) for a in case.inputs))
    with use_kernels("reference"):
        outs = case.fn(*tensors)
    for out, ref in zip(outs, expected, strict=True):
        np.testing.assert_allclose(out.data, ref.numpy(), atol=1e-12)


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
