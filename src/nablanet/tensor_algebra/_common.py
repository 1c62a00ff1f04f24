"""Input checks and small linear-algebra kernels shared by the decompositions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor


def is_tensor(x: Any) -> bool:
    """True for a nablanet :class:`~nablanet.Tensor` (the differentiable path)."""
    return isinstance(x, Tensor)


def as_data_tensor(tensor: Any, where: str, *, min_order: int = 2,
                   allow_complex: bool = False) -> np.ndarray:
    """``tensor`` as a finite float64 ndarray of order >= ``min_order`` (else ValueError).

    Float32 input is promoted (a copy); float64 input is used as is (no copy). With
    ``allow_complex`` complex input is kept, as complex128.
    """
    data = tensor.data if isinstance(tensor, Tensor) else tensor
    try:
        array = np.asarray(data)
    except Exception:  # pragma: no cover - exotic array-likes
        raise ValueError(f"{where}: the tensor must be a numeric array. "
                         f"Received: {type(tensor).__name__}") from None
    kinds = "biufc" if allow_complex else "biuf"
    if array.dtype.kind not in kinds:
        what = "numbers" if allow_complex else "real numbers"
        raise ValueError(f"{where}: the tensor must hold {what}. "
                         f"Received: an array of dtype {array.dtype}")
    if array.ndim < min_order:
        raise ValueError(f"{where}: the tensor must have order >= {min_order}. "
                         f"Received: a tensor of shape {array.shape} (order {array.ndim})")
    if 0 in array.shape:
        raise ValueError(f"{where}: the tensor must not be empty. "
                         f"Received: a tensor of shape {array.shape}")
    array = np.asarray(array, dtype=np.complex128 if array.dtype.kind == "c" else np.float64)
    if not np.isfinite(array).all():
        n_nan = int(np.isnan(array).sum())
        n_inf = int(np.isinf(array).sum())
        raise ValueError(f"{where}: the tensor must not contain NaN or inf. Received: a tensor "
                         f"of shape {array.shape} with {n_nan} NaN and {n_inf} inf values")
    return array


def check_positive_int(value: Any, name: str, where: str) -> int:
    """``value`` as an int > 0, or ValueError echoing it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def check_ranks(ranks: Any, length: int, name: str, where: str) -> list[int]:
    """An int (repeated ``length`` times) or a sequence of ``length`` positive ints."""
    if isinstance(ranks, (int, np.integer)) and not isinstance(ranks, (bool, np.bool_)):
        return [check_positive_int(ranks, name, where)] * length
    if not isinstance(ranks, Sequence) and not isinstance(ranks, np.ndarray):
        raise ValueError(f"{where}: {name} must be an int or a sequence of {length} ints. "
                         f"Received: {name}={ranks!r}")
    values = list(ranks)
    if len(values) != length:
        raise ValueError(f"{where}: {name} must have one entry per mode ({length}). "
                         f"Received: {name}={tuple(values)!r} of length {len(values)}")
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"{where}: every entry of {name} must be a positive integer. "
                             f"Received: {name}={tuple(values)!r}")
    return [int(v) for v in values]


def check_tolerance(tol: Any, n_iter_max: Any, where: str) -> tuple[float, int]:
    n_iter = check_positive_int(n_iter_max, "n_iter_max", where)
    if not isinstance(tol, (int, float, np.floating, np.integer)) or not np.isfinite(tol) \
            or tol < 0:
        raise ValueError(f"{where}: tol must be a finite number >= 0. Received: tol={tol!r}")
    return float(tol), n_iter


