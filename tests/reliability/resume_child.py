"""One training run for the kill-and-resume tests (run as a separate process).

``python resume_child.py WORKDIR`` trains a tiny model with shuffling, dropout, a batch-level
``BackupAndRestore``, ``EarlyStopping(restore_best_weights=True)``,
``ModelCheckpoint(save_best_only=True)``, ``ReduceLROnPlateau`` and ``CSVLogger``, and when
training ends writes ``WORKDIR/result.json``: hashes of the final weights and of the best
checkpoint file, the History, the CSV text and the optimizer's final state.

Environment (set by the test):

* ``KILL_AFTER_S`` -- a timer thread sends SIGKILL to this process that many seconds after
  ``fit`` starts (a random point of training);
* ``KILL_IN_WRITE`` -- SIGKILL in the middle of the N-th file write of this process (half
  the bytes written), i.e. while a backup or checkpoint is being saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading

import numpy as np


def main(workdir: str) -> None:
    import nablanet as nb
    from nablanet import callbacks, layers, models
    from nablanet.models import saving
    from nablanet.utils import limit_threads

    limit_threads(1)
    kill_in_write = int(os.environ.get("KILL_IN_WRITE", "0"))
    if kill_in_write:
        original = saving._write_chunks
        writes = [0]

        def dying_write(handle, data):  # type: ignore[no-untyped-def]
            writes[0] += 1
            if writes[0] == kill_in_write:
                handle.write(bytes(data[: len(data) // 2]))
                handle.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            original(handle, data)

        saving._write_chunks = dying_write

    nb.set_random_seed(3)
    data = np.random.default_rng(0)
    x = data.standard_normal((48, 6)).astype(np.float32)
    y = data.integers(0, 3, 48)
    x_val = data.standard_normal((24, 6)).astype(np.float32)
    y_val = data.integers(0, 3, 24)
    model = models.Sequential([layers.Input((6,)), layers.Dense(24, activation="relu"),
                               layers.Dropout(0.3), layers.Dense(3, activation="softmax")])
    model.compile(nb.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    best = os.path.join(workdir, "best.weights.safetensors")
    cbs = [
        callbacks.BackupAndRestore(os.path.join(workdir, "backup"), save_freq=2),
        callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True),
        callbacks.ModelCheckpoint(best, monitor="val_loss", save_best_only=True,
                                  save_weights_only=True),
        callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1),
        callbacks.CSVLogger(os.path.join(workdir, "log.csv"), append=False),
    ]
    delay = float(os.environ.get("KILL_AFTER_S", "0"))
    if delay > 0:
        timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()
    import time

    start = time.perf_counter()
    history = model.fit(x, y, batch_size=8, epochs=15, validation_data=(x_val, y_val),
                        callbacks=cbs, verbose=0)
    seconds = time.perf_counter() - start

    def digest(arrays: list[np.ndarray]) -> str:
        return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes()
                                       for a in arrays)).hexdigest()

    with open(os.path.join(workdir, "log.csv"), encoding="utf-8") as handle:
        csv_text = handle.read()
    with open(best, "rb") as handle:
        best_file = hashlib.sha256(handle.read()).hexdigest()
    result = {
        "weights": digest(model.get_weights()),
        "optimizer": digest(list(model.optimizer.get_state().values())),
        "learning_rate": float(model.optimizer.learning_rate),
        "history": history.history, "epochs": history.epoch,
        "best_file": best_file, "csv": csv_text, "fit_seconds": seconds,
        "backup_left": os.path.exists(os.path.join(workdir, "backup")) and bool(
            os.listdir(os.path.join(workdir, "backup"))),
    }
    tmp = os.path.join(workdir, "result.json.part")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(tmp, os.path.join(workdir, "result.json"))


if __name__ == "__main__":
    main(sys.argv[1])
