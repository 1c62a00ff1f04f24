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
import math
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
    """Run the command; returns the process exit status (0 success, 2 bad input).

    Every user error -- a missing, foreign or truncated file, an ``.npz`` archive, a tensor
    or a rank too large for the available memory, a bad rank -- ends with one line on
    standard error and status 2.
    """
    try:
        return _run(args)
    except (ValueError, OSError) as error:
        print(f"nablanet decompose: error: {error}", file=sys.stderr)
        return 2
    except MemoryError as error:
        print(f"nablanet decompose: error: out of memory ({error})", file=sys.stderr)
        return 2


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _gb(nbytes: int) -> str:
    return f"{nbytes / 1e9:.3g} GB"


def _check_fits(what: str, nbytes: int) -> None:
    free = available_memory()
    if free is not None and nbytes > free:
        raise ValueError(f"{what} needs about {_gb(nbytes)} of memory; {_gb(free)} is "
                         "available.")


def _load_tensor(path: str) -> np.ndarray:
    """The ``.npy`` tensor at ``path``, its header checked before any data is read (dtype,
    shape, size against the file and against the available memory), memory-mapped."""
    with open(path, "rb") as handle:
        magic = handle.read(6)
        handle.seek(0)
        if magic[:4] == b"PK\x03\x04":
            raise ValueError(f"{path} is a .npz archive (or another zip file); decompose takes "
                             "one tensor in a .npy file: np.save('tensor.npy', archive['name'])")
        if magic != b"\x93NUMPY":
            raise ValueError(f"{path} is not a .npy file (it does not start with NumPy's "
                             "magic bytes).")
        try:
            version = np.lib.format.read_magic(handle)
            shape, fortran, dtype = (np.lib.format.read_array_header_1_0(handle)
                                     if version == (1, 0) else
                                     np.lib.format.read_array_header_2_0(handle))
        except (ValueError, SyntaxError, TypeError) as error:
            raise ValueError(f"{path} has a corrupt .npy header ({error}).") from None
        offset = handle.tell()
        size = os.fstat(handle.fileno()).st_size
    if dtype.hasobject or dtype.kind not in "biuf":
        raise ValueError(f"{path} holds {dtype} values; decompose takes a real tensor "
                         "(integer or floating point).")
    if len(shape) < 2:
        raise ValueError(f"{path} holds a tensor of order {len(shape)} (shape {shape}); "
                         "decompose needs order 2 or more.")
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if offset + nbytes > size:
        raise ValueError(f"{path} declares shape {shape} ({dtype}, {nbytes} bytes) but holds "
                         f"only {size - offset} bytes of data: it is truncated or corrupt.")
    if count == 0:
        raise ValueError(f"{path} holds an empty tensor (shape {shape}).")
    _check_fits(f"a tensor of shape {shape}", 4 * count * 8)  # float64 working copies
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _check_rank(shape: tuple[int, ...], method: str, rank: Any) -> None:
    """Refuse ranks whose factors would not fit in memory (before any is allocated)."""
    if method == "cp" and isinstance(rank, int) and rank > 0:
        # factors, plus the Khatri-Rao product of all modes but the smallest, in float64
        entries = rank * (sum(shape) + math.prod(shape) // min(shape))
        _check_fits(f"cp rank {rank} on shape {shape}", 3 * entries * 8)


def _run(args: argparse.Namespace) -> int:
    tensor = _load_tensor(args.file)
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
        _check_rank(tensor.shape, args.method, rank)
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
