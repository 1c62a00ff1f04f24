"""Worker programs for the MPI tests: ``mpiexec -n 2 python scenarios.py <name> <out> [args]``.

Each scenario runs on every worker; rank 0 writes what the test checks to ``<out>`` (an
``.npz`` or ``.json`` file). ``train`` is also imported by the tests and run in one process
to give the one-worker reference.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

import nablanet as nb
from nablanet import callbacks, layers, models, optimizers, regularizers
from nablanet import distribute as dist

NUM_EXAMPLES = 53  # 3 batches of 16 and a last one of 5 (split 2 + 3: unequal shares)
GLOBAL_BATCH = 16
EPOCHS = 2


def make_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(NUM_EXAMPLES, 6, 6, 2)).astype(np.float32)
    y = rng.integers(0, 3, NUM_EXAMPLES)
    return x, y


def make_optimizer(name: str) -> Any:
    if name == "sgd":  # momentum, global clipping, plus an L2 penalty in the model
        return optimizers.SGD(0.05, momentum=0.9, global_clipnorm=1.0)
    if name == "adam":
        return optimizers.Adam(0.01, clipnorm=0.5)
    raise ValueError(name)


def make_model(optimizer: str, batchnorm: bool, seed: int = 0) -> Any:
    nb.set_random_seed(seed)
    # Before batch normalisation a bias has a zero gradient up to rounding, which Adam would
    # blow up to steps of size lr; so no bias there (the usual practice).
    stack: list[Any] = [layers.Input(shape=(6, 6, 2)), layers.Conv2D(4, 3, use_bias=not batchnorm)]
    if batchnorm:
        stack.append(layers.BatchNormalization(synchronized=True, momentum=0.5))
    stack += [layers.Activation("relu"), layers.Flatten(),
              layers.Dense(3, kernel_regularizer=regularizers.L2(0.01))]
    model = models.Sequential(stack)
    model.compile(optimizer=make_optimizer(optimizer),
                  loss=nb.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def train(optimizer: str, batchnorm: bool) -> dict[str, Any]:
    """Two epochs of shuffled, sample-weighted training on the fixed data, global batch 16,
    validated on 11 examples."""
    x, y = make_data()
    model = make_model(optimizer, batchnorm)
    weights = np.linspace(0.5, 1.5, NUM_EXAMPLES).astype(np.float32)
    history = model.fit(x, y, sample_weight=weights, batch_size=GLOBAL_BATCH, epochs=EPOCHS,
                        shuffle=True, verbose=0, validation_data=(x[:11], y[:11]))
    out = {f"w{i}": w.data for i, w in enumerate(model.weights)}
    for key, values in history.history.items():
        out[f"h_{key}"] = np.asarray(values)
    return out


def equivalence(out: Path, optimizer: str, batchnorm: str) -> None:
    dist.init()
    result = train(optimizer, batchnorm == "bn")
    gathered = dist._runtime.comm().allgather([result[k] for k in sorted(result)])
    identical = all(np.array_equal(a, b) for other in gathered[1:]
                    for a, b in zip(gathered[0], other))
    if dist.rank() == 0:
        np.savez(out, identical=identical, size=dist.size(),
                 allreduce_calls=dist.allreduce_seconds()[1], **result)


OPTIMIZER_CASES = {
    "SGD": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipvalue=0.3),
    "Adagrad": lambda: optimizers.Adagrad(0.1, clipnorm=1.0),
    "RMSprop": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "Adadelta": lambda: optimizers.Adadelta(1.0),
    "Adam": lambda: optimizers.Adam(0.01, amsgrad=True, global_clipnorm=2.0),
    "AdamW": lambda: optimizers.AdamW(0.01, weight_decay=0.1),
    "Nadam": lambda: optimizers.Nadam(0.01),
}


def worker_gradients(worker: int, step: int) -> list[np.ndarray]:
    rng = np.random.default_rng([worker, step])
    return [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)]


def apply_steps(name: str, grads_of_step: Any, steps: int = 3) -> list[np.ndarray]:
    """``steps`` updates of two variables from ``grads_of_step(step)``."""
    variables = [nb.tensor(np.linspace(-1, 1, 12).reshape(3, 4)), nb.tensor(np.ones(4))]
    opt = OPTIMIZER_CASES[name]()
    if dist.size() > 1:
        opt = dist.DistributedOptimizer(opt)
    for step in range(steps):
        opt.apply_gradients(zip(grads_of_step(step), variables))
    return [v.data for v in variables]


def all_optimizers(out: Path) -> None:
    """A custom loop: each worker its own gradients; every optimizer."""
    result = {name: apply_steps(name, lambda step: worker_gradients(dist.rank(), step))
              for name in OPTIMIZER_CASES}
    if dist.rank() == 0:
        np.savez(out, **{f"{k}_{i}": v for k, vs in result.items() for i, v in enumerate(vs)})


def broadcast(out: Path) -> None:
    model = make_model("adam", False, seed=100 + dist.rank())  # differently seeded workers
    before = dist._runtime.comm().allgather(model.weights[0].data.copy())
    dist.broadcast_variables(model.weights, root_rank=1)
    after = dist._runtime.comm().allgather([w.data.copy() for w in model.weights])
    if dist.rank() == 0:
        json.dump({"different_before": not np.array_equal(before[0], before[1]),
                   "identical_after": all(np.array_equal(a, b)
                                          for a, b in zip(after[0], after[1])),
                   "root_values": bool(np.array_equal(after[0][0], before[1]))}, open(out, "w"))


class _Recorder(models.Model):
    """A model whose training step records the example ids (column 0) it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.dense = layers.Dense(1)
        self.seen: list[list[int]] = []

    def call(self, x: Any, training: bool = False) -> Any:
        return self.dense(x)

    def train_step(self, data: Any) -> dict[str, Any]:
        x, _ = data
        self.seen[-1].extend(int(v) for v in x.data[:, 0])
        return {}


