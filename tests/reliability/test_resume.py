"""Killed and resumed training equals uninterrupted training, bit for bit.

Each trial runs ``resume_child.py`` (shuffling, dropout, a BackupAndRestore every 2 batches,
EarlyStopping with restore_best_weights, ModelCheckpoint(save_best_only), ReduceLROnPlateau,
CSVLogger) in fresh processes killed with SIGKILL -- at random moments of training, or in
the middle of writing a file (a backup or a checkpoint) -- and restarted until it finishes.
The final weights, optimizer state, learning rate, History, CSV log and best-checkpoint file
must equal those of a run that was never interrupted, and no temporary file may be left.

The number of trials is ``NABLANET_RELIABILITY_TRIALS`` (3 by default, for CI; raise it for
a longer local run, e.g. ``NABLANET_RELIABILITY_TRIALS=40``).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nablanet import callbacks, layers, models

CHILD = Path(__file__).with_name("resume_child.py")
SRC = str(Path(__file__).resolve().parents[2] / "src")
TRIALS = int(os.environ.get("NABLANET_RELIABILITY_TRIALS", "3"))


def _run(workdir: Path, **env_extra: object) -> int:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update({k: str(v) for k, v in env_extra.items()})
    done = subprocess.run([sys.executable, str(CHILD), str(workdir)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode in (0, -9), done.stderr[-3000:]
    return done.returncode


def _result(workdir: Path) -> dict:
    result = json.loads((workdir / "result.json").read_text())
    result.pop("fit_seconds")
    return result


def _trial(workdir: Path, seed: int, fit_seconds: float) -> tuple[dict, list[str]]:
    rng = random.Random(seed)
    workdir.mkdir()
    kills = []
    for attempt in range(3):
        if attempt == 0 and seed % 2:
            kill = {"KILL_IN_WRITE": rng.randint(1, 8)}  # mid-write of a backup/checkpoint
        else:
            kill = {"KILL_AFTER_S": round(rng.uniform(0.01, fit_seconds), 3)}
        kills.append(f"{kill} -> {_run(workdir, **kill)}")
        if (workdir / "result.json").exists():
            break
    if not (workdir / "result.json").exists():
        assert _run(workdir) == 0
    return _result(workdir), kills


def test_killed_and_resumed_runs_equal_the_uninterrupted_run(tmp_path):
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    assert _run(reference_dir) == 0
    fit_seconds = json.loads((reference_dir / "result.json").read_text())["fit_seconds"]
    reference = _result(reference_dir)
    assert len(reference["epochs"]) < 15  # EarlyStopping stopped the run
    assert not reference["backup_left"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        trials = list(pool.map(lambda k: (k, *_trial(tmp_path / f"trial{k}", k, fit_seconds)),
                               range(TRIALS)))
    for k, result, kills in trials:
        different = [key for key in reference if result[key] != reference[key]]
        assert not different, f"trial {k} ({kills}) differs in {different}"
        left = [name for _, _, files in os.walk(tmp_path / f"trial{k}") for name in files
                if name.endswith(".tmp")]
        assert not left, f"trial {k} ({kills}) left temporary files {left}"


def _model(seed_layer: bool = False):
    from nablanet import set_random_seed

    set_random_seed(0)
    model = models.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                               layers.Dropout(0.5, seed=5 if seed_layer else None),
                               layers.Dense(1)])
    model.compile("adam", "mse")
    return model


@pytest.mark.parametrize("seed_layer", [False, True])
def test_resume_inside_an_epoch_skips_applied_batches(tmp_path, seed_layer):
    """In one process: a crash in batch 5 of epoch 1 resumes at batch 5, with the shuffle
    order, dropout masks (global or a layer's own generator) and running metrics of the
    uninterrupted run."""
    data = np.random.default_rng(1)
    x = data.standard_normal((40, 4)).astype(np.float32)
    y = data.standard_normal((40, 1)).astype(np.float32)
    reference = _model(seed_layer)
    expected = reference.fit(x, y, batch_size=4, epochs=3, verbose=0)

    class Crash(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == 5:
                raise KeyboardInterrupt

    model = _model(seed_layer)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[
            callbacks.BackupAndRestore(tmp_path, save_freq=1), Crash()])
    seen = []
    spy = callbacks.LambdaCallback(on_train_batch_begin=lambda b, logs: seen.append(b))
    resumed = _model(seed_layer)
    resumed.build((None, 4))
    got = resumed.fit(x, y, batch_size=4, epochs=3, verbose=0,
                      callbacks=[callbacks.BackupAndRestore(tmp_path, save_freq=1), spy])
    # The crash came in batch 5's on_train_batch_end, before its backup: batches 0-4 of
    # epoch 1 are not replayed, batch 5 runs again from the state before it.
    assert seen[:4] == [5, 6, 7, 8]
    assert got.history == expected.history
    for a, b in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
