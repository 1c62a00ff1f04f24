r"""Matricisation (unfolding), folding and the n-mode product.

All functions take NumPy arrays or nablanet :class:`~nablanet.Tensor`\ s; on Tensors the
result is a Tensor built from differentiable primitives (transpose, reshape, matmul).

References
----------
T. G. Kolda and B. W. Bader, "Tensor Decompositions and Applications", SIAM Review 51(3),
455–500, 2009, §2.4–2.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import ops
from nablanet.tensor_algebra._common import is_tensor

__all__ = ["fold", "mode_dot", "multi_mode_dot", "unfold"]


def _check_mode(mode: Any, ndim: int, where: str, shape: tuple[int, ...]) -> int:
    if isinstance(mode, (bool, np.bool_)) or not isinstance(mode, (int, np.integer)) \
            or not -ndim <= mode < ndim:
        raise ValueError(f"{where}: mode must be an integer in [{-ndim}, {ndim}) for a tensor "
                         f"of shape {shape}. Received: mode={mode!r}")
    return int(mode) % ndim


def _as_operand(x: Any) -> Any:
    return x if is_tensor(x) else np.asarray(x)


def unfold(tensor: Any, mode: int) -> Any:
    r"""Mode-``mode`` unfolding (matricisation) :math:`T_{(n)}` of a tensor.

    The mode-:math:`n` fibres become the columns of a matrix
    :math:`T_{(n)} \in \mathbb{R}^{I_n \times \prod_{k \ne n} I_k}`:

    .. math::

        \big(T_{(n)}\big)_{i_n,\, j} = t_{i_1 \dots i_N}, \qquad
        j = \sum_{k \ne n} i_k \prod_{m > k,\, m \ne n} I_m

    i.e. the remaining indices in row-major (C) order, TensorLy's convention. Kolda & Bader
    (2009, §2.4) order them with the first index varying fastest; the two unfoldings differ
    only by a permutation of the columns, which leaves every identity of the decompositions
    intact (:math:`T_{(n)} = A^{(n)} (\bigodot_{k \ne n} A^{(k)})^\top` with the Khatri–Rao
    factors taken in increasing mode order here).

    Parameters
    ----------
    tensor : ndarray or Tensor of order N >= 1
    mode : int
        :math:`n`, counted from 0 (negative values count from the end).

    Returns
    -------
    ndarray or Tensor of shape ``(I_n, prod_{k != n} I_k)``

    Examples
    --------
    >>> t = np.arange(24).reshape(2, 3, 4)
    >>> unfold(t, 1).shape
    (3, 8)
    >>> bool((fold(unfold(t, 1), 1, t.shape) == t).all())
    True
    """
    tensor = _as_operand(tensor)
    shape = tuple(tensor.shape)
    mode = _check_mode(mode, len(shape), "unfold", shape)
    axes = (mode,) + tuple(k for k in range(len(shape)) if k != mode)
    rows = shape[mode]
    columns = int(np.prod([shape[k] for k in axes[1:]], dtype=np.int64))
    if is_tensor(tensor):
        moved = tensor if mode == 0 else ops.transpose(tensor, axes)
        return ops.reshape(moved, (rows, columns))
    return np.moveaxis(tensor, mode, 0).reshape(rows, columns)


def fold(matrix: Any, mode: int, shape: Sequence[int]) -> Any:
    r"""Inverse of :func:`unfold`: the tensor whose mode-``mode`` unfolding is ``matrix``.

    .. math::

        \operatorname{fold}_n\big(T_{(n)}\big) = \mathcal{T}

    Raises
    ------
    ValueError
        If ``matrix`` does not have shape ``(shape[mode], prod of the other sizes)``.
    """
    matrix = _as_operand(matrix)
    shape = tuple(int(s) for s in shape)
    mode = _check_mode(mode, len(shape), "fold", shape)
    rest = tuple(shape[k] for k in range(len(shape)) if k != mode)
    expected = (shape[mode], int(np.prod(rest, dtype=np.int64)))
    if tuple(matrix.shape) != expected:
        raise ValueError(f"fold: a mode-{mode} unfolding of a tensor of shape {shape} has shape "
                         f"{expected}. Received: a matrix of shape {tuple(matrix.shape)}")
    inverse = tuple(int(k) for k in np.argsort((mode,) + tuple(k for k in range(len(shape))
                                                              if k != mode)))
    if is_tensor(matrix):
        full = ops.reshape(matrix, (shape[mode],) + rest)
        return full if mode == 0 else ops.transpose(full, inverse)
    return np.moveaxis(matrix.reshape((shape[mode],) + rest), 0, mode)


def mode_dot(tensor: Any, matrix_or_vector: Any, mode: int, transpose: bool = False) -> Any:
    r"""The n-mode product :math:`\mathcal{T} \times_n M` (Kolda & Bader 2009, §2.5).

    For :math:`M \in \mathbb{R}^{J \times I_n}`:

    .. math::

        (\mathcal{T} \times_n M)_{i_1 \dots i_{n-1}\, j\, i_{n+1} \dots i_N}
        = \sum_{i_n = 1}^{I_n} t_{i_1 \dots i_N}\, m_{j i_n},
        \qquad \big(\mathcal{T} \times_n M\big)_{(n)} = M\, T_{(n)}

    A vector :math:`v \in \mathbb{R}^{I_n}` contracts mode :math:`n` away (the result has one
    mode fewer). Computed without unfolding: the tensor is viewed as
    :math:`(L, I_n, R)` and multiplied by one (batched) GEMM.

    Parameters
    ----------
    tensor : ndarray or Tensor
    matrix_or_vector : ndarray or Tensor
        :math:`M` of shape ``(J, I_n)`` (or ``(I_n, J)`` with ``transpose=True``, which
        uses :math:`M^\top`), or a vector of length :math:`I_n`.
    mode : int
    transpose : bool
        Multiply by :math:`M^\top` instead of :math:`M`.

    Raises
    ------
    ValueError
        If the sizes do not match (the shapes are named).

    Examples
    --------
    >>> t = np.ones((2, 3, 4))
    >>> mode_dot(t, np.ones((5, 3)), 1).shape
    (2, 5, 4)
    >>> mode_dot(t, np.ones(3), 1).shape
    (2, 4)
    """
    tensor = _as_operand(tensor)
    m = _as_operand(matrix_or_vector)
    shape = tuple(tensor.shape)
    mode = _check_mode(mode, len(shape), "mode_dot", shape)
    diff = is_tensor(tensor) or is_tensor(m)
    m_shape = tuple(m.shape)
    vector = len(m_shape) == 1
    if len(m_shape) not in (1, 2):
        raise ValueError(f"mode_dot: expected a matrix or a vector. Received: tensor of shape "
                         f"{shape}, operand of shape {m_shape}")
    if vector:
        m = ops.reshape(m, (1, m_shape[0])) if diff else m.reshape(1, m_shape[0])
    elif transpose:
        m = ops.transpose(m) if diff else m.T
    size_in = tuple(m.shape)[1]
    if size_in != shape[mode]:
        described = f"{m_shape}{' (transposed)' if transpose and not vector else ''}"
        raise ValueError(f"mode_dot: the operand's columns must match mode {mode} of the tensor. "
                         f"Received: tensor of shape {shape}, operand of shape {described}")
    rows = tuple(m.shape)[0]
    left = int(np.prod(shape[:mode], dtype=np.int64))
    right = int(np.prod(shape[mode + 1:], dtype=np.int64))
    out_shape = shape[:mode] + ((rows,) if not vector else ()) + shape[mode + 1:]
    matmul = ops.matmul if diff else np.matmul
    reshape = ops.reshape if diff else np.reshape
    trans = ops.transpose if diff else np.transpose
    if right == 1:  # last mode: (L, I_n) @ M^T
        out = matmul(reshape(tensor, (left, shape[mode])), trans(m))
    elif left == 1:  # first mode: M @ (I_n, R)
        out = matmul(m, reshape(tensor, (shape[mode], right)))
    else:  # batched over the leading modes: M @ (L, I_n, R)
        out = matmul(m, reshape(tensor, (left, shape[mode], right)))
    return reshape(out, out_shape)


def multi_mode_dot(tensor: Any, matrices: Sequence[Any], modes: Sequence[int] | None = None,
                   skip: int | None = None, transpose: bool = False) -> Any:
    r"""Several n-mode products: :math:`\mathcal{T} \times_1 M^{(1)} \cdots \times_N M^{(N)}`.

    .. math::

        \mathcal{T} \times_{n_1} M^{(1)} \times_{n_2} M^{(2)} \cdots

    Products along distinct modes commute; they are applied in the order given (vectors,
    which remove their mode, are applied last so the mode numbers stay valid).

    Parameters
    ----------
    tensor : ndarray or Tensor
    matrices : sequence of ndarray or Tensor
        One matrix (or vector) per mode in ``modes``.
    modes : sequence of int, optional
        Default: ``0, 1, ..., len(matrices) - 1``.
    skip : int, optional
        A mode to leave out (its entry in ``matrices`` is ignored), as in TensorLy.
    transpose : bool
        Multiply by each :math:`M^{(k)\top}`.

    Examples
    --------
    >>> core = np.ones((2, 2, 2))
    >>> factors = [np.ones((4, 2)), np.ones((5, 2)), np.ones((6, 2))]
    >>> multi_mode_dot(core, factors).shape
    (4, 5, 6)
    """
    matrices = list(matrices)
    modes = list(range(len(matrices))) if modes is None else list(modes)
    if len(modes) != len(matrices):
        raise ValueError(f"multi_mode_dot: one mode per matrix is needed. Received: "
                         f"{len(matrices)} matrices and modes={tuple(modes)!r}")
    ndim = len(tuple(_as_operand(tensor).shape))
    pairs = [(int(_check_mode(mo, ndim, "multi_mode_dot", tuple(tensor.shape))), mat)
             for mo, mat in zip(modes, matrices)]
    if skip is not None:
        skip = _check_mode(skip, ndim, "multi_mode_dot", tuple(tensor.shape))
        pairs = [(mo, mat) for mo, mat in pairs if mo != skip]
    def _order(mat: Any) -> int:
        return len(tuple(mat.shape) if is_tensor(mat) else np.shape(mat))

    matrix_pairs = [(mo, mat) for mo, mat in pairs if _order(mat) != 1]
    vector_pairs = [(mo, mat) for mo, mat in pairs if _order(mat) == 1]
    result = tensor
    for mo, mat in matrix_pairs:
        result = mode_dot(result, mat, mo, transpose=transpose)
    for mo, mat in sorted(vector_pairs, key=lambda p: -p[0]):
        result = mode_dot(result, mat, mo, transpose=transpose)
    return result
