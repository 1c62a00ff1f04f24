"""compile / fit / evaluate / predict, History, bad inputs, reproducibility."""

import numpy as np
import pytest

import nablanet as nb
from nablanet import layers, losses, metrics, models, optimizers, regularizers
from nablanet.data import Dataset


def make_model(seed=0, hidden=16):
    nb.set_random_seed(seed)
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(hidden, activation="relu"),
                               layers.Dense(3)])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_end_to_end_classification_reaches_high_accuracy(blobs):
    x, y = blobs
    model = make_model()
    history = model.fit(x, y, epochs=15, batch_size=32, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 15 for v in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.95
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.95 and loss < 0.3
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"loss": loss, "accuracy": acc}
    pred = model.predict(x, batch_size=64, verbose=0)
    assert isinstance(pred, np.ndarray) and pred.shape == (300, 3)
    np.testing.assert_allclose(pred, model(x).data, rtol=1e-5, atol=1e-6)
    assert (pred.argmax(1) == y).mean() == pytest.approx(acc)


def test_fit_on_dataset_and_validation_dataset(blobs):
    x, y = blobs
    model = make_model()
    ds = Dataset.from_tensor_slices((x, y)).shuffle(300, seed=1).batch(32)
    val = Dataset.from_tensor_slices((x[:64], y[:64])).batch(32)
    history = model.fit(ds, epochs=3, validation_data=val, verbose=0)
    assert len(history.history["val_loss"]) == 3
    assert history.history["accuracy"][-1] > 0.8
    out = model.evaluate(val, verbose=0)
    assert len(out) == 2
    assert model.predict(val, verbose=0).shape == (64, 3)


def test_reproducible_history(blobs):
    x, y = blobs

    def run():
        model = make_model(seed=123)
        nb.set_random_seed(7)
        return model.fit(x, y, epochs=3, batch_size=16, validation_split=0.1,
                         verbose=0).history

    assert run() == run()


def test_history_and_steps_per_epoch(blobs):
    x, y = blobs
    model = make_model()
    history = model.fit(x, y, epochs=2, batch_size=10, steps_per_epoch=5, verbose=0,
                        initial_epoch=0)
    assert history.epoch == [0, 1]
    assert model.optimizer.iterations == 10
    history = model.fit(x, y, epochs=4, initial_epoch=2, batch_size=100, verbose=0)
    assert history.epoch == [2, 3]
    assert model.history is history


def test_sample_and_class_weight_change_the_loss(blobs):
    x, y = blobs
    model = make_model()
    base = model.evaluate(x, y, verbose=0)[0]
    weights = np.where(y == 0, 3.0, 0.0).astype(np.float32)
    weighted = model.test_on_batch(x, y, sample_weight=weights)[0]
    manual = losses.SparseCategoricalCrossentropy(from_logits=True)(
        y, model(x), sample_weight=weights)
    assert weighted == pytest.approx(float(manual.data), rel=1e-5)
    assert weighted != pytest.approx(base)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, class_weight={0: 1.0, 1: 0.0, 2: 0.0}, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_train_test_predict_on_batch(blobs):
    x, y = blobs
    model = make_model()
    loss0, _ = model.test_on_batch(x, y)
    for _ in range(20):
        logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert model.test_on_batch(x, y)[0] < loss0
    out = model.predict_on_batch(x[:7])
    assert isinstance(out, np.ndarray) and out.shape == (7, 3)


def test_gradients_are_reset_after_each_step(blobs):
    x, y = blobs
    model = make_model()
    model.fit(x, y, epochs=1, verbose=0)
    assert all(w.grad is None for w in model.trainable_weights)


def test_no_input_layer_and_input_shape_argument(blobs):
    x, y = blobs
    nb.set_random_seed(0)
    lazy = models.Sequential()
    lazy.add(layers.Dense(8, activation="relu"))
    lazy.add(layers.Dense(3))
    assert not lazy.built
    lazy.compile("sgd", "sparse_categorical_crossentropy")
    lazy.fit(x, y, epochs=1, verbose=0)
    assert lazy.built and lazy.output_shape == (None, 3)
    eager = models.Sequential([layers.Dense(8, input_shape=(4,)), layers.Dense(3)])
    assert eager.built and eager.count_params() == 4 * 8 + 8 + 8 * 3 + 3


def test_regularization_losses_are_added(blobs):
    x, y = blobs
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(4,)),
                               layers.Dense(3, kernel_regularizer=regularizers.L2(0.5))])
    model.compile("sgd", loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    plain = losses.SparseCategoricalCrossentropy(from_logits=True)(y, model(x))
    penalty = 0.5 * float((model.layers[0].kernel.data ** 2).sum())
    assert model.evaluate(x, y, verbose=0, batch_size=300) == pytest.approx(
        float(plain.data) + penalty, rel=1e-5)


# -- bad input: a clear error, and nothing trained --------------------------------------------
def _unchanged(model, before):
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_fit_before_compile():
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match=r"You must call `compile\(\)` before using the model."):
        model.fit(np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="compile"):
        model.evaluate(np.zeros((4, 4)), np.zeros(4))


