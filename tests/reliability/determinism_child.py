"""One training run for ``test_determinism.py`` (run as a fresh process).

``python determinism_child.py THREADS`` imports SciPy first (a second OpenBLAS), trains a
small CNN with shuffling and dropout under ``limit_threads(THREADS)`` and prints one JSON
line: a hash of the final weights, the History, and the thread count the batch-split code
used.
"""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
import scipy.linalg  # noqa: F401 - loads SciPy's OpenBLAS before nablanet


def main(threads: int) -> None:
    import nablanet as nb
    from nablanet import layers, models
    from nablanet.kernels.threads import worker_count
    from nablanet.utils import limit_threads

    nb.set_random_seed(7)
    data = np.random.default_rng(0)
    x = data.random((128, 20, 20, 3), dtype=np.float32)
    y = data.integers(0, 3, 128)
    with limit_threads(threads):
        model = models.Sequential([
            layers.Input((20, 20, 3)), layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(), layers.Conv2D(16, 3, activation="relu"), layers.Flatten(),
            layers.Dropout(0.3), layers.Dense(32, activation="relu"),
            layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=64, epochs=2, verbose=0)
        split = worker_count()
    digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
    print(json.dumps({"weights": digest, "history": history.history, "split_threads": split}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
