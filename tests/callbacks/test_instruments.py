"""The instruments (GradientFlow, DeadUnits, ActivationStats) and the TensorBoard callback.

Each must measure the right quantity, leave training bit for bit unchanged, and work with
Sequential, functional and subclassed models. TensorBoard's event files are read back
record by record (TFRecord framing, CRCs checked) with tensorboardX's protocol buffers.
"""

from __future__ import annotations

import glob
import os
import struct

import numpy as np
import pytest

import nablanet as nb
from nablanet import callbacks, layers, models, optimizers
from nablanet.callbacks.instruments import mean_abs_correlation, probe_activations

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def _data(n: int = 64, features: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype(np.float32)
    return x, y


def _sequential(seed: int = 0, activation: str = "relu", **dense: object) -> models.Sequential:
    nb.set_random_seed(seed)
    return models.Sequential([
        layers.Input((6,)),
        layers.Dense(16, activation=activation, name="h1", **dense),
        layers.BatchNormalization(name="bn"),
        layers.Dropout(0.3, name="drop"),
        layers.Dense(16, activation=activation, name="h2", **dense),
        layers.Dense(1, activation="sigmoid", name="out"),
    ])


def _functional(seed: int = 0) -> models.Model:
    nb.set_random_seed(seed)
    inputs = layers.Input((6,))
    h = layers.Dense(16, activation="relu", name="h1")(inputs)
    h = layers.Dropout(0.3, name="drop")(h)
    h = layers.Dense(16, activation="tanh", name="h2")(h)
    return models.Model(inputs, layers.Dense(1, activation="sigmoid", name="out")(h))


class _Subclassed(models.Model):
    def __init__(self) -> None:
        super().__init__()
        self.h1 = layers.Dense(16, activation="relu", name="h1")
        self.h2 = layers.Dense(16, activation="tanh", name="h2")
        self.out = layers.Dense(1, activation="sigmoid", name="out")

    def call(self, x, training=False):  # noqa: ANN001, ANN201
        return self.out(self.h2(self.h1(x)))


def _subclassed(seed: int = 0) -> models.Model:
    nb.set_random_seed(seed)
    return _Subclassed()


BUILDERS = {"sequential": _sequential, "functional": _functional, "subclassed": _subclassed}


def _train(model: models.Model, cbs: list, epochs: int = 2, seed: int = 1,
           optimizer: object = "adam") -> list[np.ndarray]:
    x, y = _data()
    nb.set_random_seed(seed)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, shuffle=True,
              validation_data=_data(32, seed=5), callbacks=cbs)
    return model.get_weights()


def _all_instruments(tmp_path) -> list:
    probe = _data(32, seed=9)[0]
    return [callbacks.GradientFlow(freq=1), callbacks.DeadUnits(probe, freq=1),
            callbacks.ActivationStats(probe, freq=1, correlation=True),
            callbacks.TensorBoard(str(tmp_path / "tb"), histogram_freq=1, update_freq=1,
                                  write_images=True, write_gradients=True,
                                  activation_data=probe)]


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_instruments_do_not_change_training(kind, tmp_path) -> None:
    plain = _train(BUILDERS[kind](), [])
    watched = _train(BUILDERS[kind](), _all_instruments(tmp_path))
    assert len(plain) == len(watched)
    for a, b in zip(plain, watched):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_instruments_record_every_model_kind(kind, tmp_path) -> None:
    model = BUILDERS[kind]()
    flow, dead, stats = _all_instruments(tmp_path)[:3]
    _train(model, [flow, dead, stats])
    steps = 2 * 4  # two epochs of 64 / 16 batches
    assert flow.steps == list(range(steps))
    assert set(flow.grad_norms) >= {"h1", "h2", "out"}
    for values in flow.grad_norms.values():
        assert len(values) == steps and all(np.isfinite(values)) and min(values) > 0
    assert set(dead.dead) == {"h1"} | ({"h2"} if kind == "sequential" else set())
    assert dead.steps == list(range(steps + 1))  # before training, then after every step
    assert "h2" in stats.mean and len(stats.std["h2"]) == steps + 1
    if kind != "sequential":  # tanh layer: saturation measured
        assert all(0.0 <= s <= 1.0 for s in stats.saturated["h2"])


