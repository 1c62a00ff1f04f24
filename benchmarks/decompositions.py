"""nablanet vs TensorLy: CP, Tucker and tensor-train decompositions on the same tensors.

Run from the repository root::

    python benchmarks/decompositions.py [--repeats 3] [--size 150] [--seed 0]

Each case times nablanet and TensorLy (NumPy backend) on the same noisy low-rank tensor in
this one process, the two taking turns after a warm-up run of each (``timing.py``), and
prints the best of ``--repeats`` runs each, the median over turns of the time ratio
nablanet / TensorLy (the figure to quote: the machines here are shared and timings are
noisy), and both relative errors. A ratio below 1 means nablanet is faster; "error ok" says
nablanet's error is no worse than TensorLy's (up to 1e-6 relative; the randomised cases draw
different samples on each side, so there it is up to 1e-3 relative).

Cases (TensorLy's defaults: ``parafac`` init='svd', tol=1e-8, n_iter_max=100; ``tucker``
tol=1e-4, n_iter_max=100):

- CP rank 10 on a 150^3 tensor: nablanet's defaults against TensorLy's defaults, then
  'svd' against 'svd' and 'random' against 'random' (same tol and n_iter_max);
- Tucker ranks (10, 10, 10) on 150^3: HOOI with TensorLy's tol (1e-4) on both sides, and
  with nablanet's default tol (1e-8) on both sides;
- TT ranks 8 on a 12^5 tensor;
- non-negative CP rank 10 on a non-negative 100^3 tensor, multiplicative updates and HALS
  (TensorLy's defaults: init='svd', n_iter_max=100, tol 1e-6 / 1e-7);
- non-negative Tucker ranks (10, 10, 10) on 100^3, multiplicative updates (n_iter_max=100)
  and HALS + FISTA (TensorLy's defaults);
- randomised CP rank 10 on 150^3, 1000 samples per update, n_iter_max=50, tol=0;
- partial Tucker of modes 1 and 2, ranks (10, 10), on 150^3;
- TT-matrix rank 16 of a 512 x 512 matrix tensorised as 8^6.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorly as tl
from tensorly import decomposition as tld
from tensorly.decomposition import parafac
from tensorly.decomposition import tensor_train as tl_tensor_train
from tensorly.decomposition import tucker as tl_tucker
from timing import StealMeter, take_turns

from nablanet import tensor_algebra as ta
from nablanet.tensor_algebra import cp, random_cp, random_tt, random_tucker, tensor_train, tucker


def _noisy(tensor: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(tensor.shape)
    return tensor + level * noise * np.linalg.norm(tensor) / np.linalg.norm(noise)


def _relative(tensor: np.ndarray, approximation: np.ndarray) -> float:
    return float(np.linalg.norm(tensor - approximation) / np.linalg.norm(tensor))


def _keeping(results: dict[str, Any], key: str, fn: Callable[[], Any]) -> Callable[[], None]:
    """``fn`` that also stores its last result in ``results[key]``."""
    return lambda: results.__setitem__(key, fn())


def _cases(size: int, seed: int) -> list[tuple[str, Callable[[], Any], Callable[[], Any],
                                               np.ndarray, Callable[[Any], np.ndarray]]]:
    # The data use other seeds than the algorithms' random initialisations.
    data_seed = seed + 1000
    rng = np.random.default_rng(data_seed)
    shape3 = (size, size, size)
    cp_tensor = _noisy(random_cp(shape3, 10, random_state=data_seed).to_dense(), 0.1, rng)
    tucker_tensor = _noisy(random_tucker(shape3, 10, random_state=data_seed).to_dense(), 0.1,
                           rng)
    tt_tensor = _noisy(random_tt((12,) * 5, 8, random_state=data_seed).to_dense(), 0.1, rng)

    def cp_dense(result: Any) -> np.ndarray:
        return tl.cp_to_tensor(result) if not hasattr(result, "to_dense") else result.to_dense()

    def tucker_dense(result: Any) -> np.ndarray:
        return tl.tucker_to_tensor(result) if not hasattr(result, "to_dense") else \
            result.to_dense()

    def tt_dense(result: Any) -> np.ndarray:
        return tl.tt_to_tensor(result) if not hasattr(result, "to_dense") else result.to_dense()

    t = cp_tensor
    cases = [
        (f"CP rank 10, {size}^3: nablanet defaults vs TensorLy defaults",
         lambda: cp(t, 10, random_state=seed),
         lambda: parafac(t, 10, random_state=seed), t, cp_dense),
        (f"CP rank 10, {size}^3: init='svd' both",
         lambda: cp(t, 10, init="svd", random_state=seed),
         lambda: parafac(t, 10, init="svd", random_state=seed), t, cp_dense),
        (f"CP rank 10, {size}^3: init='random' both",
         lambda: cp(t, 10, init="random", random_state=seed),
         lambda: parafac(t, 10, init="random", random_state=seed), t, cp_dense),
    ]
    u = tucker_tensor
    cases += [
        (f"Tucker (10,10,10), {size}^3: HOOI, tol=1e-4 (TensorLy's default) both",
         lambda: tucker(u, (10, 10, 10), tol=1e-4),
         lambda: tl_tucker(u, (10, 10, 10)), u, tucker_dense),
        (f"Tucker (10,10,10), {size}^3: HOOI, tol=1e-8 both",
         lambda: tucker(u, (10, 10, 10), tol=1e-8),
         lambda: tl_tucker(u, (10, 10, 10), tol=1e-8), u, tucker_dense),
    ]
    v = tt_tensor
    cases += [
        ("TT ranks 8, 12^5",
         lambda: tensor_train(v, 8),
         lambda: tl_tensor_train(v, 8), v, tt_dense),
    ]

    small = max(size * 2 // 3, 10)
    positive = np.abs(random_cp((small,) * 3, 10, random_state=data_seed).to_dense())
    positive = positive + 0.1 * rng.random(positive.shape) * positive.mean()
    nn_tucker_tensor = np.abs(random_tucker((small,) * 3, 10, orthogonal=False,
                                            random_state=data_seed).to_dense())
    p, q = positive, nn_tucker_tensor
    cases += [
        (f"non-negative CP rank 10, {small}^3: multiplicative updates",
         lambda: ta.non_negative_parafac(p, 10), lambda: tld.non_negative_parafac(p, 10),
         p, cp_dense),
        (f"non-negative CP rank 10, {small}^3: HALS",
         lambda: ta.non_negative_parafac_hals(p, 10),
         lambda: tld.non_negative_parafac_hals(p, 10), p, cp_dense),
        (f"non-negative Tucker (10,10,10), {small}^3: MU, n_iter_max=100",
         lambda: ta.non_negative_tucker(q, [10, 10, 10], n_iter_max=100),
         lambda: tld.non_negative_tucker(q, [10, 10, 10], n_iter_max=100), q, tucker_dense),
        (f"non-negative Tucker (10,10,10), {small}^3: HALS + FISTA",
         lambda: ta.non_negative_tucker_hals(q, [10, 10, 10]),
         lambda: tld.non_negative_tucker_hals(q, [10, 10, 10]), q, tucker_dense),
        (f"randomised CP rank 10, {size}^3: 1000 samples, 50 sweeps",
         lambda: ta.randomised_parafac(t, 10, 1000, n_iter_max=50, tol=0, random_state=seed),
         lambda: tld.randomised_parafac(t, 10, 1000, n_iter_max=50, tol=0, random_state=seed),
         t, cp_dense),
        (f"partial Tucker modes (1, 2), ranks (10, 10), {size}^3",
         lambda: ta.partial_tucker(u, [10, 10], modes=[1, 2]),
         lambda: tld.partial_tucker(u, [10, 10], modes=[1, 2]), u, partial_dense),
    ]
    matrix = _noisy(random_tt((8,) * 6, 16, random_state=data_seed).to_dense(), 0.01, rng)
    cases += [
        ("TT-matrix rank 16, 512 x 512 as (8,8,8) x (8,8,8)",
         lambda: ta.tensor_train_matrix(matrix, 16),
         lambda: tld.tensor_train_matrix(matrix, 16), matrix, tt_matrix_dense),
    ]
    return cases


def partial_dense(result: Any) -> np.ndarray:
    (core, factors), _ = result
    return np.asarray(ta.multi_mode_dot(core, factors, modes=[1, 2]))


def tt_matrix_dense(result: Any) -> np.ndarray:
    return result.to_dense() if isinstance(result, ta.TTMatrix) else \
        tl.tt_matrix_to_tensor(result)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--size", type=int, default=150, help="side of the cubic tensors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=None, metavar="WORD",
                        help="run only the cases whose name contains one of these words")
    args = parser.parse_args(argv)
    tl.set_backend("numpy")
    threads = os.environ.get("OMP_NUM_THREADS") or os.environ.get("OPENBLAS_NUM_THREADS")
    print(f"numpy {np.__version__}, tensorly {tl.__version__}, python {sys.version.split()[0]},"
          f" {os.cpu_count()} CPUs, BLAS threads={threads or 'default'}, best of {args.repeats}")
    header = f"{'case':<66} {'nablanet s':>10} {'TensorLy s':>10} {'ratio':>6} " \
             f"{'err nablanet':>13} {'err TensorLy':>13}  error ok"
    print(header)
    print("-" * len(header))
    worst = 0.0
    steal = StealMeter()
    for name, ours, theirs, tensor, dense in _cases(args.size, args.seed):
        if args.only and not any(word in name for word in args.only):
            continue
        results: dict[str, Any] = {}
        timings = take_turns(
            [_keeping(results, "ours", ours), _keeping(results, "theirs", theirs)],
            args.repeats, turn=1)
        t_ours, t_theirs = timings.best
        r_ours, r_theirs = results["ours"], results["theirs"]
        e_ours = _relative(tensor, dense(r_ours))
        e_theirs = _relative(tensor, dense(r_theirs))
        ratio = timings.ratio()
        worst = max(worst, ratio)
        slack = 1e-3 if "randomised" in name else 1e-6
        ok = "yes" if e_ours <= e_theirs * (1 + slack) else "NO"
        print(f"{name:<66} {t_ours:>10.4f} {t_theirs:>10.4f} {ratio:>6.3f} "
              f"{e_ours:>13.8f} {e_theirs:>13.8f}  {ok}", flush=True)
    print(f"worst median ratio: {worst:.3f} (target <= 0.5)")
    print(steal.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