def leading_left_singular_vectors(matrix: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The ``rank`` leading left singular vectors and singular values of a matrix.

    For a wide matrix :math:`X \in \mathbb{R}^{m \times n}` (:math:`m \le n`) this is the
    eigendecomposition of the small Gram matrix :math:`X X^\top = U \Sigma^2 U^\top`
    (one :math:`O(m^2 n)` GEMM and an :math:`m \times m` symmetric eigensolver instead of an
    SVD of the whole matrix); tall matrices use the thin SVD, or the full one when
    ``rank`` exceeds the number of columns (the leading vectors are then completed by an
    orthonormal basis of the complement, with singular value 0). Singular values below about
    :math:`10^{-8}\sigma_1` are not resolved by the Gram route, which is harmless for the
    subspaces and tail energies the decompositions need.
    """
    m, n = matrix.shape
    rank = min(rank, m)
    if m <= n:
        gram = matrix @ matrix.conj().T
        values, vectors = np.linalg.eigh(gram)
        order = slice(m - 1, m - 1 - rank, -1) if rank < m else slice(None, None, -1)
        return vectors[:, order], np.sqrt(np.maximum(values[order], 0.0))
    if m >= 4 * n and rank <= n:
        found = _tall_gram_route(matrix, rank)
        if found is not None:
            return found
    # A tall matrix with fewer columns than the rank has only n singular vectors with
    # nonzero values; the full SVD completes them with an orthonormal basis of the rest.
    u, s, _ = np.linalg.svd(matrix, full_matrices=rank > n)
    return u[:, :rank], np.concatenate([s, np.zeros(max(rank - s.size, 0))])[:rank]


def _tall_gram_route(matrix: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray] | None:
    r"""Speed: the leading left singular vectors of a very tall matrix from its small Gram.

    :math:`X^* X = V \Sigma^2 V^*`, then :math:`U = \operatorname{qr}(X V_R)` (one GEMM, an
    :math:`n \times n` eigensolver and a thin QR instead of an SVD of the whole matrix). Used
    only while :math:`\sigma_R / \sigma_1 > 10^{-5}`, where the Gram route loses no accuracy
    that matters; otherwise None (the caller takes the SVD).
    """
    values, vectors = np.linalg.eigh(matrix.conj().T @ matrix)
    values = values[::-1][:rank]
    if values[0] <= 0 or values[-1] < 1e-10 * values[0]:
        return None
    u, r = np.linalg.qr(matrix @ vectors[:, ::-1][:, :rank])
    return u * np.sign(np.real(np.diag(r))), np.sqrt(values)


def gram_eigenvectors(gram: np.ndarray, rank: int) -> np.ndarray:
    """The eigenvectors of the ``rank`` largest eigenvalues of a symmetric matrix."""
    m = gram.shape[0]
    _, vectors = np.linalg.eigh(gram)
    return vectors[:, ::-1][:, : min(rank, m)]


def unfolding_gram(tensor: np.ndarray, mode: int) -> np.ndarray:
    r"""The Gram matrix :math:`T_{(n)} T_{(n)}^*` of the mode-``mode`` unfolding.

    Computed without forming the unfolding: the tensor is viewed as
    :math:`(L, I_n, R)` and the Gram matrix is the sum of :math:`L` products of
    :math:`I_n \times R` slices (a single GEMM at the first or last mode).
    """
    shape = tensor.shape
    left = int(np.prod(shape[:mode], dtype=np.int64))
    size = shape[mode]
    right = int(np.prod(shape[mode + 1:], dtype=np.int64))
    conj = np.conj if np.iscomplexobj(tensor) else (lambda x: x)
    if left == 1:
        x = tensor.reshape(size, right)
        return x @ conj(x.T)
    if right == 1:
        x = tensor.reshape(left, size)
        return x.T @ conj(x)
    slices = tensor.reshape(left, size, right)
    if right >= size:
        return np.matmul(slices, conj(slices.transpose(0, 2, 1))).sum(axis=0)
    flat = np.ascontiguousarray(slices.transpose(1, 0, 2)).reshape(size, left * right)
    return flat @ conj(flat.T)


#: The SVD methods of TensorLy's ``svd=`` argument.
SVD_METHODS = ("truncated_svd", "symeig_svd", "randomized_svd")


def check_svd(svd: Any, where: str) -> str:
    if svd not in SVD_METHODS:
        raise ValueError(f"{where}: svd must be one of {SVD_METHODS}. Received: svd={svd!r}")
    return str(svd)


def randomized_range(matrix: np.ndarray, rank: int, rng: np.random.Generator,
                     n_oversamples: int = 10, n_iter: int = 2) -> np.ndarray:
    r"""An orthonormal basis :math:`Q` of the approximate leading ``rank``-dimensional range.

    Halko, Martinsson and Tropp (2011), Algorithms 4.3/4.4: :math:`Y = (X X^*)^q X \Omega`
    with a Gaussian :math:`\Omega` of ``rank + n_oversamples`` columns, re-orthonormalised
    after every product.
    """
    m, n = matrix.shape
    width = min(rank + n_oversamples, m, n)
    q = np.linalg.qr(matrix @ rng.standard_normal((n, width)).astype(matrix.dtype))[0]
    for _ in range(n_iter):
        q = np.linalg.qr(matrix.conj().T @ q)[0]
        q = np.linalg.qr(matrix @ q)[0]
    return q


def left_singular(matrix: np.ndarray, rank: int, svd: str = "truncated_svd",
                  rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``rank`` leading left singular vectors and values of ``matrix`` by method ``svd``.

    'truncated_svd' picks the exact route that is fastest for the shape
    (:func:`leading_left_singular_vectors`); 'symeig_svd' always takes the eigenvectors of the
    Gram matrix; 'randomized_svd' projects onto :func:`randomized_range` first. A rank above
    ``min(matrix.shape)`` is completed by an orthonormal basis of the complement (value 0).
    """
    m, n = matrix.shape
    if svd == "randomized_svd" and rank < min(m, n):
        q = randomized_range(matrix, rank, rng if rng is not None else np.random.default_rng(0))
        u, s, _ = np.linalg.svd(q.conj().T @ matrix, full_matrices=False)
        return q @ u[:, :rank], s[:rank]
    if svd == "symeig_svd" and rank <= m:
        values, vectors = np.linalg.eigh(matrix @ matrix.conj().T)
        return vectors[:, ::-1][:, :rank], np.sqrt(np.maximum(values[::-1][:rank], 0.0))
    return leading_left_singular_vectors(matrix, rank)


def nndsvd(matrix: np.ndarray, u: np.ndarray, s: np.ndarray) -> np.ndarray:
    r"""Non-negative left factor from a truncated SVD: NNDSVDa (Boutsidis & Gallopoulos 2008).

    Column 0 is :math:`\sqrt{\sigma_1} |u_1|`. For each further singular pair
    :math:`(u_j, v_j)` the positive parts :math:`(u_j^+, v_j^+)` or the negative parts
    :math:`(u_j^-, v_j^-)` are kept, whichever has the larger product of norms
    :math:`m`, as :math:`\sqrt{\sigma_j m}\, u / \lVert u \rVert`; entries below the machine
    epsilon are then replaced by the mean of ``matrix`` (the 'a' variant, TensorLy's default).
    The right singular vectors are :math:`v_j = u_j^\top X / \sigma_j`.
    """
    safe = np.where(s > 0, s, 1.0)
    v = (u.T @ matrix) / safe[:, None]
    w = np.zeros_like(u)
    w[:, 0] = np.sqrt(s[0]) * np.abs(u[:, 0])
    for j in range(1, u.shape[1]):
        x, y = u[:, j], v[j]
        xp, yp, xn, yn = np.maximum(x, 0), np.maximum(y, 0), np.maximum(-x, 0), np.maximum(-y, 0)
        mp = np.linalg.norm(xp) * np.linalg.norm(yp)
        mn = np.linalg.norm(xn) * np.linalg.norm(yn)
        part, sigma = (xp, mp) if mp > mn else (xn, mn)
        norm = np.linalg.norm(part)
        if norm > 0:
            w[:, j] = np.sqrt(s[j] * sigma) * part / norm
    eps = float(np.finfo(np.float64).eps)
    return np.where(w < eps, float(np.mean(matrix)), w)
