r"""CP (CANDECOMP/PARAFAC) decomposition by alternating least squares (chapter §2.2.1).

References
----------
T. G. Kolda and B. W. Bader, "Tensor Decompositions and Applications", SIAM Review 51(3),
455–500, 2009, §3.4.
G. Tomasi and R. Bro, "PARAFAC and missing values", Chemometrics and Intelligent Laboratory
Systems 75(2), 163–180, 2005.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nablanet.kernels.registry import dispatch
from nablanet.random import make_generator
from nablanet.tensor_algebra._common import (
    as_data_tensor,
    check_positive_int,
    check_svd,
    check_tolerance,
    gram_eigenvectors,
    left_singular,
    nndsvd,
    unfolding_gram,
)
from nablanet.tensor_algebra.formats import CPTensor
from nablanet.tensor_algebra.products import khatri_rao
from nablanet.tensor_algebra.unfolding import unfold

__all__ = ["cp", "initialize_cp", "mttkrp", "mttkrp_sweep", "parafac", "randomised_parafac",
           "sample_khatri_rao"]


def mttkrp(tensor: np.ndarray, factors: Sequence[np.ndarray], mode: int) -> np.ndarray:
    r"""The matricised tensor times Khatri–Rao product of mode :math:`n` (``mode``):

    .. math::

        M^{(n)} = X_{(n)}\, \overline{\big(U^{(N)} \odot \cdots \odot U^{(n+1)} \odot
        U^{(n-1)} \odot \cdots \odot U^{(1)}\big)} \in \mathbb{R}^{I_n \times R}

    written as in Kolda & Bader (2009, §3.4): :math:`X_{(n)}` their unfolding (the remaining
    indices with the first varying fastest) and the other factors' Khatri–Rao product
    (:func:`~nablanet.tensor_algebra.khatri_rao`) in decreasing mode order; the complex
    conjugate for complex factors. It equals ``unfold(tensor, mode) @ khatri_rao(factors,
    skip_matrix=mode)`` in :func:`~nablanet.tensor_algebra.unfold`'s (TensorLy's) order, the
    columns permuted alike. It is the right-hand side of CP-ALS's least-squares update;
    ``factors[mode]`` is not read.

    Examples
    --------
    >>> from nablanet.tensor_algebra import khatri_rao, random_cp, unfold
    >>> cp_tensor = random_cp((3, 4, 5), 2, random_state=0)
    >>> t, factors = cp_tensor.to_dense(), cp_tensor.factors
    >>> m = mttkrp(t, factors, 1)
    >>> m.shape, np.allclose(m, unfold(t, 1) @ khatri_rao(factors, skip_matrix=1))
    ((4, 2), True)
    """
    # (The two column orders differ in rounding only; over-factored fits, whose extra
    # components start as rounding noise, follow the rounding: see tests/kernels/
    # test_decompositions.py's note.)
    others = [factors[k] for k in reversed(range(tensor.ndim)) if k != mode]
    unfolded = np.moveaxis(tensor, mode, 0).reshape(tensor.shape[mode], -1, order="F")
    return unfolded @ _conj(khatri_rao(others))


def _mttkrp_of(tensor: np.ndarray) -> Callable[[int, Sequence[np.ndarray]], np.ndarray]:
    """The reference sweep: each mode's :func:`mttkrp`, computed afresh."""
    return lambda n, factors: mttkrp(tensor, factors, n)


def mttkrp_sweep(tensor: np.ndarray) -> Callable[[int, Sequence[np.ndarray]], np.ndarray]:
    """``sweep(n, factors)``, the :func:`mttkrp` of mode ``n`` for one ALS sweep over
    ``tensor``, the modes asked for in increasing order.

    The reference computes each one afresh; the fast kernel (``"cp_mttkrp_sweep"``,
    :class:`nablanet.kernels.decompositions.GroupedMTTKRP`) shares two GEMMs between all the
    modes of the sweep. Make one per sweep.
    """
    return dispatch("cp_mttkrp_sweep", _mttkrp_of, tensor)  # type: ignore[no-any-return]


def _solve(gram: np.ndarray, mttkrp: np.ndarray) -> np.ndarray:
    r""":math:`A = M \bar{V}^{-1}` for the Hermitian positive semi-definite :math:`V`
    (the normal equations :math:`A \bar V = M` of the least-squares update)."""
    try:
        return np.linalg.solve(gram, mttkrp.T).T
    except np.linalg.LinAlgError:
        return mttkrp @ np.linalg.pinv(gram.conj(), hermitian=True)


