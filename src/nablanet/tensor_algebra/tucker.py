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

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nablanet.kernels.registry import dispatch
from nablanet.random import make_generator
from nablanet.tensor_algebra._common import (
    as_data_tensor,
    check_ranks,
    check_svd,
    gram_eigenvectors,
    left_singular,
    unfolding_gram,
)
from nablanet.tensor_algebra.formats import TuckerTensor
from nablanet.tensor_algebra.unfolding import mode_dot, unfold

__all__ = ["partial_tucker", "tucker"]


def _project(tensor: np.ndarray, factors: Sequence[np.ndarray], modes: Sequence[int]) -> np.ndarray:
    r""":math:`\mathcal{T} \times_{k} A^{(k)*}` for every ``k`` in ``modes`` (in that order)."""
    for k in modes:
        tensor = mode_dot(tensor, factors[k].conj(), k, transpose=True)
    return tensor


def _expand(core: np.ndarray, factors: Sequence[np.ndarray], modes: Sequence[int]) -> np.ndarray:
    r""":math:`\mathcal{C} \times_{k} A^{(k)}` for every ``k`` in ``modes``."""
    for k in modes:
        core = mode_dot(core, factors[k], k)
    return core


def _check_tol(tol: Any, n_iter_max: Any, where: str) -> tuple[float, int]:
    if isinstance(n_iter_max, bool) or not isinstance(n_iter_max, (int, np.integer)) \
            or n_iter_max < 0:
        raise ValueError(f"{where}: n_iter_max must be an integer >= 0. "
                         f"Received: n_iter_max={n_iter_max!r}")
    if not isinstance(tol, (int, float, np.floating, np.integer)) or not np.isfinite(tol) \
            or tol < 0:
        raise ValueError(f"{where}: tol must be a finite number >= 0. Received: tol={tol!r}")
    return float(tol), int(n_iter_max)


def _check_modes(modes: Any, order: int, where: str) -> list[int]:
    if modes is None:
        return list(range(order))
    values = [modes] if isinstance(modes, (int, np.integer)) else list(modes)
    if not values or any(isinstance(m, bool) or not isinstance(m, (int, np.integer))
                         or not 0 <= m < order for m in values) or len(set(values)) != len(values):
        raise ValueError(f"{where}: modes must be distinct integers in [0, {order}). "
                         f"Received: modes={modes!r}")
    return sorted(int(m) for m in values)


def _masked_left_singular(unfolded: np.ndarray, observed: np.ndarray, rank: int, svd: str,
                          repeats: int, rng: np.random.Generator) -> np.ndarray:
    """Leading left singular vectors with the missing entries imputed by repeated low-rank fits.

    Missing entries start at 0; each repeat replaces them with the rank-``rank`` SVD
    approximation of the current matrix (as TensorLy's ``svd_interface(mask=...)``).
    """
    matrix = np.where(observed, unfolded, 0)
    for _ in range(repeats):
        u, _ = left_singular(matrix, rank, svd, rng)
        matrix = np.where(observed, unfolded, u @ (u.conj().T @ matrix))
    return left_singular(matrix, rank, svd, rng)[0]


def _svd_factors(data: np.ndarray, ranks: dict[int, int], modes: Sequence[int], svd: str,
                 rng: np.random.Generator, observed: np.ndarray | None,
                 svd_mask_repeats: int) -> dict[int, np.ndarray]:
    """HOSVD factors: the leading left singular vectors of each unfolding."""
    factors = {}
    for n in modes:
        if observed is not None:
            factors[n] = _masked_left_singular(unfold(data, n), unfold(observed, n), ranks[n],
                                               svd, svd_mask_repeats, rng)
        elif svd == "truncated_svd":
            # speed: the eigenvectors of the small Gram matrix, without forming the unfolding
            factors[n] = gram_eigenvectors(unfolding_gram(data, n), ranks[n])
            if factors[n].shape[1] < ranks[n]:
                factors[n] = left_singular(unfold(data, n), ranks[n], svd, rng)[0]
        else:
            factors[n] = left_singular(unfold(data, n), ranks[n], svd, rng)[0]
    return factors


