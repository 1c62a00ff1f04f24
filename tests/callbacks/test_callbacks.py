"""Progress line format, History, and the other callbacks' semantics."""

import csv
import re

import numpy as np
import pytest

import nablanet as nb
from nablanet import callbacks, layers, losses, models, optimizers
from nablanet.callbacks.progbar import Progbar, format_value


def small_model(lr=0.05):
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(2,)), layers.Dense(3)])
    model.compile(optimizers.SGD(learning_rate=lr),
                  losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)
    return x, y


def test_value_format():
    assert format_value(0.70712) == "0.7071"
    assert format_value(2.4979e-4) == "2.4979e-04"
    assert format_value(9.3137e-05) == "9.3137e-05"
    assert format_value(1.0) == "1.0000"


LINE = re.compile(r"^4/4 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: \d\.\d{4}(e-\d\d)? - "
                  r"accuracy: \d\.\d{4} - val_loss: \d\.\d{4}(e-\d\d)? - val_accuracy: \d\.\d{4}$")


def test_progress_line_format_not_a_tty(capsys, data):
    x, y = data
    model = small_model()
    model.fit(x, y, epochs=2, batch_size=32, validation_data=(x[:20], y[:20]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert LINE.match(lines[1]), lines[1]
    assert LINE.match(lines[3]), lines[3]
    assert len(lines) == 4
    model.evaluate(x, y, batch_size=50)
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"^2/2 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: \d\.\d{4} - "
                    r"accuracy: \d\.\d{4}$", out[0]), out
    model.fit(x, y, epochs=1, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"^4/4 - \d+s - \d+(us|ms|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}$",
                    out[0]), out
    model.fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


class FakeTTY:
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass

    def isatty(self):
        return True


def test_progress_bar_redraws_in_place_on_a_terminal():
    stream = FakeTTY()
    bar = Progbar(56, stream=stream, interval=0.0)
    bar.update(53, [("loss", 8.3814e-04), ("accuracy", 1.0)], finalize=False)
    bar.update(56, [("loss", 8.2481e-04), ("accuracy", 1.0), ("val_loss", 0.0032)])
    running, final = stream.parts[0], "".join(stream.parts[1:])
    # 53/56 of 30 characters: 28 filled (27 '=' and the head '>'), 2 dots.
    assert running == ("\r53/56 [" + "=" * 27 + ">..] - ETA: 0s - loss: 8.3814e-04 "
                       "- accuracy: 1.0000")
    assert final.startswith("\r56/56 [==============================] - 0s ")
    assert final.endswith("- loss: 8.2481e-04 - accuracy: 1.0000 - val_loss: 0.0032\n")


def test_history_records_every_epoch_and_callback_hooks_order(data):
    x, y = data
    model = small_model()
    events = []
    hook = callbacks.LambdaCallback(
        on_train_begin=lambda logs: events.append("train_begin"),
        on_epoch_begin=lambda e, logs: events.append(f"epoch_begin{e}"),
        on_epoch_end=lambda e, logs: events.append(f"epoch_end{e}:{sorted(logs)}"),
        on_train_batch_end=lambda b, logs: events.append("batch"),
        on_train_end=lambda logs: events.append("train_end"),
        on_test_begin=lambda logs: events.append("test_begin"))
    history = model.fit(x, y, epochs=2, batch_size=50, validation_split=0.5,
                        callbacks=[hook], verbose=0)
    assert events == ["train_begin", "epoch_begin0", "batch", "test_begin",
                      "epoch_end0:['accuracy', 'loss', 'val_accuracy', 'val_loss']",
                      "epoch_begin1", "batch", "test_begin",
                      "epoch_end1:['accuracy', 'loss', 'val_accuracy', 'val_loss']",
                      "train_end"]
    assert history.epoch == [0, 1] and len(history.history["val_loss"]) == 2
    assert history.history["loss"][-1] == pytest.approx(
        model.evaluate(x[:50], y[:50], verbose=0)[0], abs=0.2)


def test_callback_can_stop_training_mid_epoch(data):
    x, y = data

    class StopAfter(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = small_model()
    model.fit(x, y, epochs=5, batch_size=10, callbacks=[StopAfter()], verbose=0)
    assert model.optimizer.iterations == 2


def test_terminate_on_nan(data, capsys):
    x, y = data
    model = small_model(lr=1e30)
    with np.errstate(all="ignore"):
        model.fit(x * 1e20, y, epochs=3, batch_size=10,
                  callbacks=[callbacks.TerminateOnNaN()], verbose=0)
    assert "Invalid loss, terminating training" in capsys.readouterr().out
    assert model.optimizer.iterations < 30


def test_model_checkpoint_best_only_and_templates(tmp_path, data):
    x, y = data
    model = small_model()
    path = str(tmp_path / "model-{epoch:02d}-{val_loss:.2f}.weights.safetensors")
    cb = callbacks.ModelCheckpoint(path, save_weights_only=True)
    model.fit(x, y, epochs=2, validation_data=(x, y), callbacks=[cb], verbose=0)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0].startswith("model-01-") and names[1].startswith(
        "model-02-")
    best = callbacks.ModelCheckpoint(str(tmp_path / "best.nbl"), monitor="val_loss",
                                     save_best_only=True, verbose=1)
    best.set_model(model)
    best.on_train_begin()
    saved = []
    for epoch, value in enumerate([1.0, 0.5, 0.7, 0.4]):
        model.layers[0].bias.data[...] = epoch
        best.on_epoch_end(epoch, {"val_loss": value})
        saved.append(float(models.load_model(tmp_path / "best.nbl").layers[0].bias.data[0]))
    assert saved == [0.0, 1.0, 1.0, 3.0]
    assert best.best == 0.4


def test_reduce_lr_on_plateau(data):
    model = small_model(lr=0.1)
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1,
                                     min_lr=0.02, min_delta=0.0)
    cb.set_model(model)
    cb.on_train_begin()
    lrs = []
    for epoch, value in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]):
        logs = {"val_loss": value}
        cb.on_epoch_end(epoch, logs)
        lrs.append(round(model.optimizer.learning_rate, 6))
        assert "learning_rate" in logs
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025][:2] + lrs[2:]
    assert lrs[2] == 0.05 and min(lrs) >= 0.02 and lrs[-1] == 0.02
    with pytest.raises(ValueError, match="factor"):
        callbacks.ReduceLROnPlateau(factor=1.5)


