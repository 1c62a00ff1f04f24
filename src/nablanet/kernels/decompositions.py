r"""Fast tensor decompositions: the mode-grouped CP / Tucker contractions and the compiled HALS.

The reference code in :mod:`nablanet.tensor_algebra` follows the papers: CP-ALS computes each
mode's MTTKRP as :math:`T_{(n)} (\bigodot_{k \ne n} U^{(k)})` (an unfolding, which is a copy of
the tensor, times a Khatri–Rao product), HOOI projects the whole tensor onto every other factor
for each mode, and HALS updates the rows of the non-negative factor in NumPy. This module holds
the same computations organised for the machine, each registered for the primitive it
accelerates:

* ``"cp_mttkrp_sweep"``: :class:`GroupedMTTKRP`, the MTTKRPs of one ALS sweep from two GEMMs
  with the tensor viewed as a matrix (no unfolding is copied);
* ``"hooi_projections"``: :class:`GroupedProjections`, the projections of one HOOI sweep with
  the tensor read twice instead of once per mode;
* ``"hals_passes"``: :func:`hals_passes`, the HALS passes compiled by numba.

Both grouped kernels split the modes into a leading group :math:`1..s` and a trailing group
:math:`s+1..N` of balanced sizes (:func:`split_point`), so that the tensor is the matrix
:math:`(I_1 \cdots I_s) \times (I_{s+1} \cdots I_N)` without moving any data. They are *sweep*
objects: made once per sweep, asked for the modes in increasing order (as the sweeps update
them), they cache the contraction with the other group's factors between the modes of a group.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nablanet.kernels._numba import njit
from nablanet.kernels.registry import register
from nablanet.tensor_algebra.products import khatri_rao
from nablanet.tensor_algebra.unfolding import multi_mode_dot


def split_point(shape: Sequence[int]) -> int:
    """The mode ``s`` (1 <= s < N) that best balances ``prod(shape[:s])`` and the rest."""
    logs = np.log(np.asarray(shape, dtype=np.float64))
    cumulative = np.cumsum(logs)[:-1]
    return int(np.argmin(np.abs(2 * cumulative - logs.sum()))) + 1


def _conj(x: np.ndarray) -> np.ndarray:
    return x.conj() if np.iscomplexobj(x) else x


def _contract_others(partial: np.ndarray, factors: Sequence[np.ndarray], keep: int
                     ) -> np.ndarray:
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


class GroupedMTTKRP:
    r"""The MTTKRPs :math:`T_{(n)} \overline{(\bigodot_{k \ne n} U^{(k)})}` of one ALS sweep.

    The first time a mode of a group is asked for, the tensor viewed as the matrix
    :math:`(I_1 \cdots I_s) \times (I_{s+1} \cdots I_N)` (or its transpose) is multiplied by the
    Khatri–Rao product of the *other* group's current factors: one GEMM, the only pass over the
    full tensor. Each mode's MTTKRP is then a small contraction of that partial result with its
    own group's other factors (:func:`_contract_others`). Modes must be asked for in increasing
    order, so that the trailing group's GEMM sees the leading factors of this sweep.
    """

    def __init__(self, tensor: np.ndarray) -> None:
        self.shape = tensor.shape
        self.split = split_point(tensor.shape)
        self.matrix = tensor.reshape(int(np.prod(self.shape[:self.split], dtype=np.int64)), -1)
        self.group = -1
        self.partial = np.zeros(0)

    def __call__(self, n: int, factors: Sequence[np.ndarray]) -> np.ndarray:
        group = 0 if n < self.split else 1
        rank = factors[0].shape[1]
        if group != self.group:
            self.group = group
            if group == 0:
                kr = _conj(khatri_rao(factors[self.split:]))
                self.partial = (self.matrix @ kr).reshape(self.shape[:self.split] + (rank,))
            else:
                kr = _conj(khatri_rao(factors[:self.split]))
                self.partial = (self.matrix.T @ kr).reshape(self.shape[self.split:] + (rank,))
        modes = range(self.split) if group == 0 else range(self.split, len(self.shape))
        members = [_conj(factors[k]) for k in modes]
        return _contract_others(self.partial, members, n - modes[0])


@register("cp_mttkrp_sweep")
def cp_mttkrp_sweep(tensor: np.ndarray) -> GroupedMTTKRP:
    """Fast :func:`nablanet.tensor_algebra.cp.mttkrp_sweep` (same argument)."""
    return GroupedMTTKRP(tensor)


def _project(tensor: np.ndarray, factors: Sequence[np.ndarray], modes: Sequence[int]
             ) -> np.ndarray:
    r""":math:`\mathcal{T} \times_k A^{(k)*}` for every ``k`` in ``modes``."""
    if not modes:
        return tensor
    return multi_mode_dot(tensor, [factors[k].conj() for k in modes], modes,  # type: ignore[no-any-return]
                          transpose=True)


class GroupedProjections:
    r"""The projections :math:`\mathcal{T} \times_{k \ne n} A^{(k)*}` of one HOOI sweep.

    ``modes`` (the decomposed modes) are split into a leading and a trailing group. The first
    time a mode of a group is asked for, the tensor is projected onto the *other* group's current
    factors, and that projection is shared by every mode of the group, which then needs only its
    own group's other factors: a sweep reads the full tensor twice instead of once per mode.
    Modes must be asked for in increasing order.
    """

    def __init__(self, tensor: np.ndarray, modes: Sequence[int]) -> None:
        split = split_point([tensor.shape[m] for m in modes])
        self.tensor = tensor
        self.groups = (list(modes[:split]), list(modes[split:]))
        self.group = -1
        self.shared = tensor

    def __call__(self, n: int, factors: Sequence[np.ndarray]) -> np.ndarray:
        group = 0 if n in self.groups[0] else 1
        if group != self.group:
            self.group = group
            self.shared = _project(self.tensor, factors, self.groups[1 - group])
        return _project(self.shared, factors, [k for k in self.groups[group] if k != n])


@register("hooi_projections")
def hooi_projections(tensor: np.ndarray, modes: Sequence[int]) -> GroupedProjections | None:
    """Fast :func:`nablanet.tensor_algebra.tucker.hooi_projections` (same arguments); declines
    for fewer than three modes, where there is nothing to share."""
    return GroupedProjections(tensor, modes) if len(modes) >= 3 else None


@njit()
def _hals_kernel(utm, utu, v, n_iter_max, tol, sparsity):  # type: ignore[no-untyped-def]
    # nablanet.tensor_algebra.nn_cp.hals_passes, one entry at a time
    rank, n = utm.shape
    first = 0.0
    for iteration in range(n_iter_max):
        change = 0.0
        for k in range(rank):
            diagonal = utu[k, k]
            if diagonal == 0.0:
                continue
            for j in range(n):
                numerator = utm[k, j] + diagonal * v[k, j] - sparsity
                for m in range(rank):
                    numerator -= utu[k, m] * v[m, j]
                new = max(numerator / diagonal, 0.0)
                step = v[k, j] - new
                change += step * step
                v[k, j] = new
        if iteration == 0:
            first = change
        if change <= tol * first:
            break
    return v


@register("hals_passes")
def hals_passes(utm: np.ndarray, utu: np.ndarray, v: np.ndarray, n_iter_max: int, tol: float,
                sparsity: float) -> np.ndarray | None:
    """Fast :func:`nablanet.tensor_algebra.nn_cp.hals_passes` (same arguments, float64 arrays,
    ``v`` updated in place), compiled by numba; None (the reference runs) without numba."""
    if _hals_kernel is None:
        return None
    return _hals_kernel(utm, utu, v, n_iter_max, tol, sparsity)  # type: ignore[no-any-return]