def hooi_projections(tensor: np.ndarray, modes: Sequence[int]
                     ) -> Callable[[int, Sequence[np.ndarray]], np.ndarray]:
    r"""``sweep(n, factors)``, the projection :math:`\mathcal{T} \times_{k \ne n} A^{(k)*}`
    (``k`` over ``modes``) for one HOOI sweep over ``tensor``, the modes asked for in
    increasing order.

    The reference projects the whole tensor afresh for every mode; the fast kernel
    (``"hooi_projections"``, :class:`nablanet.kernels.decompositions.GroupedProjections`)
    shares the projection onto one group of modes between the modes of the other group. Make
    one per sweep.
    """
    return dispatch("hooi_projections", _projections_of, tensor, modes)  # type: ignore[no-any-return]


def _projections_of(tensor: np.ndarray, modes: Sequence[int]
                    ) -> Callable[[int, Sequence[np.ndarray]], np.ndarray]:
    """The reference sweep: every projection computed from the whole tensor."""
    return lambda n, factors: _project(tensor, factors, [k for k in modes if k != n])


def _hooi(data: np.ndarray, factors: list[np.ndarray], modes: Sequence[int],
          update: Sequence[int], ranks: dict[int, int], n_iter_max: int, tol: float, svd: str,
          rng: np.random.Generator, observed: np.ndarray | None, verbose: bool,
          callback: Callable[[int, float], Any] | None, where: str
          ) -> tuple[np.ndarray, list[float]]:
    r"""Higher-order orthogonal iteration on ``modes`` (Kolda & Bader 2009, Fig. 4.4).

    Every sweep, for each mode :math:`n` of ``update`` in turn:

    .. math::

        \mathcal{Y} = \mathcal{T} \times_{k \ne n} A^{(k)*}, \qquad
        A^{(n)} \leftarrow R_n \text{ leading left singular vectors of } Y_{(n)}

    (:math:`\mathcal{Y}` from :func:`hooi_projections`), then the core
    :math:`\mathcal{C} = \mathcal{T} \times_{k} A^{(k)*}`, which is the last
    :math:`\mathcal{Y}` times its own mode's new factor (no factor changed since), and the
    relative error :math:`\sqrt{\lVert \mathcal{T} \rVert^2 - \lVert \mathcal{C} \rVert^2} /
    \lVert \mathcal{T} \rVert` (the factors are orthonormal). With a mask the missing entries of
    :math:`\mathcal{T}` are replaced by the current model before each sweep. Factors of
    ``modes`` not in ``update`` stay as given.
    """
    norm_sq = float(np.vdot(data, data).real)
    errors: list[float] = []
    work = data
    # The starting core is read only by the imputation (or returned when n_iter_max is 0).
    core = _project(data, factors, modes) if observed is not None or n_iter_max == 0 \
        else np.zeros(0)
    for iteration in range(n_iter_max):
        if observed is not None:
            work = np.where(observed, data, _expand(core, factors, modes))
            norm_sq = float(np.vdot(work, work).real)
        projection = hooi_projections(work, modes)
        y = work
        for n in update:
            y = projection(n, factors)
            factors[n] = left_singular(unfold(y, n), ranks[n], svd, rng)[0]
        core = _project(y, factors, [update[-1]] if update else modes)
        kept = float(np.vdot(core, core).real)
        error = float(np.sqrt(max(norm_sq - kept, 0.0) / norm_sq)) if norm_sq > 0 else 0.0
        errors.append(error)
        if verbose:
            change = errors[-2] - error if len(errors) > 1 else float("nan")
            print(f"{where}: iteration {iteration + 1}, reconstruction error {error:.6g}, "
                  f"variation {change:.3g}")
        if callback is not None:
            callback(iteration + 1, error)
        if iteration >= 1 and abs(errors[-2] - errors[-1]) < tol:
            break
    return core, errors


