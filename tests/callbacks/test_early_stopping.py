"""EarlyStopping driven epoch by epoch with scripted logs, against Keras 3's semantics.

The expected stopped_epoch / best_epoch values follow Keras 3's algorithm
(keras/src/callbacks/early_stopping.py): each monitored epoch increments ``wait``; an
improvement (``current - min_delta`` beating the best, sign by mode) resets it unless a
baseline is not beaten; training stops when ``wait >= patience`` and ``epoch > 0``.
"""

import numpy as np
import pytest

from nablanet import layers, models
from nablanet.callbacks import EarlyStopping


def drive(callback, values, monitor="val_loss"):
    """Run the callback over scripted values; the model's weight encodes the epoch."""
    model = models.Sequential([layers.Input(shape=(1,)), layers.Dense(1)])
    # mode='auto' learns an accuracy's direction from the compiled metric, as in Keras.
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    callback.set_model(model)
    callback.on_train_begin()
    epochs_run = 0
    for epoch, value in enumerate(values):
        model.layers[0].kernel.data[...] = epoch
        callback.on_epoch_end(epoch, {monitor: value})
        epochs_run += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return model, epochs_run


def restored_epoch(model):
    return int(model.layers[0].kernel.data[0, 0])


def test_chapter_configuration_stops_and_restores(capsys):
    # §7.4: monitor val_loss, min_delta=0.001, patience=3, restore_best_weights.
    values = [0.2209, 0.0240, 0.0148, 0.0062, 0.0042, 0.0039, 0.0041, 0.0032, 0.001]
    cb = EarlyStopping(monitor="val_loss", min_delta=0.001, patience=3, verbose=1,
                       mode="auto", restore_best_weights=True)
    model, run = drive(cb, values)
    # 0.0042 (epoch 4) is the last improvement by more than 0.001; epochs 5, 6, 7 do not
    # improve on it by min_delta, so training stops at epoch index 7 ("Epoch 8").
    assert (cb.best_epoch, cb.stopped_epoch, run) == (4, 7, 8)
    assert restored_epoch(model) == 4
    out = capsys.readouterr().out
    assert out == ("Epoch 8: early stopping\n"
                   "Restoring model weights from the end of the best epoch: 5.\n")


def test_patience_zero_stops_at_first_non_improvement():
    cb = EarlyStopping(monitor="loss", patience=0)
    _, run = drive(cb, [1.0, 0.9, 0.95, 0.5], monitor="loss")
    assert (cb.stopped_epoch, run) == (2, 3)


def test_first_epoch_never_stops():
    cb = EarlyStopping(patience=0)
    _, run = drive(cb, [1.0, 0.5])
    assert cb.stopped_epoch == 0 and run == 2


def test_mode_max_inferred_for_accuracy():
    cb = EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)
    model, run = drive(cb, [0.5, 0.7, 0.6, 0.65, 0.9], monitor="val_accuracy")
    assert cb.monitor_op is np.greater
    assert (cb.best_epoch, cb.stopped_epoch, run) == (1, 2, 3)
    assert restored_epoch(model) == 1


def test_explicit_mode_min_on_accuracy_name():
    cb = EarlyStopping(monitor="val_accuracy", mode="min", patience=1)
    _, run = drive(cb, [0.5, 0.7], monitor="val_accuracy")
    assert run == 2 and cb.stopped_epoch == 1


def test_baseline_not_beaten_stops_after_patience_and_restores_best():
    cb = EarlyStopping(monitor="val_loss", baseline=0.1, patience=2, restore_best_weights=True)
    model, run = drive(cb, [0.5, 0.4, 0.45, 0.3])
    # Improvements that do not beat the baseline do not reset the wait counter (but an
    # improving epoch returns before the stop check, as in Keras).
    assert (cb.stopped_epoch, run) == (2, 3)
    assert cb.best_epoch == 1 and restored_epoch(model) == 1


def test_baseline_beaten_resets_wait():
    cb = EarlyStopping(baseline=0.6, patience=2)
    _, run = drive(cb, [0.5, 0.55, 0.56, 0.57, 0.58])
    assert (cb.stopped_epoch, run) == (2, 3)


def test_start_from_epoch_skips_warmup():
    cb = EarlyStopping(patience=0, start_from_epoch=3, restore_best_weights=True)
    model, run = drive(cb, [5.0, 6.0, 7.0, 1.0, 2.0])
    assert (cb.best_epoch, cb.stopped_epoch, run) == (3, 4, 5)
    assert restored_epoch(model) == 3


def test_restore_at_end_even_without_early_stop():
    cb = EarlyStopping(patience=10, restore_best_weights=True)
    model, run = drive(cb, [0.5, 0.2, 0.3, 0.4])
    assert cb.stopped_epoch == 0 and run == 4
    assert restored_epoch(model) == 1


def test_min_delta_counts_small_changes_as_no_improvement():
    cb = EarlyStopping(min_delta=0.1, patience=1)
    _, run = drive(cb, [1.0, 0.95, 0.92])
    assert (cb.best_epoch, cb.stopped_epoch, run) == (0, 1, 2)


def test_missing_monitor_warns_and_continues():
    cb = EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match="not available"):
        _, run = drive(cb, [1.0, 2.0, 3.0], monitor="loss")
    assert run == 3


def test_reuse_resets_state_between_fits():
    cb = EarlyStopping(patience=1)
    drive(cb, [0.1, 0.2, 0.3])
    _, run = drive(cb, [5.0, 4.0, 3.0])
    assert cb.stopped_epoch == 0 and run == 3


def test_in_fit_with_a_real_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype(np.float32)
    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    cb = EarlyStopping(monitor="loss", patience=2, min_delta=10.0)
    history = model.fit(x, x[:, :1], epochs=20, callbacks=[cb], verbose=0)
    assert len(history.history["loss"]) == 3 and cb.stopped_epoch == 2
