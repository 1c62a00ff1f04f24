"""Epochs and steps as in Keras 3: steps_per_epoch over arrays, datasets, generators and
PyDatasets, exhausted iterators, train_on_batch metrics, monitor warnings."""

from __future__ import annotations

import numpy as np
import pytest

from nablanet import callbacks, layers, models
from nablanet.data import Dataset
from nablanet.utils import PyDataset

X = np.ones((40, 2), np.float32)
Y = np.zeros((40, 1), np.float32)


def _model():
    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    return model


class Count(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.steps.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps[-1] += 1


def test_finite_dataset_with_steps_per_epoch_continues_then_restarts() -> None:
    data = Dataset.from_tensor_slices((X, Y)).batch(10)  # 4 batches per pass
    count = Count()
    with pytest.warns(UserWarning, match="ran out of data"):
        _model().fit(data, epochs=4, steps_per_epoch=3, callbacks=[count], verbose=0)
    # 3 batches, then the pass's last one (ran out), then a fresh pass: as Keras 3.
    assert count.steps == [3, 1, 3, 1]


def test_exhausted_generator_warns_and_stops_training() -> None:
    def batches():
        for _ in range(3):
            yield X[:10], Y[:10]

    count = Count()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = _model().fit(batches(), epochs=5, callbacks=[count], verbose=0)
    assert history.epoch == [0] and count.steps == [3]


def test_generator_with_steps_per_epoch_over_several_epochs() -> None:
    def batches():
        for _ in range(5):
            yield X[:10], Y[:10]

    count = Count()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = _model().fit(batches(), epochs=4, steps_per_epoch=2, callbacks=[count],
                               verbose=0)
    assert count.steps == [2, 2, 1] and history.epoch == [0, 1, 2]


class Batches(PyDataset):
    def __init__(self):
        super().__init__()
        self.ends = 0

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return X[index * 10:(index + 1) * 10], Y[index * 10:(index + 1) * 10]

    def on_epoch_end(self):
        self.ends += 1


def test_py_dataset_in_fit_evaluate_predict() -> None:
    data, model = Batches(), _model()
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.epoch) == 2 and data.ends == 2
    assert len(model.evaluate(data, verbose=0)) == 2
    assert model.predict(data, verbose=0).shape == (40, 1)


def test_on_batch_methods_reset_metrics_by_default() -> None:
    model = _model()
    first = model.test_on_batch(X, Y + 1.0, return_dict=True)
    second = model.test_on_batch(X, Y, return_dict=True)
    kept = model.test_on_batch(X, Y + 1.0, return_dict=True, reset_metrics=False)
    assert second["mae"] != pytest.approx(first["mae"])
    assert kept["mae"] == pytest.approx((first["mae"] + second["mae"]) / 2, rel=1e-5)
    with pytest.raises(ValueError, match="cannot be specified at the same time"):
        model.train_on_batch(X, Y, sample_weight=np.ones(40), class_weight={0: 1.0})


def test_scalar_loss_weight_scales_the_loss() -> None:
    model = _model()
    base = model.evaluate(X, Y + 1.0, verbose=0)[0]
    model.compile("sgd", "mse", loss_weights=0.25)
    assert model.evaluate(X, Y + 1.0, verbose=0) == pytest.approx(0.25 * base, rel=1e-6)


def test_monitor_direction_unknown_raises_and_missing_monitor_warns() -> None:
    model = _model()
    with pytest.raises(ValueError, match="automatically determine"):
        model.fit(X, Y, epochs=1, verbose=0,
                  callbacks=[callbacks.EarlyStopping(monitor="unknown")])
    with pytest.warns(UserWarning, match="`val_mae` which is not available"):
        model.fit(X, Y, epochs=1, verbose=0,
                  callbacks=[callbacks.EarlyStopping(monitor="val_mae", mode="min")])
    cb = callbacks.EarlyStopping(monitor="val_mae")  # a metric's direction: down
    model.fit(X, Y, epochs=1, verbose=0, validation_data=(X, Y), callbacks=[cb])
    assert cb.monitor_op is np.less
