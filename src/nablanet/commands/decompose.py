"""``nablanet decompose FILE.npy --method cp|tucker|tt --rank ...``.

Decomposes a tensor stored in a ``.npy`` file with CP, Tucker or tensor-train at one or more
ranks and prints, for each, the relative reconstruction error, the number of parameters and
the compression ratio (entries of the full tensor per parameter). Runs that take longer than
a second report their progress (iteration and current error) on standard error. ``--output``
saves the last decomposition as a ``.npz`` file.

Examples::

    nablanet decompose video.npy --method cp --rank 5 10 20
    nablanet decompose video.npy --method tucker --rank 8,16,16
    nablanet decompose video.npy --method tt --eps 0.05
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

from nablanet.tensor_algebra import cp, tensor_train, tucker

_METHODS = ("cp", "tucker", "tt")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's arguments on ``parser``."""
    parser.add_argument("file", help="a .npy file holding a real tensor of order >= 2")
    parser.add_argument("--method", choices=_METHODS, required=True,
                        help="cp (rank R), tucker (ranks per mode) or tt (tensor-train ranks)")
    parser.add_argument("--rank", nargs="+", default=None, metavar="RANK",
                        help="one or more ranks, each an int or comma-separated per-mode ranks "
                             "(Tucker: R1,R2,...; TT: the N-1 inner ranks); one line per rank")
    parser.add_argument("--eps", type=float, default=None,
                        help="tt only: relative accuracy that chooses the ranks")
    parser.add_argument("--init", choices=("random", "svd"), default="random",
                        help="cp only: initialisation (default: random)")
    parser.add_argument("--tucker-method", choices=("hooi", "hosvd"), default="hooi",
                        help="tucker only: HOOI (default) or truncated HOSVD")
    parser.add_argument("--n-iter-max", type=int, default=100,
                        help="cp/tucker: maximum number of iterations (default: 100)")
    parser.add_argument("--tol", type=float, default=1e-8,
                        help="cp/tucker: stop when the error changes by less (default: 1e-8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", "--output", dest="output", default=None,
                        help="save the last decomposition to this .npz file (default: none)")
    parser.add_argument("--quiet", action="store_true", help="no progress reports")


class _Progress:
    """Reports ``iteration / n_iter_max`` and the error, only once a run passes ``delay`` s."""

    def __init__(self, label: str, total: int, enabled: bool, delay: float = 1.0) -> None:
        self.label, self.total, self.enabled, self.delay = label, total, enabled, delay
        self.start = time.perf_counter()
        self.last = self.start
        self.shown = False
        self.tty = sys.stderr.isatty()

    def __call__(self, iteration: int, error: float) -> None:
        now = time.perf_counter()
        if not self.enabled or now - self.start < self.delay or now - self.last < 0.5:
            return
        self.last = now
        self.shown = True
        line = (f"  {self.label}: iteration {iteration}/{self.total}, "
                f"relative error {error:.6g}, {now - self.start:.1f} s")
        sys.stderr.write(("\r" + line) if self.tty else (line + "\n"))
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _parse_rank(text: str) -> int | tuple[int, ...]:
    parts = [p for p in text.split(",") if p.strip()]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"decompose: --rank takes integers or comma-separated integers. "
                         f"Received: {text!r}") from None
    if not values:
        raise ValueError(f"decompose: empty rank. Received: {text!r}")
    return values[0] if len(values) == 1 else values


def _save(path: str, result: Any, method: str) -> None:
    arrays: dict[str, np.ndarray] = {}
    if method == "cp":
        arrays["weights"] = result.weights
        arrays.update({f"factor_{k}": f for k, f in enumerate(result.factors)})
    elif method == "tucker":
        arrays["core"] = result.core
        arrays.update({f"factor_{k}": f for k, f in enumerate(result.factors)})
    else:
        arrays.update({f"core_{k}": c for k, c in enumerate(result.cores)})
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.tmp.npz")
    arrays["method"] = np.array(method)
    savez: Any = np.savez  # (its typed keywords would clash with the array names for mypy)
    savez(temporary, **arrays)
    os.replace(temporary, path)


def main(args: argparse.Namespace) -> int:
    """Run the command; returns the process exit status (0 success, 2 bad input)."""
    try:
        return _run(args)
    except (ValueError, OSError) as error:
        print(f"nablanet decompose: error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    tensor = np.load(args.file, allow_pickle=False)
    if args.method != "tt" and args.eps is not None:
        raise ValueError(f"--eps applies to --method tt only. Received: --method {args.method}")
    if args.rank is None and not (args.method == "tt" and args.eps is not None):
        raise ValueError("--rank is required (or --eps with --method tt)")
    ranks: list[Any] = [_parse_rank(r) for r in args.rank] if args.rank else [None]
    print(f"{args.file}: shape {tensor.shape}, {tensor.dtype}, {tensor.size} entries")
    header = f"{'method':<7} {'rank':<16} {'rel. error':>12} {'parameters':>11} " \
             f"{'compression':>12} {'time':>9}"
    print(header)
    result: Any = None
    for rank in ranks:
        label = f"{args.method} rank {rank}" if rank is not None else f"tt eps {args.eps}"
        progress = _Progress(label, args.n_iter_max, not args.quiet)
        start = time.perf_counter()
        if args.method == "cp":
            if not isinstance(rank, int):
                raise ValueError(f"cp takes a single integer rank. Received: --rank {rank}")
            result = cp(tensor, rank, n_iter_max=args.n_iter_max, tol=args.tol, init=args.init,
                        random_state=args.seed, callback=progress)
        elif args.method == "tucker":
            result = tucker(tensor, rank, method=args.tucker_method,
                            n_iter_max=args.n_iter_max, tol=args.tol, callback=progress)
        else:
            result = tensor_train(tensor, rank, eps=args.eps)
        elapsed = time.perf_counter() - start
        progress.close()
        error = result.relative_error(tensor)
        shown = rank if rank is not None else f"eps={args.eps}"
        if args.method != "cp":
            shown = ",".join(str(r) for r in (result.ranks if args.method == "tucker"
                                               else result.ranks[1:-1]))
        print(f"{args.method:<7} {shown!s:<16} {error:>12.6g} {result.n_parameters:>11d} "
              f"{result.compression_ratio():>11.1f}x {elapsed:>8.3f}s")
    if args.output and result is not None:
        _save(args.output, result, args.method)
        print(f"saved {args.method} decomposition to {args.output}")
    return 0
