"""Translated from TensorLy: tensorly/tenalg/tests/test_kronecker.py (TensorLy 0.9/0.10).

Same inputs, golden values and assertions, run against nablanet's ``kronecker`` and
``khatri_rao`` (called with lists, as in TensorLy). ``T.tensor(x, dtype=tl.float32)`` becomes
``np.array(x, dtype=np.float32)``.

Left out: nothing.
"""

from __future__ import annotations

import numpy as np

from nablanet.tensor_algebra import khatri_rao, kronecker


def test_kronecker() -> None:
    """Test for kronecker product"""
    f32 = np.float32
    a = np.array([[1, 2, 3], [3, 2, 1]], dtype=f32)
    b = np.array([[2, 1], [2, 3]], dtype=f32)
    true_res = np.array([[2, 1, 4, 2, 6, 3], [2, 3, 4, 6, 6, 9], [6, 3, 4, 2, 2, 1],
                         [6, 9, 4, 6, 2, 3]], dtype=f32)
    res = kronecker([a, b])
    np.testing.assert_array_equal(true_res, res)

    # Another test
    a = np.array([[1, 2], [3, 4]], dtype=f32)
    b = np.array([[0, 5], [6, 7]], dtype=f32)
    true_res = np.array([[0, 5, 0, 10], [6, 7, 12, 14], [0, 15, 0, 20], [18, 21, 24, 28]],
                        dtype=f32)
    res = kronecker([a, b])
    np.testing.assert_array_equal(true_res, res)
    # Adding a third matrices
    c = np.array([[0, 1], [2, 0]], dtype=f32)
    res = kronecker([c, a, b])
    assert tuple(res.shape) == (a.shape[0] * b.shape[0] * c.shape[0],
                                a.shape[1] * b.shape[1] * c.shape[1])
    np.testing.assert_array_equal(res[:4, :4], c[0, 0] * true_res)
    np.testing.assert_array_equal(res[:4, 4:], c[0, 1] * true_res)
    np.testing.assert_array_equal(res[4:, :4], c[1, 0] * true_res)
    np.testing.assert_array_equal(res[4:, 4:], c[1, 1] * true_res)

    # Test for the reverse argument
    matrix_list = [a, b]
    res = kronecker(matrix_list)
    np.testing.assert_array_equal(res[:2, :2], a[0, 0] * b)
    np.testing.assert_array_equal(res[:2, 2:], a[0, 1] * b)
    np.testing.assert_array_equal(res[2:, :2], a[1, 0] * b)
    np.testing.assert_array_equal(res[2:, 2:], a[1, 1] * b)
    # Check that the original list has not been reversed
    np.testing.assert_array_equal(matrix_list[0], a)
    np.testing.assert_array_equal(matrix_list[1], b)

    # Check the returned shape
    shapes = [[2, 3], [4, 5], [6, 7]]
    w = [np.random.randn(*shape) for shape in shapes]
    res = kronecker(w)
    assert tuple(res.shape) == (48, 105)

    # Khatri-rao is a column-wise kronecker product
    shapes = [[2, 1], [4, 1], [6, 1]]
    w = [np.random.randn(*shape) for shape in shapes]
    res = kronecker(w)
    assert tuple(res.shape) == (48, 1)

    # Khatri-rao product is a column-wise kronecker product
    kr = khatri_rao(w)
    for _ in shapes:
        np.testing.assert_array_almost_equal(res, kr)

    a = np.array([[1, 2], [0, 3]], dtype=f32)
    b = np.array([[0.5, 1], [1, 2]], dtype=f32)
    true_res = np.array([[0.5, 1.0, 1.0, 2.0], [1.0, 2.0, 2.0, 4.0], [0.0, 0.0, 1.5, 3.0],
                         [0.0, 0.0, 3.0, 6.0]], dtype=f32)
    np.testing.assert_array_equal(kronecker([a, b]), true_res)
    reversed_res = np.array([[0.5, 1.0, 1.0, 2.0], [0.0, 1.5, 0.0, 3.0], [1.0, 2.0, 2.0, 4.0],
                             [0.0, 3.0, 0.0, 6.0]], dtype=f32)
    np.testing.assert_array_equal(kronecker([a, b], reverse=True), reversed_res)

    # Test while skipping a matrix
    shapes = [[2, 3], [4, 5], [6, 7]]
    u = [np.random.randn(*shape) for shape in shapes]
    res_1 = kronecker(u, skip_matrix=1)
    res_2 = kronecker([u[0]] + u[2:])
    np.testing.assert_array_equal(res_1, res_2)

    res_1 = kronecker(u, skip_matrix=0)
    res_2 = kronecker(u[1:])
    np.testing.assert_array_equal(res_1, res_2)
