r"""Non-negative Tucker decompositions: multiplicative updates and HALS + FISTA.

Both minimise :math:`\lVert \mathcal{T} - \mathcal{C} \times_1 A^{(1)} \cdots \times_N
A^{(N)} \rVert_F^2` over :math:`\mathcal{C} \ge 0`, :math:`A^{(n)} \ge 0` (Kim & Choi 2007;
TensorLy's ``non_negative_tucker`` and ``non_negative_tucker_hals``). Every quantity they need
is a small contraction (:func:`_factor_terms`):

.. math::

    T_{(n)} B_n^\top = \big[\mathcal{T} \times_{k \ne n} A^{(k)\top}\big]_{(n)} C_{(n)}^\top,
    \qquad
    B_n B_n^\top = \big[\mathcal{C} \times_{k \ne n} A^{(k)\top} A^{(k)}\big]_{(n)}
    C_{(n)}^\top

with :math:`B_n = C_{(n)} (\bigotimes_{k \ne n} A^{(k)})^\top` the model's mode-n unfolding
without its factor, so the model itself (and :math:`B_n`, as large as the tensor) is never
formed, and the error comes from the core-sized products
:math:`\lVert \mathcal{T} \rVert^2 - 2 \langle \mathcal{T} \times_k A^{(k)\top}, \mathcal{C}
\rangle + \langle \mathcal{C} \times_k A^{(k)\top} A^{(k)}, \mathcal{C} \rangle`.

References
----------
Y.-D. Kim and S. Choi, "Nonnegative Tucker Decomposition", CVPR 2007.
A. Beck and M. Teboulle, "A Fast Iterative Shrinkage-Thresholding Algorithm for Linear
Inverse Problems", SIAM J. Imaging Sci. 2(1), 2009.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.random import make_generator
from nablanet.tensor_algebra._common import (
    as_data_tensor,
    check_svd,
    left_singular,
    nndsvd,
)
from nablanet.tensor_algebra.formats import TuckerTensor
from nablanet.tensor_algebra.nn_cp import EPSILON, hals_nnls
from nablanet.tensor_algebra.tucker import _check_tol, _project, _tucker_ranks
from nablanet.tensor_algebra.unfolding import mode_dot, unfold

__all__ = ["non_negative_tucker", "non_negative_tucker_hals"]


def _initialize(data: np.ndarray, ranks: dict[int, int], init: Any, svd: str,
                rng: np.random.Generator, where: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """A non-negative start: NNDSVD factors and the absolute projected core, uniform random
    ones, or a given ``(core, factors)`` (absolute values)."""
    modes = range(data.ndim)
    if isinstance(init, str) and init == "svd":
        factors = []
        for n in modes:
            unfolded = unfold(data, n)
            u, s = left_singular(unfolded, ranks[n], svd, rng)
            factors.append(nndsvd(unfolded, u, s))
        core = _project(data, factors, modes)
    elif isinstance(init, str) and init == "random":
        core = rng.random(tuple(ranks[n] for n in modes)) + 0.01
        factors = [rng.random((data.shape[n], ranks[n])) for n in modes]
    elif not isinstance(init, str):
        core, factors = init
        core, factors = np.array(core, dtype=np.float64), [np.array(f, dtype=np.float64)
                                                              for f in factors]
    else:
        raise ValueError(f"{where}: init must be 'svd', 'random' or a (core, factors) pair. "
                         f"Received: init={init!r}")
    return np.abs(core), [np.abs(f) for f in factors]


def _factor_terms(data: np.ndarray, core: np.ndarray, factors: Sequence[np.ndarray],
                  grams: Sequence[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`(T_{(n)} B_n^\top,\; B_n B_n^\top)` from core-sized contractions (module doc)."""
    others = [k for k in range(data.ndim) if k != n]
    projected = _project(data, factors, others)
    core_n = unfold(core, n)
    weighted = core
    for k in others:
        weighted = mode_dot(weighted, grams[k], k)
    return unfold(projected, n) @ core_n.T, unfold(weighted, n) @ core_n.T


