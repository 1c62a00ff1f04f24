"""Wrong arguments to fit / evaluate / predict: a clear error naming the argument and the
value received, raised before any weight changes."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet import callbacks, data, layers, models

pytestmark = pytest.mark.usefixtures("one_blas_thread")

X = np.linspace(0, 1, 32, dtype=np.float32).reshape(8, 4)
Y = np.array([0, 1, 2, 0, 1, 2, 0, 1])


def _model(loss: str = "sparse_categorical_crossentropy") -> models.Sequential:
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input((4,), name="features"),
                               layers.Dense(3, activation="softmax")])
    model.compile("sgd", loss)
    return model


def _dataset(x, y, batch=4):
    ds = data.Dataset.from_tensor_slices((x, y))
    return ds.batch(batch) if batch else ds


NAN_TARGETS = np.ones((8, 3), np.float32)
NAN_TARGETS[2, 1] = np.nan

CASES = {
    "float sparse labels": (
        "sparse_categorical_crossentropy",
        lambda m: m.fit(X, np.array([0, 1, 2, 0.5, 1, 2, 0, 1]), verbose=0),
        ValueError, r"label 0\.5 .*sparse categorical loss needs integer"),
    "string labels": (
        "sparse_categorical_crossentropy",
        lambda m: m.fit(X, np.array(["cat", "dog"] * 4), verbose=0),
        ValueError, r"y holds strings \(for example 'cat', 'dog'\).*[Ee]ncode"),
    "validation_freq=0": (
        "sparse_categorical_crossentropy",
        lambda m: m.fit(X, Y, validation_data=(X, Y), validation_freq=0, verbose=0),
        ValueError, r"validation_freq must be a positive integer.*validation_freq=0"),
    "validation_data=(x,)": (
        "sparse_categorical_crossentropy",
        lambda m: m.fit(X, Y, validation_data=(X,), verbose=0),
        ValueError, r"validation_data must be .*tuple of length 1"),
    "class_weight unknown class": (
        "sparse_categorical_crossentropy",
        lambda m: m.fit(X, Y, class_weight={0: 1.0, 7: 2.0}, verbose=0),
        ValueError, r"class_weight names the class 7.*\[0, 3\)"),
    "class_weight non-integer key": (
        "sparse_categorical_crossentropy",
        lambda m: m.fit(X, Y, class_weight={"cat": 1.0}, verbose=0),
        ValueError, r"class_weight keys must be integer class indices.*'cat'"),
    "callbacks not a list": (
        "sparse_categorical_crossentropy",
        lambda m: m.fit(X, Y, callbacks=callbacks.History(), verbose=0),
        TypeError, r"callbacks must be a list.*History"),
    "x dict with unknown keys": (
        "sparse_categorical_crossentropy",
        lambda m: m.fit({"feature": X}, Y, verbose=0),
        ValueError, r"x has key\(s\) \['feature'\].*\['features'\]"),
    "NaN in Dataset targets": (
        "mse",
        lambda m: m.fit(_dataset(X, NAN_TARGETS), verbose=0),
        ValueError, r"target \(y\) data contains NaN or infinite"),
    "unbatched Dataset": (
        "sparse_categorical_crossentropy",
        lambda m: m.fit(_dataset(X, Y, batch=0), verbose=0),
        ValueError, r"single samples \(x of shape \(4,\)\).*\.batch\("),
    "evaluate: callbacks not a list": (
        "sparse_categorical_crossentropy",
        lambda m: m.evaluate(X, Y, callbacks=callbacks.History(), verbose=0),
        TypeError, r"evaluate: callbacks must be a list"),
    "evaluate: string labels": (
        "sparse_categorical_crossentropy",
        lambda m: m.evaluate(X, np.array(["a"] * 8), verbose=0),
        ValueError, r"evaluate: y holds strings"),
    "predict: unbatched Dataset": (
        "sparse_categorical_crossentropy",
        lambda m: m.predict(data.Dataset.from_tensor_slices(X), verbose=0),
        ValueError, r"predict: the dataset yields single samples"),
    "predict: x dict with unknown keys": (
        "sparse_categorical_crossentropy",
        lambda m: m.predict({"nope": X}, verbose=0),
        ValueError, r"predict: x has key\(s\) \['nope'\]"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_before_any_weight_changes(case):
    loss, call, error, message = CASES[case]
    model = _model(loss)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(error, match=message):
        call(model)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_list_of_x_y_batches_trains():
    model = _model()
    batches = [(X[:4], Y[:4]), (X[4:], Y[4:])]
    history = model.fit(batches, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    expected = _model()
    expected.fit(_dataset(X, Y), epochs=2, verbose=0, shuffle=False)
    for a, b in zip(expected.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.evaluate(batches, verbose=0) == pytest.approx(
        expected.evaluate(_dataset(X, Y), verbose=0))
