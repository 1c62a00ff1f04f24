"""SimpleRNN, LSTM and GRU layers: against torch.nn.RNN / LSTM / GRU with converted weights,
the chapter's GRU (reset_after=False) against a direct implementation, masks, stateful,
dropout paths and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers, models, regularizers
from nablanet.testing import check_layer, gradcheck

TOL = {"rtol": 1e-4, "atol": 1e-5}


@pytest.mark.parametrize("layer_cls, kwargs, in_shape, out_shape, n_weights", [
    (layers.SimpleRNN, {"units": 4}, (2, 5, 3), (2, 4), 3),
    (layers.SimpleRNN, {"units": 4, "return_sequences": True, "use_bias": False},
     (2, 5, 3), (2, 5, 4), 2),
    (layers.LSTM, {"units": 6, "go_backwards": True}, (3, 4, 2), (3, 6), 3),
    (layers.LSTM, {"units": 3, "return_sequences": True, "activation": "relu",
                   "recurrent_activation": "hard_sigmoid", "unit_forget_bias": False},
     (2, 4, 5), (2, 4, 3), 3),
    (layers.GRU, {"units": 5}, (2, 3, 4), (2, 5), 3),
    (layers.GRU, {"units": 5, "reset_after": False, "return_sequences": True,
                  "kernel_regularizer": regularizers.L2(0.01)}, (2, 3, 4), (2, 3, 5), 3),
])
def test_shared_layer_checks(layer_cls, kwargs, in_shape, out_shape, n_weights) -> None:
    check_layer(layer_cls, kwargs, in_shape, out_shape, n_weights)


def _torch_module(kind: str, layer, bidirectional: bool = False):
    d, u = layer.input_dim, layer.units
    k, rk = layer.kernel.data, layer.recurrent_kernel.data
    b = None if layer.bias is None else layer.bias.data
    if kind == "SimpleRNN":
        module = torch.nn.RNN(d, u, batch_first=True, bias=b is not None)
        w = layers.simple_rnn_weights_to_torch(k, rk, b)
    elif kind == "LSTM":
        module = torch.nn.LSTM(d, u, batch_first=True, bias=b is not None)
        w = layers.lstm_weights_to_torch(k, rk, b)
    else:
        module = torch.nn.GRU(d, u, batch_first=True, bias=b is not None)
        w = layers.gru_weights_to_torch(k, rk, b)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(w[0]))
        module.weight_hh_l0.copy_(torch.from_numpy(w[1]))
        if b is not None:
            module.bias_ih_l0.copy_(torch.from_numpy(w[2]))
            module.bias_hh_l0.copy_(torch.from_numpy(w[3]))
    return module


def _grads_from_torch(kind: str, module) -> tuple[np.ndarray, ...]:
    """PyTorch's parameter gradients in Keras's layout (biases summed / stacked as Keras)."""
    g = [p.grad.numpy() for p in (module.weight_ih_l0, module.weight_hh_l0)]
    gb = [module.bias_ih_l0.grad.numpy(), module.bias_hh_l0.grad.numpy()]
    convert = {"SimpleRNN": layers.simple_rnn_weights_from_torch,
               "LSTM": layers.lstm_weights_from_torch, "GRU": layers.gru_weights_from_torch}[kind]
    if kind == "GRU":
        return convert(g[0], g[1], gb[0], gb[1])
    # Keras's one bias receives the gradient of both PyTorch biases, and they are equal
    kernel, rkernel, _ = convert(g[0], g[1])
    return kernel, rkernel, gb[0]


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch, steps, return_sequences, with_state", [
    (1, 1, False, False), (3, 7, True, True), (4, 12, False, True), (2, 5, True, False),
])
def test_matches_torch(kind, batch, steps, return_sequences, with_state) -> None:
    rng = np.random.default_rng(batch * 100 + steps)
    nb.set_random_seed(steps)
    d, u = 3, 5
    layer = getattr(layers, kind)(u, return_sequences=return_sequences, return_state=True)
    layer.build((None, steps, d))
    for w in layer.weights:  # non-zero biases everywhere
        w.data[...] += rng.uniform(-0.3, 0.3, w.shape).astype(np.float32)
    x = rng.standard_normal((batch, steps, d)).astype(np.float32)
    n_states = 2 if kind == "LSTM" else 1
    init = [rng.standard_normal((batch, u)).astype(np.float32) for _ in range(n_states)]

    xt = nb.tensor(x, requires_grad=True)
    states_nb = [nb.tensor(s, requires_grad=True) for s in init]
    out = layer(xt, initial_state=states_nb if with_state else None)
    g = [rng.standard_normal(o.shape).astype(np.float32) for o in out]
    sum((o * nb.tensor(gi)).sum() for o, gi in zip(out, g)).backward()

    module = _torch_module(kind, layer)
    x_ref = torch.tensor(x, requires_grad=True)
    init_ref = [torch.tensor(s[None], requires_grad=True) for s in init]
    if with_state:
        hx = tuple(init_ref) if kind == "LSTM" else init_ref[0]
        seq, final = module(x_ref, hx)
    else:
        seq, final = module(x_ref)
    finals = list(final) if kind == "LSTM" else [final]
    ref = [seq if return_sequences else seq[:, -1]] + [f[0] for f in finals]
    sum((r * torch.from_numpy(gi)).sum() for r, gi in zip(ref, g)).backward()

    for o, r in zip(out, ref):
        np.testing.assert_allclose(o.data, r.detach().numpy(), **TOL)
    np.testing.assert_allclose(xt.grad, x_ref.grad.numpy(), **TOL)
    for ours, theirs in zip((layer.kernel, layer.recurrent_kernel, layer.bias),
                            _grads_from_torch(kind, module)):
        np.testing.assert_allclose(ours.grad, theirs, **TOL)
    if with_state:
        for s, r in zip(states_nb, init_ref):
            np.testing.assert_allclose(s.grad, r.grad.numpy()[0], **TOL)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_go_backwards_is_the_reversed_sequence(kind) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 3)).astype(np.float32)
    layer = getattr(layers, kind)(4, return_sequences=True, go_backwards=True)
    out = layer(x).data
    module = _torch_module(kind, layer)
    ref = module(torch.from_numpy(x[:, ::-1].copy()))[0].detach().numpy()
    np.testing.assert_allclose(out, ref, **TOL)  # outputs in the reversed (processing) order


def _chapter_gru(x, h, kernel, rkernel, bias):
    """ERRATA 8.5.2: H~ = tanh(X W_xh + (R ⊙ H) W_hh + b_h), gate order z, r, h (float64)."""
    u = h.shape[1]
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    seq = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        z = sig(xt @ kernel[:, :u] + h @ rkernel[:, :u] + bias[:u])
        r = sig(xt @ kernel[:, u:2 * u] + h @ rkernel[:, u:2 * u] + bias[u:2 * u])
        cand = np.tanh(xt @ kernel[:, 2 * u:] + (r * h) @ rkernel[:, 2 * u:] + bias[2 * u:])
        h = z * h + (1 - z) * cand
        seq.append(h)
    return np.stack(seq, 1)


@pytest.mark.parametrize("batch, steps", [(1, 1), (3, 6), (2, 11)])
def test_gru_reset_before_matches_chapter_equation(batch, steps) -> None:
    rng = np.random.default_rng(steps)
    layer = layers.GRU(4, reset_after=False, return_sequences=True, return_state=True)
    x = rng.standard_normal((batch, steps, 3)).astype(np.float32)
    h0 = rng.standard_normal((batch, 4)).astype(np.float32)
    layer.build(x.shape)
    layer.bias.data[...] = rng.uniform(-0.5, 0.5, layer.bias.shape)
    assert layer.bias.shape == (12,)
    seq, h = layer(x, initial_state=h0)
    ref = _chapter_gru(x.astype(np.float64), h0.astype(np.float64), layer.kernel.data,
                       layer.recurrent_kernel.data, layer.bias.data)
    np.testing.assert_allclose(seq.data, ref, **TOL)
    np.testing.assert_allclose(h.data, ref[:, -1], **TOL)


def test_gru_reset_before_gradients() -> None:
    """Central differences in float64 through the layer (reset_after=False)."""
    layer = layers.GRU(3, reset_after=False, return_sequences=True, dtype="float64")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 2))
    layer.build(x.shape)
    layer.bias.data[...] = rng.uniform(-0.5, 0.5, layer.bias.shape)
    k, rk, b = (w.data.copy() for w in layer.weights)

    def run(x_, k_, rk_, b_):  # the layer with its weights replaced by gradcheck's inputs
        layer.kernel, layer.recurrent_kernel, layer.bias = k_, rk_, b_
        return layer(x_)

    assert gradcheck(run, x, k, rk, b)


@pytest.mark.parametrize("kind, extra", [
    ("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
    ("LSTM", {"go_backwards": True}), ("GRU", {"use_bias": False}),
])
def test_composite_path_equals_fused_path(kind, extra) -> None:
    """The step-by-step composite (recurrent_dropout / other activations) = the fused op."""
    rng = np.random.default_rng(3)
    layer = getattr(layers, kind)(4, return_sequences=True, **extra)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    layer.build(x.shape)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 1]], dtype=bool)
    n_states = 2 if kind == "LSTM" else 1
    results = []
    for path in ("_fused", "_composite"):
        xt = nb.tensor(x, requires_grad=True)
        states = [nb.tensor(np.full((3, 4), 0.3, np.float32), requires_grad=True)
                  for _ in range(n_states)]
        for w in layer.weights:
            w.grad = None
        args = (xt, states, mask) if path == "_fused" else (xt, states, mask, None)
        out = getattr(layer, path)(*args)
        total = sum((o * (i + 1.0)).sum() for i, o in enumerate(out))
        total.backward()
        results.append([o.data for o in out] + [xt.grad] + [s.grad for s in states]
                       + [w.grad for w in layer.weights])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_activation_without_fused_kernel_runs_composite() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    layer = layers.SimpleRNN(3, activation="softsign", return_sequences=True)
    out = layer(x).data
    k, rk, b = (w.data for w in layer.weights)
    h = np.zeros((2, 3))
    for t in range(4):
        a = x[:, t] @ k + h @ rk + b
        h = a / (1 + np.abs(a))
        np.testing.assert_allclose(out[:, t], h, **TOL)


# --- masks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_mask_equals_running_on_the_unpadded_sequences(kind) -> None:
    rng = np.random.default_rng(5)
    lengths = [5, 2, 3]
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    layer = getattr(layers, kind)(4, return_sequences=True, return_state=True)
    seq, *final = layer(x, mask=mask)
    for i, n in enumerate(lengths):
        alone_seq, *alone_final = layer(x[i:i + 1, :n])
        np.testing.assert_allclose(seq.data[i, :n], alone_seq.data[0], **TOL)
        # masked steps output the carried state
        np.testing.assert_allclose(seq.data[i, n:], np.broadcast_to(
            alone_seq.data[0, -1], (5 - n, 4)), **TOL)
        for f, a in zip(final, alone_final):
            np.testing.assert_allclose(f.data[i], a.data[0], **TOL)
    assert seq._keras_mask is mask  # passed on with return_sequences


def test_mask_from_embedding_and_masking_propagates_in_sequential() -> None:
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 0, 0, 0]])
    nb.set_random_seed(0)
    model = models.Sequential([layers.Embedding(10, 4, mask_zero=True), layers.LSTM(3)])
    out = model.predict(ids, verbose=0)
    lstm = model.layers[1]
    for i, n in enumerate([3, 2]):
        alone = lstm(model.layers[0](ids[i:i + 1, :n])).data
        np.testing.assert_allclose(out[i], alone[0], **TOL)

    x = np.zeros((2, 4, 2), np.float32)
    x[0, :3] = rng_values = np.arange(6, dtype=np.float32).reshape(3, 2) / 6 + 0.1
    x[1, :1] = rng_values[:1]
    masked = models.Sequential([layers.Masking(0.0), layers.GRU(3)])
    out = masked.predict(x, verbose=0)
    gru = masked.layers[1]
    np.testing.assert_allclose(out[0], gru(x[:1, :3]).data[0], **TOL)
    np.testing.assert_allclose(out[1], gru(x[1:, :1]).data[0], **TOL)


def test_mask_not_passed_on_without_return_sequences() -> None:
    x = nb.tensor(np.ones((2, 3, 2), np.float32))
    out = layers.GRU(2)(x, mask=np.array([[1, 1, 0], [1, 0, 0]], bool))
    assert getattr(out, "_keras_mask", None) is None


# --- stateful --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_stateful_continues_and_resets(kind) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 8, 3)).astype(np.float32)
    whole = getattr(layers, kind)(4, return_sequences=True)
    full = whole(x).data
    layer = getattr(layers, kind)(4, return_sequences=True, stateful=True)
    layer.build(x.shape)
    layer.set_weights(whole.get_weights())
    first = layer(x[:, :5]).data
    second = layer(x[:, 5:]).data
    np.testing.assert_allclose(np.concatenate([first, second], 1), full, **TOL)
    layer.reset_states()
    assert all(not s.any() for s in layer.states)
    np.testing.assert_allclose(layer(x[:, :5]).data, full[:, :5], **TOL)
    with pytest.raises(ValueError, match="batch size 2"):
        layer(x[:1])
    layer.reset_states([np.zeros((1, 4), np.float32)] * len(layer.states))
    layer(x[:1])  # a reset to the new batch size is accepted


def test_stateful_in_functional_model_and_reset_error() -> None:
    inp = layers.Input(shape=(None, 2))
    rnn = layers.SimpleRNN(3, stateful=True)
    model = models.Model(inp, rnn(inp))
    assert rnn.states is None  # shape inference on dummy batches left no state behind
    x = np.ones((4, 3, 2), np.float32)
    a = model.predict(x, verbose=0)
    b = model.predict(x, verbose=0)
    assert not np.allclose(a, b)  # the second call starts from the first call's states
    with pytest.raises(AttributeError, match="stateful"):
        layers.GRU(2).reset_states()


# --- dropout ---------------------------------------------------------------------------------


def test_input_dropout_is_one_mask_per_sequence() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6, 5)).astype(np.float32)
    layer = layers.LSTM(3, dropout=0.5, seed=7, return_sequences=True)
    out = layer(x, training=True).data
    drop = layer.last_dropout_masks["dropout"]
    assert drop.shape == (4, 5) and set(np.unique(drop)) <= {0.0, 2.0}
    np.testing.assert_allclose(out, layer(x * drop[:, None, :]).data, **TOL)
    np.testing.assert_allclose(layer(x, training=False).data, layer(x).data)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_dropout_drops_h_in_the_recurrent_products(kind) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    layer = getattr(layers, kind)(4, recurrent_dropout=0.5, seed=3, return_sequences=True)
    out = layer(x, training=True)
    m = layer.last_dropout_masks["recurrent_dropout"]
    assert m.shape == (3, 4) and (m == 0).any() and (m == 2).any()
    k, rk, b = (w.data.astype(np.float64) for w in layer.weights)
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    u = 4
    h = np.zeros((3, u))
    c = np.zeros((3, u))
    for t in range(5):
        hd = h * m
        if kind == "SimpleRNN":
            h = np.tanh(x[:, t] @ k + hd @ rk + b)
        elif kind == "LSTM":
            z = x[:, t] @ k + hd @ rk + b
            c = sig(z[:, u:2 * u]) * c + sig(z[:, :u]) * np.tanh(z[:, 2 * u:3 * u])
            h = sig(z[:, 3 * u:]) * np.tanh(c)
        else:
            xw, hw = x[:, t] @ k + b[0], hd @ rk + b[1]
            z, r = sig(xw[:, :u] + hw[:, :u]), sig(xw[:, u:2 * u] + hw[:, u:2 * u])
            cand = np.tanh(xw[:, 2 * u:] + r * hw[:, 2 * u:])
            h = z * h + (1 - z) * cand
        np.testing.assert_allclose(out.data[:, t], h, **TOL)
    # it trains: gradients reach every weight
    out.sum().backward()
    assert all(w.grad is not None and np.abs(w.grad).sum() > 0 for w in layer.weights)
    # inference: no dropout, the fused path
    nodrop = getattr(layers, kind)(4, return_sequences=True)
    nodrop.build(x.shape)
    nodrop.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(x).data, nodrop(x).data)


# --- initialisation, regularisation, configuration ------------------------------------------


def test_initialisers() -> None:
    nb.set_random_seed(0)
    lstm = layers.LSTM(6)
    lstm.build((None, 3, 4))
    rk = lstm.recurrent_kernel.data  # (6, 24): orthonormal rows
    np.testing.assert_allclose(rk @ rk.T, np.eye(6), atol=1e-5)
    np.testing.assert_array_equal(lstm.bias.data, np.r_[np.zeros(6), np.ones(6), np.zeros(12)])
    plain = layers.LSTM(2, unit_forget_bias=False)
    plain.build((None, 3, 4))
    assert not plain.bias.data.any()
    gru = layers.GRU(3)
    gru.build((None, 2, 2))
    assert gru.bias.shape == (2, 9)


def test_regularisers_are_added_to_losses() -> None:
    layer = layers.GRU(3, kernel_regularizer=regularizers.L2(0.1),
                       recurrent_regularizer=regularizers.L1(0.2),
                       bias_regularizer=regularizers.L2(0.3))
    layer(np.ones((1, 2, 2), np.float32))
    k, rk, b = layer.get_weights()
    expected = 0.1 * (k ** 2).sum() + 0.2 * np.abs(rk).sum() + 0.3 * (b ** 2).sum()
    np.testing.assert_allclose(sum(float(v.data) for v in layer.losses), expected, rtol=1e-5)


def test_compute_output_shape_with_return_state() -> None:
    assert layers.LSTM(5, return_state=True).compute_output_shape((None, 7, 3)) == [
        (None, 5), (None, 5), (None, 5)]
    assert layers.GRU(2, return_sequences=True).compute_output_shape((None, None, 3)) == (
        None, None, 2)


def test_functional_encoder_state_into_decoder_trains() -> None:
    nb.set_random_seed(0)
    enc_in, dec_in = layers.Input(shape=(None, 3)), layers.Input(shape=(None, 2))
    _, h, c = layers.LSTM(8, return_state=True)(enc_in)
    dec = layers.LSTM(8, return_sequences=True)(dec_in, initial_state=[h, c])
    model = models.Model([enc_in, dec_in], layers.Dense(1)(dec))
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((16, 4, 3)), rng.standard_normal((16, 6, 2))
    y = xa.sum(axis=(1, 2))[:, None, None] * np.ones((16, 6, 1))
    hist = model.fit([xa, xb], y, epochs=8, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


# --- bad inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 0}, "units must be a positive integer"),
    ({"units": 3, "dropout": 1.0}, "dropout must be in the interval"),
    ({"units": 3, "recurrent_dropout": -0.1}, "recurrent_dropout must be in the interval"),
])
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        layers.LSTM(**kwargs)
    with pytest.raises(TypeError, match="did you mean"):
        layers.GRU(3, regularizer=regularizers.L2(0.1))


def test_bad_inputs_raise_clear_errors() -> None:
    layer = layers.LSTM(4)
    with pytest.raises(ValueError, match=r"rank 3.*\(2, 3\)"):
        layer(np.ones((2, 3), np.float32))
    layer(np.ones((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"5 features.*\(2, 3, 4\)"):
        layer(np.ones((2, 3, 4), np.float32))
    x = np.ones((2, 3, 5), np.float32)
    with pytest.raises(ValueError, match=r"expected 2 initial_state \(h, c\), received 1"):
        layer(x, initial_state=[np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"initial_state 'c' of shape \(2, 4\).*\(2, 3\)"):
        layer(x, initial_state=[np.zeros((2, 4)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"initial_state 'h' of shape \(2, 4\).*\(3, 4\)"):
        layers.GRU(4)(x, initial_state=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"mask of shape \(batch, timesteps\) = \(2, 3\)"):
        layer(x, mask=np.ones((2, 4), bool))