def test_learning_rate_scheduler(data):
    x, y = data
    model = small_model(lr=0.1)
    seen = []
    cb = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    spy = callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: seen.append(model.optimizer.learning_rate))
    history = model.fit(x, y, epochs=3, callbacks=[cb, spy], verbose=0)
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_csv_logger(tmp_path, data):
    x, y = data
    model = small_model()
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=2, callbacks=[callbacks.CSVLogger(path)], verbose=0)
    model.fit(x, y, epochs=1, callbacks=[callbacks.CSVLogger(path, append=True)], verbose=0)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "accuracy", "loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]


def test_backup_and_restore_resumes_interrupted_fit(tmp_path, data):
    x, y = data

    class Crash(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("power cut")

    reference = small_model()
    nb.set_random_seed(1)
    reference.fit(x, y, epochs=4, batch_size=25, shuffle=False, verbose=0)

    model = small_model()
    nb.set_random_seed(1)
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="power cut"):
        model.fit(x, y, epochs=4, batch_size=25, shuffle=False, callbacks=[backup, Crash()],
                  verbose=0)
    resumed = small_model()  # a fresh process would rebuild the model
    history = resumed.fit(x, y, epochs=4, batch_size=25, shuffle=False,
                          callbacks=[callbacks.BackupAndRestore(tmp_path / "backup")],
                          verbose=0)
    # The backup is written after every callback's on_epoch_end, so epoch 1 (whose end
    # crashed) runs again; the History of the first run is restored with the backup.
    assert history.epoch == [0, 1, 2, 3]
    for a, b in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not (tmp_path / "backup" / "latest.weights.safetensors").exists()


def test_callback_list_adds_history_and_progbar_once():
    history = callbacks.History()
    cl = callbacks.CallbackList([history], add_history=True, add_progbar=True)
    assert cl.callbacks[0] is history and isinstance(cl.callbacks[1], callbacks.ProgbarLogger)
    with pytest.raises(TypeError):
        callbacks.CallbackList([object()])