def _normalize_columns(factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(factor, axis=0)
    safe = np.where(norms > 0, norms, 1.0)
    return factor / safe, norms


def _conj(x: np.ndarray) -> np.ndarray:
    return x.conj() if np.iscomplexobj(x) else x


def _initialize(tensor: np.ndarray, rank: int, init: str, rng: np.random.Generator
                ) -> list[np.ndarray]:
    """:func:`cp`'s unit-norm-column starting factors. The first factor is never read before
    ALS overwrites it (mode 1 is updated first from the others), so 'svd' skips its Gram."""
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


def _sparsify(tensor: np.ndarray, card: int) -> np.ndarray:
    """``tensor`` with all but its ``card`` largest-magnitude entries set to zero."""
    if card >= tensor.size:
        return tensor
    if card <= 0:
        return np.zeros_like(tensor)
    bound = np.sort(np.abs(tensor), axis=None)[-card]
    return np.where(np.abs(tensor) < bound, 0, tensor)


def _random_uniform_cp(shape: Sequence[int], rank: int, rng: np.random.Generator
                       ) -> list[np.ndarray]:
    return [rng.random((size, rank)) for size in shape]


def initialize_cp(tensor: Any, rank: int, init: Any = "svd", svd: str = "truncated_svd",
                  non_negative: bool = False, random_state: Any = None,
                  normalize_factors: bool = False, mask: Any = None,
                  svd_mask_repeats: int = 5, *, skip_mode: int | None = None) -> CPTensor:
    r"""The starting point of CP-ALS (TensorLy's ``initialize_cp``).

    - ``'svd'``: factor :math:`n` holds the :math:`R` leading left singular vectors of the
      unfolding :math:`T_{(n)}` (the first scaled by the singular values, so the start has the
      tensor's scale), completed by uniform random columns where :math:`R > I_n`; with a mask
      the missing entries are imputed by ``svd_mask_repeats`` low-rank fits first.
    - ``'random'``: uniform :math:`[0, 1)` factors, unit weights.

    With ``non_negative`` the SVD start is made non-negative by :func:`nndsvd` (and any start
    by taking absolute values).
    - a :class:`CPTensor` or ``(weights, factors)``: used as given (copied).

    ``non_negative`` takes absolute values; ``normalize_factors`` moves the column norms
    into the weights. ``skip_mode`` (speed) leaves that mode's factor at zero when the caller
    overwrites it before reading it.
    """
    data = as_data_tensor(tensor, "initialize_cp", allow_complex=True)
    rank = check_positive_int(rank, "rank", "initialize_cp")
    rng = make_generator(random_state)
    if isinstance(init, str) and init == "random":
        weights = np.ones(rank)
        factors = _random_uniform_cp(data.shape, rank, rng)
    elif isinstance(init, str) and init == "svd":
        svd = check_svd(svd, "initialize_cp")
        observed = None if mask is None else np.asarray(getattr(mask, "data", mask)).astype(bool)
        weights = np.ones(rank)
        factors = []
        for n, size in enumerate(data.shape):
            if n == skip_mode:
                factors.append(np.zeros((size, rank), dtype=data.dtype))
                continue
            if observed is not None:
                u, s = _masked_singular(unfold(data, n), unfold(observed, n), rank, svd,
                                        svd_mask_repeats, rng)
            elif svd == "truncated_svd" and n > 0 and not non_negative:
                # speed: eigenvectors of the small Gram matrix, no unfolding formed
                u, s = gram_eigenvectors(unfolding_gram(data, n), rank), None
            else:
                u, s = left_singular(unfold(data, n), min(rank, size), svd, rng)
            u = u[:, :min(rank, size)]
            if non_negative and s is not None:
                u = nndsvd(unfold(data, n), u, s[:u.shape[1]])
            if n == 0 and s is not None:
                u = u * s[:u.shape[1]]
            if size < rank:
                u = np.concatenate([u, rng.random((size, rank - size))], axis=1)
            factors.append(u)
    elif isinstance(init, (CPTensor, tuple, list)):
        try:
            given = init if isinstance(init, CPTensor) else CPTensor(*init)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"initialize_cp: init must be 'svd', 'random' or a CPTensor / "
                             f"(weights, factors) pair. Received an init that is not: {exc}"
                             ) from None
        if given.shape != data.shape or given.rank != rank:
            raise ValueError(f"initialize_cp: the init CPTensor must have shape {data.shape} "
                             f"and rank {rank}. Received: shape {given.shape}, rank "
                             f"{given.rank}")
        return CPTensor(np.array(given.weights), [np.array(f) for f in given.factors])
    else:
        raise ValueError(f"initialize_cp: init must be 'svd', 'random' or a CPTensor. "
                         f"Received: init={init!r}")
    if non_negative:
        factors = [np.abs(f) for f in factors]
    if normalize_factors:
        weights, factors = _normalize_all(weights, factors)
    return CPTensor(weights, factors)


