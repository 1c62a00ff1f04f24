"""nablanet.distribute: data-parallel training on MPI (issue 24).

The two-worker tests launch ``mpiexec -n 2`` (the one installed with the mpich wheel of the
``test`` extra) on the programs in ``scenarios.py``, with a timeout, and check what rank 0
wrote. The one-worker reference is computed in this process. Nothing here is skipped: a
missing mpiexec or mpi4py fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nablanet as nb
from nablanet import distribute, optimizers

HERE = Path(__file__).parent
SRC = Path(nb.__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("dist_scenarios", HERE / "scenarios.py")
assert _spec is not None and _spec.loader is not None
scenarios = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenarios)


def mpirun(scenario: str, out: Path, *args: str, timeout: float = 60,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    command = [distribute.mpiexec_path(), "-n", "2", sys.executable,
               str(HERE / "scenarios.py"), scenario, str(out), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            env=env, cwd=out.parent)
    if check and result.returncode != 0:
        pytest.fail(f"mpiexec failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


# -- one worker: no MPI at all --------------------------------------------------------------------
def test_one_worker_without_mpiexec_imports_no_mpi() -> None:
    code = ("import sys, nablanet, nablanet.distribute as d, nablanet.layers; "
            "print(d.rank(), d.size(), d.local_rank(), d.is_distributed(), "
            "'mpi4py' in sys.modules)")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")}
    env["PYTHONPATH"] = str(SRC)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60, check=True).stdout.split()
    assert out == ["0", "1", "0", "False", "False"]


def test_missing_mpi4py_names_the_install_command(monkeypatch) -> None:
    from nablanet.distribute import _runtime

    monkeypatch.setitem(sys.modules, "mpi4py", None)  # `import mpi4py` now raises
    monkeypatch.setattr(_runtime.state, "comm", None)
    with pytest.raises(ImportError, match=r"pip install 'nablanet\[mpi\]'"):
        _runtime.init()


def test_one_worker_distributed_optimizer_is_the_optimizer() -> None:
    nb.set_random_seed(0)
    ref, wrapped = optimizers.Adam(0.1, clipnorm=1.0), optimizers.Adam(0.1, clipnorm=1.0)
    assert distribute.DistributedOptimizer(wrapped) is wrapped
    assert type(wrapped) is optimizers.Adam
    a, b = nb.tensor([1.0, -2.0]), nb.tensor([1.0, -2.0])
    for _ in range(3):
        g = np.array([0.3, -4.0], np.float32)
        ref.apply([g], [a])
        wrapped.apply([g], [b])
    np.testing.assert_array_equal(a.data, b.data)
    assert optimizers.serialize(wrapped)["class_name"] == "Adam"
    with pytest.raises(TypeError, match="optimizer"):
        distribute.DistributedOptimizer("adam")


def test_shard_meaning_and_errors() -> None:
    ds = nb.data.Dataset.range(10)
    assert [int(v) for v in ds.shard(3, 0)] == [0, 3, 6, 9]
    assert ds.shard(3, 2).cardinality() == 3
    assert ds.repeat().shard(2, 1).cardinality() == nb.data.INFINITE_CARDINALITY
    with pytest.raises(ValueError, match="index=3"):
        ds.shard(3, 3)
    with pytest.raises(ValueError, match="num_shards=0"):
        ds.shard(0, 0)
    with pytest.raises(TypeError, match="index"):
        ds.shard(2, 0.5)


def test_broadcast_and_callbacks_check_root_rank() -> None:
    with pytest.raises(ValueError, match="root_rank=-1"):
        distribute.BroadcastGlobalVariablesCallback(-1)
    distribute.broadcast_variables([nb.tensor([1.0])], root_rank=0)  # one worker: nothing


# -- two workers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer,batchnorm", [("sgd", "nobn"), ("adam", "nobn"),
                                                 ("adam", "bn"), ("sgd", "bn")])
def test_two_workers_equal_one_worker(tmp_path, optimizer, batchnorm) -> None:
    """2 workers splitting each global batch of 16 train as 1 worker with batch 16 on the
    same shuffled examples (uneven last batch, sample weights, clipping, an L2 penalty,
    synchronised batch normalisation, a validation set split unevenly): same weights, same
    epoch losses and accuracies, training and validation."""
    out = tmp_path / "result.npz"
    mpirun("equivalence", out, optimizer, batchnorm)
    got = np.load(out)
    assert int(got["size"]) == 2 and bool(got["identical"])  # the workers agree bitwise
    steps = scenarios.EPOCHS * -(-scenarios.NUM_EXAMPLES // scenarios.GLOBAL_BATCH)
    # One fused allreduce per step for all the gradients; synchronised batch normalisation
    # adds two in its forward pass and one in its backward pass.
    assert int(got["allreduce_calls"]) == steps * (4 if batchnorm == "bn" else 1)
    reference = scenarios.train(optimizer, batchnorm == "bn")
    assert sorted(reference) == sorted(
        k for k in got.files if k not in ("size", "identical", "allreduce_calls"))
    for key, value in reference.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    assert not np.allclose(reference["w0"], scenarios.make_model(optimizer, batchnorm == "bn")
                           .weights[0].data)  # it did train


def test_distributed_optimizer_applies_the_average_for_every_optimizer(tmp_path) -> None:
    """Custom loop, 2 workers with different gradients: every optimizer (clipping, weight
    decay, momentum, AMSGrad included) applies exactly what one process applies with the
    mean gradient."""
    out = tmp_path / "optimizers.npz"
    mpirun("all_optimizers", out)
    got = np.load(out)
    for name in scenarios.OPTIMIZER_CASES:
        def mean_gradients(step):
            a, b = (scenarios.worker_gradients(r, step) for r in (0, 1))
            return [(x + y) / 2 for x, y in zip(a, b)]

        expected = scenarios.apply_steps(name, mean_gradients)
        for i, value in enumerate(expected):
            np.testing.assert_allclose(got[f"{name}_{i}"], value, rtol=1e-6, atol=1e-7,
                                       err_msg=name)


def test_broadcast_makes_differently_seeded_workers_identical(tmp_path) -> None:
    out = tmp_path / "broadcast.json"
    mpirun("broadcast", out)
    assert json.loads(out.read_text()) == {"different_before": True, "identical_after": True,
                                           "root_values": True}


def test_sharding_gives_disjoint_complete_epochs(tmp_path) -> None:
    out = tmp_path / "sharding.json"
    mpirun("sharding", out)
    result = json.loads(out.read_text())
    a, b = result["shards"]
    assert sorted(a + b) == list(range(23)) and not set(a) & set(b)
    # fit on arrays: every epoch, the workers see disjoint halves of the permutation one
    # worker would use, batch by batch.
    nb.set_random_seed(5)
    x = np.stack([np.arange(40), np.zeros(40)], axis=1).astype(np.float32)
    model = scenarios._Recorder()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros(40), batch_size=8, epochs=3, callbacks=[scenarios._NewEpoch()],
              verbose=0)
    first, second = result["seen"]
    for epoch, order in enumerate(model.seen):
        assert sorted(first[epoch] + second[epoch]) == list(range(40))
        merged = [v for i in range(5) for v in first[epoch][4 * i:4 * i + 4]
                  + second[epoch][4 * i:4 * i + 4]]
        assert merged == order
    assert model.seen[0] != model.seen[1]  # reshuffled every epoch


def test_only_rank_zero_writes_and_all_resume_and_stop_together(tmp_path) -> None:
    out = tmp_path / "writes.json"
    result = mpirun("rank_zero_writes", out)
    report = json.loads(out.read_text())
    zero, one = report["workers"]
    assert zero["files"] == ["backup/latest.weights.safetensors", "ckpt.weights.safetensors",
                             "log.csv"]
    assert one["files"] == [] and not any((tmp_path / "rank1").iterdir())
    # The crash came in epoch 1's on_epoch_end, before that epoch's backup (written after
    # every callback's epoch end), so both workers resume from rank 0's backup of epoch 0
    # and run epoch 1 again; EarlyStopping(min_delta=10) stops both after 0 + 1 epochs.
    assert zero["epochs"] == one["epochs"] == [1, 2]
    assert zero["history_epochs"] == [0, 1, 2]  # rank 0's History comes back from the backup
    assert report["identical"]
    progress = [line for line in result.stdout.splitlines() if "Epoch" in line]
    assert progress and all(line.startswith("Epoch") for line in progress)  # one worker only
    assert result.stdout.count("Epoch 3/6") == 1


def test_chapter_listing_runs_unchanged_under_mpiexec(tmp_path) -> None:
    """§5.2's early-stopping listing (unseeded: the workers start from different weights,
    which fit's broadcast makes equal) on 2 workers."""
    out = tmp_path / "listing.json"
    listing = HERE.parent / "compat" / "listings" / "s5_2_early_stopping.py"
    mpirun("listing", out, str(listing))
    report = json.loads(out.read_text())
    assert report["identical"] and 1 <= report["epochs"] <= 5
    assert report["keys"] == ["loss", "val_loss"]


