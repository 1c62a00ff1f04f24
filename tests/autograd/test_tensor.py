"""The Tensor API as PyTorch users expect it, and the creation functions."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb


def test_tensor_attributes_and_conversions() -> None:
    data = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = nb.tensor(data)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.dtype == np.float32
    assert not t.requires_grad and t.grad is None
    data[0, 0] = 100.0  # nb.tensor copies, as torch.tensor does
    assert t.numpy()[0, 0] == 0.0
    assert isinstance(t.numpy(), np.ndarray)
    assert np.asarray(t).dtype == np.float32
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert nb.tensor([[1.5]]).item() == 1.5 and isinstance(nb.tensor(3).item(), int)
    with pytest.raises(ValueError, match="one-element"):
        t.item()
    assert nb.tensor([1, 2]).dtype == np.int64
    assert nb.tensor([True]).dtype == np.bool_
    assert nb.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert nb.tensor(nb.tensor([1.0], dtype=np.float64)).dtype == np.float64
    with pytest.raises(TypeError):
        nb.tensor(["a"])


def test_grad_is_settable() -> None:
    t = nb.tensor([1.0], requires_grad=True)
    t.grad = np.array([2.0], dtype=np.float32)
    (t * 1.0).sum().backward()
    assert t.grad.tolist() == [3.0]
    t.grad = None
    assert t.grad is None


def test_len_iteration_and_indexing() -> None:
    t = nb.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    assert len(t) == 3
    rows = list(t)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    sum(r.sum() for r in rows).backward()
    assert t.grad.tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(TypeError):
        len(nb.tensor(1.0))
    with pytest.raises(TypeError):
        iter(nb.tensor(1.0)).__next__()


def test_repr() -> None:
    assert repr(nb.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(nb.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(nb.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(nb.tensor([1.0], dtype=np.float64)) == "tensor([1.], dtype=float64)"
    y = nb.tensor([1.0], requires_grad=True) * 2.0
    assert repr(y) == "tensor([2.], grad_fn=<Mul>)"
    assert repr(nb.tensor([[1.0, 2.0], [3.0, 4.0]])) == "tensor([[1., 2.],\n        [3., 4.]])"


def test_creation_functions() -> None:
    assert nb.zeros(2, 3).shape == (2, 3) and nb.zeros((2, 3)).dtype == np.float32
    assert nb.ones(2).tolist() == [1.0, 1.0]
    assert nb.zeros_like(nb.tensor([1, 2])).dtype == np.int64
    assert nb.ones_like(nb.zeros(2, 2)).data.sum() == 4
    assert nb.randn(3, 4).shape == (3, 4) and nb.randn(2).dtype == np.float32
    r = nb.rand(1000)
    assert r.dtype == np.float32 and 0 <= r.data.min() and r.data.max() < 1
    assert nb.arange(4).tolist() == [0, 1, 2, 3] and nb.arange(4).dtype == np.int64
    assert nb.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert nb.arange(5, step=2).tolist() == [0, 2, 4]
    assert nb.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert nb.zeros(2, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="shape"):
        nb.zeros(-1)


def test_set_random_seed_is_bit_identical() -> None:
    nb.set_random_seed(42)
    a = (nb.randn(5, 5).numpy().copy(), nb.rand(3).numpy().copy())
    nb.set_random_seed(42)
    b = (nb.randn(5, 5).numpy().copy(), nb.rand(3).numpy().copy())
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
    nb.set_random_seed(43)
    assert nb.randn(5, 5).numpy().tobytes() != a[0].tobytes()
    with pytest.raises(ValueError, match="seed"):
        nb.set_random_seed(-1)


def test_methods_mirror_ops() -> None:
    t = nb.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert t.abs().sum().item() == 10.0
    assert t.max(axis=1).tolist() == [1.0, 4.0]
    assert t.argmax(axis=1).tolist() == [0, 1]
    assert t.T.tolist() == [[1.0, 3.0], [-2.0, 4.0]]
    assert t.reshape(4).shape == (4,) and t.reshape((1, 4)).shape == (1, 4)
    assert t.flatten().shape == (4,)
    assert (t > 0).dtype == np.bool_ and not (t > 0).requires_grad
    assert t.astype(np.float64).dtype == np.float64


def test_creation_keeps_requested_dtype() -> None:
    f64 = np.float64
    assert nb.tensor([1.0], dtype=f64).dtype == f64
    assert nb.zeros(2, dtype=f64).dtype == f64 and nb.ones(2, dtype=f64).dtype == f64
    assert nb.randn(2, dtype=f64).dtype == f64 and nb.rand(2, dtype=f64).dtype == f64
    assert nb.zeros_like(nb.ones(2, dtype=f64)).dtype == f64
    assert nb.full((2,), 1.0, dtype=f64).dtype == f64
    assert nb.tensor([1.0], dtype=f64).detach().dtype == f64
