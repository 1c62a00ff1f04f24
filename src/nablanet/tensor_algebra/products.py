r"""Tensor products of the chapter's §2.1: outer, Kronecker, Khatri–Rao and Hadamard.

Every product accepts NumPy arrays (and returns an ndarray) or nablanet
:class:`~nablanet.Tensor`\ s (and returns a Tensor). On Tensors the product is a composite of
differentiable primitives (broadcast multiplication and reshapes), so gradients flow to every
operand without a backward of its own.

References
----------
T. G. Kolda and B. W. Bader, "Tensor Decompositions and Applications", SIAM Review 51(3),
455–500, 2009, §2.6.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet import ops
from nablanet.tensor_algebra._common import is_tensor

__all__ = ["batched_outer", "hadamard", "khatri_rao", "kronecker", "outer"]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _prepare(operands: tuple[Any, ...], where: str, minimum: int) -> tuple[list[Any], bool]:
    """Arrays (or Tensors, when any operand is a Tensor) and whether to differentiate."""
    if len(operands) < minimum:
        raise ValueError(f"{where}: needs at least {minimum} operands. "
                         f"Received: {len(operands)}")
    differentiable = any(is_tensor(x) for x in operands)
    if differentiable:
        return [x if is_tensor(x) else np.asarray(x) for x in operands], True
    return [np.asarray(x) for x in operands], False


def _operands(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """TensorLy's list call ``f([a, b, c])`` and nablanet's ``f(a, b, c)`` alike."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return tuple(args[0])
    return args


def _skip(args: tuple[Any, ...], skip_matrix: int | None, where: str) -> tuple[Any, ...]:
    if skip_matrix is None:
        return args
    if not isinstance(skip_matrix, (int, np.integer)) or not -len(args) <= skip_matrix < len(args):
        raise ValueError(f"{where}: skip_matrix must index one of the {len(args)} operands. "
                         f"Received: skip_matrix={skip_matrix!r}")
    skipped = int(skip_matrix) % len(args)
    return tuple(x for i, x in enumerate(args) if i != skipped)


def _reshape(x: Any, shape: tuple[int, ...], differentiable: bool) -> Any:
    return ops.reshape(x, shape) if differentiable else np.reshape(x, shape)


def _mul(x: Any, y: Any, differentiable: bool) -> Any:
    return ops.mul(x, y) if differentiable else np.multiply(x, y)


def outer(*tensors: Any) -> Any:
    r"""Outer product of tensors of any order (chapter eq. 1 for vectors).

    .. math::

        (\mathcal{A} \circ \mathcal{B})_{i_1 \dots i_M j_1 \dots j_P} =
        a_{i_1 \dots i_M}\, b_{j_1 \dots j_P}, \qquad
        u^{(1)} \circ \dots \circ u^{(N)} \text{ for vectors}

    Called as ``outer(a, b, c)`` or, as in TensorLy, ``outer([a, b, c])``.

    Parameters
    ----------
    *tensors : array_like or Tensor
        The operands, left to right; the result's shape is the concatenation of theirs.

    Returns
    -------
    ndarray or Tensor
        A Tensor (differentiable) when any input is a Tensor.

    Raises
    ------
    ValueError
        If no operand is given.

    Examples
    --------
    >>> outer([1.0, 2.0], [1.0, 10.0, 100.0])
    array([[  1.,  10., 100.],
           [  2.,  20., 200.]])
    >>> outer([np.ones((2, 3)), np.ones(4)]).shape
    (2, 3, 4)
    """
    items, diff = _prepare(_operands(tensors), "outer", 1)
    result = items[0]
    for t in items[1:]:
        shape = _shape(result)
        result = _mul(_reshape(result, shape + (1,) * len(_shape(t)), diff), t, diff)
    return result