def _masked_singular(unfolded: np.ndarray, observed: np.ndarray, rank: int, svd: str,
                     repeats: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Leading singular vectors and values, the missing entries imputed ``repeats`` times by
    the current rank-``rank`` approximation (starting from the values the tensor holds)."""
    matrix = unfolded
    u, s = left_singular(matrix, rank, svd, rng)
    for _ in range(repeats):
        matrix = np.where(observed, unfolded, u @ (u.conj().T @ matrix))
        u, s = left_singular(matrix, rank, svd, rng)
    return u, s


def _normalize_all(weights: np.ndarray, factors: Sequence[np.ndarray]
                   ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unit-norm factor columns, the norms multiplied into the weights."""
    weights = np.array(weights, dtype=np.result_type(weights, np.float64))
    result = []
    for f in factors:
        unit, norms = _normalize_columns(f)
        result.append(unit)
        weights = weights * norms
    return weights, result


def _check_fixed_modes(fixed_modes: Any, order: int, where: str) -> list[int]:
    if fixed_modes is None:
        return []
    values = list(fixed_modes)
    if any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 0 <= m < order
           for m in values):
        raise ValueError(f"{where}: fixed_modes must hold modes in [0, {order}). "
                         f"Received: fixed_modes={fixed_modes!r}")
    return sorted({int(m) for m in values})


def _check_iterations(n_iter_max: Any, tol: Any, where: str) -> tuple[int, float]:
    if isinstance(n_iter_max, bool) or not isinstance(n_iter_max, (int, np.integer)) \
            or n_iter_max < 0:
        raise ValueError(f"{where}: n_iter_max must be an integer >= 0. "
                         f"Received: n_iter_max={n_iter_max!r}")
    if not isinstance(tol, (int, float, np.floating, np.integer)) or not np.isfinite(tol) \
            or tol < 0:
        raise ValueError(f"{where}: tol must be a finite number >= 0. Received: tol={tol!r}")
    return int(n_iter_max), float(tol)


def _check_cvg(cvg_criterion: Any, where: str) -> str:
    if cvg_criterion not in ("abs_rec_error", "rec_error"):
        raise ValueError(f"{where}: cvg_criterion must be 'abs_rec_error' or 'rec_error'. "
                         f"Received: cvg_criterion={cvg_criterion!r}")
    return str(cvg_criterion)


def converged(errors: Sequence[float], tol: float, cvg_criterion: str) -> bool:
    """TensorLy's stopping rule: the last decrease of the error is below ``tol`` in absolute
    value (``'abs_rec_error'``) or signed (``'rec_error'``: an increase also stops)."""
    if len(errors) < 2:
        return False
    decrease = errors[-2] - errors[-1]
    return bool(abs(decrease) < tol if cvg_criterion == "abs_rec_error" else decrease < tol)


