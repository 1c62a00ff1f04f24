"""Losses: values and gradients against PyTorch, reductions, sample weights, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import losses

F = torch.nn.functional
RNG = np.random.default_rng(0)
LOGITS = (RNG.standard_normal((6, 5)) * 3).astype(np.float32)
LABELS = np.array([0, 4, 2, 2, 1, 3])
ONEHOT = np.eye(5, dtype=np.float32)[LABELS]
BIN_LOGITS = (RNG.standard_normal((6, 3)) * 3).astype(np.float32)
BIN_TARGET = RNG.integers(0, 2, (6, 3)).astype(np.float32)
REG_PRED = RNG.standard_normal((6, 3)).astype(np.float32) * 2
REG_TRUE = RNG.standard_normal((6, 3)).astype(np.float32)


def _check(loss, y_true, pred, torch_fn, rtol=1e-5, atol=1e-6):
    po = nb.tensor(pred, requires_grad=True)
    pr = torch.tensor(pred, requires_grad=True)
    out, ref = loss(y_true, po), torch_fn(pr)
    out.backward()
    ref.backward()
    assert out.shape == ()
    np.testing.assert_allclose(float(out), ref.item(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(po.grad, pr.grad.numpy(), rtol=rtol * 10, atol=atol * 10)


def test_sparse_categorical_from_logits() -> None:
    _check(losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, LOGITS,
           lambda z: F.cross_entropy(z, torch.from_numpy(LABELS)))


def test_sparse_categorical_from_probabilities() -> None:
    # Keras renormalises probabilities along the class axis first (part of the graph).
    probs = torch.softmax(torch.from_numpy(LOGITS), -1).numpy()
    _check(losses.SparseCategoricalCrossentropy(), LABELS[:, None], probs,
           lambda p: F.nll_loss(torch.log(p / p.sum(-1, keepdim=True)),
                                torch.from_numpy(LABELS)))


def test_categorical_from_logits_and_probabilities_with_smoothing() -> None:
    smooth = ONEHOT * 0.9 + 0.1 / 5
    _check(losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), ONEHOT, LOGITS,
           lambda z: F.cross_entropy(z, torch.from_numpy(LABELS), label_smoothing=0.1))
    probs = torch.softmax(torch.from_numpy(LOGITS), -1).numpy()
    _check(losses.CategoricalCrossentropy(), ONEHOT, probs,
           lambda p: -(torch.from_numpy(ONEHOT) * torch.log(p / p.sum(-1, keepdim=True))).sum(-1)
           .mean())
    del smooth


def test_binary_from_logits_and_probabilities() -> None:
    target = torch.from_numpy(BIN_TARGET)
    _check(losses.BinaryCrossentropy(from_logits=True), BIN_TARGET, BIN_LOGITS,
           lambda z: F.binary_cross_entropy_with_logits(z, target))
    _check(losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), BIN_TARGET,
           BIN_LOGITS, lambda z: F.binary_cross_entropy_with_logits(z, target * 0.8 + 0.1))
    probs = 1 / (1 + np.exp(-BIN_LOGITS / 3))
    _check(losses.BinaryCrossentropy(), BIN_TARGET, probs.astype(np.float32),
           lambda p: F.binary_cross_entropy(p, target), rtol=1e-4)


def test_regression_losses() -> None:
    t = torch.from_numpy(REG_TRUE)
    _check(losses.MeanSquaredError(), REG_TRUE, REG_PRED, lambda p: F.mse_loss(p, t))
    _check(losses.MeanAbsoluteError(), REG_TRUE, REG_PRED, lambda p: F.l1_loss(p, t))
    _check(losses.Huber(delta=1.0), REG_TRUE, REG_PRED, lambda p: F.huber_loss(p, t, delta=1.0))
    _check(losses.Huber(delta=0.5), REG_TRUE, REG_PRED, lambda p: F.huber_loss(p, t, delta=0.5))


def test_logits_path_is_stable_for_huge_logits() -> None:
    z = nb.tensor(np.array([[1000.0, -1000.0, 0.0]], np.float32), requires_grad=True)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([1]), z)
    loss.backward()
    np.testing.assert_allclose(float(loss), 2000.0)
    assert np.all(np.isfinite(z.grad))
    bce = losses.BinaryCrossentropy(from_logits=True)(np.array([[0.0]]), np.array([[500.0]]))
    np.testing.assert_allclose(float(bce), 500.0)
    p = losses.SparseCategoricalCrossentropy()(np.array([1]), np.array([[1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(float(p), -np.log(1e-7), rtol=1e-5)  # clipped, not inf


def test_reductions_and_sample_weights() -> None:
    weights = np.array([1.0, 0.0, 2.0, 0.5, 1.0, 0.0], np.float32)
    per_sample = F.cross_entropy(torch.from_numpy(LOGITS), torch.from_numpy(LABELS),
                                 reduction="none").numpy()
    cases = {
        "sum_over_batch_size": (per_sample * weights).sum() / 6,
        "sum": (per_sample * weights).sum(),
        "mean_with_sample_weight": (per_sample * weights).sum() / weights.sum(),
    }
    for reduction, expected in cases.items():
        loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
        np.testing.assert_allclose(float(loss(LABELS, LOGITS, sample_weight=weights)), expected,
                                   rtol=1e-5)
    for reduction in ("none", None):
        loss = losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
        out = loss(LABELS, LOGITS, sample_weight=weights)
        np.testing.assert_allclose(out.data, per_sample * weights, rtol=1e-5)
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`.*'avg'"):
        losses.MeanSquaredError(reduction="avg")


def test_sequence_losses_with_per_sample_weights() -> None:
    z = RNG.standard_normal((2, 4, 3)).astype(np.float32)
    y = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    w = np.array([1.0, 3.0], np.float32)
    ref = F.cross_entropy(torch.from_numpy(z).reshape(-1, 3), torch.from_numpy(y).reshape(-1),
                          reduction="none").numpy().reshape(2, 4)
    out = losses.SparseCategoricalCrossentropy(from_logits=True)(y, z, sample_weight=w)
    np.testing.assert_allclose(float(out), (ref * w[:, None]).mean(), rtol=1e-5)


def test_ignore_class_masks_entries() -> None:
    y = LABELS.copy()
    y[[1, 3]] = -1
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    z = nb.tensor(LOGITS, requires_grad=True)
    out = loss(y, z)
    out.backward()
    zr = torch.tensor(LOGITS, requires_grad=True)
    ref = F.cross_entropy(zr, torch.from_numpy(y), ignore_index=-1)
    ref.backward()
    np.testing.assert_allclose(float(out), ref.item(), rtol=1e-5)
    np.testing.assert_allclose(z.grad, zr.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_out_of_range_and_non_integer_labels_raise(from_logits) -> None:
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    probs = np.full((3, 5), 0.2, np.float32)
    with pytest.raises(ValueError, match=r"label value of 5.*\[0, 5\).*5 classes"):
        loss(np.array([0, 5, 1]), probs)
    with pytest.raises(ValueError, match=r"label value of -1"):
        loss(np.array([0, -1, 1]), probs)
    with pytest.raises(ValueError, match="integer class indices"):
        loss(np.array([0.0, 1.5, 1.0]), probs)
    with pytest.raises(ValueError, match="one integer class index per sample"):
        loss(np.array([0, 1]), probs)


def test_string_names_function_forms_and_get() -> None:
    names = {"sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy,
             "categorical_crossentropy": losses.CategoricalCrossentropy,
             "binary_crossentropy": losses.BinaryCrossentropy,
             "mse": losses.MeanSquaredError, "mean_squared_error": losses.MeanSquaredError,
             "mae": losses.MeanAbsoluteError, "huber": losses.Huber}
    for name, cls in names.items():
        assert isinstance(losses.get(name), cls)
    per_sample = losses.mean_squared_error(REG_TRUE, nb.tensor(REG_PRED))
    np.testing.assert_allclose(per_sample.data, ((REG_PRED - REG_TRUE) ** 2).mean(-1), rtol=1e-5)
    assert losses.get(losses.mse) is losses.mse
    config = losses.serialize(losses.CategoricalCrossentropy(from_logits=True,
                                                             label_smoothing=0.1))
    again = losses.deserialize(config)
    assert again.from_logits and again.label_smoothing == 0.1
    with pytest.raises(ValueError, match="Unknown loss: 'msee'.*'mse'"):
        losses.get("msee")


def test_y_true_may_be_a_tensor() -> None:
    out = losses.MeanSquaredError()(nb.tensor(REG_TRUE), nb.tensor(REG_PRED))
    np.testing.assert_allclose(float(out), ((REG_PRED - REG_TRUE) ** 2).mean(), rtol=1e-5)