def batched_outer(*tensors: Any) -> Any:
    r"""Outer product of tensors sample by sample: the first axis is a shared batch axis.

    .. math::

        \mathcal{R}[b, i_1 \dots, j_1 \dots] = \mathcal{A}[b, i_1 \dots]\,
        \mathcal{B}[b, j_1 \dots]

    Called as ``batched_outer(a, b)`` or ``batched_outer([a, b])``.

    Raises
    ------
    ValueError
        If the batch sizes differ (all are named).

    Examples
    --------
    >>> batched_outer(np.ones((5, 2)), np.ones((5, 3, 4))).shape
    (5, 2, 3, 4)
    """
    items, diff = _prepare(_operands(tensors), "batched_outer", 1)
    shapes = [_shape(t) for t in items]
    if any(len(sh) < 1 for sh in shapes) or len({sh[0] for sh in shapes}) != 1:
        raise ValueError(f"batched_outer: every operand needs the same batch size (first "
                         f"axis). Received shapes {', '.join(map(str, shapes))}")
    result = items[0]
    for t, shape in zip(items[1:], shapes[1:]):
        current = _shape(result)
        left = _reshape(result, current + (1,) * (len(shape) - 1), diff)
        right = _reshape(t, (shape[0],) + (1,) * (len(current) - 1) + shape[1:], diff)
        result = _mul(left, right, diff)
    return result


def kronecker(*matrices: Any, skip_matrix: int | None = None, reverse: bool = False) -> Any:
    r"""Kronecker product :math:`A \otimes B \otimes \dots` (chapter eq. 2), as ``np.kron``.

    For :math:`A \in \mathbb{R}^{m \times n}`, :math:`B \in \mathbb{R}^{p \times q}`:

    .. math::

        A \otimes B = \begin{bmatrix} a_{11} B & \cdots & a_{1n} B \\ \vdots & \ddots & \vdots \\
        a_{m1} B & \cdots & a_{mn} B \end{bmatrix} \in \mathbb{R}^{mp \times nq}, \qquad
        (A \otimes B)_{(i p + k),\,(j q + l)} = a_{ij} b_{kl}

    Operands of any (equal or unequal) order are accepted; a lower-order operand gets
    leading axes of length one, as in ``np.kron``. More than two operands associate left.
    Called as ``kronecker(a, b, c)`` or, as in TensorLy, ``kronecker([a, b, c])``; one
    operand is returned as it is.

    Parameters
    ----------
    *matrices : array_like or Tensor
        The operands, :math:`A \otimes B \otimes \dots` from left to right.
    skip_matrix : int, optional
        Leave out the operand at this index.
    reverse : bool
        Multiply in reverse order, :math:`\dots \otimes B \otimes A`.

    Returns
    -------
    ndarray or Tensor
        A Tensor (differentiable) when any input is a Tensor.

    Examples
    --------
    >>> kronecker(np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]])).shape
    (4, 4)
    """
    operands = _skip(_operands(matrices), skip_matrix, "kronecker")
    items, diff = _prepare(operands[::-1] if reverse else operands, "kronecker", 1)
    result = items[0]
    for other in items[1:]:
        result = _kron2(result, other, diff)
    return result


def _kron2(a: Any, b: Any, diff: bool) -> Any:
    sa, sb = _shape(a), _shape(b)
    ndim = max(len(sa), len(sb), 1)
    sa = (1,) * (ndim - len(sa)) + sa
    sb = (1,) * (ndim - len(sb)) + sb
    # a -> (a1, 1, a2, 1, ...), b -> (1, b1, 1, b2, ...): the product interleaves the axes.
    a_shape = tuple(d for n in sa for d in (n, 1))
    b_shape = tuple(d for n in sb for d in (1, n))
    product = _mul(_reshape(a, a_shape, diff), _reshape(b, b_shape, diff), diff)
    return _reshape(product, tuple(x * y for x, y in zip(sa, sb)), diff)


