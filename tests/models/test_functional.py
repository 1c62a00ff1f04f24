"""The functional API: multi-input/-output graphs, nesting, shared layers, summary."""

import numpy as np
import pytest

import nablanet as nb
from nablanet import layers, losses, models


def two_in_two_out():
    nb.set_random_seed(0)
    a = layers.Input(shape=(3,), name="a")
    b = layers.Input(shape=(2,), name="b")
    h = layers.Concatenate()([layers.Dense(8, activation="relu", name="da")(a), b])
    out1 = layers.Dense(1, name="reg")(h)
    out2 = layers.Dense(2, name="cls")(h)
    return models.Model([a, b], [out1, out2], name="two")


def test_functional_replays_graph_and_is_a_layer():
    model = two_in_two_out()
    assert isinstance(model, models.Functional) and isinstance(model, layers.Layer)
    assert model.output_names == ["reg", "cls"]
    xa = np.ones((5, 3), np.float32)
    xb = np.ones((5, 2), np.float32)
    r, c = model([xa, xb])
    assert r.shape == (5, 1) and c.shape == (5, 2)
    da = model.get_layer("da")
    h = np.maximum(xa @ da.kernel.data + da.bias.data, 0)
    h = np.concatenate([h, xb], axis=1)
    reg = model.get_layer("reg")
    np.testing.assert_allclose(r.data, h @ reg.kernel.data + reg.bias.data, rtol=1e-5)
    # Nested: the model is called on symbolic tensors inside another model.
    a2 = layers.Input(shape=(3,))
    b2 = layers.Input(shape=(2,))
    outer = models.Model([a2, b2], layers.Add()(model([a2, b2])[1:] + [model([a2, b2])[1]]))
    np.testing.assert_allclose(outer([xa, xb]).data, 2 * c.data, rtol=1e-5)
    assert outer.count_params() == model.count_params()


def test_multi_output_training_with_dict_losses():
    model = two_in_two_out()
    model.compile("adam", loss={"reg": "mse",
                                "cls": losses.SparseCategoricalCrossentropy(from_logits=True)},
                  loss_weights={"reg": 0.5, "cls": 1.0}, metrics={"cls": ["accuracy"]})
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(64, 3)).astype(np.float32)
    xb = rng.normal(size=(64, 2)).astype(np.float32)
    y_reg = xa.sum(1, keepdims=True)
    y_cls = (xb[:, 0] > 0).astype(np.int64)
    history = model.fit([xa, xb], [y_reg, y_cls], epochs=2, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    logs = model.evaluate([xa, xb], {"reg": y_reg, "cls": y_cls}, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(0.5 * logs["reg_loss"] + logs["cls_loss"], rel=1e-4)
    preds = model.predict({"a": xa, "b": xb}, verbose=0)
    assert [p.shape for p in preds] == [(64, 1), (64, 2)]


def test_graph_disconnected_and_non_input_errors():
    a = layers.Input(shape=(3,))
    b = layers.Input(shape=(3,))
    out = layers.Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        models.Model(a, out)
    with pytest.raises(ValueError, match="symbolic"):
        models.Model(a, np.zeros(3))


def test_functional_input_shape_is_checked():
    model = two_in_two_out()
    with pytest.raises(ValueError, match=r'Input 0 of layer "a".*expected shape=\(None, 3\), '
                                         r"found shape=\(4, 5\)"):
        model.predict([np.zeros((4, 5)), np.zeros((4, 2))], verbose=0)


def test_shared_layer_and_encoder_decoder():
    nb.set_random_seed(0)
    shared = layers.Dense(4, name="shared")
    x = layers.Input(shape=(4,))
    y = shared(shared(x))
    model = models.Model(x, y)
    # As in Keras, a functional model's layers start with its InputLayer.
    assert len(model.layers) == 2 and isinstance(model.layers[0], layers.InputLayer)
    assert model.layers[1] is shared and model.count_params() == 20
    value = np.ones((2, 4), np.float32)
    k, b = shared.kernel.data, shared.bias.data
    np.testing.assert_allclose(model(value).data, (value @ k + b) @ k + b, rtol=1e-5)
    # encoder / decoder composed into an autoencoder
    enc_in = layers.Input(shape=(6,))
    encoder = models.Model(enc_in, layers.Dense(2, name="code")(enc_in), name="encoder")
    dec_in = layers.Input(shape=(2,))
    decoder = models.Model(dec_in, layers.Dense(6, name="recon")(dec_in), name="decoder")
    ae_in = layers.Input(shape=(6,))
    autoencoder = models.Model(ae_in, decoder(encoder(ae_in)))
    autoencoder.compile("adam", "mse")
    data = np.random.default_rng(0).normal(size=(32, 6)).astype(np.float32)
    autoencoder.fit(data, data, epochs=1, verbose=0)
    np.testing.assert_allclose(autoencoder.predict(data, verbose=0),
                               decoder.predict(encoder.predict(data, verbose=0), verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_summary_table(capsys):
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(8,)), layers.Dense(5),
                               layers.BatchNormalization(), layers.Dense(2)], name="seq")
    model.summary()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Model: "seq"'
    assert out[2].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#"]
    assert any(line.startswith(" dense (Dense)") or "(Dense)" in line and "(None, 5)" in line
               and line.rstrip().endswith("45") for line in out)
    assert "Total params: 77" in out
    assert "Trainable params: 67" in out
    assert "Non-trainable params: 10" in out
    model2 = two_in_two_out()
    model2.summary()
    text = capsys.readouterr().out
    assert "Connected to" in text and "a (InputLayer)" in text and "da[0][0]" in text