class _Errors:
    r"""The relative error of a CP model against the (possibly imputed) data.

    Without a mask or a sparse part it comes from the last mode's MTTKRP and the Gram
    matrices (as the Tensor Toolbox's ``cp_als`` does),
    :math:`\lVert \mathcal{T} \rVert^2 - 2\,\mathrm{Re}\langle \hat{\mathcal{T}},
    \mathcal{T} \rangle + \lVert \hat{\mathcal{T}} \rVert^2`, without rebuilding the tensor,
    while it is above about :math:`10^{-6}`; below that the terms cancel to rounding noise and
    the residual is measured directly, so an exactly low-rank tensor is fit to machine
    precision.
    """

    def __init__(self, data: np.ndarray, observed: np.ndarray | None, card: int | None) -> None:
        self.data = data
        self.observed = observed
        self.card = card
        self.norm_sq = float(np.vdot(data, data).real)
        self.exact_below = 1e4 * float(np.finfo(np.float64).eps)
        self.work = data
        self.sparse: np.ndarray | None = None

    def direct(self, weights: np.ndarray, factors: Sequence[np.ndarray]) -> float:
        """Relative error from the rebuilt model; with a mask also re-imputes the data."""
        model = CPTensor(weights, factors).to_dense()
        if self.observed is not None:
            self.work = np.where(self.observed, self.data, model)
            self.norm_sq = float(np.vdot(self.work, self.work).real)
        residual = self.work - model
        if self.card is not None:
            self.sparse = _sparsify(residual, self.card)
            residual = residual - self.sparse
        distance = float(np.linalg.norm(residual))
        return distance / np.sqrt(self.norm_sq) if self.norm_sq > 0 else distance

    def fast(self, weights: np.ndarray, factors: Sequence[np.ndarray], mttkrp: np.ndarray,
             gram_others: np.ndarray) -> float:
        if self.observed is not None or self.card is not None:
            return self.direct(weights, factors)
        last = factors[-1] * weights
        inner = float(np.vdot(last, mttkrp).real)
        model_sq = float(np.sum((last.conj().T @ last) * gram_others).real)
        error_sq = max(self.norm_sq - 2 * inner + model_sq, 0.0)
        if error_sq <= self.exact_below * self.norm_sq:
            return self.direct(weights, factors)
        return float(np.sqrt(error_sq / self.norm_sq)) if self.norm_sq > 0 else 0.0


