"""Rank reconciliation of targets and predictions (issue 19): ``(N,)`` targets against
``(N, 1)`` predictions are never broadcast to ``(N, N)``, in losses, metrics and training."""

from __future__ import annotations

import numpy as np
import pytest

from nablanet import layers, losses, metrics, models

RNG = np.random.default_rng(3)
X = RNG.random((16, 3)).astype(np.float32)
Y = RNG.random(16).astype(np.float32)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "log_cosh", "mape", "msle",
                                  "poisson", "binary_crossentropy"])
def test_rank_1_targets_match_column_predictions(loss) -> None:
    fn = losses.get(loss)
    pred = RNG.random((16, 1)).astype(np.float32) * 0.9 + 0.05
    target = (Y > 0.5).astype(np.float32) if loss == "binary_crossentropy" else Y
    np.testing.assert_allclose(float(fn(target, pred)), float(fn(target[:, None], pred)),
                               rtol=1e-6)


def test_regression_model_with_rank_1_targets_reports_the_true_mse() -> None:
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    loss, mae = model.evaluate(X, Y, verbose=0)
    pred = model.predict(X, verbose=0)[:, 0]
    np.testing.assert_allclose(loss, np.mean((pred - Y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(pred - Y)), rtol=1e-5)


def test_binary_classifier_with_rank_1_labels_learns() -> None:
    x = RNG.normal(size=(200, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.optimizer.learning_rate = 0.1
    history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


@pytest.mark.parametrize("shapes", [((4,), (4, 3)), ((4, 2), (4, 3)), ((4, 3, 2), (4, 3))])
def test_incompatible_shapes_raise(shapes) -> None:
    t, p = np.zeros(shapes[0], np.float32), np.full(shapes[1], 0.5, np.float32)
    for name in ("mse", "mae", "binary_crossentropy", "hinge"):
        with pytest.raises(ValueError, match="must have the same shape"):
            losses.get(name)(t, p)


def test_plain_functions_as_loss_and_metric() -> None:
    def my_mse(y_true, y_pred):
        return ((y_pred - y_true) ** 2).mean(axis=-1)

    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(1)])
    model.compile("sgd", loss=my_mse, metrics=[my_mse, losses.mean_absolute_error])
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    pred = model.predict(X, verbose=0)[:, 0]
    np.testing.assert_allclose(logs["loss"], np.mean((pred - Y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(logs["my_mse"], np.mean((pred - Y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(logs["mean_absolute_error"], np.mean(np.abs(pred - Y)),
                               rtol=1e-5)
    model.fit(X, Y, epochs=1, verbose=0)


def test_binary_crossentropy_clips_then_takes_the_log() -> None:
    # p = 1 for a 0 label: Keras clips to 1 - 1e-7 (float32) and logs, giving 15.94, not
    # -log(1e-7 + 1e-7) = 15.42 as log(1 - p + eps) would.
    out = losses.binary_crossentropy(np.array([[0.0]]), np.array([[1.0]], np.float32))
    np.testing.assert_allclose(float(out[0]), -np.log(np.float32(1) - np.float32(1 - 1e-7)),
                               rtol=1e-5)


def test_crossentropy_axis_and_renormalisation() -> None:
    p = RNG.random((2, 3, 4)).astype(np.float32)
    labels = RNG.integers(0, 3, (2, 4))
    onehot = np.moveaxis(np.eye(3, dtype=np.float32)[labels], -1, 1)
    expected = -np.log(np.take_along_axis(p / p.sum(1, keepdims=True), labels[:, None], 1))
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(labels, p, axis=1).data,
                               expected[:, 0], rtol=1e-5)
    np.testing.assert_allclose(losses.categorical_crossentropy(onehot, p, axis=1).data,
                               expected[:, 0], rtol=1e-5)


def test_one_hot_target_to_sparse_loss_says_which_loss_to_use() -> None:
    with pytest.raises(ValueError, match="one-hot.*CategoricalCrossentropy"):
        losses.SparseCategoricalCrossentropy()(np.eye(3)[[0, 1, 2, 0]], np.full((4, 3), 1 / 3))


def test_accuracy_metrics_are_element_wise_with_element_weights() -> None:
    m = metrics.BinaryAccuracy()
    m.update_state(np.array([[1, 1], [0, 0]]), np.array([[0.9, 0.2], [0.1, 0.7]]),
                   sample_weight=np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert m.result() == pytest.approx(0.5)
    assert len(m.variables) == 2
    assert metrics.SparseTopKCategoricalAccuracy(k=3).k == 3


@pytest.mark.parametrize("targets, units, expected", [
    (np.array([0.0, 1.0, 1.0, 0.0]), 1, "BinaryCrossentropy"),
    (np.array([0, 2, 1, 0]), 3, "SparseCategoricalCrossentropy"),
    (np.array([[0], [2], [1], [0]]), 3, "SparseCategoricalCrossentropy"),
    (np.eye(3, dtype=np.float32)[[0, 2, 1, 0]], 3, "CategoricalCrossentropy"),
])
def test_compile_crossentropy_is_chosen_from_the_shapes(targets, units, expected) -> None:
    """``compile(loss='crossentropy')`` (or ``'ce'``) picks the cross-entropy as Keras does."""
    from nablanet.models.compile_utils import _crossentropy_for

    x = RNG.normal(size=(4, 2)).astype(np.float32)
    activation = "sigmoid" if units == 1 else "softmax"
    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(units, activation)])
    for name in ("crossentropy", "ce"):
        model.compile("sgd", loss=name)
        loss = model.evaluate(x, targets, verbose=0)
        reference = _crossentropy_for(targets, model(x))
        assert type(reference).__name__ == expected
        np.testing.assert_allclose(loss, float(reference(targets, model.predict(x, verbose=0))),
                                   rtol=1e-6)