def _tucker_ranks(rank: Any, shape: Sequence[int], modes: Sequence[int], where: str,
                  name: str = "rank") -> dict[int, int]:
    """One rank per mode of ``modes`` (None keeps the sizes; an int is used for every mode),
    each clamped to the mode's size."""
    if rank is None:
        return {m: shape[m] for m in modes}
    values = check_ranks(rank, len(modes), name, where)
    return {m: min(r, shape[m]) for m, r in zip(modes, values)}


def _initial_factors(data: np.ndarray, init: Any, ranks: dict[int, int], modes: Sequence[int],
                     svd: str, rng: np.random.Generator, observed: np.ndarray | None,
                     svd_mask_repeats: int, where: str, skip_first: bool
                     ) -> tuple[list[np.ndarray], bool]:
    """Starting factors (a list over all modes) and whether they came from ``init``."""
    factors: list[np.ndarray] = [np.eye(n) for n in data.shape]
    if isinstance(init, str):
        if init == "svd":
            wanted = modes[1:] if skip_first else modes
            for n, f in _svd_factors(data, ranks, wanted, svd, rng, observed,
                                     svd_mask_repeats).items():
                factors[n] = f
            if skip_first:  # HOOI's first update reads only the other factors
                factors[modes[0]] = np.zeros((data.shape[modes[0]], ranks[modes[0]]))
        elif init == "random":
            for n in modes:
                factors[n] = rng.random((data.shape[n], ranks[n]))
        else:
            raise ValueError(f"{where}: init must be 'svd', 'random' or a (core, factors) pair. "
                             f"Received: init={init!r}")
        return factors, False
    try:
        _, given = init
        given = [np.asarray(f) for f in given]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: init must be 'svd', 'random' or a (core, factors) pair. "
                         f"Received: init of type {type(init).__name__}") from None
    if len(given) != len(modes):
        raise ValueError(f"{where}: init must hold one factor per decomposed mode "
                         f"({len(modes)}). Received: {len(given)} factors")
    for n, f in zip(modes, given):
        if f.shape != (data.shape[n], ranks[n]):
            raise ValueError(f"{where}: the init factor of mode {n} must have shape "
                             f"{(data.shape[n], ranks[n])}. Received: {f.shape}")
        factors[n] = f.astype(np.result_type(f.dtype, data.dtype, np.float64))
    return factors, True


def _observed(mask: Any, shape: tuple[int, ...], where: str) -> np.ndarray | None:
    if mask is None:
        return None
    observed = np.asarray(getattr(mask, "data", mask)).astype(bool)
    if observed.shape != shape:
        raise ValueError(f"{where}: mask must have the tensor's shape {shape}. "
                         f"Received: mask of shape {observed.shape}")
    return observed


