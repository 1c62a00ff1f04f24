"""Translated from TensorLy: tensorly/tenalg/tests/test_outer_product.py (TensorLy 0.9/0.10).

Same inputs and assertions, run against nablanet's ``outer`` and ``batched_outer``; the
reference is NumPy's ``tensordot(x, y, 0)`` (TensorLy's ``tenalg.tensordot(x, y, ())``),
batched with ``einsum``.

Left out: nothing.
"""

from __future__ import annotations

import numpy as np
import tensorly as tl

from nablanet.tensor_algebra import batched_outer, outer


def test_outer_product() -> None:
    """Test outer_dot"""
    rng = tl.check_random_state(1234)
    x = rng.random_sample((4, 5, 6))
    y = rng.random_sample((3, 4))
    z = rng.random_sample(2)
    tdot = outer([x, y, z])
    true_dot = np.tensordot(np.tensordot(x, y, 0), z, 0)
    np.testing.assert_array_almost_equal(tdot, true_dot)


def test_batched_outer_product() -> None:
    """Test batched_outer_dot"""
    rng = tl.check_random_state(1234)
    batch_size = 3
    x = rng.random_sample((batch_size, 4, 5, 6))
    y = rng.random_sample((batch_size, 3))
    z = rng.random_sample((batch_size, 2))
    res = batched_outer([x, y, z])
    true_res = np.einsum("bijk,bl,bm->bijklm", x, y, z)
    np.testing.assert_array_almost_equal(res, true_res)
