"""nablanet.keras_ops: gradients of the composites against PyTorch, Keras's signatures and
the random functions' seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import keras_ops as ops
from nablanet.keras_ops import random


def _grad_pair(fn_nb, fn_torch, *shapes, seed=0):
    """Gradient of sum(f(x) * w) w.r.t. each input, nablanet vs torch (float64 in torch)."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    xs = [nb.tensor(a, requires_grad=True) for a in arrays]
    out = fn_nb(*xs)
    w = rng.standard_normal(out.shape).astype(np.float32)
    (out * nb.tensor(w)).sum().backward()
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    tout = fn_torch(*ts)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    (tout * torch.tensor(w, dtype=torch.float64)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", [
    (lambda x: ops.tile(x, [2, 1, 3]), lambda x: x.tile(2, 1, 3), (2, 3)),
    (lambda x: ops.repeat(x, 3, axis=1), lambda x: x.repeat_interleave(3, dim=1), (2, 3)),
    (lambda x: ops.repeat(x, np.array([1, 0, 2]), axis=1),
     lambda x: x.repeat_interleave(torch.tensor([1, 0, 2]), dim=1), (2, 3)),
    (lambda x: ops.square(x), lambda x: x * x, (4,)),
    (lambda x: ops.log1p(ops.abs(x)), lambda x: torch.log1p(x.abs()), (5,)),
    (lambda x: ops.max(x, axis=1, initial=0.0), lambda x: x.amax(1).clamp(min=0.0), (3, 4)),
    (lambda x: ops.nn.log_sigmoid(x), torch.nn.functional.logsigmoid, (6,)),
    (lambda x: ops.nn.softmax(x, axis=(0, 1)),
     lambda x: torch.softmax(x.reshape(-1), 0).reshape(x.shape), (2, 3)),
    (lambda x: ops.nn.gelu(x), lambda x: torch.nn.functional.gelu(x, approximate="tanh"), (5,)),
    (lambda x: ops.take(x, np.array([2, 0, 2]), axis=0), lambda x: x[[2, 0, 2]], (3, 2)),
    (lambda x: ops.expand_dims(x, (0, 2)), lambda x: x.unsqueeze(0).unsqueeze(2), (2, 3)),
])
def test_composite_gradients_match_torch(case):
    fn_nb, fn_torch, shape = case
    _grad_pair(fn_nb, fn_torch, shape)


def test_crossentropy_gradients_match_torch():
    rng = np.random.default_rng(1)
    target = rng.random((4, 3)).astype(np.float32)
    _grad_pair(lambda z: ops.nn.binary_crossentropy(target, z, from_logits=True),
               lambda z: torch.nn.functional.binary_cross_entropy_with_logits(
                   z, torch.tensor(target, dtype=torch.float64), reduction="none"), (4, 3))
    labels = np.array([0, 2, 1, 2])
    _grad_pair(lambda z: ops.nn.sparse_categorical_crossentropy(labels, z, from_logits=True),
               lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(labels),
                                                           reduction="none"), (4, 3))


def test_keras_signatures_and_errors():
    assert ops.shape(np.zeros((2, 3))) == (2, 3)
    assert ops.ones(3).dtype == np.float32 and ops.full((2,), 7).numpy().tolist() == [7.0, 7.0]
    assert ops.arange(0.0, 1.0, 0.5).dtype == np.float32
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor([1.0], sparse=True)
    with pytest.raises(ValueError, match="categorical_crossentropy.*same shape"):
        ops.nn.categorical_crossentropy(np.ones((2, 3)), np.ones((2, 4)))
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    assert not ops.stop_gradient(w).requires_grad
    assert ops.where(np.array([True, False]), w, 0.0).requires_grad


def test_random_seeds_follow_keras():
    a = random.normal((3,), seed=7)
    b = random.normal((3,), seed=7)
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # an int seed: same values
    gen = random.SeedGenerator(7)
    c, d = random.normal((3,), seed=gen), random.normal((3,), seed=gen)
    assert not np.array_equal(c.numpy(), d.numpy())  # a SeedGenerator advances
    gen2 = random.SeedGenerator(7)
    np.testing.assert_array_equal(random.normal((3,), seed=gen2).numpy(), c.numpy())
    nb.set_random_seed(3)
    e = random.uniform((4,), 2.0, 5.0)
    nb.set_random_seed(3)
    np.testing.assert_array_equal(random.uniform((4,), 2.0, 5.0).numpy(), e.numpy())
    assert (e.numpy() >= 2.0).all() and (e.numpy() < 5.0).all()
    r = random.randint((1000,), 0, 3, seed=1)
    assert r.dtype == np.int32 and set(np.unique(r.numpy())) == {0, 1, 2}
    t = random.truncated_normal((1000,), stddev=2.0, seed=1).numpy()
    assert np.abs(t).max() <= 4.0
    x = np.arange(10)
    s = random.shuffle(x, seed=3).numpy()
    assert sorted(s) == list(range(10)) and not np.array_equal(s, x)
    kept = random.dropout(np.ones(10000, np.float32), 0.25, seed=0).numpy()
    assert set(np.unique(kept)) == {0.0, np.float32(1 / 0.75)}
    assert abs((kept == 0).mean() - 0.25) < 0.02
    with pytest.raises(ValueError, match="seed"):
        random.normal((2,), seed=-1)
    with pytest.raises(ValueError, match="dtype"):
        random.normal((2,), dtype="int32")


def test_variable():
    v = ops.Variable(np.zeros((2, 2)), name="w")
    assert v.dtype == np.float32 and v.requires_grad and v.name == "w"
    v.assign(np.ones((2, 2)))
    v.assign_sub(np.full((2, 2), 0.5))
    np.testing.assert_array_equal(v.numpy(), np.full((2, 2), 0.5))
    g = ops.Variable("glorot_uniform", shape=(3, 4))
    assert g.shape == (3, 4)
    frozen = ops.Variable([1.0], trainable=False)
    assert not frozen.requires_grad
    with pytest.raises(ValueError, match="shape"):
        ops.Variable("zeros")
