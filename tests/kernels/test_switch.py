"""The kernel switch (NABLANET_KERNELS, nablanet.set_kernels) and running without numba."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nablanet as nb
from nablanet.functional import conv2d
from nablanet.kernels import registry
from nablanet.kernels.registry import get_kernels, set_kernels, use_kernels

SRC = str(Path(nb.__file__).resolve().parents[1])

# A small CNN and LSTM training step, run in a fresh interpreter.
STEP = """
import sys
import numpy as np
import nablanet as nb
from nablanet import layers, models
from nablanet.kernels import _numba, registry
nb.set_random_seed(0)
cnn = models.Sequential([layers.Input((12, 12, 3)), layers.Conv2D(4, 3, activation="relu"),
                         layers.MaxPooling2D(), layers.Flatten(), layers.Dense(2)])
cnn.compile("sgd", "sparse_categorical_crossentropy")  # (Adam's fused pass: optimizers/)
x = np.random.default_rng(0).standard_normal((8, 12, 12, 3)).astype("float32")
y = np.arange(8) % 2
loss = cnn.train_on_batch(x, y)
rnn = models.Sequential([layers.Input((5, 3)), layers.LSTM(4), layers.Dense(1)])
rnn.compile("sgd", "mse")
rnn.train_on_batch(x[:, :5, :3, 0], y.astype("float32"))
loaded = "numba" in sys.modules
print(registry.get_kernels(), _numba.numba_module() is None, loaded, np.isfinite(loss))
"""


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": SRC, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, timeout=300, check=False)


def test_set_get_and_context_manager() -> None:
    before = get_kernels()
    with use_kernels("reference"):
        assert get_kernels() == "reference" and nb.get_kernels() == "reference"
        assert registry.lookup("conv2d") is None
        with use_kernels("fast"):
            assert registry.lookup("conv2d") is not None
        assert get_kernels() == "reference"
    assert get_kernels() == before
    with pytest.raises(ValueError, match="mode must be 'fast' or 'reference'. Received: "
                                         "mode='numba'"):
        set_kernels("numba")
    assert get_kernels() == before


def test_switch_chooses_the_primitive() -> None:
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((3, 3, 3, 4)).astype(np.float32)
    with use_kernels("fast"):
        fast = conv2d(nb.tensor(x, requires_grad=True), w)
    with use_kernels("reference"):
        reference = conv2d(nb.tensor(x, requires_grad=True), w)
    assert type(fast.grad_fn).__module__ == "nablanet.kernels.conv"
    assert type(reference.grad_fn) is nb.ops.conv.Conv2D
    np.testing.assert_allclose(fast.data, reference.data, rtol=1e-5, atol=1e-5)


def test_register_refuses_a_second_kernel_for_a_primitive() -> None:
    registry.registered()
    with pytest.raises(ValueError, match="a fast kernel for 'conv2d' is already registered"):
        registry.register("conv2d")(lambda *a, **k: None)


def test_environment_variable_chooses_the_reference_and_numba_stays_unloaded() -> None:
    result = _run(STEP, NABLANET_KERNELS="reference")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["reference", "False", "False", "True"]


def test_bad_environment_variable_is_a_clear_error() -> None:
    result = _run("import nablanet.ops", NABLANET_KERNELS="turbo")
    assert result.returncode != 0
    assert "NABLANET_KERNELS must be 'fast' or 'reference'. Received: " \
           "NABLANET_KERNELS='turbo'" in result.stderr


@pytest.mark.parametrize("mode", ["fast", "reference"])
def test_runs_without_numba_installed(mode: str) -> None:
    """numba made unimportable (as when it is not installed): both settings train."""
    result = _run("import sys; sys.modules['numba'] = None\n" + STEP, NABLANET_KERNELS=mode)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [mode, "True", "True", "True"]  # (the None entry)
