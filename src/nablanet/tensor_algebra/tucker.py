r"""Tucker decomposition: truncated HOSVD and HOOI (chapter §2.2.2).

References
----------
L. De Lathauwer, B. De Moor and J. Vandewalle, "A multilinear singular value decomposition"
and "On the best rank-1 and rank-(R1, ..., RN) approximation of higher-order tensors",
SIAM J. Matrix Anal. Appl. 21(4), 2000.
T. G. Kolda and B. W. Bader, "Tensor Decompositions and Applications", SIAM Review 51(3),
455–500, 2009, §4.2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nablanet.tensor_algebra._common import (
    as_data_tensor,
    check_ranks,
    check_tolerance,
    gram_eigenvectors,
    leading_left_singular_vectors,
    split_point,
    unfolding_gram,
)
from nablanet.tensor_algebra.formats import TuckerTensor
from nablanet.tensor_algebra.unfolding import mode_dot, unfold

__all__ = ["tucker"]


def _project(tensor: np.ndarray, factors: Sequence[np.ndarray], modes: Sequence[int]) -> np.ndarray:
    r""":math:`\mathcal{T} \times_{k} A^{(k)\top}` for every ``k`` in ``modes`` (in that order)."""
    for k in modes:
        tensor = mode_dot(tensor, factors[k], k, transpose=True)
    return tensor


def tucker(tensor: Any, ranks: int | Sequence[int], *, method: str = "hooi",
           n_iter_max: int = 100, tol: float = 1e-8, random_state: Any = None,
           verbose: bool = False,
           callback: Callable[[int, float], Any] | None = None) -> TuckerTensor:
    r"""Tucker decomposition by truncated HOSVD, refined by HOOI.

    Finds a core :math:`\mathcal{C} \in \mathbb{R}^{R_1 \times \dots \times R_N}` and factors
    :math:`A^{(n)} \in \mathbb{R}^{I_n \times R_n}` with orthonormal columns such that

    .. math::

        \mathcal{T} \approx \mathcal{C} \times_1 A^{(1)} \times_2 A^{(2)} \cdots
        \times_N A^{(N)}

    (the chapter's eq. 6 written with mode-n products; see ERRATA).

    *Truncated HOSVD* (De Lathauwer et al. 2000): :math:`A^{(n)}` holds the :math:`R_n`
    leading left singular vectors of the unfolding :math:`T_{(n)}`, computed here as the
    leading eigenvectors of the :math:`I_n \times I_n` Gram matrix
    :math:`T_{(n)} T_{(n)}^\top` (no SVD of the wide unfolding), and
    :math:`\mathcal{C} = \mathcal{T} \times_1 A^{(1)\top} \cdots \times_N A^{(N)\top}`.

    *HOOI* (higher-order orthogonal iteration; Kolda & Bader 2009, Fig. 4.4) then repeats,
    for :math:`n = 1, \dots, N`,

    .. math::

        \mathcal{Y} = \mathcal{T} \times_{k \ne n} A^{(k)\top}, \qquad
        A^{(n)} \leftarrow R_n \text{ leading left singular vectors of } Y_{(n)}

    and stops when the relative error
    :math:`\sqrt{\lVert \mathcal{T} \rVert^2 - \lVert \mathcal{C} \rVert^2} / \lVert
    \mathcal{T} \rVert` changes by less than ``tol``. The modes are split into a leading and
    a trailing group so that a sweep reads the full tensor only twice: the projections onto
    one group's factors are shared by every mode of the other group.

    Parameters
    ----------
    tensor : ndarray or Tensor of order N >= 2
        Computed in float64 (float32 input is promoted).
    ranks : int or sequence of N ints
        :math:`(R_1, \dots, R_N)`; an int is used for every mode. Each is clamped to
        :math:`I_n`.
    method : {'hooi', 'hosvd'}
    n_iter_max : int
        Maximum number of HOOI sweeps.
    tol : float
        HOOI stops when :math:`|e_{k-1} - e_k| < \text{tol}`.
    random_state : ignored
        Accepted for symmetry with :func:`cp`; both methods are deterministic.
    verbose : bool
        Print the relative error after every sweep.
    callback : callable, optional
        ``callback(iteration, relative_error)`` after every sweep.

    Returns
    -------
    TuckerTensor
        ``core``, ``factors`` and ``errors`` (relative error after HOSVD / each sweep).

    Raises
    ------
    ValueError
        For a rank <= 0, ranks of the wrong length, order < 2, NaN or inf in the tensor or
        an unknown method; the message echoes what was received.

    Examples
    --------
    >>> from nablanet.tensor_algebra import random_tucker
    >>> t = random_tucker((6, 7, 8), (2, 3, 2), random_state=0).to_dense()
    >>> tucker(t, (2, 3, 2)).relative_error(t) < 1e-10
    True
    """
    data = np.ascontiguousarray(as_data_tensor(tensor, "tucker"))
    order = data.ndim
    shape = data.shape
    ranks = check_ranks(ranks, order, "ranks", "tucker")
    ranks = [min(r, n) for r, n in zip(ranks, shape)]
    tol, n_iter_max = check_tolerance(tol, n_iter_max, "tucker")
    if method not in ("hooi", "hosvd"):
        raise ValueError(f"tucker: method must be 'hooi' or 'hosvd'. Received: method={method!r}")
    norm_sq = float(np.vdot(data, data))
    norm = np.sqrt(norm_sq)

    def relative(core: np.ndarray) -> float:
        if norm_sq == 0:
            return 0.0
        return float(np.sqrt(max(norm_sq - float(np.vdot(core, core)), 0.0)) / norm)

    # HOOI's first update of mode 1 reads only the other factors: skip its HOSVD factor.
    first = 1 if method == "hooi" else 0
    factors: list[np.ndarray] = [np.zeros((shape[0], ranks[0]))] * first
    for n in range(first, order):
        factors.append(gram_eigenvectors(unfolding_gram(data, n), ranks[n]))
    if method == "hosvd":
        core = _project(data, factors, range(order))
        error = relative(core)
        if callback is not None:
            callback(0, error)
        return TuckerTensor(core, factors, [error])

    split = split_point(shape)
    lead, trail = list(range(split)), list(range(split, order))
    errors: list[float] = []
    core = factors[0]  # replaced at the end of the first sweep
    for iteration in range(n_iter_max):
        for group, other in ((lead, trail), (trail, lead)):
            # Project onto the other group's factors once (the costly passes over the data).
            shared = _project(data, factors, other[::-1] if other is trail else other)
            for n in group:
                y = _project(shared, factors, [k for k in group if k != n])
                factors[n] = leading_left_singular_vectors(unfold(y, n), ranks[n])[0]
                if n == group[-1] and group is trail:
                    core = mode_dot(y, factors[n], n, transpose=True)
        error = relative(core)
        errors.append(error)
        if verbose:
            change = errors[-2] - error if len(errors) > 1 else float("nan")
            print(f"tucker: iteration {iteration + 1}, relative error {error:.6g}, "
                  f"decrease {change:.3g}")
        if callback is not None:
            callback(iteration + 1, error)
        if iteration >= 1 and abs(errors[-2] - errors[-1]) < tol:
            break
    return TuckerTensor(core, factors, errors)