def khatri_rao(*matrices: Any, weights: Any = None, skip_matrix: int | None = None,
               mask: Any = None) -> Any:
    r"""Khatri–Rao (column-wise Kronecker) product :math:`A \odot B \odot \dots` (chapter eq. 3).

    For :math:`A \in \mathbb{R}^{m \times R}` and :math:`B \in \mathbb{R}^{p \times R}` with the
    same number of columns:

    .. math::

        A \odot B = \left[ a_{:1} \otimes b_{:1} \;\; a_{:2} \otimes b_{:2} \;\; \cdots \;\;
        a_{:R} \otimes b_{:R} \right] \in \mathbb{R}^{mp \times R}

    Called as ``khatri_rao(a, b, c)`` or, as in TensorLy, ``khatri_rao([a, b, c])``; the
    product of one matrix is that matrix.

    Parameters
    ----------
    *matrices : 2-D array_like or Tensor
        Matrices with the same number of columns :math:`R`.
    weights : array_like of shape (R,), optional
        Column weights, multiplied into the first matrix: :math:`(A\,\mathrm{diag}(w))
        \odot B \odot \dots`.
    skip_matrix : int, optional
        Leave out the matrix at this index (the MTTKRP of mode ``skip_matrix``).
    mask : array_like, optional
        Row weights of the result (flattened to one per row), e.g. 0/1 for missing entries.

    Returns
    -------
    ndarray or Tensor of shape ``(m * p * ..., R)``
        A Tensor (differentiable) when any input is a Tensor.

    Raises
    ------
    ValueError
        If an operand is not a matrix or the column counts differ (the shapes are named).

    Examples
    --------
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]]); B = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> khatri_rao(A, B)[:, 0]
    array([1., 0., 1., 3., 0., 3.])
    """
    operands = _skip(_operands(matrices), skip_matrix, "khatri_rao")
    items, diff = _prepare(operands, "khatri_rao", 1)
    shapes = [_shape(x) for x in items]
    described = ", ".join(str(s) for s in shapes)
    if any(len(s) != 2 for s in shapes):
        raise ValueError(f"khatri_rao: every operand must be a matrix (2-D). "
                         f"Received shapes {described}")
    if len({s[1] for s in shapes}) != 1:
        raise ValueError(f"khatri_rao: all operands must have the same number of columns. "
                         f"Received shapes {described}")
    result, rows = items[0], shapes[0][0]
    columns = shapes[0][1]
    if weights is not None:
        result = _mul(result, _reshape(weights, (1, columns), diff) if diff
                      else np.reshape(weights, (1, columns)), diff)
    for other, (p, _) in zip(items[1:], shapes[1:]):
        product = _mul(_reshape(result, (rows, 1, columns), diff),
                       _reshape(other, (1, p, columns), diff), diff)
        rows *= p
        result = _reshape(product, (rows, columns), diff)
    if mask is not None:
        result = _mul(result, _reshape(mask, (-1, 1), diff) if diff
                      else np.reshape(np.asarray(mask), (-1, 1)), diff)
    return result


def hadamard(a: Any, b: Any, *more: Any) -> Any:
    r"""Hadamard (element-wise) product :math:`A * B * \dots` of equal shapes (chapter eq. 4).

    .. math::

        (A * B)_{ij} = a_{ij} b_{ij}

    No broadcasting: shapes must agree exactly (any order is allowed, not just matrices).

    Parameters
    ----------
    a, b, *more : array_like or Tensor
        Operands of one shape.

    Returns
    -------
    ndarray or Tensor
        A Tensor (differentiable) when any input is a Tensor.

    Raises
    ------
    ValueError
        If the shapes differ (all shapes are named).

    Examples
    --------
    >>> hadamard(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]))
    array([[3., 8.]])
    """
    items, diff = _prepare((a, b) + more, "hadamard", 2)
    shapes = [_shape(x) for x in items]
    if len(set(shapes)) != 1:
        described = ", ".join(str(s) for s in shapes)
        raise ValueError(f"hadamard: all operands must have the same shape. "
                         f"Received shapes {described}")
    result = items[0]
    for other in items[1:]:
        result = _mul(result, other, diff)
    return result
