"""nablanet against PyTorch eager and TensorFlow's compiled Keras step, one workload at a time.

A step is one training step (forward, loss, backward, one Adam update with Keras's defaults)
of the same model from the same initial weights, on the same batch, with the same number of
threads in every framework: nablanet's ``train_on_batch``, PyTorch eager (NCHW for the CNNs),
and Keras 3 on TensorFlow's ``train_on_batch``, which runs the step as a compiled
``tf.function`` graph (oneDNN kernels). Workloads:

* ``rps-1conv``, ``rps-4conv``, ``mnist``: the chapter's CNNs (``cnn.py``);
* ``small-batch8``: rps-4conv on a batch of 8; ``small-64px``: rps-4conv on 64×64 images;
* ``mlp``: Dense 784-512-512-10 (relu), batch 128;
* ``lstm``: LSTM(128) over T=50 steps of 32 features, then Dense 10; batch 32.

Modes (the machine is shared: every figure is a median of interleaved turns):

* default: the three frameworks in this process, taking turns (``timing.py``); best step of
  each and the median per-turn ratio. nablanet's ``train_on_batch`` keeps its freed memory
  for the next call (its default); the others run as they come.
* ``--fresh N``: each framework in its own fresh process, N rounds, the frameworks' processes
  interleaved within a round; each process times ``--repeats`` steps after two warm-up steps
  and reports its median step and peak RSS. nablanet's process trains inside
  ``freed_memory_kept`` (what ``Model.fit`` does); the others run as they come.
* ``--scaling``: rps-4conv in fresh processes at 8, 32 and 128 images of 128 px and at 64,
  128 and 256 px with 32 images: median step, peak RSS, and the per-image RSS slope.
* ``--fit``: a user's own ``model.fit`` (rps-4conv, 8 steps an epoch) in fresh processes:
  the library's default, the ``nablanet`` command's process-wide ``keep_freed_memory``, and
  the default switched off (``utils.FIT_KEEPS_FREED_MEMORY = False``, the old behaviour).
* ``--import-order``: each framework's step in fresh processes where the other frameworks
  (and SciPy; for nablanet also a small training run) are imported before it or after it.

Keras 3 on JAX (``jax``, optional): Keras picks its backend once, when it is imported, and
the TensorFlow column has already imported it on TensorFlow, so JAX runs only in the
``--fresh`` comparison, in processes of its own started with ``KERAS_BACKEND=jax``; in the
other modes its column is left out with a note. Its step is ``train_on_batch``, a ``jax.jit``
compiled function (XLA's CPU backend). JAX's threads are set before it is imported: the process
is restricted to N cores (XLA sizes its pools to the cores it may use; at one thread also
``XLA_FLAGS`` without Eigen's thread pool), so that JAX, unlike the others, runs pinned.

For the CNNs the table gives GFLOP/s (multiply-adds of the convolutions and dense layers,
forward and backward, x2; no input gradient for the first layer) and the percentage of the
float32 GEMM peak measured with a 4096×4096 ``np.matmul`` at the same thread count.

TensorFlow is not a dependency: run the script with the Python of a separate virtual
environment that has it (``benchmarks/README.md``) to get its column; without it the column
is skipped and the script says so.

Usage::

    python benchmarks/frameworks.py rps-4conv mnist          # interleaved, this process
    python benchmarks/frameworks.py rps-4conv --fresh 5      # fresh processes (+ JAX)
    python benchmarks/frameworks.py --scaling --fresh 3
    python benchmarks/frameworks.py --fit --fresh 5
    python benchmarks/frameworks.py rps-4conv --import-order --fresh 3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
from cnn import MODELS, build_nablanet, build_torch, torch_step
from timing import StealMeter, take_turns

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up messages
HERE = os.path.dirname(os.path.abspath(__file__))
FRAMEWORKS = ("nablanet", "torch", "tensorflow", "jax")
WORKLOADS: dict[str, dict[str, Any]] = {
    **{name: {"kind": "cnn", **spec} for name, spec in MODELS.items()},
    "small-batch8": {"kind": "cnn", **MODELS["rps-4conv"], "batch": 8},
    "small-64px": {"kind": "cnn", **MODELS["rps-4conv"], "input": (64, 64, 3)},
    "mlp": {"kind": "mlp", "input": (784,), "batch": 128, "units": (512, 512), "classes": 10},
    "lstm": {"kind": "lstm", "input": (50, 32), "batch": 32, "units": 128, "classes": 10},
}


def has_tensorflow() -> bool:
    return importlib.util.find_spec("tensorflow") is not None


def has_jax() -> bool:
    """Whether Keras 3 and JAX are both installed (the ``jax`` column)."""
    return all(importlib.util.find_spec(m) is not None for m in ("jax", "keras"))


def limit_jax_threads(threads: int) -> None:
    """Give JAX (XLA's CPU backend) ``threads`` threads; call before JAX is imported."""
    os.environ["KERAS_BACKEND"] = "jax"
    if threads == 1:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()
    if threads < len(os.sched_getaffinity(0)):  # (the flags alone left XLA on 1.5 cores)
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])