def partial_tucker(tensor: Any, rank: int | Sequence[int] | None, modes: Sequence[int] | None
                   = None, n_iter_max: int = 100, init: Any = "svd", tol: float = 10e-5,
                   svd: str = "truncated_svd", random_state: Any = None, verbose: bool = False,
                   mask: Any = None, svd_mask_repeats: int = 5
                   ) -> tuple[tuple[np.ndarray, list[np.ndarray]], list[float]]:
    r"""Tucker decomposition along some modes only, by HOOI (TensorLy's ``partial_tucker``).

    .. math::

        \mathcal{T} \approx \mathcal{C} \times_{m_1} A^{(m_1)} \cdots \times_{m_k} A^{(m_k)}

    for the modes :math:`m_1, \dots, m_k` in ``modes``; the other modes of the core keep the
    tensor's sizes. The factors start from the truncated HOSVD (``init='svd'``), uniform
    random matrices (``'random'``) or a given ``(core, factors)``, and are refined by
    :func:`_hooi` until the relative error changes by less than ``tol``.

    Parameters
    ----------
    tensor : ndarray (real or complex) of order >= 2
    rank : None, int or sequence of int
        One rank per mode in ``modes`` (None keeps the sizes; an int is used for all).
    modes : sequence of int, optional
        The modes to decompose (all by default).
    n_iter_max, init, tol, svd, random_state, verbose, mask, svd_mask_repeats
        As :func:`tucker`.

    Returns
    -------
    ((core, factors), errors)
        ``factors`` has one matrix per mode in ``modes`` (in increasing order).

    Examples
    --------
    >>> t = np.random.default_rng(0).random((3, 4, 5))
    >>> (core, factors), errors = partial_tucker(t, [2, 3], modes=[1, 2])
    >>> core.shape, [f.shape for f in factors]
    ((3, 2, 3), [(4, 2), (5, 3)])
    """
    data = np.ascontiguousarray(as_data_tensor(tensor, "partial_tucker", allow_complex=True))
    modes = _check_modes(modes, data.ndim, "partial_tucker")
    ranks = _tucker_ranks(rank, data.shape, modes, "partial_tucker")
    tol, n_iter_max = _check_tol(tol, n_iter_max, "partial_tucker")
    svd = check_svd(svd, "partial_tucker")
    rng = make_generator(random_state)
    observed = _observed(mask, data.shape, "partial_tucker")
    factors, _ = _initial_factors(data, init, ranks, modes, svd, rng, observed,
                                  svd_mask_repeats, "partial_tucker", skip_first=False)
    core, errors = _hooi(data, factors, modes, modes, ranks, n_iter_max, tol, svd, rng,
                         observed, verbose, None, "partial_tucker")
    return (core, [factors[m] for m in modes]), errors