def test_a_failing_worker_ends_all_workers_with_its_error(tmp_path) -> None:
    start = time.perf_counter()
    result = mpirun("failure", tmp_path / "none", check=False, timeout=60)
    assert time.perf_counter() - start < 30  # 100 epochs would take far longer
    assert result.returncode != 0
    assert "RuntimeError: worker 1 failed on purpose" in result.stderr
    assert "worker 1 of 2 failed" in result.stderr


@pytest.mark.parametrize("scenario,args,message", [
    ("mismatch_model", (), "disagree on the model"),
    ("mismatch_steps", (), "disagree on the number of steps per epoch"),
    ("mismatch_steps", ("unknown",), "different numbers of batches"),
])
def test_mismatched_workers_are_reported_not_deadlocked(tmp_path, scenario, args,
                                                        message) -> None:
    result = mpirun(scenario, tmp_path / "none", *args, check=False, timeout=60)
    assert result.returncode != 0
    assert message in result.stderr


def test_nablanet_run_cnn_unchanged_under_mpiexec(tmp_path) -> None:
    """``mpiexec -n 2 nablanet run cnn`` gives the one-worker results (global batch 32
    split in two), and only worker 0 prints and writes."""
    from nablanet.cli import main

    args = ["run", "cnn", "--depths", "1", "--epochs", "2", "--max-train", "30",
            "--max-test", "4", "--image-size", "24", "--dataset", "generated",
            "--threads", "1", "--verbose", "2"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [distribute.mpiexec_path(), "-n", "2", "-prepend-rank", sys.executable, "-m",
         "nablanet.cli", *args, "--out", str(tmp_path / "two")],
        capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("[0]") for line in lines if line.strip())
    assert any("2 workers" in line for line in lines)
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    one = json.loads((tmp_path / "one" / "results.json").read_text())["models"][0]
    two = json.loads((tmp_path / "two" / "results.json").read_text())["models"][0]
    for key, values in one["history"].items():
        np.testing.assert_allclose(two["history"][key], values, rtol=1e-4, err_msg=key)
    assert two["test_accuracy"] == one["test_accuracy"]
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(
        p.name for p in (tmp_path / "one").iterdir())