def _als(data: np.ndarray, weights: np.ndarray, factors: list[np.ndarray], *,
         update: Sequence[int], n_iter_max: int, tol: float, cvg_criterion: str,
         l2_reg: float, errors_of: _Errors, orthogonalise: int, linesearch: bool,
         normalize_factors: bool, verbose: int, where: str,
         report: Callable[[int, np.ndarray, list[np.ndarray], float], bool] | None,
         solve: Callable[[int, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None
         ) -> tuple[np.ndarray, list[np.ndarray], list[float]]:
    r"""CP-ALS (Kolda & Bader 2009, Fig. 3.3), the loop shared by :func:`parafac` and :func:`cp`.

    Every sweep solves, for each mode :math:`n` of ``update`` in turn, the regularised linear
    least-squares problem for :math:`U^{(n)}` with the other factors fixed:

    .. math::

        U^{(n)} \leftarrow T_{(n)} \overline{\big(\textstyle\bigodot_{k \ne n} U^{(k)}\big)}
        \big(\bar V + \lambda_2 I\big)^{-1}, \qquad
        V = \mathop{\ast}_{k \ne n} U^{(k)*} U^{(k)}

    (the MTTKRP :func:`mttkrp`, from :func:`mttkrp_sweep`). The weights are folded into the
    first factor updated, which the solve rescales anyway; with ``normalize_factors`` the
    column norms are moved back into the weights after every sweep (after the error is
    measured). Options, as in TensorLy:

    - ``orthogonalise`` (k): replace the factors by the Q of their QR decomposition before
      sweeps 0 to k (only factors with at least R rows);
    - ``linesearch``: every second sweep after the sixth, try the extrapolation
      :math:`U \leftarrow U_{\text{old}} + (U - U_{\text{old}})\, i^{1/p}` (Bro 1998) and keep
      it when it lowers the error; after 4 failures :math:`p` grows by one;
    - with a mask the missing entries are re-imputed from the model after every sweep, and
      with a sparse part the error is measured after removing it (:class:`_Errors`).

    ``report(iteration, weights, factors, error)`` is called after every sweep; it returns
    True to stop. ``solve(n, factor, V, mttkrp)`` replaces the least-squares update (the
    non-negative variants in :mod:`~nablanet.tensor_algebra.nn_cp` use it).
    """
    order = data.ndim
    rank = factors[0].shape[1]
    errors: list[float] = []
    acc_pow, acc_fail, max_fail = 2.0, 0, 4
    last: tuple[np.ndarray, list[np.ndarray]] | None = None
    ridge = l2_reg * np.eye(rank)
    for iteration in range(n_iter_max):
        if orthogonalise and iteration <= orthogonalise:
            factors = [np.linalg.qr(f)[0] if min(f.shape) >= rank else f for f in factors]
        if np.any(weights != 1):  # fold the weights into the first factor to be updated
            factors[update[0]] = factors[update[0]] * weights
            weights = np.ones(rank, dtype=weights.dtype)
        if linesearch and iteration % 2 == 0:
            last = (weights.copy(), [f.copy() for f in factors])
        grams = [f.conj().T @ f for f in factors]
        mttkrps = mttkrp_sweep(errors_of.work)
        mttkrp = gram_others = np.zeros((rank, rank))
        for n in update:
            gram_others = np.ones((rank, rank), dtype=grams[0].dtype)
            for k in range(order):
                if k != n:
                    gram_others = gram_others * grams[k]
            mttkrp = mttkrps(n, factors)
            if solve is None:
                factors[n] = _solve(gram_others + ridge, mttkrp)
            else:
                factors[n] = solve(n, factors[n], gram_others, mttkrp)
            grams[n] = factors[n].conj().T @ factors[n]

        line_iteration = linesearch and iteration % 2 == 0 and iteration > 5 and errors
        if line_iteration:
            assert last is not None
            jump = iteration ** (1.0 / acc_pow)
            trial_weights = last[0] + (weights - last[0]) * jump
            trial = [old + (new - old) * jump for old, new in zip(last[1], factors)]
            saved = (errors_of.work, errors_of.norm_sq, errors_of.sparse)
            trial_error = errors_of.direct(trial_weights, trial)
            if trial_error < errors[-1]:
                weights, factors, error = trial_weights, trial, trial_error
                acc_fail = 0
                if verbose:
                    print(f"{where}: accepted line search jump of {jump:.3g}")
            else:
                errors_of.work, errors_of.norm_sq, errors_of.sparse = saved
                error = errors_of.fast(weights, factors, mttkrp, gram_others)
                acc_fail += 1
                if acc_fail == max_fail:
                    acc_pow, acc_fail = acc_pow + 1.0, 0
        elif update[-1] == order - 1:
            error = errors_of.fast(weights, factors, mttkrp, gram_others)
        else:
            error = errors_of.direct(weights, factors)
        if normalize_factors:
            weights, factors = _normalize_all(weights, factors)
        errors.append(error)
        if verbose:
            change = errors[-2] - error if len(errors) > 1 else float("nan")
            print(f"{where}: iteration {iteration + 1}, reconstruction error {error:.6g}, "
                  f"decrease {change:.3g}")
        if report is not None and report(iteration + 1, weights, factors, error):
            break
        if tol and iteration >= 1 and converged(errors, tol, cvg_criterion):
            break
    return weights, factors, errors


def parafac(tensor: Any, rank: int, n_iter_max: int = 100, init: Any = "svd",
            svd: str = "truncated_svd", normalize_factors: bool = False,
            orthogonalise: bool | int = False, tol: float = 1e-8, random_state: Any = None,
            verbose: int = 0, return_errors: bool = False, sparsity: float | int | None = None,
            l2_reg: float = 0, mask: Any = None, cvg_criterion: str = "abs_rec_error",
            fixed_modes: Sequence[int] | None = None, svd_mask_repeats: int = 5,
            linesearch: bool = False, callback: Callable[..., Any] | None = None) -> Any:
    r"""CP decomposition by alternating least squares, with TensorLy's arguments.

    .. math::

        \mathcal{T} \approx \sum_{r=1}^{R} \lambda_r\, u_r^{(1)} \circ \dots \circ u_r^{(N)}

    The loop is :func:`_als`; see :func:`cp` for nablanet's own interface (random start,
    sorted weights, per-iteration callback).

    Parameters
    ----------
    tensor : ndarray or Tensor of order N >= 2, real or complex
    rank : int
    n_iter_max : int
        Maximum number of sweeps; 0 returns the starting point.
    init : {'svd', 'random'}, CPTensor or (weights, factors)
        See :func:`initialize_cp`.
    svd : {'truncated_svd', 'symeig_svd', 'randomized_svd'}
        How the SVD start is computed.
    normalize_factors : bool
        Unit-norm factor columns, the norms in the weights (else the weights stay as started).
    orthogonalise : bool or int
        k > 0: QR-orthogonalise the factors before sweeps 0 to k (True counts as 1, as in
        TensorLy: the first two sweeps).
    tol : float
        Stop when the error decreases by less than ``tol`` (see ``cvg_criterion``).
    random_state : int, numpy Generator or None
    verbose : int
    return_errors : bool
        Also return the list of relative errors.
    sparsity : float or int, optional
        Fit a low-rank plus sparse model: the sparse part keeps the ``sparsity`` (a fraction of
        the entries, or a count) largest entries of the residual; returned as
        ``(cp_tensor, sparse_component)``.
    l2_reg : float
        Ridge penalty :math:`\lambda_2 \lVert U^{(n)} \rVert_F^2` on each update.
    mask : array_like of bool, optional
        False (0) marks a missing entry; missing entries are imputed from the model after
        every sweep.
    cvg_criterion : {'abs_rec_error', 'rec_error'}
    fixed_modes : sequence of int, optional
        Modes whose factors stay as started (the last mode cannot be fixed; a warning says so).
    svd_mask_repeats : int
        Imputation repeats of the masked SVD start.
    linesearch : bool
        Line-search acceleration (Bro 1998).
    callback : callable, optional
        ``callback(cp_tensor, relative_error)`` (``((cp_tensor, sparse), error)`` with
        ``sparsity``) before the first and after every sweep; returning True stops.

    Returns
    -------
    CPTensor, ``(CPTensor, sparse_component)`` with ``sparsity``, and ``(..., errors)`` with
    ``return_errors``.

    Examples
    --------
    >>> from nablanet.tensor_algebra import random_cp
    >>> t = random_cp((6, 7, 8), 2, random_state=0).to_dense()
    >>> parafac(t, 2, normalize_factors=True).relative_error(t) < 1e-6
    True
    """
    data = np.ascontiguousarray(as_data_tensor(tensor, "parafac", allow_complex=True))
    rank = check_positive_int(rank, "rank", "parafac")
    n_iter_max, tol = _check_iterations(n_iter_max, tol, "parafac")
    cvg_criterion = _check_cvg(cvg_criterion, "parafac")
    order = data.ndim
    fixed = _check_fixed_modes(fixed_modes, order, "parafac")
    if order - 1 in fixed and len(fixed) < order:
        warnings.warn("parafac: fixing the last mode is not supported; it will be updated. "
                      "Move the mode (np.moveaxis) to fix it.", stacklevel=2)
        fixed.remove(order - 1)
    update = [n for n in range(order) if n not in fixed]
    observed = None if mask is None else np.asarray(getattr(mask, "data", mask)).astype(bool)
    if observed is not None and observed.shape != data.shape:
        raise ValueError(f"parafac: mask must have the tensor's shape {data.shape}. "
                         f"Received: mask of shape {observed.shape}")
    card = None
    if sparsity:
        card = int(sparsity * data.size) if isinstance(sparsity, float) else int(sparsity)
    skip = update[0] if (update and n_iter_max > 0 and callback is None and observed is None
                         and not orthogonalise and update[0] == 0) else None
    weights, factors = initialize_cp(data, rank, init=init, svd=svd, random_state=random_state,
                                     normalize_factors=normalize_factors, mask=observed,
                                     svd_mask_repeats=svd_mask_repeats, skip_mode=skip)
    factors = [f.astype(np.result_type(f.dtype, data.dtype)) for f in factors]
    errors_of = _Errors(data, observed, card)

    def package(w: np.ndarray, f: list[np.ndarray]) -> Any:
        cp_tensor = CPTensor(w, f)
        if card is None:
            return cp_tensor
        if errors_of.sparse is None:
            errors_of.direct(w, f)
        return cp_tensor, errors_of.sparse

    def report(iteration: int, w: np.ndarray, f: list[np.ndarray], error: float) -> bool:
        return bool(callback(package(w, f), error) is True) if callback is not None else False

    if callback is not None:
        report(0, weights, factors, errors_of.direct(weights, factors))
    if not update:
        errors: list[float] = []
    else:
        weights, factors, errors = _als(
            data, weights, factors, update=update, n_iter_max=n_iter_max, tol=tol,
            cvg_criterion=cvg_criterion, l2_reg=float(l2_reg), errors_of=errors_of,
            orthogonalise=int(orthogonalise),
            linesearch=bool(linesearch), normalize_factors=normalize_factors,
            verbose=int(verbose), where="parafac", report=report)
    if card is not None:
        errors_of.direct(weights, factors)
    result = package(weights, factors)
    if isinstance(result, CPTensor):
        result.errors = list(errors)
    return (result, errors) if return_errors else result


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

    The MTTKRP is :func:`mttkrp` (the fast kernels compute a sweep's MTTKRPs from two GEMMs
    with the tensor viewed as a matrix: :mod:`nablanet.kernels.decompositions`). The relative
    error
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
        Same shape as ``tensor``; False (0) marks a missing entry. Missing entries start at
        the mean of the observed ones and are imputed from the current model after every
        sweep (Tomasi & Bro 2005); the error is that of the imputed tensor (its residual lies
        on the observed entries), as in TensorLy.
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
    observed = None
    work = data
    if mask is not None:
        observed = np.asarray(getattr(mask, "data", mask)).astype(bool)
        if observed.shape != data.shape:
            raise ValueError(f"cp: mask must have the tensor's shape {data.shape}. "
                             f"Received: mask of shape {observed.shape}")
        if not observed.any():
            raise ValueError("cp: mask marks every entry as missing. Received: an all-False mask")
        work = np.where(observed, data, data[observed].mean())

    factors = _initialize(work, rank, init, rng)
    errors_of = _Errors(data, observed, None)
    errors_of.work = work

    def report(iteration: int, w: np.ndarray, f: list[np.ndarray], error: float) -> bool:
        if verbose:
            print(f"cp: iteration {iteration}, relative error {error:.6g}")
        if callback is not None:
            callback(iteration, error)
        return False

    weights, factors, errors = _als(
        data, np.ones(rank), factors, update=list(range(data.ndim)), n_iter_max=n_iter_max,
        tol=tol, cvg_criterion="abs_rec_error", l2_reg=0.0, errors_of=errors_of,
        orthogonalise=0, linesearch=False, normalize_factors=True, verbose=0, where="cp",
        report=report if callback is not None or verbose else None)
    ranking = np.argsort(-weights, kind="stable")
    weights = weights[ranking]
    factors = [f[:, ranking] for f in factors]
    if not normalize:
        factors[-1] = factors[-1] * weights
        weights = np.ones(rank)
    return CPTensor(weights, factors, errors)


def sample_khatri_rao(matrices: Sequence[Any], n_samples: int, skip_matrix: int | None = None,
                      indices_list: Sequence[Any] | None = None,
                      return_sampled_rows: bool = False, random_state: Any = None) -> Any:
    r"""``n_samples`` random rows of the Khatri–Rao product of ``matrices`` (TensorLy's).

    Row :math:`(i_1, \dots, i_M)` of :math:`A^{(1)} \odot \dots \odot A^{(M)}` is the Hadamard
    product of the rows :math:`A^{(k)}_{i_k,:}`, so a sampled row costs :math:`O(M R)`
    without forming the product. The indices are drawn uniformly per matrix (or taken from
    ``indices_list``); ``skip_matrix`` leaves one matrix out.

    Returns
    -------
    (sampled_kr, indices_list), plus the row numbers in the full product (C order) with
    ``return_sampled_rows``.
    """
    mats = [np.asarray(m) for i, m in enumerate(matrices) if i != skip_matrix]
    if indices_list is None:
        rng = make_generator(random_state)
        indices_list = [rng.integers(0, m.shape[0], size=n_samples) for m in mats]
    rank = mats[0].shape[1]
    sampled = np.ones((n_samples, rank), dtype=np.result_type(*mats))
    for indices, m in zip(indices_list, mats):
        sampled = sampled * m[indices, :]
    if not return_sampled_rows:
        return sampled, list(indices_list)
    rows = np.zeros(n_samples, dtype=np.int64)
    for m, indices in zip(mats, indices_list):
        rows = rows * m.shape[0] + np.asarray(indices)
    return sampled, list(indices_list), rows


def _relative_error_of(data: np.ndarray, norm_sq: float, factors: Sequence[np.ndarray]
                       ) -> float:
    r"""``||T - [[U^(1), ..., U^(N)]]|| / ||T||`` without rebuilding the model:
    :math:`\lVert \mathcal{T} \rVert^2 - 2\,\mathrm{Re}\langle \mathcal{T},
    \hat{\mathcal{T}} \rangle + \lVert \hat{\mathcal{T}} \rVert^2`, the inner product
    :math:`\langle U^{(1)}, M^{(1)} \rangle` from the first mode's MTTKRP and
    :math:`\lVert \hat{\mathcal{T}} \rVert^2` the sum of the Hadamard product of the Gram
    matrices :math:`U^{(k)*} U^{(k)}`.
    """
    first = mttkrp_sweep(data)(0, factors)
    inner = float(np.vdot(factors[0], first).real)
    gram = np.ones((factors[0].shape[1],) * 2)
    for f in factors:
        gram = gram * (f.conj().T @ f)
    error_sq = max(norm_sq - 2 * inner + float(gram.sum().real), 0.0)
    return float(np.sqrt(error_sq / norm_sq)) if norm_sq > 0 else 0.0


def randomised_parafac(tensor: Any, rank: int, n_samples: int, n_iter_max: int = 100,
                       init: Any = "random", svd: str = "truncated_svd", tol: float = 10e-9,
                       max_stagnation: int = 20, return_errors: bool = False,
                       random_state: Any = None, verbose: int = 0,
                       callback: Callable[..., Any] | None = None) -> Any:
    r"""Randomised CP-ALS (Battaglino, Ballard and Kolda 2018), TensorLy's arguments.

    Each update solves the least-squares problem on ``n_samples`` random rows of the
    Khatri–Rao product instead of all of them:

    .. math::

        U^{(n)} \leftarrow \big( (S Z)^\top (S Z) \big)^{-1} (S Z)^\top S\, T_{(n)}^\top,
        \qquad Z = \bigodot_{k \ne n} U^{(k)}

    with :math:`S` the row sampling (:func:`sample_khatri_rao`; the matching fibres of the
    tensor are gathered by fancy indexing). The relative error is measured on the whole tensor
    after every sweep (:func:`_relative_error_of`); the loop stops when it changes by less
    than ``tol`` or has not improved for ``max_stagnation`` sweeps.

    Returns
    -------
    CPTensor, or (CPTensor, errors) with ``return_errors``

    References
    ----------
    C. Battaglino, G. Ballard and T. G. Kolda, "A Practical Randomized CP Tensor
    Decomposition", SIAM J. Matrix Anal. Appl. 39(2), 2018.
    """
    data = np.ascontiguousarray(as_data_tensor(tensor, "randomised_parafac"))
    rank = check_positive_int(rank, "rank", "randomised_parafac")
    n_samples = check_positive_int(n_samples, "n_samples", "randomised_parafac")
    n_iter_max, tol = _check_iterations(n_iter_max, tol, "randomised_parafac")
    rng = make_generator(random_state)
    _, factors = initialize_cp(data, rank, init=init, svd=svd, random_state=rng)
    factors = list(factors)
    weights = np.ones(rank)
    order = data.ndim
    norm_sq = float(np.vdot(data, data))
    errors: list[float] = []
    best, stagnation = 0.0, 0
    if callback is not None:
        callback(CPTensor(weights, factors), _relative_error_of(data, norm_sq, factors))
    for iteration in range(n_iter_max):
        for n in range(order):
            kr, indices = sample_khatri_rao(factors, n_samples, skip_matrix=n, random_state=rng)
            index: list[Any] = [np.asarray(i) for i in indices]
            index.insert(n, slice(None))
            sampled = data[tuple(index)]
            if n == 0:  # the slice comes first: NumPy keeps it first
                sampled = sampled.T
            factors[n] = _solve(kr.T @ kr, (kr.T @ sampled).T)
        error = _relative_error_of(data, norm_sq, factors)
        errors.append(error)
        if callback is not None and callback(CPTensor(weights, factors), error) is True:
            break
        if not best or error < best:
            best, stagnation = error, -1
        stagnation += 1
        if verbose:
            print(f"randomised_parafac: iteration {iteration + 1}, reconstruction error "
                  f"{error:.6g}")
        if iteration > 1 and ((tol and abs(errors[-2] - errors[-1]) < tol)
                              or (stagnation and stagnation > max_stagnation)):
            break
    result = CPTensor(weights, factors, errors)
    return (result, errors) if return_errors else result