def _core_terms(data: np.ndarray, core: np.ndarray, factors: Sequence[np.ndarray],
                grams: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\mathcal{T} \times_k A^{(k)\top}` and :math:`\mathcal{C} \times_k A^{(k)\top}
    A^{(k)}`: the two halves of the core's gradient."""
    weighted = core
    for k in range(data.ndim):
        weighted = mode_dot(weighted, grams[k], k)
    return _project(data, factors, range(data.ndim)), weighted


def _relative_error(norm_sq: float, core: np.ndarray, projected: np.ndarray,
                    weighted: np.ndarray) -> float:
    error_sq = norm_sq - 2 * float(np.vdot(projected, core)) + float(np.vdot(weighted, core))
    return float(np.sqrt(max(error_sq, 0.0) / norm_sq)) if norm_sq > 0 else 0.0


def _normalize(core: np.ndarray, factors: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unit-norm factor columns, the norms moved into the core."""
    for n, f in enumerate(factors):
        norms = np.linalg.norm(f, axis=0)
        norms = np.where(norms > 0, norms, 1.0)
        factors[n] = f / norms
        core = mode_dot(core, np.diag(norms), n)
    return core, factors


def _prepare(tensor: Any, rank: Any, n_iter_max: Any, tol: Any, random_state: Any,
             where: str) -> tuple[np.ndarray, dict[int, int], int, float, np.random.Generator]:
    data = np.ascontiguousarray(as_data_tensor(tensor, where))
    ranks = _tucker_ranks(rank, data.shape, list(range(data.ndim)), where)
    tol, n_iter_max = _check_tol(tol, n_iter_max, where)
    return data, ranks, n_iter_max, tol, make_generator(random_state)


def non_negative_tucker(tensor: Any, rank: int | Sequence[int] | None, n_iter_max: int = 10,
                        init: Any = "svd", tol: float = 10e-5, random_state: Any = None,
                        verbose: bool = False, return_errors: bool = False,
                        normalize_factors: bool = False) -> Any:
    r"""Non-negative Tucker decomposition by multiplicative updates (Kim & Choi 2007).

    Each sweep updates every factor and then the core:

    .. math::

        A^{(n)} \leftarrow A^{(n)} \ast \frac{\max(T_{(n)} B_n^\top, \epsilon)}
        {\max(A^{(n)} B_n B_n^\top, \epsilon)}, \qquad
        \mathcal{C} \leftarrow \mathcal{C} \ast \frac{\max(\mathcal{T} \times_k A^{(k)\top},
        \epsilon)}{\max(\mathcal{C} \times_k A^{(k)\top} A^{(k)}, \epsilon)}

    and stops (after the third sweep) when the relative error changes by less than ``tol``.
    Arguments and defaults are TensorLy's (``n_iter_max=10``).

    Returns
    -------
    TuckerTensor, or (TuckerTensor, errors) with ``return_errors``

    Examples
    --------
    >>> t = np.random.default_rng(0).random((4, 5, 6))
    >>> core, factors = non_negative_tucker(t, [2, 2, 2], n_iter_max=50)
    >>> bool((core >= 0).all() and all((f >= 0).all() for f in factors))
    True
    """
    data, ranks, n_iter_max, tol, rng = _prepare(tensor, rank, n_iter_max, tol, random_state,
                                                 "non_negative_tucker")
    core, factors = _initialize(data, ranks, init, "truncated_svd", rng, "non_negative_tucker")
    norm_sq = float(np.vdot(data, data))
    errors: list[float] = []
    for iteration in range(n_iter_max):
        grams = [f.T @ f for f in factors]
        for n in range(data.ndim):
            numerator, gram = _factor_terms(data, core, factors, grams, n)
            factors[n] = factors[n] * np.maximum(numerator, EPSILON) / np.maximum(
                factors[n] @ gram, EPSILON)
            grams[n] = factors[n].T @ factors[n]
        projected, weighted = _core_terms(data, core, factors, grams)
        core = core * np.maximum(projected, EPSILON) / np.maximum(weighted, EPSILON)
        weighted = core
        for k in range(data.ndim):
            weighted = mode_dot(weighted, grams[k], k)
        errors.append(_relative_error(norm_sq, core, projected, weighted))
        if verbose and iteration > 1:
            print(f"non_negative_tucker: reconstruction error={errors[-1]}, "
                  f"variation={errors[-2] - errors[-1]}.")
        if iteration > 1 and abs(errors[-2] - errors[-1]) < tol:
            break
        if normalize_factors:
            core, factors = _normalize(core, factors)
    result = TuckerTensor(core, factors, errors)
    return (result, errors) if return_errors else result


def _multi_mode(core: np.ndarray, matrices: Sequence[np.ndarray]) -> np.ndarray:
    r""":math:`\mathcal{C} \times_1 M_1 \cdots \times_N M_N` for small square matrices
    (speed: plain ``tensordot``, without :func:`mode_dot`'s checks, in FISTA's inner loop)."""
    for k, matrix in enumerate(matrices):
        core = np.moveaxis(np.tensordot(matrix, core, axes=(1, k)), 0, k)
    return core


def fista(gradient_target: np.ndarray, grams: Sequence[np.ndarray], x: np.ndarray,
          n_iter_max: int = 100, sparsity_coef: float | None = None, lr: float = 1.0,
          tol: float = 10e-8) -> np.ndarray:
    r"""Non-negative core by FISTA (Beck & Teboulle 2009) on
    :math:`\tfrac12 \lVert \mathcal{T} - \mathcal{C} \times_k A^{(k)} \rVert^2 + \mu \lVert
    \mathcal{C} \rVert_1`.

    The gradient is :math:`\mathcal{C} \times_k A^{(k)\top} A^{(k)} - \mathcal{T} \times_k
    A^{(k)\top}` (``gradient_target`` is the second term, ``grams`` the :math:`A^\top A`);
    each step is a projected gradient step of size ``lr`` from the extrapolated point, with
    Nesterov's momentum, until the step changes :math:`\mathcal{C}` by less than ``tol``
    relative to its norm.
    """
    y, t = x.copy(), 1.0
    for _ in range(n_iter_max):
        grad = _multi_mode(y, grams) - gradient_target
        if sparsity_coef:
            grad = grad + sparsity_coef
        new = np.maximum(y - lr * grad, 0.0)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = new + ((t - 1) / t_new) * (new - x)
        change = float(np.linalg.norm(new - x))
        x, t = new, t_new
        if change <= tol * max(float(np.linalg.norm(x)), 1e-300):
            break
    return x


def non_negative_tucker_hals(tensor: Any, rank: int | Sequence[int] | None,
                             n_iter_max: int = 100, init: Any = "svd",
                             svd: str = "truncated_svd", tol: float = 1e-8,
                             sparsity_coefficients: Any = None,
                             core_sparsity_coefficient: float | None = None,
                             fixed_modes: Sequence[int] | None = None, random_state: Any = None,
                             verbose: bool = False, normalize_factors: bool = False,
                             return_errors: bool = False, exact: bool = False,
                             algorithm: str = "fista") -> Any:
    r"""Non-negative Tucker decomposition by HALS for the factors and FISTA for the core.

    Each sweep updates every factor not in ``fixed_modes`` by :func:`~nablanet.tensor_algebra.
    nn_cp.hals_nnls` on :math:`(B_n B_n^\top, B_n T_{(n)}^\top)` (with its
    ``sparsity_coefficients``) and then the core by :func:`fista` (``n_iter_max`` steps of size
    :math:`1 / \prod_k \lVert A^{(k)\top} A^{(k)} \rVert_2`). Arguments and defaults are
    TensorLy's; only ``algorithm='fista'`` is available.

    Returns
    -------
    TuckerTensor, or (TuckerTensor, errors) with ``return_errors``
    """
    where = "non_negative_tucker_hals"
    data, ranks, n_iter_max, tol, rng = _prepare(tensor, rank, n_iter_max, tol, random_state,
                                                 where)
    svd = check_svd(svd, where)
    if algorithm != "fista":
        raise ValueError(f"{where}: only algorithm='fista' is available. "
                         f"Received: algorithm={algorithm!r}")
    order = data.ndim
    if sparsity_coefficients is None or isinstance(sparsity_coefficients, (int, float)):
        sparsity = [sparsity_coefficients] * order
    else:
        sparsity = list(sparsity_coefficients)
    fixed = sorted({int(m) for m in (fixed_modes or [])})
    if order - 1 in fixed:
        warnings.warn(f"{where}: fixing the last mode is not supported; it will be updated.",
                      stacklevel=2)
        fixed.remove(order - 1)
    core, factors = _initialize(data, ranks, init, svd, rng, where)
    norm_sq = float(np.vdot(data, data))
    errors: list[float] = []
    for iteration in range(n_iter_max):
        grams = [f.T @ f for f in factors]
        for n in range(order):
            if n in fixed:
                continue
            numerator, gram = _factor_terms(data, core, factors, grams, n)
            factors[n] = hals_nnls(numerator.T, gram, factors[n].T, n_iter_max=100,
                                   sparsity_coefficient=sparsity[n], exact=exact).T
            grams[n] = factors[n].T @ factors[n]
        projected = _project(data, factors, range(order))
        lr = 1.0 / float(np.prod([np.linalg.norm(g, 2) for g in grams]))
        core = fista(projected, grams, core, n_iter_max=n_iter_max,
                     sparsity_coef=core_sparsity_coefficient, lr=lr)
        _, weighted = _core_terms(data, core, factors, grams)
        errors.append(_relative_error(norm_sq, core, projected, weighted))
        if iteration > 1:
            if verbose:
                print(f"{where}: reconstruction error={errors[-1]}, "
                      f"variation={errors[-2] - errors[-1]}.")
            if tol and abs(errors[-2] - errors[-1]) < tol:
                break
        if normalize_factors:
            core, factors = _normalize(core, factors)
    result = TuckerTensor(core, factors, errors)
    return (result, errors) if return_errors else result
