"""Importing nablanet and training leaves other frameworks' threads alone, in either order.

Each order runs in a fresh process: torch imported before nablanet, or after nablanet has
trained. nablanet must not start numba's threading layer (whose OpenMP runtime would then be
the one torch finds), nor change torch's thread counts, and torch keeps its own OpenMP
library. The speed side of the same question is ``benchmarks/frameworks.py --import-order``.
"""

import json
import os
import subprocess
import sys

import pytest

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "src")

_TRAIN = """
import numpy as np
import nablanet as nb
from nablanet import layers, models
for stack, shape in (([layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
                       layers.Flatten()], (8, 8, 3)), ([layers.LSTM(8)], (5, 3))):
    model = models.Sequential([layers.Input(shape), *stack, layers.Dense(2)])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.ones((16, *shape), np.float32), np.zeros(16), verbose=0)
"""

_CHILD = """
import json, sys
from threadpoolctl import threadpool_info
torch_first = sys.argv[1] == "torch-first"
if torch_first:
    import torch
    before = (torch.get_num_threads(), torch.get_num_interop_threads())
exec(TRAIN)
if not torch_first:
    import torch
    before = None
import numba
try:
    numba.threading_layer()
    layer = "started"
except ValueError as error:
    layer = str(error)
openmp = [lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "openmp"]
print(json.dumps({"before": before, "after": (torch.get_num_threads(),
                  torch.get_num_interop_threads()), "layer": layer, "openmp": openmp,
                  "torch_dir": torch.__path__[0]}))
"""


def _run(code, *args):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def torch_alone():
    """torch's thread counts in a fresh process that imports nothing else."""
    return _run("import json, torch\n"
                "print(json.dumps([torch.get_num_threads(), torch.get_num_interop_threads()]))")


@pytest.mark.parametrize("order", ["torch-first", "nablanet-first"])
def test_training_leaves_torch_and_numba_threads_alone(order, torch_alone):
    out = _run(f"TRAIN = {_TRAIN!r}\n" + _CHILD, order)
    assert out["layer"] == "Threading layer is not initialized."
    assert out["after"] == torch_alone
    if out["before"] is not None:
        assert out["before"] == out["after"]
    # the only OpenMP runtime loaded is the one torch ships (not one numba brought first)
    assert out["openmp"], "torch's OpenMP runtime not found"
    assert all(path.startswith(out["torch_dir"]) for path in out["openmp"]), out["openmp"]
