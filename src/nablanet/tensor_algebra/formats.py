r"""The decomposed formats (CP, Tucker, tensor train) and random generators for each.

Each result type stores its parameters, rebuilds the full array with :meth:`to_dense`,
counts its parameters (:attr:`n_parameters`) and measures the relative reconstruction error
:math:`\lVert \mathcal{T} - \hat{\mathcal{T}} \rVert_F / \lVert \mathcal{T} \rVert_F` against a
tensor (:meth:`relative_error`). ``errors`` holds the relative error after each iteration of
the algorithm that produced it (empty for generated tensors).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nablanet.random import make_generator
from nablanet.tensor_algebra._common import check_positive_int, check_ranks
from nablanet.tensor_algebra.products import khatri_rao
from nablanet.tensor_algebra.unfolding import multi_mode_dot

__all__ = ["CPTensor", "TTMatrix", "TTTensor", "TuckerTensor", "random_cp", "random_tt",
           "random_tucker"]


def _relative_error(approximation: np.ndarray, tensor: Any) -> float:
    target = np.asarray(getattr(tensor, "data", tensor))
    target = target.astype(np.complex128 if np.iscomplexobj(target) else np.float64)
    if target.shape != approximation.shape:
        raise ValueError(f"relative_error: the tensor has shape {target.shape} but the "
                         f"decomposition has shape {approximation.shape}")
    norm = np.linalg.norm(target)
    residual = np.linalg.norm(target - approximation)
    return float(residual / norm) if norm > 0 else float(residual)


class _Decomposed:
    """Shared behaviour of the three formats."""

    errors: list[float]
    shape: tuple[int, ...]

    def to_dense(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def n_parameters(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def relative_error(self, tensor: Any) -> float:
        r"""The relative error against ``tensor``.

        .. math::

            \lVert \mathcal{T} - \hat{\mathcal{T}} \rVert_F / \lVert \mathcal{T} \rVert_F
        """
        return _relative_error(self.to_dense(), tensor)

    def compression_ratio(self) -> float:
        """Entries of the full tensor per stored parameter."""
        return float(np.prod(self.shape, dtype=np.float64)) / self.n_parameters


class CPTensor(_Decomposed):
    r"""A CP (CANDECOMP/PARAFAC) tensor: weights :math:`\lambda` and factor matrices.

    .. math::

        \mathcal{T} \approx \sum_{r=1}^{R} \lambda_r\, u_r^{(1)} \circ u_r^{(2)} \circ \dots
        \circ u_r^{(N)} = [\![\lambda; U^{(1)}, \dots, U^{(N)}]\!]

    (the chapter's eq. 5 with its misprint corrected: N modes, R components; see ERRATA),
    where :math:`u_r^{(n)}` is column :math:`r` of :math:`U^{(n)} \in \mathbb{R}^{I_n \times R}`.
    Unpacks as ``weights, factors = cp_tensor``.

    Parameters
    ----------
    weights : ndarray of shape (R,)
    factors : sequence of ndarray, each of shape (I_n, R)
    """

    def __init__(self, weights: Any, factors: Sequence[Any] | None = None,
                 errors: Sequence[float] = ()) -> None:
        if factors is None:  # TensorLy's CPTensor((weights, factors))
            try:
                weights, factors = weights
            except (TypeError, ValueError):
                raise ValueError("CPTensor: give weights and factors, or one (weights, "
                                 "factors) pair") from None
        assert factors is not None
        factors = [np.asarray(f) for f in factors]
        if not factors or any(f.ndim != 2 for f in factors):
            raise ValueError(f"CPTensor: factors must be matrices. Received shapes "
                             f"{[f.shape for f in factors]}")
        rank = factors[0].shape[1]
        if any(f.shape[1] != rank for f in factors):
            raise ValueError(f"CPTensor: every factor needs the same number of columns. "
                             f"Received shapes {[f.shape for f in factors]}")
        weights = np.ones(rank, dtype=factors[0].dtype) if weights is None else \
            np.asarray(weights)
        if weights.shape != (rank,):
            raise ValueError(f"CPTensor: weights must have shape ({rank},). "
                             f"Received: shape {weights.shape}")
        self.weights = weights
        self.factors = factors
        self.errors = list(errors)

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(f.shape[0] for f in self.factors)

    @property
    def rank(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_parameters(self) -> int:
        """:math:`R (1 + \\sum_n I_n)`: weights plus factor entries."""
        return int(self.weights.size + sum(f.size for f in self.factors))

    def to_dense(self) -> np.ndarray:
        r"""The full tensor, from its first unfolding.

        .. math::

            T_{(1)} = U^{(1)} \operatorname{diag}(\lambda)
            (U^{(2)} \odot \dots \odot U^{(N)})^\top
        """
        first = self.factors[0] * self.weights
        if len(self.factors) == 1:
            return first.sum(axis=1)
        rest = self.factors[1] if len(self.factors) == 2 else khatri_rao(*self.factors[1:])
        return (first @ rest.T).reshape(self.shape)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.weights, self.factors))

    def __getitem__(self, index: int) -> Any:
        return (self.weights, self.factors)[index]

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return f"CPTensor(shape={self.shape}, rank={self.rank})"


class TuckerTensor(_Decomposed):
    r"""A Tucker tensor: a core :math:`\mathcal{C}` and one factor matrix per mode.

    .. math::

        \mathcal{T} \approx \mathcal{C} \times_1 A^{(1)} \times_2 A^{(2)} \cdots \times_N A^{(N)}
        = [\![\mathcal{C}; A^{(1)}, \dots, A^{(N)}]\!]

    (the chapter's eq. 6 written with mode-n products; see ERRATA), with
    :math:`\mathcal{C} \in \mathbb{R}^{R_1 \times \dots \times R_N}` and
    :math:`A^{(n)} \in \mathbb{R}^{I_n \times R_n}`. Unpacks as ``core, factors = tucker``.
    """

    def __init__(self, core: Any, factors: Sequence[Any] | None = None,
                 errors: Sequence[float] = ()) -> None:
        if factors is None:  # TensorLy's TuckerTensor((core, factors))
            try:
                core, factors = core
            except (TypeError, ValueError):
                raise ValueError("TuckerTensor: give core and factors, or one (core, factors) "
                                 "pair") from None
        assert factors is not None
        core = np.asarray(core)
        factors = [np.asarray(f) for f in factors]
        if core.ndim != len(factors) or any(f.ndim != 2 or f.shape[1] != r
                                            for f, r in zip(factors, core.shape)):
            raise ValueError(f"TuckerTensor: factor n must have shape (I_n, core.shape[n]). "
                             f"Received core {core.shape}, factors {[f.shape for f in factors]}")
        self.core = core
        self.factors = factors
        self.errors = list(errors)

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(f.shape[0] for f in self.factors)

    @property
    def ranks(self) -> tuple[int, ...]:
        return tuple(self.core.shape)

    @property
    def n_parameters(self) -> int:
        r""":math:`\prod_n R_n + \sum_n I_n R_n`."""
        return int(self.core.size + sum(f.size for f in self.factors))

    def to_dense(self) -> np.ndarray:
        return np.asarray(multi_mode_dot(self.core, self.factors))

    def __iter__(self) -> Iterator[Any]:
        return iter((self.core, self.factors))

    def __getitem__(self, index: int) -> Any:
        return (self.core, self.factors)[index]

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return f"TuckerTensor(shape={self.shape}, ranks={self.ranks})"


class TTTensor(_Decomposed):
    r"""A tensor train: cores :math:`\mathcal{G}_n \in \mathbb{R}^{R_{n-1} \times I_n \times R_n}`.

    .. math::

        t_{i_1 i_2 \dots i_N} = G_1[i_1]\, G_2[i_2] \cdots G_N[i_N], \qquad
        G_n[i_n] = \mathcal{G}_n(:, i_n, :) \in \mathbb{R}^{R_{n-1} \times R_n},
        \quad R_0 = R_N = 1

    (Oseledets 2011). Iterates over its cores.
    """

    def __init__(self, cores: Sequence[Any], errors: Sequence[float] = ()) -> None:
        cores = [np.asarray(c) for c in cores]
        shapes = [c.shape for c in cores]
        if not cores or any(c.ndim != 3 for c in cores):
            raise ValueError(f"TTTensor: cores must be third-order. Received shapes {shapes}")
        if cores[0].shape[0] != 1 or cores[-1].shape[2] != 1 or any(
                a.shape[2] != b.shape[0] for a, b in zip(cores[:-1], cores[1:])):
            raise ValueError(f"TTTensor: core ranks must chain, starting and ending with 1. "
                             f"Received shapes {shapes}")
        self.cores = cores
        self.errors = list(errors)

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(c.shape[1] for c in self.cores)

    @property
    def ranks(self) -> tuple[int, ...]:
        r"""All TT ranks :math:`(R_0 = 1, R_1, \dots, R_{N-1}, R_N = 1)`."""
        return tuple(c.shape[0] for c in self.cores) + (1,)

    @property
    def n_parameters(self) -> int:
        r""":math:`\sum_n R_{n-1} I_n R_n`."""
        return int(sum(c.size for c in self.cores))

    def to_dense(self) -> np.ndarray:
        result = self.cores[0].reshape(self.cores[0].shape[1], -1)
        for core in self.cores[1:]:
            rank_in, size, rank_out = core.shape
            result = (result @ core.reshape(rank_in, size * rank_out)).reshape(-1, rank_out)
        return result.reshape(self.shape)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.cores)

    def __len__(self) -> int:
        return len(self.cores)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.cores[index]

    def __repr__(self) -> str:
        return f"TTTensor(shape={self.shape}, ranks={self.ranks})"


class TTMatrix(_Decomposed):
    r"""A matrix in tensor-train form (a TT-matrix, Oseledets 2011 §5; Novikov et al. 2015).

    Cores :math:`\mathcal{G}_k \in \mathbb{R}^{R_{k-1} \times n_k \times m_k \times R_k}`
    (:math:`R_0 = R_d = 1`) represent the order-2d tensor of shape
    :math:`(n_1, \dots, n_d, m_1, \dots, m_d)`

    .. math::

        W[i_1, \dots, i_d, j_1, \dots, j_d] = G_1[i_1, j_1]\, G_2[i_2, j_2] \cdots
        G_d[i_d, j_d], \qquad G_k[i, j] = \mathcal{G}_k(:, i, j, :)

    which is the :math:`(n_1 \cdots n_d) \times (m_1 \cdots m_d)` matrix :meth:`to_matrix`
    with row and column indices in C order. Iterates over its cores.
    """

    def __init__(self, cores: Sequence[Any], errors: Sequence[float] = ()) -> None:
        cores = [np.asarray(c) for c in cores]
        shapes = [c.shape for c in cores]
        if not cores or any(c.ndim != 4 for c in cores):
            raise ValueError(f"TTMatrix: cores must be fourth-order. Received shapes {shapes}")
        if cores[0].shape[0] != 1 or cores[-1].shape[3] != 1 or any(
                a.shape[3] != b.shape[0] for a, b in zip(cores[:-1], cores[1:])):
            raise ValueError(f"TTMatrix: core ranks must chain, starting and ending with 1. "
                             f"Received shapes {shapes}")
        self.cores = cores
        self.errors = list(errors)

    @property
    def shape(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(c.shape[1] for c in self.cores) + tuple(c.shape[2] for c in self.cores)

    @property
    def ranks(self) -> tuple[int, ...]:
        return tuple(c.shape[0] for c in self.cores) + (1,)

    @property
    def n_parameters(self) -> int:
        return int(sum(c.size for c in self.cores))

    def to_matrix(self) -> np.ndarray:
        """The :math:`N \times M` matrix (rows: the n-modes, columns: the m-modes)."""
        d = len(self.cores)
        rows = int(np.prod(self.shape[:d], dtype=np.int64))
        return self.to_dense().reshape(rows, -1)

    def to_dense(self) -> np.ndarray:
        d = len(self.cores)
        # The cores as a TT of order d with modes (n_k m_k), then the axes de-interleaved.
        train = TTTensor([c.reshape(c.shape[0], c.shape[1] * c.shape[2], c.shape[3])
                          for c in self.cores]).to_dense()
        interleaved = train.reshape([size for c in self.cores for size in c.shape[1:3]])
        return interleaved.transpose(list(range(0, 2 * d, 2)) + list(range(1, 2 * d, 2)))

    def __iter__(self) -> Iterator[Any]:
        return iter(self.cores)

    def __len__(self) -> int:
        return len(self.cores)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.cores[index]

    def __repr__(self) -> str:
        return f"TTMatrix(shape={self.shape}, ranks={self.ranks})"


def _check_shape(shape: Any, where: str) -> tuple[int, ...]:
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{where}: shape must be a sequence of positive integers. "
                         f"Received: shape={shape!r}") from None
    if len(dims) < 2 or any(isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer))
                            or d <= 0 for d in dims):
        raise ValueError(f"{where}: shape must hold at least two positive integers. "
                         f"Received: shape={shape!r}")
    return tuple(int(d) for d in dims)


def random_cp(shape: Sequence[int], rank: int, *, normalize: bool = False,
              random_state: Any = None) -> CPTensor:
    r"""A random CP tensor with standard-normal factors (and unit weights unless normalised).

    Parameters
    ----------
    shape : sequence of int
        :math:`(I_1, \dots, I_N)`, :math:`N \ge 2`.
    rank : int
        :math:`R`.
    normalize : bool
        Give every factor unit-norm columns and move the norms into the weights.
    random_state : int, numpy Generator or None
        None draws from nablanet's seeded generator (:func:`nablanet.set_random_seed`).

    Examples
    --------
    >>> random_cp((3, 4, 5), 2, random_state=0).to_dense().shape
    (3, 4, 5)
    """
    shape = _check_shape(shape, "random_cp")
    rank = check_positive_int(rank, "rank", "random_cp")
    rng = make_generator(random_state)
    factors = [rng.standard_normal((n, rank)) for n in shape]
    weights = np.ones(rank)
    if normalize:
        for f in factors:
            norms = np.linalg.norm(f, axis=0)
            f /= norms
            weights *= norms
    return CPTensor(weights, factors)


def random_tucker(shape: Sequence[int], ranks: int | Sequence[int], *, orthogonal: bool = True,
                  random_state: Any = None) -> TuckerTensor:
    r"""A random Tucker tensor: standard-normal core, factors with orthonormal columns.

    ``ranks`` is an int (every mode) or one rank per mode; with ``orthogonal=True`` each rank
    is clamped to the size of its mode (no more than :math:`I_n` orthonormal columns exist).

    Examples
    --------
    >>> random_tucker((6, 7, 8), (2, 3, 4), random_state=0).ranks
    (2, 3, 4)
    """
    shape = _check_shape(shape, "random_tucker")
    ranks = check_ranks(ranks, len(shape), "ranks", "random_tucker")
    rng = make_generator(random_state)
    if orthogonal:
        ranks = [min(r, n) for r, n in zip(ranks, shape)]
    factors = []
    for n, r in zip(shape, ranks):
        f = rng.standard_normal((n, r))
        factors.append(np.linalg.qr(f)[0] if orthogonal else f)
    core = rng.standard_normal(tuple(ranks))
    return TuckerTensor(core, factors)


def tt_ranks(shape: Sequence[int], ranks: Any, where: str, name: str = "ranks") -> list[int]:
    """Full TT ranks ``(1, R_1, ..., R_{N-1}, 1)`` from an int, N-1 or N+1 values, clamped.

    Rank :math:`R_n` cannot usefully exceed
    :math:`\\min(\\prod_{k \\le n} I_k, \\prod_{k > n} I_k)` (the sizes of the n-th TT
    unfolding); larger requests are clamped to it.
    """
    n = len(shape)
    if isinstance(ranks, (int, np.integer)) and not isinstance(ranks, (bool, np.bool_)):
        inner = [check_positive_int(ranks, name, where)] * (n - 1)
    else:
        values = list(ranks) if isinstance(ranks, (Sequence, np.ndarray)) else None
        if values is None or len(values) not in (n - 1, n + 1):
            raise ValueError(f"{where}: {name} must be an int, {n - 1} inner ranks or {n + 1} "
                             f"ranks starting and ending with 1 for a tensor of order {n}. "
                             f"Received: {name}={ranks!r}")
        if len(values) == n + 1:
            if values[0] != 1 or values[-1] != 1:
                raise ValueError(f"{where}: the first and last TT ranks must be 1. "
                                 f"Received: {name}={tuple(values)!r}")
            values = values[1:-1]
        inner = check_ranks(values, n - 1, name, where)
    full = [1]
    for k in range(1, n):
        left = int(np.prod(shape[:k], dtype=np.int64))
        right = int(np.prod(shape[k:], dtype=np.int64))
        full.append(min(inner[k - 1], left, right, full[-1] * shape[k - 1]))
    full.append(1)
    # A rank also cannot exceed what the remaining modes can absorb.
    for k in range(n - 1, 0, -1):
        full[k] = min(full[k], full[k + 1] * shape[k])
    return full


def random_tt(shape: Sequence[int], ranks: int | Sequence[int], *,
              random_state: Any = None) -> TTTensor:
    r"""A random tensor train with standard-normal cores scaled to keep entries of order one.

    ``ranks`` is an int, the :math:`N-1` inner ranks, or all :math:`N+1` ranks with 1 at both
    ends; each is clamped to what the shape allows.

    Examples
    --------
    >>> random_tt((4, 5, 6), 3, random_state=0).ranks
    (1, 3, 3, 1)
    """
    shape = _check_shape(shape, "random_tt")
    full = tt_ranks(shape, ranks, "random_tt")
    rng = make_generator(random_state)
    cores = [rng.standard_normal((full[k], shape[k], full[k + 1])) / np.sqrt(full[k])
             for k in range(len(shape))]
    return TTTensor(cores)
