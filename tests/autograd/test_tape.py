"""GradientTape (tf.GradientTape on nablanet's graph) and autograd.grad."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers, models, optimizers
from nablanet.autograd import GradientTape, grad


def test_grad_leaves_dot_grad_alone_and_reaches_non_leaves():
    x = nb.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * x
    y = (h * 3.0).sum()
    gx, gh = grad(y, [x, h], retain_graph=True)
    np.testing.assert_allclose(gx, 6 * x.numpy())
    np.testing.assert_allclose(gh, [3.0, 3.0, 3.0])
    assert x.grad is None
    unrelated = nb.tensor([1.0], requires_grad=True)
    assert grad(y, [unrelated], retain_graph=True) == [None]
    y.backward()  # the ordinary backward still works on the same graph afterwards
    np.testing.assert_allclose(x.grad, 6 * x.numpy())


def test_tape_matches_torch_on_a_model():
    nb.set_random_seed(0)
    model = models.Sequential([layers.Dense(5, activation="tanh"), layers.Dense(1)])
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    y = np.arange(8, dtype=np.float32).reshape(8, 1)
    model(x)
    with GradientTape() as tape:
        loss = ((model(x) - y) ** 2).mean()
    grads = tape.gradient(loss, model.trainable_variables)
    w = [torch.tensor(v.numpy().astype(np.float64), requires_grad=True)
         for v in model.trainable_weights]
    out = torch.tanh(torch.tensor(x, dtype=torch.float64) @ w[0] + w[1]) @ w[2] + w[3]
    ((out - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    for g, t in zip(grads, w):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert all(v.grad is None for v in model.trainable_weights)
    before = [v.numpy().copy() for v in model.trainable_weights]
    optimizers.SGD(0.1).apply_gradients(zip(grads, model.trainable_variables))
    for b, v, g in zip(before, model.trainable_weights, grads):
        np.testing.assert_allclose(v.numpy(), b - 0.1 * g.numpy(), rtol=1e-6, atol=1e-7)


def test_watch_nested_sources_and_unconnected():
    x = nb.tensor([2.0, 3.0])
    w = nb.tensor(1.5, requires_grad=True)
    other = nb.tensor([1.0], requires_grad=True)
    with GradientTape() as tape:
        tape.watch(x)
        y = (x * x * w).sum()
    assert not x.requires_grad  # the flag watch() set is undone on leaving the block
    g = tape.gradient(y, {"x": x, "rest": [w, other]})
    np.testing.assert_allclose(g["x"].numpy(), [6.0, 9.0])
    np.testing.assert_allclose(g["rest"][0].numpy(), 13.0)
    assert g["rest"][1] is None
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(y, [w])


def test_unwatched_constant_gets_none_and_zero_option():
    x = nb.tensor([2.0])
    w = nb.tensor([1.0], requires_grad=True)
    with GradientTape(persistent=True) as tape:
        y = (x * w).sum()
    assert tape.gradient(y, [x]) == [None]
    np.testing.assert_array_equal(tape.gradient(y, [x], unconnected_gradients="zero")[0].numpy(),
                                  [0.0])


def test_persistent_tape_and_two_tapes_over_one_forward_pass():
    a = nb.tensor([1.0, 2.0], requires_grad=True)
    b = nb.tensor([3.0], requires_grad=True)
    with GradientTape() as ta, GradientTape() as tb:
        h = a * b
        la = (h * h).sum()
        lb = h.sum()
    np.testing.assert_allclose(ta.gradient(la, [a])[0].numpy(), 2 * (a.numpy() * 3.0) * 3.0)
    np.testing.assert_allclose(tb.gradient(lb, [b])[0].numpy(), [3.0])
    with GradientTape(persistent=True) as tp:
        y = (a * a).sum()
        z = (a * b).sum()
    np.testing.assert_allclose(tp.gradient(y, a).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(tp.gradient(z, a).numpy(), [3.0, 3.0])
    np.testing.assert_allclose(tp.gradient([y, z], a).numpy(), [5.0, 7.0])  # summed targets


def test_only_what_the_tape_recorded_is_differentiated():
    w = nb.tensor([2.0], requires_grad=True)
    h = w * w  # recorded before the tape: a constant to it, as in TensorFlow
    with GradientTape() as tape:
        y = (h * w).sum()
    np.testing.assert_allclose(tape.gradient(y, w).numpy(), [4.0])  # h, not 3 w^2
    with GradientTape() as tape:
        tape.watch(h)
        y = (h * w).sum()
    np.testing.assert_allclose(tape.gradient(y, [h])[0].numpy(), [2.0])


def test_stop_recording_and_output_gradients_and_watch_flags():
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    v = nb.tensor([1.0, 1.0], requires_grad=True)
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(v)
        with tape.stop_recording():
            frozen = w * 10.0
        y = w * v + frozen
    gw, gv = tape.gradient(y, [w, v], output_gradients=[nb.tensor([1.0, 3.0])])
    assert gw is None  # not watched
    np.testing.assert_allclose(gv.numpy(), [1.0, 6.0])
    assert tape.watched_variables()[0] is v


def test_second_order_through_nested_tapes_is_refused():
    x = nb.tensor(3.0, requires_grad=True)
    with GradientTape() as outer:
        with GradientTape() as inner:
            y = x * x
        dy = inner.gradient(y, x)
    np.testing.assert_allclose(dy.numpy(), 6.0)
    with pytest.raises(NotImplementedError, match="second-order"):
        outer.gradient(dy, x)


def test_nested_tapes_first_order():
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    with GradientTape() as outer:
        u = x * 2.0
        with GradientTape() as inner:
            v = (u * u).sum()
        w = v + u.sum()
    assert inner.gradient(v, x) is None  # u = 2x was recorded before the inner tape began
    np.testing.assert_allclose(outer.gradient(w, x).numpy(), 8 * x.numpy() + 2.0)


def test_trainable_variables_aliases():
    layer = layers.Dense(2)
    layer.build((None, 3))
    assert layer.trainable_variables == layer.trainable_weights
    assert layer.variables == layer.weights and layer.non_trainable_variables == []