@pytest.mark.parametrize("case", ["lengths", "empty", "nan", "inf", "features", "labels"])
def test_bad_data_raises_before_any_weight_changes(blobs, case):
    x, y = blobs
    model = make_model()
    before = model.get_weights()
    if case == "lengths":
        args = (x, y[:-10])
        match = "(?s)Data cardinality is ambiguous.*'x' sizes: 300.*'y' sizes: 290"
    elif case == "empty":
        args, match = (x[:0], y[:0]), "empty"
    elif case in ("nan", "inf"):
        bad = x.copy()
        bad[5, 2] = np.nan if case == "nan" else np.inf
        args, match = (bad, y), "NaN or infinite"
    elif case == "features":
        args, match = (x[:, :3], y), (r'layer "dense.*expected shape=\(None, 4\), '
                                     r"found shape=\(300, 3\)")
    else:
        bad = y.copy()
        bad[7] = 3
        args, match = (x, bad), r"label value of 3.*outside the valid range of \[0, 3\)"
    with pytest.raises(ValueError, match=match):
        model.fit(*args, epochs=1, verbose=0)
    assert _unchanged(model, before)
    assert model.optimizer.iterations == 0


def test_out_of_range_label_in_a_dataset_batch_leaves_weights_unchanged(blobs):
    x, y = blobs
    model = make_model()
    before = model.get_weights()
    bad = y.copy()
    bad[0] = 5
    with pytest.raises(ValueError, match="5"):
        model.fit(Dataset.from_tensor_slices((x, bad)).batch(32), epochs=1, verbose=0)
    assert _unchanged(model, before)


def test_nan_in_dataset_batch_refused(blobs):
    x, y = blobs
    model = make_model()
    before = model.get_weights()
    bad = x.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(Dataset.from_tensor_slices((bad, y)).batch(32), epochs=1, verbose=0)
    assert _unchanged(model, before)


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "adamm", "loss": "mse"}, r"optimizer.*adamm.*'adam'"),
    ({"optimizer": "adam", "loss": "msee"}, r"Unknown loss.*msee.*mean_squared_error"),
    ({"optimizer": "adam", "loss": "mse", "metrics": ["acuracy"]},
     r"Unknown metric.*acuracy.*accuracy"),
])
def test_unknown_names_list_the_valid_ones(kwargs, match):
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match=match):
        model.compile(**kwargs)


def test_no_loss_raises_a_clear_error(blobs):
    x, y = blobs
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3)])
    model.compile("adam")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(x, y, verbose=0)


# -- subclassed models and custom train_step (GAN pattern) ------------------------------------
class TwoLayer(models.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(16, activation="relu")
        self.out = layers.Dense(3)

    def call(self, x, training=False):
        return self.out(self.hidden(x))


def test_subclassed_model_tracks_layers_and_trains(blobs):
    x, y = blobs
    nb.set_random_seed(0)
    model = TwoLayer()
    model.compile("adam", losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=10, verbose=0)
    assert model.layers == [model.hidden, model.out]
    assert len(model.trainable_weights) == 4
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


class ToyGAN(models.Model):
    """Two optimizers, compile() without a loss, metrics returned by train_step."""

    def __init__(self):
        super().__init__()
        self.generator = models.Sequential([layers.Input(shape=(2,)), layers.Dense(4)])
        self.discriminator = models.Sequential([layers.Input(shape=(4,)), layers.Dense(1)])
        self.loss_fn = losses.BinaryCrossentropy(from_logits=True)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer = optimizers.get(d_optimizer)
        self.g_optimizer = optimizers.get(g_optimizer)
        self.d_loss_metric = metrics.Mean(name="d_loss")
        self.g_loss_metric = metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def train_step(self, real):
        n = real.shape[0]
        z = nb.tensor(nb.random.generator().normal(size=(n, 2)).astype(np.float32))
        fake = self.generator(z, training=True)
        images = nb.tensor(np.concatenate([fake.data, real.data]))
        labels = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]).astype(np.float32)
        d_loss = self.loss_fn(labels, self.discriminator(images, training=True))
        d_loss.backward()
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients([(w.grad, w) for w in weights])
        for w in self.trainable_weights:
            w.grad = None
        g_loss = self.loss_fn(np.zeros((n, 1), np.float32),
                              self.discriminator(self.generator(z, training=True)))
        g_loss.backward()
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients([(w.grad, w) for w in weights])
        for w in self.trainable_weights:
            w.grad = None
        self.d_loss_metric.update_state(d_loss.data)
        self.g_loss_metric.update_state(g_loss.data)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


def test_gan_style_custom_train_step(capsys):
    nb.set_random_seed(0)
    real = np.random.default_rng(0).normal(1.0, 0.1, size=(64, 4)).astype(np.float32)
    gan = ToyGAN()
    gan.compile(d_optimizer="adam", g_optimizer="adam")
    g_before = gan.generator.get_weights()
    history = gan.fit(Dataset.from_tensor_slices(real).batch(16), epochs=2, verbose=2)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert len(history.history["d_loss"]) == 2
    assert not all(np.array_equal(a, b) for a, b in zip(g_before, gan.generator.get_weights()))
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and " - d_loss: " in out and " - g_loss: " in out
