r"""Tensor-train decomposition by TT-SVD (chapter §2.2.3).

References
----------
I. V. Oseledets, "Tensor-Train Decomposition", SIAM J. Sci. Comput. 33(5), 2295–2317, 2011.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.tensor_algebra._common import as_data_tensor, leading_left_singular_vectors
from nablanet.tensor_algebra.formats import TTTensor, tt_ranks

__all__ = ["tensor_train"]

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


def tensor_train(tensor: Any, ranks: int | Sequence[int] | None = None, *,
                 eps: float | None = None) -> TTTensor:
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
    ranks : int or sequence of int, optional
        An int for every inner rank, the :math:`N-1` inner ranks, or all :math:`N+1` ranks
        starting and ending with 1. Each is clamped to what the shape allows,
        :math:`R_n \le \min(\prod_{k \le n} I_k, \prod_{k > n} I_k)`, so large ranks give
        the exact tensor.
    eps : float, optional
        Relative accuracy :math:`\varepsilon \in [0, 1)`.

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
    >>> tt = tensor_train(t, ranks=10)
    >>> tt.ranks, bool(np.allclose(tt.to_dense(), t))
    ((1, 2, 4, 1), True)
    """
    data = np.ascontiguousarray(as_data_tensor(tensor, "tensor_train"))
    shape = data.shape
    order = data.ndim
    if ranks is None and eps is None:
        raise ValueError("tensor_train: give ranks, eps or both. Received: ranks=None, eps=None")
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)) \
                or not 0 <= eps < 1:
            raise ValueError(f"tensor_train: eps must be a number in [0, 1). Received: eps={eps!r}")
        eps = float(eps)
    if ranks is None:
        full = tt_ranks(shape, max(shape) ** order, "tensor_train")
    else:
        full = tt_ranks(shape, ranks, "tensor_train")
    norm_sq = float(np.vdot(data, data))
    threshold = (eps ** 2) * norm_sq / max(order - 1, 1) if eps is not None else 0.0

    cores = []
    remainder = data
    rank_in = 1
    for n in range(order - 1):
        matrix = remainder.reshape(rank_in * shape[n], -1)
        if eps is None:
            u, _ = leading_left_singular_vectors(matrix, full[n + 1])
        else:
            u, s = _all_singular(matrix, eps)
            tail = np.cumsum((s ** 2)[::-1])[::-1]  # tail[r] = sum_{i >= r} s_i^2
            fits = np.nonzero(np.append(tail[1:], 0.0) <= threshold)[0]
            rank = int(fits[0]) + 1 if fits.size else len(s)
            u = u[:, : max(1, min(rank, full[n + 1]))]
        rank_out = u.shape[1]
        cores.append(u.reshape(rank_in, shape[n], rank_out))
        remainder = u.T @ matrix
        rank_in = rank_out
    cores.append(remainder.reshape(rank_in, shape[-1], 1))
    kept = float(np.vdot(remainder, remainder))
    error = float(np.sqrt(max(norm_sq - kept, 0.0) / norm_sq)) if norm_sq > 0 else 0.0
    return TTTensor(cores, [error])