def test_gradient_norm_and_update_ratio_are_the_step_values() -> None:
    """With plain SGD, the recorded norm is ||dJ/dW|| of the first batch and the update
    ratio is lr * ||g|| / ||W||."""
    x, y = _data(16)
    nb.set_random_seed(3)
    model = models.Sequential([layers.Input((6,)), layers.Dense(4, activation="tanh",
                                                                   name="a"),
                               layers.Dense(1, name="b")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    # the reference gradient, computed by hand on the same (single, whole) batch
    loss = model.compute_loss(x, y, model(x, training=True), None, training=True)
    loss.backward()
    grads = [np.asarray(w.grad.data).copy() for w in model.trainable_weights]
    for w in model.trainable_weights:
        w.grad = None
    expected_a = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads[:2]))
    flow = callbacks.GradientFlow(freq=1)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[flow])
    assert flow.grad_norms["a"][0] == pytest.approx(expected_a, rel=1e-5)
    weight_norm = np.sqrt(sum(float(np.sum(w.astype(np.float64) ** 2)) for w in before[:2]))
    assert flow.update_ratios["a"][0] == pytest.approx(0.1 * expected_a / weight_norm,
                                                       rel=1e-4)
    assert flow.first_last_ratio() == pytest.approx(
        flow.grad_norms["a"][0] / flow.grad_norms["b"][0])


def test_gradient_flow_sees_both_optimizers_of_a_gan() -> None:
    from nablanet.generative.gan import GAN

    nb.set_random_seed(0)
    disc = models.Sequential([layers.Input((2,)), layers.Dense(8, activation="relu",
                                                                  name="d_h"),
                              layers.Dense(1, name="d_out")])
    gen = models.Sequential([layers.Input((3,)), layers.Dense(8, activation="relu",
                                                                 name="g_h"),
                             layers.Dense(2, name="g_out")])
    gan = GAN(disc, gen, latent_dim=3)
    gan.compile()
    flow = callbacks.GradientFlow(freq=1)
    gan.fit(np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32),
            batch_size=16, epochs=1, verbose=0, callbacks=[flow])
    for name in ("d_h", "d_out", "g_h", "g_out"):
        assert len(flow.grad_norms[name]) == 2 and min(flow.grad_norms[name]) > 0


def test_dead_units_relu_dies_leaky_recovers() -> None:
    """Units pushed negative by a large negative bias: ReLU units are dead (zero output,
    zero gradient); leaky ReLU units are only inactive."""
    probe = _data(32, seed=2)[0]
    for activation, dead_expected in (("relu", 1.0), ("leaky_relu", 0.0)):
        model = models.Sequential([layers.Input((6,)),
                                   layers.Dense(8, activation=activation, name="h",
                                                bias_initializer=nb.initializers.Constant(-50.0)),
                                   layers.Dense(1)])
        d = callbacks.DeadUnits(probe)
        d.set_model(model)
        d.on_train_begin()
        assert d.dead["h"] == [dead_expected]
        assert d.inactive["h"] == [1.0]


def test_activation_stats_saturation_and_correlation() -> None:
    probe = np.linspace(-3, 3, 60, dtype=np.float32).reshape(30, 2)
    model = models.Sequential([layers.Input((2,)),
                               layers.Dense(3, activation="sigmoid", name="s",
                                            kernel_initializer=nb.initializers.Constant(5.0))])
    s = callbacks.ActivationStats(probe, correlation=True)
    s.set_model(model)
    s.on_train_begin()
    z = probe.sum(axis=1, keepdims=True) * 5.0
    a = 1.0 / (1.0 + np.exp(-np.repeat(z, 3, axis=1)))
    assert s.saturated["s"][0] == pytest.approx(np.mean((a < 0.01) | (a > 0.99)))
    assert s.mean["s"][0] == pytest.approx(a.mean(), abs=1e-6)
    assert s.correlation["s"][0] == pytest.approx(1.0)  # three identical units
    rng = np.random.default_rng(0)
    assert mean_abs_correlation(rng.standard_normal((4000, 5))) < 0.05