class _NewEpoch(callbacks.Callback):
    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.model.seen.append([])


def sharding(out: Path) -> None:
    shards = dist._runtime.comm().allgather(
        [int(v) for v in nb.data.Dataset.range(23).shard(dist.size(), dist.rank())])
    nb.set_random_seed(5)
    x = np.stack([np.arange(40), np.zeros(40)], axis=1).astype(np.float32)
    model = _Recorder()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros(40), batch_size=8, epochs=3, callbacks=[_NewEpoch()], verbose=0)
    seen = dist._runtime.comm().allgather(model.seen)
    if dist.rank() == 0:
        json.dump({"shards": shards, "seen": seen}, open(out, "w"))


def rank_zero_writes(out: Path) -> None:
    """Checkpoints, CSV logs, backups and progress only from rank 0; EarlyStopping stops
    every worker at the same epoch; a second fit resumes every worker from rank 0's
    backup."""
    x, y = make_data()
    mine = out.parent / f"rank{dist.rank()}"
    mine.mkdir(exist_ok=True)

    class Interrupt(callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if epoch == 1:
                raise KeyboardInterrupt  # stands for a crash after epoch 1's backup

    model = make_model("adam", False)
    backup = callbacks.BackupAndRestore(mine / "backup")
    try:
        model.fit(x, y, batch_size=16, epochs=6, verbose=1,
                  callbacks=[backup, callbacks.CSVLogger(mine / "log.csv"), Interrupt(),
                             callbacks.ModelCheckpoint(mine / "ckpt.weights.safetensors",
                                                       save_weights_only=True,
                                                       monitor="loss")])
    except KeyboardInterrupt:
        pass
    files_after_first = sorted(str(p.relative_to(mine)) for p in mine.rglob("*") if p.is_file())
    # The resumed run: a fresh model, differently seeded on each worker.
    model = make_model("adam", False, seed=dist.rank() + 3)
    ran: list[int] = []
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=2,
                        callbacks=[callbacks.BackupAndRestore(mine / "backup"),
                                   callbacks.EarlyStopping(monitor="loss", patience=0,
                                                           min_delta=10.0),
                                   callbacks.LambdaCallback(
                                       on_epoch_begin=lambda epoch, logs: ran.append(epoch))])
    weights = dist._runtime.comm().allgather([w.data for w in model.weights])
    report = dist._runtime.comm().allgather({
        "files": files_after_first, "epochs_run": len(history.history["loss"]),
        "epochs": ran, "history_epochs": history.epoch})
    if dist.rank() == 0:
        json.dump({"workers": report,
                   "identical": all(np.array_equal(a, b) for a, b in zip(*weights))},
                  open(out, "w"))


def listing(out: Path, path: str) -> None:
    """One of the chapter's listings, unchanged; the workers must end identical."""
    import runpy

    g = runpy.run_path(path, run_name="__main__")
    weights = dist._runtime.comm().allgather([w.data for w in g["model"].weights])
    if dist.rank() == 0:
        json.dump({"identical": all(np.array_equal(a, b) for a, b in zip(*weights)),
                   "epochs": len(g["history"].history["loss"]),
                   "keys": sorted(g["history"].history)}, open(out, "w"))


def failure(out: Path) -> None:
    x, y = make_data()
    model = make_model("sgd", False)

    class Fail(callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if dist.rank() == 1 and batch == 1:
                raise RuntimeError("worker 1 failed on purpose")

    model.fit(x, y, batch_size=16, epochs=100, verbose=0, callbacks=[Fail()])


def mismatch_model(out: Path) -> None:
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3 + dist.rank())])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 4), np.float32), np.ones((8, 3 + dist.rank()), np.float32),
              verbose=0)


def mismatch_steps(out: Path, rest_unknown: str = "") -> None:
    nb.set_random_seed(0)
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    n = 16 + 8 * dist.rank()  # each worker its own data, of different lengths
    data = nb.data.Dataset.from_tensor_slices(
        (np.full((n, 4), dist.rank(), np.float32), np.ones((n, 1), np.float32))).batch(8)
    if rest_unknown:  # a filter hides the length: found out step by step instead
        data = data.filter(lambda x, y: True)
    model.fit(data, verbose=0)


if __name__ == "__main__":
    name, target, *rest = sys.argv[1:]
    os.environ.setdefault("MPLBACKEND", "Agg")
    globals()[name](Path(target), *rest)