def tucker(tensor: Any, rank: int | Sequence[int] | None = None,
           fixed_factors: Sequence[int] | None = None, n_iter_max: int = 100,
           init: Any = "svd", return_errors: bool = False, svd: str = "truncated_svd",
           tol: float = 10e-5, random_state: Any = None, mask: Any = None,
           verbose: bool = False, *, method: str = "hooi", svd_mask_repeats: int = 5,
           callback: Callable[[int, float], Any] | None = None,
           ranks: int | Sequence[int] | None = None) -> Any:
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
    :math:`T_{(n)} T_{(n)}^*` (no SVD of the wide unfolding), and
    :math:`\mathcal{C} = \mathcal{T} \times_1 A^{(1)*} \cdots \times_N A^{(N)*}`.

    *HOOI* (higher-order orthogonal iteration; Kolda & Bader 2009, Fig. 4.4; see
    :func:`_hooi`) then repeats, for :math:`n = 1, \dots, N`,

    .. math::

        \mathcal{Y} = \mathcal{T} \times_{k \ne n} A^{(k)*}, \qquad
        A^{(n)} \leftarrow R_n \text{ leading left singular vectors of } Y_{(n)}

    and stops when the relative error
    :math:`\sqrt{\lVert \mathcal{T} \rVert^2 - \lVert \mathcal{C} \rVert^2} / \lVert
    \mathcal{T} \rVert` changes by less than ``tol``. A rank larger than what the projected
    unfolding :math:`Y_{(n)}` can fill is kept: the factor is completed by orthonormal
    columns (whose core slices are zero).

    Parameters
    ----------
    tensor : ndarray or Tensor of order N >= 2, real or complex
        Computed in float64 / complex128 (float32 input is promoted).
    rank : None, int or sequence of N ints
        :math:`(R_1, \dots, R_N)`; an int is used for every mode, None keeps every size.
        Each is clamped to :math:`I_n`.
    fixed_factors : sequence of int, optional
        Modes whose factors stay as given in ``init`` (which must then be a
        ``(core, factors)`` pair).
    n_iter_max : int
        Maximum number of HOOI sweeps (0: the starting point only).
    init : {'svd', 'random'} or (core, factors)
        Truncated HOSVD, uniform random factors, or given factors.
    return_errors : bool
        Also return the list of relative errors.
    svd : {'truncated_svd', 'symeig_svd', 'randomized_svd'}
    tol : float
        HOOI stops when :math:`|e_{k-1} - e_k| < \text{tol}` (TensorLy's default, 1e-4).
    random_state : int, numpy Generator or None
        For ``init='random'`` and ``svd='randomized_svd'``.
    mask : array_like of bool, optional
        False (0) marks a missing entry; missing entries are imputed from the model before
        every sweep (and by repeated low-rank fits in the SVD start).
    verbose : bool
        Print the relative error after every sweep.
    method : {'hooi', 'hosvd'}
        'hosvd' returns the truncated HOSVD without iterating.
    svd_mask_repeats : int
        Imputation repeats of the masked SVD start.
    callback : callable, optional
        ``callback(iteration, relative_error)`` after every sweep.
    ranks : optional
        Another name for ``rank``.

    Returns
    -------
    TuckerTensor, or (TuckerTensor, errors) with ``return_errors``
        ``core``, ``factors`` and ``errors`` (relative error after HOSVD / each sweep).

    Raises
    ------
    ValueError
        For a rank <= 0, ranks of the wrong length, order < 2, NaN or inf in the tensor, an
        unknown method, init or svd; the message echoes what was received.

    Examples
    --------
    >>> from nablanet.tensor_algebra import random_tucker
    >>> t = random_tucker((6, 7, 8), (2, 3, 2), random_state=0).to_dense()
    >>> tucker(t, (2, 3, 2)).relative_error(t) < 1e-10
    True
    """
    if ranks is not None:
        if rank is not None:
            raise ValueError("tucker: give rank or ranks, not both. "
                             f"Received: rank={rank!r}, ranks={ranks!r}")
        rank = ranks
    data = np.ascontiguousarray(as_data_tensor(tensor, "tucker", allow_complex=True))
    order = data.ndim
    modes = list(range(order))
    if rank is None:
        warnings.warn("tucker: no rank given; the decomposition keeps the tensor's sizes.",
                      stacklevel=2)
    rank_of = _tucker_ranks(rank, data.shape, modes, "tucker")
    tol, n_iter_max = _check_tol(tol, n_iter_max, "tucker")
    svd = check_svd(svd, "tucker")
    if method not in ("hooi", "hosvd"):
        raise ValueError(f"tucker: method must be 'hooi' or 'hosvd'. Received: method={method!r}")
    fixed = _check_modes(fixed_factors, order, "tucker") if fixed_factors else []
    if fixed and isinstance(init, str):
        raise ValueError(f"tucker: fixed_factors={list(fixed_factors or [])} needs init to be a "
                         f"(core, factors) pair. Received: init={init!r}")
    rng = make_generator(random_state)
    observed = _observed(mask, data.shape, "tucker")
    skip_first = method == "hooi" and init == "svd" and n_iter_max > 0 and observed is None
    factors, _ = _initial_factors(data, init, rank_of, modes, svd, rng, observed,
                                  svd_mask_repeats, "tucker", skip_first)
    if method == "hosvd" or n_iter_max == 0:
        core = _project(data, factors, modes)
        norm_sq = float(np.vdot(data, data).real)
        kept = float(np.vdot(core, core).real)
        errors = [float(np.sqrt(max(norm_sq - kept, 0.0) / norm_sq)) if norm_sq > 0 else 0.0]
        if callback is not None:
            callback(0, errors[0])
    else:
        update = [m for m in modes if m not in fixed]
        core, errors = _hooi(data, factors, modes, update, rank_of, n_iter_max, tol, svd, rng,
                             observed, verbose, callback, "tucker")
    result = TuckerTensor(core, factors, errors)
    return (result, errors) if return_errors else result
