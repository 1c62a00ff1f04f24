"""Same seed + same thread count => bit-identical training, whatever else is loaded.

SciPy's wheels load a second OpenBLAS next to NumPy's, and threadpoolctl lists the two in an
order that follows ``PYTHONHASHSEED``. Thread control must own the BLAS NumPy itself calls
(and limit every BLAS alike), so fresh processes that differ only in their hash seed train to
the same bits. The training runs in fresh processes (``determinism_child.py``).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

CHILD = Path(__file__).with_name("determinism_child.py")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _train(hash_seed: int, threads: int) -> dict:
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed),
               PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, str(CHILD), str(threads)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("threads", [2, 1])
def test_fresh_processes_with_scipy_are_bit_identical(threads):
    # Hash seeds 0-2 and 3-5 list the two OpenBLAS libraries in opposite orders (CPython
    # 3.11, NumPy 2.4 and SciPy wheels): with the wrong one under control they differ.
    seeds = [0, 3, 1, 4] if threads == 2 else [0, 3]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda s: _train(s, threads), seeds))
    first = runs[0]
    assert first["split_threads"] == threads  # the batch-split code saw the limit
    for seed, run in zip(seeds, runs):
        assert run["weights"] == first["weights"], f"PYTHONHASHSEED={seed} trained other weights"
        assert run["history"] == first["history"], f"PYTHONHASHSEED={seed}: other History"


def test_numpy_blas_is_the_library_numpy_links():
    import scipy.linalg  # noqa: F401 - loads SciPy's own OpenBLAS

    from nablanet.utils import numpy_blas

    controller = numpy_blas()
    assert controller is not None
    numpy_dir = os.path.realpath(os.path.dirname(np.__file__))
    path = os.path.realpath(controller.filepath)
    assert path.startswith((numpy_dir + os.sep, numpy_dir + ".libs" + os.sep)), path


def _numpy_blas_threads() -> int:
    """NumPy's own BLAS thread limit, found without nablanet's help."""
    from threadpoolctl import threadpool_info

    numpy_dir = os.path.realpath(os.path.dirname(np.__file__))
    for lib in threadpool_info():
        if os.path.realpath(lib["filepath"]).startswith((numpy_dir + os.sep,
                                                         numpy_dir + ".libs" + os.sep)):
            return int(lib["num_threads"])
    pytest.fail("NumPy's BLAS is not among threadpoolctl's libraries")


def test_limit_survives_garbage_collection():
    from nablanet.utils import limit_threads

    before = _numpy_blas_threads()
    limiter = limit_threads(1)
    limiter.__enter__()
    del limiter
    gc.collect()
    try:
        assert _numpy_blas_threads() == 1
    finally:
        with limit_threads(before):
            pass
        limit_threads(before)
    assert _numpy_blas_threads() == before


def test_context_restores_every_blas():
    from threadpoolctl import threadpool_info

    from nablanet.utils import limit_threads

    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    with limit_threads(1):
        inside = [lib["num_threads"] for lib in threadpool_info()
                  if lib["user_api"] == "blas"]
    after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert inside == [1] * len(inside)
    assert after == before


def test_limit_threads_never_starts_numbas_threading_layer():
    code = (
        "import numpy as np, numba\n"
        "from numba.np.ufunc import parallel\n"
        "import nablanet as nb\n"
        "from nablanet import layers, models\n"
        "from nablanet.utils import limit_threads\n"
        "with limit_threads(2):\n"
        "    m = models.Sequential([layers.Input((5, 3)), layers.LSTM(8), layers.Dense(1)])\n"
        "    m.compile('adam', 'mse')\n"
        "    m.fit(np.ones((16, 5, 3), np.float32), np.ones((16, 1), np.float32), verbose=0)\n"
        "print(parallel._is_initialized)\n"
    )
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "False"