def batch(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((spec["batch"], *spec["input"]), dtype=np.float32)
    return x, rng.integers(0, spec["classes"], spec["batch"])


# -- the same model in each framework ----------------------------------------------------------

def build_keras(spec: dict[str, Any], keras: Any = None) -> Any:
    """The workload's model in nablanet, or in Keras (``keras`` given), compiled."""
    if spec["kind"] == "cnn":
        return build_nablanet(spec, keras)
    if keras is None:
        import nablanet as keras
    layers = keras.layers
    stack: list[Any] = [layers.Input(shape=spec["input"])]
    if spec["kind"] == "mlp":
        stack += [layers.Dense(units, activation="relu") for units in spec["units"]]
    else:
        stack.append(layers.LSTM(spec["units"]))
    model = keras.models.Sequential([*stack, layers.Dense(spec["classes"])])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def build_pytorch(spec: dict[str, Any], weights: list[np.ndarray]) -> Any:
    """The workload's model in PyTorch with the Keras-layout ``weights``."""
    import torch
    from torch import nn

    if spec["kind"] == "cnn":
        return build_torch(spec, SimpleNamespace(get_weights=lambda: weights))
    if spec["kind"] == "mlp":
        sizes = [spec["input"][0], *spec["units"], spec["classes"]]
        modules: list[nn.Module] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            modules += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        net = nn.Sequential(*modules[:-1])
        linears = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for k, linear in enumerate(linears):
                linear.weight.copy_(torch.from_numpy(weights[2 * k].T.copy()))
                linear.bias.copy_(torch.from_numpy(weights[2 * k + 1]))
        return net
    return _TorchLSTM(spec, weights)


def _TorchLSTM(spec: dict[str, Any], weights: list[np.ndarray]) -> Any:  # noqa: N802
    import torch
    from torch import nn

    class LSTMClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(spec["input"][1], spec["units"], batch_first=True)
            self.dense = nn.Linear(spec["units"], spec["classes"])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dense(self.lstm(x)[0][:, -1])

    net = LSTMClassifier()
    kernel, recurrent, bias, dense, dense_bias = weights  # Keras: gates i, f, c, o as torch's
    with torch.no_grad():
        net.lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        net.lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        net.lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        net.lstm.bias_hh_l0.zero_()
        net.dense.weight.copy_(torch.from_numpy(dense.T.copy()))
        net.dense.bias.copy_(torch.from_numpy(dense_bias))
    return net


def make_step(framework: str, spec: dict[str, Any], weights: list[np.ndarray],
              threads: int) -> Any:
    """A function running one training step of ``framework``, its threads limited."""
    x, y = batch(spec)
    if framework == "nablanet":
        from nablanet.utils import limit_threads

        limit_threads(threads)
        model = build_keras(spec)
        model.set_weights(weights)
        return lambda: model.train_on_batch(x, y)
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        net = build_pytorch(spec, weights)
        return torch_step(net, x, y, images=spec["kind"] == "cnn")
    if framework == "jax":
        limit_jax_threads(threads)
        import keras

        if keras.backend.backend() != "jax":
            raise RuntimeError("Keras was imported on another backend before the JAX step: "
                               "JAX runs only in a fresh process (--fresh)")
        model = build_keras(spec, keras)
        model.set_weights(weights)
        return lambda: model.train_on_batch(x, y)
    import keras
    import tensorflow as tf

    if not tf.config.threading.get_intra_op_parallelism_threads():
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    model = build_keras(spec, keras)
    model.set_weights(weights)
    return lambda: model.train_on_batch(x, y)


def initial_weights(spec: dict[str, Any]) -> list[np.ndarray]:
    import nablanet as nb

    nb.set_random_seed(0)
    return build_keras(spec).get_weights()


def step_flops(spec: dict[str, Any]) -> float:
    """Floating-point operations of a CNN training step's convolutions and dense layers."""
    h, w, c = spec["input"]
    n, total, first = spec["batch"], 0.0, True
    for filters in spec["convs"]:
        h, w = h - 2, w - 2
        total += 2 * n * h * w * 9 * c * filters * (2 if first else 3)
        c, h, w, first = filters, h // 2, w // 2, False
    total += 2 * n * (h * w * c * spec["dense"] + spec["dense"] * spec["classes"]) * 3
    return total


def gemm_peak(threads: int, size: int = 4096) -> float:
    """float32 GFLOP/s of a large ``np.matmul`` with NumPy's BLAS limited to ``threads``."""
    from nablanet.utils import limit_threads

    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    with limit_threads(threads):
        a @ a
        best = min(_timed(lambda: a @ a) for _ in range(5))
    return 2 * size ** 3 / best / 1e9


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- one framework in a fresh process (the worker) ---------------------------------------------

def _import_others(framework: str) -> None:
    """Import the other frameworks and SciPy; for nablanet, also train a small model."""
    import scipy.linalg  # noqa: F401 - SciPy brings its own OpenBLAS

    if framework != "torch":
        import torch  # noqa: F401
    if framework != "tensorflow" and has_tensorflow():
        import tensorflow  # noqa: F401
    if framework != "nablanet":
        import nablanet as nb

        model = build_keras(WORKLOADS["mlp"])
        model.fit(np.zeros((8, 784), np.float32), np.zeros(8), verbose=0)
        del nb


def worker(args: argparse.Namespace) -> None:
    spec = dict(WORKLOADS[args.worker_workload])
    spec.update(json.loads(args.worker_spec))
    if args.worker_others == "before":
        _import_others(args.worker)
    weights = list(np.load(args.worker_weights).values())
    step = make_step(args.worker, spec, weights, args.threads)
    if args.worker_others == "after":
        _import_others(args.worker)
    block: Any = None
    if args.worker == "nablanet":
        from nablanet.utils import freed_memory_kept

        block = freed_memory_kept()  # what Model.fit does while it trains
    step()
    step()
    times = [_timed(step) for _ in range(args.repeats)]
    if block is not None:
        block.restore()
    print(json.dumps({"median": statistics.median(times), "best": min(times),
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def fresh(framework: str, workload: str, weights_file: str, args: argparse.Namespace,
          spec: dict[str, Any] | None = None, others: str = "none") -> dict[str, float]:
    command = [sys.executable, os.path.abspath(__file__), "--worker", framework,
               "--worker-workload", workload, "--worker-weights", weights_file,
               "--worker-spec", json.dumps(spec or {}), "--worker-others", others,
               "--threads", str(args.threads), "--repeats", str(args.repeats)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{framework} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def save_weights(spec: dict[str, Any], folder: str, name: str) -> str:
    path = os.path.join(folder, f"{name}.npz")
    weights = initial_weights(spec)
    np.savez(path, **{f"w{k:03d}": w for k, w in enumerate(weights)})
    return path


# -- the modes ---------------------------------------------------------------------------------

def _ratio(rounds: list[dict[str, dict[str, float]]], a: str, b: str, key: str = "median"
           ) -> float:
    return statistics.median(r[a][key] / r[b][key] for r in rounds)


def _flops_columns(spec: dict[str, Any], seconds: float, peak: float) -> str:
    if spec["kind"] != "cnn":
        return ""
    gflops = step_flops(spec) / seconds / 1e9
    return f" {gflops:7.0f} {100 * gflops / peak:5.0f}%"


def compare(args: argparse.Namespace, frameworks: list[str], peak: float) -> None:
    header = "".join(f"{f:>12}" for f in frameworks)
    ratios = "".join(f"{'nb/' + f[:5]:>11}" for f in frameworks[1:])
    where = (f"fresh processes, median of {args.fresh} rounds of each process's median step"
             if args.fresh else f"this process, best of {args.repeats} steps, ratios by turn")
    print(f"{where}; nablanet GFLOP/s and % of the GEMM peak for the CNNs")
    print(f"{'workload':<13}{header}{ratios}  {'GFLOP/s':>7} {'peak':>5}")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.workloads:
            spec = WORKLOADS[name]
            if args.fresh:
                path = save_weights(spec, folder, name)
                rounds = [{f: fresh(f, name, path, args) for f in frameworks}
                          for _ in range(args.fresh)]
                times = [statistics.median(r[f]["median"] for r in rounds) for f in frameworks]
                by_turn = [_ratio(rounds, "nablanet", f) for f in frameworks[1:]]
            else:
                weights = initial_weights(spec)
                steps = [make_step(f, spec, weights, args.threads) for f in frameworks]
                timings = take_turns(steps, args.repeats)
                times = timings.best
                by_turn = [timings.ratio(0, k) for k in range(1, len(frameworks))]
            print(f"{name:<13}" + "".join(f"{t * 1e3:10.1f}ms" for t in times)
                  + "".join(f"{r:10.2f}x" for r in by_turn) + " "
                  + _flops_columns(spec, times[0], peak))


def scaling(args: argparse.Namespace, frameworks: list[str]) -> None:
    base = WORKLOADS["rps-4conv"]
    sizes = [{"batch": b} for b in (8, 32, 128)] + [{"input": (p, p, 3)} for p in (64, 256)]
    print(f"rps-4conv in fresh processes, median of {args.fresh} rounds: step ms / peak RSS MB")
    print(f"{'batch x px':<12}" + "".join(f"{f:>20}" for f in frameworks))
    rss: dict[str, dict[int, float]] = {f: {} for f in frameworks}
    with tempfile.TemporaryDirectory() as folder:
        for change in sizes:
            spec = {**base, **change}
            path = save_weights(spec, folder, "scaling")
            rounds = [{f: fresh(f, "rps-4conv", path, args, change) for f in frameworks}
                      for _ in range(args.fresh)]
            cells = []
            for f in frameworks:
                step = statistics.median(r[f]["median"] for r in rounds)
                peak = statistics.median(r[f]["rss_mb"] for r in rounds)
                if "batch" in change:
                    rss[f][spec["batch"]] = peak
                cells.append(f"{step * 1e3:9.1f} / {peak:6.0f}")
            print(f"{spec['batch']:>4} x {spec['input'][0]:<5}" + "".join(f"{c:>20}"
                                                                          for c in cells))
    slopes = {f: (rss[f][128] - rss[f][8]) / 120 for f in frameworks}
    print("peak RSS per image (MB, batch 8 -> 128): " + ", ".join(
        f"{f} {s:.2f}" for f, s in slopes.items())
          + f"; nablanet / torch {slopes['nablanet'] / slopes['torch']:.2f}")


_FIT_SCRIPT = """
import resource, statistics, sys, time
import numpy as np
sys.path.insert(0, {here!r})
from frameworks import WORKLOADS, build_keras
from nablanet import utils
from nablanet.callbacks import LambdaCallback
if sys.argv[1] == "cli":
    utils.keep_freed_memory()  # what the nablanet command does at start-up
elif sys.argv[1] == "off":
    utils.FIT_KEEPS_FREED_MEMORY = False
utils.limit_threads(int(sys.argv[2]))
spec = WORKLOADS["rps-4conv"]
rng = np.random.default_rng(0)
x = rng.random((256, *spec["input"]), dtype=np.float32)
y = rng.integers(0, spec["classes"], 256)
model = build_keras(spec)
model.fit(x[:64], y[:64], batch_size=32, verbose=0)  # numba compilation, first allocations
steps, faults = [], []

def begin(*_):
    steps.append(time.perf_counter())
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)

def end(*_):
    steps[-1] = time.perf_counter() - steps[-1]
    faults[-1] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults[-1]

clock = LambdaCallback(on_train_batch_begin=begin, on_train_batch_end=end)
start = time.perf_counter()
model.fit(x, y, batch_size=32, epochs={epochs}, verbose=0, callbacks=[clock])
whole = time.perf_counter() - start
print(whole, statistics.median(steps[8:]), statistics.median(faults[8:]))
"""


def fit_vs_cli(args: argparse.Namespace) -> None:
    script = _FIT_SCRIPT.format(here=HERE, epochs=3)
    variants = ("fit", "cli", "off")
    rounds = []
    for _ in range(args.fresh):
        row = {}
        for variant in variants:
            done = subprocess.run([sys.executable, "-c", script, variant, str(args.threads)],
                                  capture_output=True, text=True, check=True)
            row[variant] = [float(v) for v in done.stdout.split()[-3:]]
        rounds.append(row)
    print(f"a user's model.fit(epochs=3), rps-4conv, 8 steps of 32 an epoch, one fresh process "
          f"each, median of {args.fresh} interleaved rounds: the whole fit, the median step "
          f"and minor page faults per step after the first epoch; ratios to the command by round")
    for variant, label in zip(variants, ("library default (fit keeps freed memory)",
                                         "keep_freed_memory() first (the nablanet command)",
                                         "FIT_KEEPS_FREED_MEMORY = False (before)"),
                              strict=True):
        fit, step = (f"{statistics.median(r[variant][k] for r in rounds) * scale:7.0f} ms "
                     f"{statistics.median(r[variant][k] / r['cli'][k] for r in rounds):5.2f}x"
                     for k, scale in ((0, 1e3), (1, 1e3)))
        faults = statistics.median(r[variant][2] for r in rounds)
        print(f"  {label:<50} fit {fit}; step {step}; {faults:6.0f} faults/step")


def import_order(args: argparse.Namespace, frameworks: list[str]) -> None:
    name = args.workloads[0]
    print(f"{name}: each framework's median step in fresh processes, the other frameworks and "
          f"SciPy imported before / after it; median of {args.fresh} interleaved rounds")
    with tempfile.TemporaryDirectory() as folder:
        path = save_weights(WORKLOADS[name], folder, name)
        for f in frameworks:
            # the two orders swap places from one round to the next, so that neither
            # always runs first (right after another framework's process)
            rounds = [{order: fresh(f, name, path, args, others=order)
                       for order in (("before", "after"), ("after", "before"))[k % 2]}
                      for k in range(args.fresh)]
            before, after = (statistics.median(r[o]["median"] for r in rounds)
                             for o in ("before", "after"))
            print(f"  {f:<11} others before {before * 1e3:7.1f} ms, after {after * 1e3:7.1f} ms, "
                  f"before/after by round {_ratio(rounds, 'before', 'after'):.2f}x")


def machine(threads: int) -> str:
    import threadpoolctl

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from nablanet.utils import numpy_blas

    blas = numpy_blas()
    kernel = (f"{blas.internal_api} {blas.version} {blas.architecture}" if blas is not None
              else "unknown BLAS")
    libs = len(threadpoolctl.threadpool_info())
    return (f"CPU: {model}, {os.cpu_count()} cores; NumPy's BLAS: {kernel} "
            f"({libs} thread pools loaded); threads: {threads}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", metavar="workload",
                        help=f"any of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--fresh", type=int, default=0,
                        help="rounds of fresh processes, one per framework (0: this process)")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--import-order", action="store_true")
    parser.add_argument("--frameworks", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS))
    for hidden in ("worker", "worker-workload", "worker-weights", "worker-spec",
                   "worker-others"):
        parser.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    if args.worker:
        worker(args)
        return 0
    frameworks = list(args.frameworks)
    if "tensorflow" in frameworks and not has_tensorflow():
        print("TensorFlow is not installed in this Python: skipping its column "
              "(see benchmarks/README.md for its virtual environment)")
        frameworks.remove("tensorflow")
    if "jax" in frameworks and not has_jax():
        print("Keras 3 with JAX is not installed in this Python: skipping the JAX column "
              "(see benchmarks/README.md)")
        frameworks.remove("jax")
    elif "jax" in frameworks and (not args.fresh or args.scaling or args.fit
                                  or args.import_order):
        print("JAX runs only in the --fresh comparison (Keras picks its backend at import): "
              "skipping the JAX column")
        frameworks.remove("jax")
    if (args.scaling or args.fit or args.import_order) and not args.fresh:
        args.fresh = 3
    print(machine(args.threads))
    steal = StealMeter()
    if args.fit:
        fit_vs_cli(args)
    elif args.scaling:
        scaling(args, frameworks)
    elif args.import_order:
        args.workloads = args.workloads or ["rps-4conv"]
        import_order(args, frameworks)
    else:
        args.workloads = args.workloads or list(WORKLOADS)
        peak = gemm_peak(args.threads)
        print(f"float32 GEMM peak (4096^3 np.matmul, {args.threads} threads): {peak:.0f} GFLOP/s")
        compare(args, frameworks, peak)
    print(steal.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
