r"""Tensor-train decomposition by TT-SVD (chapter §2.2.3).

References
----------
I. V. Oseledets, "Tensor-Train Decomposition", SIAM J. Sci. Comput. 33(5), 2295–2317, 2011.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.tensor_algebra._common import (
    as_data_tensor,
    check_svd,
    leading_left_singular_vectors,
    left_singular,
)
from nablanet.tensor_algebra.formats import TTMatrix, TTTensor, tt_ranks

__all__ = ["tensor_train", "tensor_train_matrix"]

#: Below this accuracy the singular values come from a full SVD: the Gram-matrix route
#: resolves singular values only down to about 1e-8 of the largest.
_GRAM_EPS_LIMIT = 1e-6


def _all_singular(matrix: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """All left singular vectors (as many as min(m, n)) and values, largest first."""
    m, n = matrix.shape
    if m <= n and eps >= _GRAM_EPS_LIMIT:
        return leading_left_singular_vectors(matrix, m)
    u, s, _ = np.linalg.svd(matrix, full_matrices=False)
    return u, s


def tensor_train(tensor: Any, rank: int | Sequence[int] | None = None, svd: str = "truncated_svd",
                 verbose: bool = False, *, eps: float | None = None,
                 ranks: int | Sequence[int] | None = None) -> TTTensor:
    r"""Tensor-train (TT) decomposition by TT-SVD (Oseledets 2011, Algorithm 1).

    Writes the tensor as a product of third-order cores
    :math:`\mathcal{G}_n \in \mathbb{R}^{R_{n-1} \times I_n \times R_n}`
    (:math:`R_0 = R_N = 1`):

    .. math::

        t_{i_1 \dots i_N} \approx G_1[i_1]\, G_2[i_2] \cdots G_N[i_N]

    TT-SVD sweeps left to right: with :math:`C` the remainder (initially the tensor), it
    reshapes :math:`C` to :math:`(R_{n-1} I_n) \times (I_{n+1} \cdots I_N)`, keeps the
    :math:`R_n` leading left singular vectors :math:`U` as the core
    :math:`\mathcal{G}_n`, and continues with :math:`C \leftarrow U^\top C`
    (:math:`= \Sigma V^\top` truncated). The singular vectors come from the eigenvectors of
    the small Gram matrix :math:`C C^\top` when :math:`C` is wide. The cores are
    left-orthonormal, so the error is exactly the discarded energy:

    .. math::

        \lVert \mathcal{T} - \hat{\mathcal{T}} \rVert_F^2 = \sum_n \sum_{i > R_n} \sigma_i^{(n)2}

    Give either fixed ``ranks`` or a relative accuracy ``eps``: each step then keeps the
    smallest rank whose discarded energy is at most
    :math:`\delta^2 = \varepsilon^2 \lVert \mathcal{T} \rVert_F^2 / (N - 1)`, which guarantees
    :math:`\lVert \mathcal{T} - \hat{\mathcal{T}} \rVert_F \le \varepsilon \lVert \mathcal{T}
    \rVert_F`. With both, the ranks are upper bounds on the ranks ``eps`` chooses.

    Parameters
    ----------
    tensor : ndarray or Tensor of order N >= 2
        Computed in float64 (float32 input is promoted).
    rank : int or sequence of int, optional
        An int for every inner rank, the :math:`N-1` inner ranks, or all :math:`N+1` ranks
        starting and ending with 1. Each is clamped to what the shape allows,
        :math:`R_n \le \min(\prod_{k \le n} I_k, \prod_{k > n} I_k)`, so large ranks give
        the exact tensor.
    svd : {'truncated_svd', 'symeig_svd', 'randomized_svd'}
        How the leading singular vectors are computed (see :func:`left_singular`).
    verbose : bool
        Print each step's rank.
    eps : float, optional
        Relative accuracy :math:`\varepsilon \in [0, 1)`.
    ranks : optional
        Another name for ``rank``.

    Returns
    -------
    TTTensor
        ``cores`` and ``errors`` (one entry: the relative error).

    Raises
    ------
    ValueError
        For neither ranks nor eps, a rank <= 0, ranks of the wrong length, a bad eps, order < 2
        or NaN or inf in the tensor; the message echoes what was received.

    Examples
    --------
    >>> t = np.arange(24.0).reshape(2, 3, 4)
    >>> tt = tensor_train(t, rank=10)
    >>> tt.ranks, bool(np.allclose(tt.to_dense(), t))
    ((1, 2, 4, 1), True)
    """
    if ranks is not None:
        if rank is not None:
            raise ValueError("tensor_train: give rank or ranks, not both. "
                             f"Received: rank={rank!r}, ranks={ranks!r}")
        rank = ranks
    data = np.ascontiguousarray(as_data_tensor(tensor, "tensor_train", allow_complex=True))
    svd = check_svd(svd, "tensor_train")
    shape = data.shape
    order = data.ndim
    if rank is None and eps is None:
        raise ValueError("tensor_train: give rank, eps or both. Received: rank=None, eps=None")
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)) \
                or not 0 <= eps < 1:
            raise ValueError(f"tensor_train: eps must be a number in [0, 1). Received: eps={eps!r}")
        eps = float(eps)
    full = tt_ranks(shape, max(shape) ** order if rank is None else rank, "tensor_train", "rank")
    norm_sq = float(np.vdot(data, data).real)
    threshold = (eps ** 2) * norm_sq / max(order - 1, 1) if eps is not None else 0.0
    rng = np.random.default_rng(0)

    cores = []
    remainder = data
    rank_in = 1
    for n in range(order - 1):
        matrix = remainder.reshape(rank_in * shape[n], -1)
        if eps is None:
            u, _ = left_singular(matrix, full[n + 1], svd, rng)
        else:
            u, s = _all_singular(matrix, eps)
            tail = np.cumsum((s ** 2)[::-1])[::-1]  # tail[r] = sum_{i >= r} s_i^2
            fits = np.nonzero(np.append(tail[1:], 0.0) <= threshold)[0]
            chosen = int(fits[0]) + 1 if fits.size else len(s)
            u = u[:, : max(1, min(chosen, full[n + 1]))]
        rank_out = u.shape[1]
        if verbose:
            print(f"tensor_train: core {n + 1} of {order}, rank {rank_out}")
        cores.append(u.reshape(rank_in, shape[n], rank_out))
        remainder = u.conj().T @ matrix
        rank_in = rank_out
    cores.append(remainder.reshape(rank_in, shape[-1], 1))
    kept = float(np.vdot(remainder, remainder).real)
    error = float(np.sqrt(max(norm_sq - kept, 0.0) / norm_sq)) if norm_sq > 0 else 0.0
    return TTTensor(cores, [error])


def tensor_train_matrix(tensor: Any, rank: int | Sequence[int] | None,
                        svd: str = "truncated_svd", verbose: bool = False, *,
                        eps: float | None = None) -> TTMatrix:
    r"""TT-matrix decomposition of a tensorised matrix (Oseledets 2011, §5).

    ``tensor`` has shape :math:`(n_1, \dots, n_d, m_1, \dots, m_d)` (a
    :math:`(n_1 \cdots n_d) \times (m_1 \cdots m_d)` matrix reshaped). Its axes are
    interleaved to :math:`(n_1, m_1, \dots, n_d, m_d)` and merged pairwise into an order-d
    tensor with modes :math:`n_k m_k`, whose TT-SVD (:func:`tensor_train`) gives cores
    :math:`R_{k-1} \times n_k m_k \times R_k` that are split into
    :math:`R_{k-1} \times n_k \times m_k \times R_k`:

    .. math::

        W[i_1 \dots i_d, j_1 \dots j_d] \approx G_1[i_1, j_1] \cdots G_d[i_d, j_d]

    Parameters
    ----------
    tensor : ndarray of even order 2d
    rank : int or sequence of int
        As :func:`tensor_train`'s ``rank`` for the order-d tensor.
    svd, verbose, eps
        As :func:`tensor_train` (``eps``: the ranks are chosen for this relative accuracy).

    Returns
    -------
    TTMatrix

    Examples
    --------
    >>> w = np.arange(36.0).reshape(2, 3, 2, 3)     # a 6 x 6 matrix as (2, 3) x (2, 3)
    >>> ttm = tensor_train_matrix(w, 10)
    >>> ttm.ranks, bool(np.allclose(ttm.to_dense(), w))
    ((1, 4, 1), True)
    """
    data = as_data_tensor(tensor, "tensor_train_matrix", allow_complex=True)
    order = data.ndim
    if order % 2:
        raise ValueError(f"tensor_train_matrix: the tensor must have an even order (input "
                         f"modes, then output modes). Received: a tensor of shape "
                         f"{data.shape} (order {order})")
    d = order // 2
    rows, cols = data.shape[:d], data.shape[d:]
    if d == 1:
        return TTMatrix([data.reshape(1, rows[0], cols[0], 1)])
    interleaved = data.transpose([axis for k in range(d) for axis in (k, d + k)])
    merged = np.ascontiguousarray(interleaved).reshape([n * m for n, m in zip(rows, cols)])
    train = tensor_train(merged, rank, svd, verbose, eps=eps)
    cores = [c.reshape(c.shape[0], rows[k], cols[k], c.shape[2])
             for k, c in enumerate(train.cores)]
    return TTMatrix(cores, train.errors)