def test_probe_sees_a_conv_layer_that_fit_fuses_with_its_pool() -> None:
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input((8, 8, 1)),
                               layers.Conv2D(4, 3, activation="relu", name="conv"),
                               layers.MaxPooling2D(2, name="pool"), layers.Flatten(),
                               layers.Dense(2, name="out")])
    x = np.random.default_rng(1).standard_normal((3, 8, 8, 1)).astype(np.float32)
    out = probe_activations(model, x)
    assert out["conv"].shape == (3, 6, 6, 4) and out["pool"].shape == (3, 3, 3, 4)
    np.testing.assert_allclose(out["out"], model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_invalid_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="freq"):
        callbacks.GradientFlow(freq=0)
    with pytest.raises(ValueError, match="probe"):
        callbacks.DeadUnits(None)
    with pytest.raises(ValueError, match="histogram_freq"):
        callbacks.TensorBoard(histogram_freq=-1)
    with pytest.raises(ValueError, match="update_freq"):
        callbacks.TensorBoard(update_freq="sometimes")
    with pytest.raises(ValueError, match="profil"):
        callbacks.TensorBoard(profile_batch=2)
    model = _sequential()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="nope"):
        model.fit(*_data(16), epochs=1, verbose=0,
                  callbacks=[callbacks.GradientFlow(layers=["nope"])])


def test_plots_are_written(tmp_path) -> None:
    model = _sequential()
    flow, dead = _all_instruments(tmp_path)[:2]
    _train(model, [flow, dead], epochs=1)
    for path in (flow.plot(tmp_path / "flow.png"), dead.plot(tmp_path / "dead.png")):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- TensorBoard event files --------------------------------------------------------------------
def _read_events(folder) -> list:
    """Every Event in the folder's event files, checking the TFRecord framing and CRCs."""
    from tensorboardX.proto.event_pb2 import Event
    from tensorboardX.record_writer import masked_crc32c

    events = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            header = data[pos:pos + 8]
            (length,) = struct.unpack("<Q", header)
            (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
            assert header_crc == masked_crc32c(header)
            body = data[pos + 12:pos + 12 + length]
            (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
            assert body_crc == masked_crc32c(body)
            event = Event()
            event.ParseFromString(body)
            events.append(event)
            pos += 16 + length
    return events


def _values(events) -> dict[str, list]:
    out: dict[str, list] = {}
    for event in events:
        for value in event.summary.value:
            out.setdefault(value.tag, []).append((event.step, value))
    return out


def test_tensorboard_writes_what_keras_writes(tmp_path) -> None:
    import matplotlib.pyplot as plt

    def figure(model, epoch):  # noqa: ANN001, ANN202
        fig, ax = plt.subplots()
        ax.plot([0, 1], [epoch, epoch + 1])
        return {"predictions": fig, "grey": np.full((4, 5), 0.5, np.float32)}

    probe = _data(16, seed=4)[0]
    tb = callbacks.TensorBoard(str(tmp_path), histogram_freq=1, update_freq=2,
                               write_images=True, write_steps_per_second=True,
                               write_gradients=True, activation_data=probe, image_fn=figure)
    model = _sequential()
    x, y = _data()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0,
                        validation_data=_data(32, seed=5), callbacks=[tb])
    train = _values(_read_events(tmp_path / "train"))
    val = _values(_read_events(tmp_path / "validation"))
    for name in ("loss", "accuracy"):
        steps = [s for s, _ in train[f"epoch_{name}"]]
        assert steps == [0, 1]
        got = [v.simple_value for _, v in train[f"epoch_{name}"]]
        np.testing.assert_allclose(got, history.history[name], rtol=1e-6)
        got = [v.simple_value for _, v in val[f"epoch_{name}"]]
        np.testing.assert_allclose(got, history.history[f"val_{name}"], rtol=1e-6)
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8]
    assert "epoch_learning_rate" in train and "epoch_steps_per_second" in train
    assert "evaluation_loss_vs_iterations" in val
    kernel = model.get_layer("h1").kernel
    tag = next(t for t in train if t.endswith("/histogram") and "h1" in t and "kernel" in t)
    (step, value), = train[tag][1:2]
    assert step == 1
    histo = value.histo
    assert histo.num == kernel.data.size
    assert histo.min == pytest.approx(float(kernel.data.min()))
    assert histo.max == pytest.approx(float(kernel.data.max()))
    assert any(t.endswith("/image") for t in train)
    assert any(t.endswith("/gradient") and "h1" in t for t in train)
    activation = train["h1/activation"]
    assert [s for s, _ in activation] == [0, 1]
    assert activation[-1][1].histo.num == 16 * 16
    assert {s for s, _ in train["predictions"]} == {0, 1}
    assert train["grey"][0][1].image.height == 4 and train["grey"][0][1].image.width == 5
