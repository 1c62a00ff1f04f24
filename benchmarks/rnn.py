"""LSTM and GRU forward + backward: nablanet's fused primitives vs torch.nn.LSTM / GRU on CPU.

Both run in this process on the same inputs and weights with the same thread count, once per
``--threads`` value (default 2 then 1): torch (``torch.set_num_threads``), NumPy's BLAS
(threadpoolctl) are limited to it. nablanet's float32 LSTM runs its time loops in the compiled
kernels of ``nablanet.kernels.recurrent`` (one batch slice per allowed thread), and so does its
float32 GRU with Keras's defaults (``reset_after``, tanh / sigmoid). Each timing is the best of
``--repeats`` runs, nablanet's and torch's alternating (``timing.py``; this machine is shared:
the best is the least disturbed run); ``by turn`` is the median over turns of the ratio of the
two best runs in each turn. The loss is the
sum of the whole output sequence; weights require gradients; the input requires one only with
``--input-grad`` (a first recurrent layer fed with data needs none, and both skip it). The
``fwd`` columns time the forward pass alone without recording (torch ``no_grad``).

``--no-numba`` times nablanet's NumPy reference path instead of the compiled kernels
(``nablanet.set_kernels('reference')``).

Run: ``python benchmarks/rnn.py [--repeats 20] [--threads 2 1] [--input-grad] [--no-numba]``
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch
from cnn import limit_threads  # torch and every BLAS; numba's threading layer left alone
from timing import StealMeter, take_turns

from nablanet.autograd.function import no_grad
from nablanet.autograd.tensor import Tensor
from nablanet.kernels import recurrent as recurrent_kernels
from nablanet.kernels.registry import get_kernels, set_kernels
from nablanet.ops.recurrent import gru, lstm

CONFIGS = [(50, 32, 32, 128), (200, 8, 16, 64)]  # (T, batch, input, units)


def keras_weights(cell: str, module: torch.nn.Module) -> list[Tensor]:
    """The torch module's weights in Keras layout (so both compute the same function)."""
    w_ih = module.weight_ih_l0.detach().numpy()
    w_hh = module.weight_hh_l0.detach().numpy()
    b_ih, b_hh = module.bias_ih_l0.detach().numpy(), module.bias_hh_l0.detach().numpy()
    if cell == "lstm":
        arrays = [w_ih.T, w_hh.T, b_ih + b_hh]
    else:  # torch r, z, n -> Keras z, r, h
        u = w_hh.shape[1]
        order = np.r_[u:2 * u, 0:u, 2 * u:3 * u]
        arrays = [w_ih[order].T, w_hh[order].T, np.stack([b_ih[order], b_hh[order]])]
    return [Tensor(np.ascontiguousarray(a), requires_grad=True) for a in arrays]


def run(repeats: int, input_grad: bool, threads: int) -> None:
    torch.manual_seed(0)
    limiter = limit_threads(threads)
    fast = get_kernels() == "fast" and recurrent_kernels._lstm_forward is not None
    print(f"threads: torch {torch.get_num_threads()}, BLAS {threads}; best of {repeats}; "
          f"input gradient: {'yes' if input_grad else 'no'}; nablanet LSTM / GRU: "
          f"{'numba kernels' if fast else 'NumPy'}")
    print(f"{'cell':5} {'T':>4} {'N':>3} {'D':>3} {'u':>4}  {'nablanet ms':>11} "
          f"{'torch ms':>9}  {'ratio':>6} {'by turn':>7}  {'fwd ms':>6} {'torch':>6} "
          f"{'ratio':>6}")
    for t, n, d, u in CONFIGS:
        for cell in ("lstm", "gru"):
            module = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(d, u, batch_first=True)
            x_np = np.random.default_rng(0).standard_normal((n, t, d)).astype(np.float32)
            tx = torch.from_numpy(x_np).requires_grad_(input_grad)
            params = keras_weights(cell, module)
            x = Tensor(x_np, requires_grad=input_grad)

            def step_torch(module: torch.nn.Module = module, tx: torch.Tensor = tx) -> None:
                module.zero_grad()
                tx.grad = None
                seq, _ = module(tx)
                seq.sum().backward()

            def forward_torch(module: torch.nn.Module = module, tx: torch.Tensor = tx) -> None:
                with torch.no_grad():
                    module(tx)

            def forward_ours(cell: str = cell, x: Tensor = x, params: list = params) -> Tensor:
                if cell == "lstm":
                    return lstm(x, None, None, *params)[0]
                return gru(x, None, *params)[0]

            def step_ours(x: Tensor = x, params: list = params,
                          forward: Callable[[], Tensor] = forward_ours) -> None:
                for p in [*params, x]:
                    p.grad = None
                forward().sum().backward()

            def forward_only(forward: Callable[[], Tensor] = forward_ours) -> None:
                with no_grad():
                    forward()

            step = take_turns([step_ours, step_torch], repeats)
            fwd = take_turns([forward_only, forward_torch], repeats)
            (ours, theirs), (f_ours, f_theirs) = step.best, fwd.best
            print(f"{cell:5} {t:>4} {n:>3} {d:>3} {u:>4}  {ours * 1e3:>11.2f} "
                  f"{theirs * 1e3:>9.2f}  {ours / theirs:>5.2f}x {step.ratio():>6.2f}x  "
                  f"{f_ours * 1e3:>6.2f} {f_theirs * 1e3:>6.2f} {f_ours / f_theirs:>5.2f}x")
    limiter.restore()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--input-grad", action="store_true")
    parser.add_argument("--no-numba", action="store_true")
    args = parser.parse_args()
    if args.no_numba:
        set_kernels("reference")
    steal = StealMeter()
    for threads in args.threads:
        run(args.repeats, args.input_grad, threads)
    print(steal.report())


if __name__ == "__main__":
    main()
