r"""CP (CANDECOMP/PARAFAC) decomposition by alternating least squares (chapter §2.2.1).

References
----------
T. G. Kolda and B. W. Bader, "Tensor Decompositions and Applications", SIAM Review 51(3),
455–500, 2009, §3.4.
G. Tomasi and R. Bro, "PARAFAC and missing values", Chemometrics and Intelligent Laboratory
Systems 75(2), 163–180, 2005.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nablanet.random import make_generator
from nablanet.tensor_algebra._common import (
    as_data_tensor,
    check_positive_int,
    check_tolerance,
    gram_eigenvectors,
    split_point,
    unfolding_gram,
)
from nablanet.tensor_algebra.formats import CPTensor

__all__ = ["cp"]


def _khatri_rao(factors: Sequence[np.ndarray]) -> np.ndarray:
    """Column-wise Kronecker product of one or more factors (rows in C order of the modes)."""
    result = factors[0]
    rank = result.shape[1]
    for f in factors[1:]:
        result = (result[:, None, :] * f[None, :, :]).reshape(-1, rank)
    return result


def _contract_others(partial: np.ndarray, factors: Sequence[np.ndarray], keep: int) -> np.ndarray:
    r"""Contract every mode of ``partial`` (shape ``(d_1, ..., d_m, R)``) except ``keep``.

    .. math::

        M_{i r} = \sum_{j_k,\, k \ne \text{keep}} W_{j_1 \dots i \dots j_m r}
        \prod_{k \ne \text{keep}} F^{(k)}_{j_k r}
    """
    rank = partial.shape[-1]
    w = partial
    for j in range(len(factors) - 1, keep, -1):  # trailing modes, last first
        lead = w.shape[:j]
        w = np.einsum("adr,dr->ar", w.reshape(-1, w.shape[j], rank), factors[j])
        w = w.reshape(lead + (rank,))
    for j in range(keep):  # leading modes, first first
        rest = w.shape[1:]
        w = np.einsum("dar,dr->ar", w.reshape(w.shape[0], -1, rank), factors[j])
        w = w.reshape(rest)
    return w.reshape(-1, rank)


def _solve(gram: np.ndarray, mttkrp: np.ndarray) -> np.ndarray:
    r""":math:`A = M V^{-1}` for the symmetric positive semi-definite :math:`V`."""
    try:
        return np.linalg.solve(gram, mttkrp.T).T
    except np.linalg.LinAlgError:
        return mttkrp @ np.linalg.pinv(gram, hermitian=True)


def _normalize_columns(factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(factor, axis=0)
    safe = np.where(norms > 0, norms, 1.0)
    return factor / safe, norms


def _initialize(tensor: np.ndarray, rank: int, init: str, rng: np.random.Generator
                ) -> list[np.ndarray]:
    """Unit-norm-column starting factors. The first factor is never read before ALS
    overwrites it (mode 1 is updated first from the others), so 'svd' skips its Gram."""
    factors = []
    for mode, size in enumerate(tensor.shape):
        if init == "svd" and mode > 0:
            vectors = gram_eigenvectors(unfolding_gram(tensor, mode), rank)
            if vectors.shape[1] < rank:
                extra = rng.standard_normal((rank - vectors.shape[1], size)).T
                vectors = np.concatenate([vectors, extra], axis=1)
            factors.append(_normalize_columns(vectors)[0])
        else:
            # Drawn as (rank, size): a tensor made by random_cp with the same seed must not
            # hand the algorithm its own factors.
            factors.append(_normalize_columns(rng.standard_normal((rank, size)).T)[0])
    return factors


def cp(tensor: Any, rank: int, *, n_iter_max: int = 100, tol: float = 1e-8,
       init: str = "random", random_state: Any = None, normalize: bool = True,
       mask: Any = None, verbose: bool = False,
       callback: Callable[[int, float], Any] | None = None) -> CPTensor:
    r"""CP decomposition of a tensor by alternating least squares (CP-ALS).

    Finds weights :math:`\lambda \in \mathbb{R}^R` and factors
    :math:`U^{(n)} \in \mathbb{R}^{I_n \times R}` such that

    .. math::

        \mathcal{T} \approx \sum_{r=1}^{R} \lambda_r\, u_r^{(1)} \circ u_r^{(2)} \circ \dots
        \circ u_r^{(N)}

    (the chapter's eq. 5 corrected: the outer product runs over the N modes, the sum over the
    R components; see ERRATA). Each sweep solves, for :math:`n = 1, \dots, N` in turn, the
    linear least-squares problem for :math:`U^{(n)}` with the other factors fixed
    (Kolda & Bader 2009, §3.4):

    .. math::

        U^{(n)} \leftarrow \underbrace{T_{(n)} \big(\textstyle\bigodot_{k \ne n} U^{(k)}\big)}
        _{\text{MTTKRP}} \, V^{-1}, \qquad
        V = \mathop{\ast}_{k \ne n} U^{(k)\top} U^{(k)}

    (:math:`\ast` the Hadamard product of the :math:`R \times R` Gram matrices), then moves
    the column norms of :math:`U^{(n)}` into :math:`\lambda`.

    The MTTKRP is computed without unfolding the tensor and without the full Khatri–Rao
    product: the modes are split into a leading and a trailing group, the tensor viewed as a
    matrix :math:`(I_1 \cdots I_s) \times (I_{s+1} \cdots I_N)` is multiplied once per sweep by
    the Khatri–Rao product of each group's factors (two GEMMs per sweep for any order), and the
    remaining small contractions give every mode's MTTKRP. The relative error
    :math:`\lVert \mathcal{T} - \hat{\mathcal{T}} \rVert_F / \lVert \mathcal{T} \rVert_F` is
    obtained from the last MTTKRP and the Gram matrices
    (:math:`\lVert \mathcal{T} \rVert^2 - 2 \langle \mathcal{T}, \hat{\mathcal{T}} \rangle +
    \lVert \hat{\mathcal{T}} \rVert^2`) without rebuilding the tensor while it is above
    about :math:`10^{-6}`; below that the three terms cancel to rounding noise, so the residual
    is measured directly (one more GEMM a sweep), and a tensor of exactly rank :math:`R` is fit
    to machine precision. The iteration stops when the error changes by less than ``tol``
    between sweeps.

    Parameters
    ----------
    tensor : ndarray or Tensor of order N >= 2
        Computed in float64 (float32 input is promoted).
    rank : int
        :math:`R`, the number of components (> 0).
    n_iter_max : int
        Maximum number of ALS sweeps.
    tol : float
        Stop when :math:`|e_{k-1} - e_k| < \text{tol}` for the relative errors :math:`e_k`.
    init : {'random', 'svd'}
        Standard-normal factors, or the :math:`R` leading left singular vectors of each
        unfolding (from the eigenvectors of :math:`T_{(n)} T_{(n)}^\top`; random columns are
        added where :math:`R > I_n`).
    random_state : int, numpy Generator or None
        None draws from nablanet's seeded generator.
    normalize : bool
        Return unit-norm factor columns with the norms in ``weights``; with False the weights
        are all one and the scale sits in the last factor.
    mask : array_like of bool, optional
        Same shape as ``tensor``; False (0) marks a missing entry. Missing entries are imputed
        from the current model before every sweep (Tomasi & Bro 2005), and the error is
        measured on the observed entries only.
    verbose : bool
        Print the relative error after every sweep.
    callback : callable, optional
        ``callback(iteration, relative_error)`` after every sweep (progress reporting).

    Returns
    -------
    CPTensor
        ``weights`` sorted in decreasing order, ``factors``, and ``errors`` (one relative
        error per sweep).

    Raises
    ------
    ValueError
        For rank <= 0, order < 2, NaN or inf in the tensor, an unknown ``init`` or a mask of
        the wrong shape; the message echoes what was received.

    References
    ----------
    T. G. Kolda and B. W. Bader, "Tensor Decompositions and Applications", SIAM Review 51(3),
    2009. G. Tomasi and R. Bro, "PARAFAC and missing values", 2005.

    Examples
    --------
    >>> from nablanet.tensor_algebra import random_cp
    >>> t = random_cp((6, 7, 8), 2, random_state=0).to_dense()
    >>> result = cp(t, 2, init="svd", random_state=0)
    >>> result.relative_error(t) < 1e-6
    True
    """
    data = np.ascontiguousarray(as_data_tensor(tensor, "cp"))
    rank = check_positive_int(rank, "rank", "cp")
    tol, n_iter_max = check_tolerance(tol, n_iter_max, "cp")
    if init not in ("random", "svd"):
        raise ValueError(f"cp: init must be 'random' or 'svd'. Received: init={init!r}")
    rng = make_generator(random_state)
    shape = data.shape
    order = data.ndim

    observed = None
    work = data
    if mask is not None:
        observed = np.asarray(getattr(mask, "data", mask)).astype(bool)
        if observed.shape != shape:
            raise ValueError(f"cp: mask must have the tensor's shape {shape}. "
                             f"Received: mask of shape {observed.shape}")
        if not observed.any():
            raise ValueError("cp: mask marks every entry as missing. Received: an all-False mask")
        observed_norm = float(np.linalg.norm(data[observed]))
        work = np.where(observed, data, data[observed].mean())

    factors = _initialize(work, rank, init, rng)
    grams = [f.T @ f for f in factors]
    weights = np.ones(rank)
    split = split_point(shape)
    leading = int(np.prod(shape[:split], dtype=np.int64))
    trailing = int(np.prod(shape[split:], dtype=np.int64))
    norm_sq = float(np.vdot(work, work))
    # below this squared relative error the Gram-matrix estimate is no better than rounding
    exact_below = 1e4 * float(np.finfo(work.dtype).eps)
    errors: list[float] = []

    for iteration in range(n_iter_max):
        matrix = work.reshape(leading, trailing)
        error_sq = 0.0
        for group in (0, 1):
            modes = range(split) if group == 0 else range(split, order)
            if group == 0:
                partial = matrix @ _khatri_rao(factors[split:])
                partial = partial.reshape(shape[:split] + (rank,))
            else:
                partial = matrix.T @ _khatri_rao(factors[:split])
                partial = partial.reshape(shape[split:] + (rank,))
            for n in modes:
                members = [factors[k] for k in modes]
                mttkrp = _contract_others(partial, members, n - modes[0])
                v = np.ones((rank, rank))
                for k in range(order):
                    if k != n:
                        v *= grams[k]
                factor = _solve(v, mttkrp)
                if n == order - 1 and observed is None:
                    inner = float(np.vdot(mttkrp, factor))
                    model_sq = float(np.vdot(v, factor.T @ factor))
                    error_sq = max(norm_sq - 2 * inner + model_sq, 0.0)
                factors[n], weights = _normalize_columns(factor)
                grams[n] = factors[n].T @ factors[n]

        if observed is None and error_sq > exact_below * norm_sq:
            error = float(np.sqrt(error_sq / norm_sq))
        elif observed is None:
            # ||T||^2 - 2<T, M> + ||M||^2 cancels to rounding noise near an exact fit
            # (relative error ~1e-8 in float64), which would stall the stopping rule there;
            # below that, measure the residual directly.
            distance = float(np.linalg.norm(data - CPTensor(weights, factors).to_dense()))
            error = distance / float(np.sqrt(norm_sq)) if norm_sq > 0 else distance
        else:
            model = CPTensor(weights, factors).to_dense()
            residual = np.linalg.norm((data - model)[observed])
            error = float(residual / observed_norm) if observed_norm > 0 else float(residual)
            work = np.where(observed, data, model)
        errors.append(error)
        if verbose:
            change = errors[-2] - error if len(errors) > 1 else float("nan")
            print(f"cp: iteration {iteration + 1}, relative error {error:.6g}, "
                  f"decrease {change:.3g}")
        if callback is not None:
            callback(iteration + 1, error)
        if iteration >= 1 and abs(errors[-2] - errors[-1]) < tol:
            break

    ranking = np.argsort(-weights, kind="stable")
    weights = weights[ranking]
    factors = [f[:, ranking] for f in factors]
    if not normalize:
        factors[-1] = factors[-1] * weights
        weights = np.ones(rank)
    return CPTensor(weights, factors, errors)
