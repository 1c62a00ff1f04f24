r"""Non-negative CP decompositions: multiplicative updates and HALS (TensorLy's ``_nn_cp``).

Both run the CP-ALS sweep of :func:`~nablanet.tensor_algebra.cp._als` with a different
update of each factor :math:`U^{(n)}` given :math:`M = T_{(n)} (\bigodot_{k \ne n} U^{(k)})`
(the MTTKRP) and :math:`V = \ast_{k \ne n} U^{(k)\top} U^{(k)}`:

- multiplicative updates (Lee & Seung 2001; Shashua & Hazan 2005), which keep non-negative
  entries non-negative:
  :math:`U \leftarrow U \ast \max(M, \epsilon) \oslash \max(U V, \epsilon)`;
- HALS (Cichocki & Phan 2009; Gillis & Glineur 2012): exact non-negative least squares one
  column at a time, :math:`u_r \leftarrow \max\big(0, u_r + (m_r - U v_r) / v_{rr}\big)`,
  repeated until the change is small.

References
----------
D. D. Lee and H. S. Seung, "Algorithms for Non-negative Matrix Factorization", NeurIPS 2001.
A. Shashua and T. Hazan, "Non-negative tensor factorization with applications to statistics
and computer vision", ICML 2005.
N. Gillis and F. Glineur, "Accelerated Multiplicative Updates and Hierarchical ALS Algorithms
for Nonnegative Matrix Factorization", Neural Computation 24(4), 2012.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.kernels.registry import dispatch
from nablanet.tensor_algebra._common import as_data_tensor, check_positive_int
from nablanet.tensor_algebra.cp import (
    _als,
    _check_cvg,
    _check_fixed_modes,
    _check_iterations,
    _Errors,
    initialize_cp,
)
from nablanet.tensor_algebra.formats import CPTensor

__all__ = ["hals_nnls", "non_negative_parafac", "non_negative_parafac_hals"]

#: Floor of the numerator and denominator of the multiplicative update.
EPSILON = 1e-12


def multiplicative_update(factor: np.ndarray, gram: np.ndarray, mttkrp: np.ndarray
                          ) -> np.ndarray:
    r""":math:`U \ast \max(M, \epsilon) \oslash \max(U V, \epsilon)` (Lee & Seung)."""
    return factor * np.maximum(mttkrp, EPSILON) / np.maximum(factor @ gram, EPSILON)


def hals_nnls(utm: np.ndarray, utu: np.ndarray, v: np.ndarray | None = None,
              n_iter_max: int = 500, tol: float = 10e-8,
              sparsity_coefficient: float | None = None, exact: bool = False) -> np.ndarray:
    r"""Non-negative least squares :math:`\min_{X \ge 0} \lVert M - U X \rVert_F^2` by HALS.

    Takes :math:`U^\top M` (``utm``, R × n) and :math:`U^\top U` (``utu``, R × R) and updates
    the rows of :math:`X` in turn,

    .. math::

        x_k \leftarrow \max\Big(0,\; \frac{(U^\top M)_k - \sum_{j \ne k} (U^\top U)_{kj} x_j
        - \mu}{(U^\top U)_{kk}}\Big)

    (``sparsity_coefficient`` :math:`\mu` is subtracted from the numerator, as TensorLy does),
    until the squared change of a pass falls below ``tol`` times that of the first pass
    (``exact``: 50,000 passes and tol 1e-16; the passes are :func:`hals_passes`). ``v`` is
    the starting point (default: the clipped unconstrained solution, rescaled).
    """
    if v is None:
        v = np.clip(np.linalg.solve(utu, utm), 0, None)
        scale = np.sum(utm * v) / np.sum(utu * (v @ v.T))
        v = v * scale
    if exact:
        n_iter_max, tol = 50000, 1e-16
    v = np.array(v, dtype=np.float64)
    utm = np.ascontiguousarray(utm, dtype=np.float64)
    utu = np.ascontiguousarray(utu, dtype=np.float64)
    return dispatch("hals_passes", hals_passes, utm, utu, v,  # type: ignore[no-any-return]
                    n_iter_max, tol, float(sparsity_coefficient or 0.0))


def hals_passes(utm: np.ndarray, utu: np.ndarray, v: np.ndarray, n_iter_max: int, tol: float,
                sparsity: float) -> np.ndarray:
    r"""The HALS passes of :func:`hals_nnls` over the rows of ``v`` (updated in place).

    Each pass sets, for :math:`k = 1, \dots, R` in turn (rows with
    :math:`(U^\top U)_{kk} = 0` are left as they are),

    .. math::

        x_k \leftarrow \max\Big(0,\; \frac{(U^\top M)_k - \sum_{j \ne k} (U^\top U)_{kj} x_j
        - \mu}{(U^\top U)_{kk}}\Big)

    and the loop stops after ``n_iter_max`` passes or when the pass's squared change
    :math:`\sum \lVert \Delta x_k \rVert^2` is at most ``tol`` times the first pass's. The
    fast kernel (``"hals_passes"``, :func:`nablanet.kernels.decompositions.hals_passes`) is the
    same loop compiled by numba.
    """
    rank = utm.shape[0]
    first = 0.0
    for iteration in range(n_iter_max):
        change = 0.0
        for k in range(rank):
            if not utu[k, k]:
                continue
            numerator = utm[k] - utu[k] @ v + utu[k, k] * v[k] - sparsity
            new = np.maximum(numerator / utu[k, k], 0)
            step = v[k] - new
            change += float(step @ step)
            v[k] = new
        if iteration == 0:
            first = change
        if change <= tol * first:
            break
    return v


def _prepare(tensor: Any, rank: Any, n_iter_max: Any, tol: Any, cvg_criterion: Any,
             fixed_modes: Any, where: str) -> tuple[np.ndarray, int, int, float, str, list[int]]:
    data = np.ascontiguousarray(as_data_tensor(tensor, where))
    rank = check_positive_int(rank, "rank", where)
    n_iter_max, tol = _check_iterations(n_iter_max, tol, where)
    cvg_criterion = _check_cvg(cvg_criterion, where)
    fixed = _check_fixed_modes(fixed_modes, data.ndim, where)
    if data.ndim - 1 in fixed and len(fixed) < data.ndim:
        warnings.warn(f"{where}: fixing the last mode is not supported; it will be updated. "
                      "Move the mode (np.moveaxis) to fix it.", stacklevel=3)
        fixed.remove(data.ndim - 1)
    return data, rank, n_iter_max, tol, cvg_criterion, fixed


def _run(data: np.ndarray, weights: np.ndarray, factors: list[np.ndarray], update: list[int],
         solve: Any, n_iter_max: int, tol: float, cvg_criterion: str, observed: Any,
         normalize_factors: bool, verbose: Any, where: str, return_errors: bool) -> Any:
    errors: list[float] = []
    if update:
        weights, factors, errors = _als(
            data, weights, factors, update=update, n_iter_max=n_iter_max, tol=tol,
            cvg_criterion=cvg_criterion, l2_reg=0.0, errors_of=_Errors(data, observed, None),
            orthogonalise=0, linesearch=False, normalize_factors=normalize_factors,
            verbose=int(verbose), where=where, report=None, solve=solve)
    result = CPTensor(weights, factors, errors)
    return (result, errors) if return_errors else result


def non_negative_parafac(tensor: Any, rank: int, n_iter_max: int = 100, init: Any = "svd",
                         svd: str = "truncated_svd", tol: float = 10e-7,
                         random_state: Any = None, verbose: int = 0,
                         normalize_factors: bool = False, return_errors: bool = False,
                         mask: Any = None, cvg_criterion: str = "abs_rec_error",
                         fixed_modes: Sequence[int] | None = None) -> Any:
    r"""Non-negative CP decomposition by multiplicative updates (TensorLy's arguments).

    .. math::

        \mathcal{T} \approx \sum_r \lambda_r\, u_r^{(1)} \circ \dots \circ u_r^{(N)}, \qquad
        U^{(n)} \ge 0

    Each sweep applies :func:`multiplicative_update` to every factor not in ``fixed_modes``;
    the start is :func:`~nablanet.tensor_algebra.initialize_cp` with absolute values. The
    arguments are :func:`~nablanet.tensor_algebra.parafac`'s.

    Returns
    -------
    CPTensor, or (CPTensor, errors) with ``return_errors``

    Examples
    --------
    >>> t = np.random.default_rng(0).random((4, 5, 6))
    >>> result = non_negative_parafac(t, 2)
    >>> all((f >= 0).all() for f in result.factors)
    True
    """
    data, rank, n_iter_max, tol, cvg_criterion, fixed = _prepare(
        tensor, rank, n_iter_max, tol, cvg_criterion, fixed_modes, "non_negative_parafac")
    observed = None if mask is None else np.asarray(getattr(mask, "data", mask)).astype(bool)
    weights, factors = initialize_cp(data, rank, init=init, svd=svd, non_negative=True,
                                     random_state=random_state, mask=observed,
                                     normalize_factors=normalize_factors)
    update = [n for n in range(data.ndim) if n not in fixed]
    return _run(data, weights, list(factors), update,
                lambda n, f, gram, m: multiplicative_update(f, gram, m), n_iter_max, tol,
                cvg_criterion, observed, normalize_factors, verbose, "non_negative_parafac",
                return_errors)


def non_negative_parafac_hals(tensor: Any, rank: int, n_iter_max: int = 100,
                              init: Any = "svd", svd: str = "truncated_svd",
                              tol: float = 10e-8, random_state: Any = None,
                              sparsity_coefficients: Any = None,
                              fixed_modes: Sequence[int] | None = None, nn_modes: Any = "all",
                              exact: bool = False, normalize_factors: bool = False,
                              verbose: bool = False, return_errors: bool = False,
                              cvg_criterion: str = "abs_rec_error") -> Any:
    r"""Non-negative CP decomposition by HALS (TensorLy's arguments).

    The modes in ``nn_modes`` (``'all'``, a set of modes, or None) are updated by
    :func:`hals_nnls` (100 inner passes, or ``exact``) from their current value; the others
    by unconstrained least squares. ``sparsity_coefficients`` (one float, or one per mode) adds
    an :math:`\ell_1` penalty to the constrained modes.

    Returns
    -------
    CPTensor, or (CPTensor, errors) with ``return_errors``
    """
    data, rank, n_iter_max, tol, cvg_criterion, fixed = _prepare(
        tensor, rank, n_iter_max, tol, cvg_criterion, fixed_modes, "non_negative_parafac_hals")
    order = data.ndim
    if sparsity_coefficients is None or isinstance(sparsity_coefficients, (int, float)):
        sparsity = [sparsity_coefficients] * order
    else:
        sparsity = list(sparsity_coefficients)
        if len(sparsity) != order:
            raise ValueError(f"non_negative_parafac_hals: sparsity_coefficients needs one "
                             f"entry per mode ({order}). Received: {sparsity_coefficients!r}")
    if nn_modes == "all":
        constrained = set(range(order))
    elif nn_modes is None:
        constrained = set()
    else:
        constrained = {int(m) for m in nn_modes}
    weights, factors = initialize_cp(data, rank, init=init, svd=svd, non_negative=True,
                                     random_state=random_state,
                                     normalize_factors=normalize_factors)

    def solve(n: int, factor: np.ndarray, gram: np.ndarray, mttkrp: np.ndarray) -> np.ndarray:
        if n in constrained:
            return hals_nnls(mttkrp.T, gram, factor.T, n_iter_max=100,
                             sparsity_coefficient=sparsity[n], exact=exact).T
        return np.linalg.solve(gram.T, mttkrp.T).T

    update = [n for n in range(order) if n not in fixed]
    return _run(data, weights, list(factors), update, solve, n_iter_max, tol, cvg_criterion,
                None, normalize_factors, verbose, "non_negative_parafac_hals", return_errors)
