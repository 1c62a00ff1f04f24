"""The backward engine: ordering, accumulation, graph freeing, no_grad, errors."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet.autograd import Function


def test_chain_of_10000_ops_does_not_recurse() -> None:
    x = nb.tensor([0.5, -0.25], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**10_000] * 2, rtol=1e-3)


def test_diamond_graph_sums_both_paths() -> None:
    # x is used twice; y feeds two branches that meet again.
    x = nb.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    z = y.exp() + y * 3.0 + x
    z.sum().backward()
    xd = x.data.astype(np.float64)
    expected = np.exp(xd**2) * 2 * xd + 6 * xd + 1
    np.testing.assert_allclose(x.grad, expected, rtol=1e-5)


def test_same_tensor_twice_in_one_op() -> None:
    x = nb.tensor([3.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [6.0]
    y = nb.tensor([2.0], requires_grad=True)
    (y + y + y).sum().backward()
    assert y.grad.tolist() == [3.0]


def test_gradients_accumulate_across_backward_calls() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]
    x.grad = None
    (x * 4.0).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_leaf_grad_is_not_aliased_with_other_gradients() -> None:
    a = nb.tensor([1.0, 1.0], requires_grad=True)
    b = nb.tensor([1.0, 1.0], requires_grad=True)
    (a + b).sum().backward()  # Add returns the same array for both inputs
    a.grad += 10.0
    assert b.grad.tolist() == [1.0, 1.0]


def test_freed_graph_raises_and_retain_graph_allows_second_pass() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_freed_subgraph_reached_from_new_root_raises() -> None:
    x = nb.tensor([1.0], requires_grad=True)
    y = x.exp()
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        (y * 2.0).sum().backward()


def test_backward_on_non_scalar_needs_grad() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(np.array([1.0, 0.5]))
    assert x.grad.tolist() == [2.0, 1.0]
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        (x * 2.0).backward(np.ones(3))


def test_backward_without_graph_raises() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        nb.tensor(1.0).backward()


def test_integer_tensors_cannot_require_grad() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        nb.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        nb.tensor([1, 2]).requires_grad_()


def test_no_grad_context_and_decorator() -> None:
    w = nb.tensor([1.0], requires_grad=True)
    with nb.no_grad():
        assert not nb.is_grad_enabled()
        y = w * 2.0
        with nb.enable_grad():
            assert (w * 2.0).requires_grad
    assert nb.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf

    @nb.no_grad()
    def step(t: nb.Tensor) -> nb.Tensor:
        return t * 3.0

    assert not step(w).requires_grad
    assert (w * 3.0).requires_grad
    with pytest.raises(KeyError), nb.no_grad():
        raise KeyError("restored on error")
    assert nb.is_grad_enabled()


def test_leaf_and_non_leaf() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf and y.requires_grad and y.grad_fn is not None
    z = y.sum()
    z.backward()
    assert y.grad is None  # non-leaf gradients are not kept by default
    y2 = x * 2.0
    y2.retain_grad()
    y2.sum().backward()
    assert y2.grad.tolist() == [1.0, 1.0]
    d = y2.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.data, y2.data)


def test_ops_on_tensors_without_grad_record_nothing() -> None:
    a, b = nb.tensor([1.0]), nb.tensor([2.0])
    c = a * b
    assert not c.requires_grad and c.grad_fn is None


def test_custom_function_contract() -> None:
    class Cube(Function):
        __slots__ = ("x",)

        def forward(self, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
            self.x = x
            assert self.needs_input_grad == (True,)
            return scale * x**3

        def backward(self, grad: np.ndarray) -> tuple[np.ndarray]:
            return (grad * 3 * self.x**2,)

    x = nb.tensor([2.0], requires_grad=True)
    Cube.apply(x, scale=1.0).sum().backward()
    assert x.grad.tolist() == [12.0]


def test_engine_unbroadcasts_gradients_of_custom_functions() -> None:
    class AddRow(Function):
        __slots__ = ()

        def forward(self, x: np.ndarray, row: np.ndarray) -> np.ndarray:
            return x + row

        def backward(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return grad, grad  # the row's gradient still has the broadcast shape

    x = nb.tensor(np.zeros((3, 2)), requires_grad=True)
    row = nb.tensor([[1.0, 2.0]], requires_grad=True)
    AddRow.apply(x, row).sum().backward()
    assert row.grad.shape == (1, 2) and row.grad.tolist() == [[3.0, 3.0]]


def test_float32_stays_float32_with_python_and_numpy_operands() -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    for y in (x * 0.5, 0.5 * x, x / 3.0, 2.0 - x, x ** 2.0, x * np.float64(2.0),
              x + np.ones(2), np.ones(2) * x, x @ np.ones(2), nb.ops.where(x > 1, x, 0.0),
              nb.ops.maximum(x, 1.5), x.clip(0.0, 1.5), nb.ops.logsumexp(x), x.mean()):
        assert y.dtype == np.float32, y
    (x * np.float64(2.0) + 1.0).sum().backward()
    assert x.grad.dtype == np.float32


def test_integer_tensor_promotion_matches_torch() -> None:
    i = nb.tensor([1, 2])
    assert (i * 0.5).dtype == np.float32
    assert (i / 2).dtype == np.float32
    assert (i / nb.tensor([2, 2])).dtype == np.float32
    assert (i + 1).dtype == np.int64
    assert (i + nb.tensor([0.5, 0.5])).dtype == np.float32
    assert (nb.tensor([1.0], dtype=np.float64) + nb.tensor([1.0])).dtype == np.float64


def test_shape_errors_name_the_op_and_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"matmul: shapes \(64, 3136\) and \(3200, 128\) cannot"):
        nb.zeros(64, 3136) @ nb.zeros(3200, 128)
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        nb.zeros(2, 3) + nb.zeros(4)
    for name, fn in [("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
                     ("div", lambda a, b: a / b), ("maximum", nb.ops.maximum),
                     ("less", lambda a, b: a < b)]:
        with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\) and \(4,\)"):
            fn(nb.zeros(2, 3), np.zeros(4))
    with pytest.raises(ValueError, match=r"reshape: .*\(2, 3\)"):
        nb.zeros(2, 3).reshape(4, 2)


def test_0d_results_are_arrays() -> None:
    a = nb.tensor(2.0, requires_grad=True)
    b = a * a
    assert isinstance(b.data, np.ndarray) and b.shape == ()
    b.backward()
    assert isinstance(a.grad, np.ndarray) and a.grad.shape == () and a.grad == 4.0
