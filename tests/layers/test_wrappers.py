"""Bidirectional (against two separate runs and torch's bidirectional LSTM) and
TimeDistributed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers, models
from nablanet.testing import check_layer

TOL = {"rtol": 1e-4, "atol": 1e-5}


@pytest.mark.parametrize("layer_cls, kwargs, in_shape, out_shape, n_weights", [
    (layers.Bidirectional, {"layer": layers.LSTM(3)}, (2, 4, 5), (2, 6), 6),
    (layers.Bidirectional, {"layer": layers.GRU(3, return_sequences=True),
                            "merge_mode": "sum"}, (2, 4, 5), (2, 4, 3), 6),
    (layers.TimeDistributed, {"layer": layers.Dense(3)}, (2, 4, 5), (2, 4, 3), 2),
])
def test_shared_layer_checks(layer_cls, kwargs, in_shape, out_shape, n_weights) -> None:
    check_layer(layer_cls, kwargs, in_shape, out_shape, n_weights)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_equals_two_runs(merge_mode, return_sequences) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 2)).astype(np.float32)
    mask = np.arange(6)[None] < np.array([6, 4, 2])[:, None]
    bi = layers.Bidirectional(layers.GRU(4, return_sequences=return_sequences),
                              merge_mode=merge_mode)
    out = bi(x, mask=mask)
    fw = bi.forward_layer(x, mask=mask).data
    bw = bi.backward_layer(x, mask=mask).data
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    if return_sequences:
        bw = bw[:, ::-1]
    expected = {"concat": np.concatenate([fw, bw], -1), "sum": fw + bw, "mul": fw * bw,
                "ave": (fw + bw) / 2}
    if merge_mode is None:
        np.testing.assert_allclose(out[0].data, fw, **TOL)
        np.testing.assert_allclose(out[1].data, bw, **TOL)
    else:
        np.testing.assert_allclose(out.data, expected[merge_mode], **TOL)


def test_bidirectional_lstm_matches_torch_with_states_and_gradients() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    bi = layers.Bidirectional(layers.LSTM(4, return_sequences=True, return_state=True))
    xt = nb.tensor(x, requires_grad=True)
    out, hf, cf, hb, cb = bi(xt)
    ref_mod = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    fw, bw = bi.forward_layer, bi.backward_layer
    with torch.no_grad():
        for suffix, layer in (("", fw), ("_reverse", bw)):
            w = layers.lstm_weights_to_torch(*(v.data for v in layer.weights))
            for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), w):
                getattr(ref_mod, f"{name}_l0{suffix}").copy_(torch.from_numpy(value))
    x_ref = torch.tensor(x, requires_grad=True)
    seq, (h, c) = ref_mod(x_ref)
    np.testing.assert_allclose(out.data, seq.detach().numpy(), **TOL)
    for ours, theirs in zip((hf, hb, cf, cb), (h[0], h[1], c[0], c[1])):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), **TOL)
    g = rng.standard_normal(out.shape).astype(np.float32)
    (out * nb.tensor(g)).sum().backward()
    (seq * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(xt.grad, x_ref.grad.numpy(), **TOL)
    np.testing.assert_allclose(bw.kernel.grad, ref_mod.weight_ih_l0_reverse.grad.numpy().T,
                               **TOL)


def test_bidirectional_initial_state_and_output_shape() -> None:
    bi = layers.Bidirectional(layers.GRU(3, return_state=True))
    x = np.ones((2, 4, 2), np.float32)
    h0 = [np.full((2, 3), 0.5, np.float32), np.full((2, 3), -0.5, np.float32)]
    out, hf, hb = bi(x, initial_state=h0)
    np.testing.assert_allclose(hf.data, bi.forward_layer(x, initial_state=h0[0])[1].data)
    np.testing.assert_allclose(hb.data, bi.backward_layer(x, initial_state=h0[1])[1].data)
    assert bi.compute_output_shape((None, 4, 2)) == [(None, 6), (None, 3), (None, 3)]
    with pytest.raises(ValueError, match="even number"):
        bi(x, initial_state=h0[:1])
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        layers.Bidirectional(layers.GRU(3), merge_mode="max")
    with pytest.raises(ValueError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(3))


def test_bidirectional_in_a_model_trains_and_saves(tmp_path) -> None:
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(5, 2)),
                               layers.Bidirectional(layers.SimpleRNN(4)), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).standard_normal((32, 5, 2)).astype(np.float32)
    y = x[:, 0, :1] - x[:, -1, 1:]
    hist = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    model.save(tmp_path / "bi.nbm")
    again = models.load_model(tmp_path / "bi.nbm")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_time_distributed_applies_the_layer_to_every_step() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    td = layers.TimeDistributed(layers.Dense(2, activation="tanh"))
    mask = np.ones((3, 4), bool)
    xt = nb.tensor(x)
    xt._keras_mask = mask
    out = td(xt)
    dense = td.layer
    for t in range(4):
        np.testing.assert_allclose(out.data[:, t], dense(x[:, t]).data, **TOL)
    assert out._keras_mask is mask
    with pytest.raises(ValueError, match="rank >= 3"):
        td(np.ones((2, 5), np.float32))
