"""The progress bar redraws in place inside a Jupyter notebook and stays one line per epoch in
logs (files, pipes, CI)."""

import io
import sys
import types

import numpy as np

import nablanet as nb
from nablanet import layers, models
from nablanet.callbacks.progbar import Progbar, is_dynamic_stream


class _Output:
    """Stands in for ``ipykernel.iostream.OutStream``: no terminal, but '\\r' is honoured."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass

    def isatty(self):
        return False


KernelStream = type("OutStream", (_Output,), {"__module__": "ipykernel.iostream"})


def _pretend_kernel(monkeypatch):
    """Pretend the process is a Jupyter kernel: ``ipykernel`` imported, stdout its stream.

    Called inside each test (pytest's capture replaces ``sys.stdout`` after fixtures run).
    """
    monkeypatch.setitem(sys.modules, "ipykernel", sys.modules.get("ipykernel")
                        or types.ModuleType("ipykernel"))
    stream = KernelStream()
    monkeypatch.setattr(sys, "stdout", stream)
    return stream


def _fit_two_epochs(verbose=1):
    nb.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = models.Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=8, verbose=verbose)


def test_stream_detection(monkeypatch):
    assert is_dynamic_stream(_pretend_kernel(monkeypatch))
    assert not is_dynamic_stream(io.StringIO())  # a log file opened inside the notebook
    assert not is_dynamic_stream(_Output())       # a pipe
    closed = io.StringIO()
    closed.close()
    assert not is_dynamic_stream(closed)


def test_kernel_stream_not_dynamic_without_ipykernel(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert not is_dynamic_stream(KernelStream())


def test_bar_moves_inside_an_epoch_in_a_notebook(monkeypatch):
    stream = _pretend_kernel(monkeypatch)
    # Every redraw is allowed (interval 0): the bar must be redrawn after each of the 8 steps.
    monkeypatch.setattr(Progbar.__init__, "__defaults__",
                        (30, 1, 0.0, "step", None, None))
    _fit_two_epochs()
    text = "".join(stream.parts)
    epochs = text.split("Epoch ")[1:]
    assert len(epochs) == 2
    for epoch in epochs:
        redraws = epoch.split("\r")[1:]
        assert len(redraws) == 9, epoch          # after each of the 8 steps, then the final line
        assert [r.split("/")[0] for r in redraws] == [str(i) for i in range(1, 9)] + ["8"]
        assert all("ETA:" in r for r in redraws[:8]) and "ETA" not in redraws[8]
        assert "ETA:" in redraws[0] and redraws[-1].rstrip(" ").endswith("\n")
        assert epoch.count("\n") == 2             # "Epoch i/2" and the finished line


def test_one_line_per_epoch_in_a_log(monkeypatch):
    # The same run with stdout redirected to a file: no '\r', one finished line per epoch.
    _pretend_kernel(monkeypatch)
    log = io.StringIO()
    monkeypatch.setattr(sys, "stdout", log)
    _fit_two_epochs()
    lines = log.getvalue().split("\n")
    assert "\r" not in log.getvalue()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and lines[4] == ""
    assert lines[1].startswith("8/8 [==============================] - ")
    assert len(lines) == 5
