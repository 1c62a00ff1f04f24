"""Custom training steps as Keras allows them (issue 27's part done with issue 19): a model
with only a ``train_step``, ``compute_loss`` / ``add_loss`` / metric trackers inside it, a
model whose only loss comes from ``add_loss``, and a layer's first argument by keyword."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet import layers, metrics, models, ops

pytestmark = pytest.mark.usefixtures("one_blas_thread")

RNG = np.random.default_rng(5)
X = RNG.normal(size=(64, 3)).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5], np.float32) + 0.3).astype(np.float32)  # shape (64,)


class StepOnly(models.Model):
    """No ``call``: the forward pass lives in ``train_step`` / ``test_step``."""

    def __init__(self) -> None:
        super().__init__()
        self.dense = layers.Dense(1)
        self.loss_tracker = metrics.Mean(name="loss")
        self.mae_tracker = metrics.MeanAbsoluteError(name="mae")
        self.penalty_tracker = metrics.Mean(name="penalty")

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_tracker, self.penalty_tracker]

    def train_step(self, data):
        x, y = data
        y_pred = self.dense(x)
        penalty = ops.sum(self.dense.kernel * self.dense.kernel) * 1e-3
        self.add_loss(penalty)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred)  # compiled mse + penalty
        weights = self.trainable_weights
        for w in weights:
            w.grad = None
        loss.backward()
        self.optimizer.apply_gradients([(w.grad, w) for w in weights])
        self.loss_tracker.update_state(loss)
        self.mae_tracker.update_state(y, y_pred)
        self.penalty_tracker.update_state(penalty)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self.dense(x)
        self.loss_tracker.update_state(self.compute_loss(x=x, y=y, y_pred=y_pred,
                                                         training=False))
        self.mae_tracker.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_tracker.result()}


def test_model_with_only_train_step_trains_with_fit_on_arrays() -> None:
    nb.set_random_seed(0)
    model = StepOnly()
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.learning_rate = 0.05
    history = model.fit(X, Y, epochs=30, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "mae", "penalty"}
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]
    assert all(p > 0 for p in history.history["penalty"])
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    pred = model.dense(X).data[:, 0]
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(pred - Y)), rtol=1e-5)


class SelfSupervised(models.Model):
    """An autoencoder whose only loss is the reconstruction error it adds in ``call``."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = layers.Dense(2)
        self.decoder = layers.Dense(3)

    def call(self, x, training=False):
        out = self.decoder(self.encoder(x))
        diff = out - x
        self.add_loss(ops.mean(diff * diff))
        return out


def test_add_loss_only_model_reports_loss_in_history_and_evaluate() -> None:
    nb.set_random_seed(1)
    model = SelfSupervised()
    model.compile(optimizer="adam")
    history = model.fit(X, epochs=3, batch_size=16, verbose=0)
    assert list(history.history) == ["loss"] and len(history.history["loss"]) == 3
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss = model.evaluate(X, verbose=0)
    out = model.predict(X, verbose=0)
    np.testing.assert_allclose(loss, np.mean((out - X) ** 2), rtol=1e-4)


class Endpoint(layers.Layer):
    """Keras's "endpoint layer" pattern: targets come in by keyword, the loss is added."""

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            self.add_loss(nb.losses.BinaryCrossentropy(from_logits=True)(targets, logits))
        return ops.sigmoid(logits)


def test_first_call_argument_by_keyword_eager_and_functional() -> None:
    logits = RNG.normal(size=(8, 1)).astype(np.float32)
    targets = (RNG.random((8, 1)) > 0.5).astype(np.float32)
    layer = Endpoint()
    probs = layer(logits=logits, targets=targets)
    np.testing.assert_allclose(probs.data, 1 / (1 + np.exp(-logits)), rtol=1e-6)
    assert len(layer.losses) == 1

    inputs = layers.Input(shape=(3,), name="features")
    labels = layers.Input(shape=(1,), name="labels")
    out = Endpoint(name="endpoint")(logits=layers.Dense(1)(inputs), targets=labels)
    model = models.Model([inputs, labels], out)
    model.compile(optimizer="adam")
    y = (Y > 0).astype(np.float32)[:, None]
    history = model.fit([X, y], epochs=2, batch_size=16, verbose=0)
    assert "loss" in history.history
    with pytest.raises(TypeError, match="first argument of call"):
        Endpoint()(targets=targets)


def test_layer_input_and_output_and_input_layer() -> None:
    x = layers.Input(shape=(3,))
    dense = layers.Dense(2)
    y = dense(x)
    assert dense.input is x and dense.output is y
    model = models.Model(x, y)
    assert isinstance(model.layers[0], layers.InputLayer) and model.layers[0].output is x
    with pytest.raises(AttributeError, match="never been called"):
        _ = layers.Dense(2).output
    seq = models.Sequential([layers.InputLayer(shape=(3,)), layers.Dense(2)])
    assert seq.built and seq.output_shape == (None, 2)


def test_sequential_with_built_first_model_and_pop() -> None:
    inner = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3)])
    outer = models.Sequential([inner, layers.Dense(2)])
    assert outer.built and outer.input_shape == (None, 4)
    outer.pop()
    assert outer.built and outer.output_shape == (None, 3)
    with pytest.raises(ValueError, match="Only instances of"):
        outer.add({})
    with pytest.raises(AttributeError):
        _ = models.Sequential().inputs
