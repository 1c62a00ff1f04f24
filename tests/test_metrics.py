"""Metrics: accumulation, weighting, Keras's accuracy resolution, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nablanet import metrics

PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.4, 0.3], [0.2, 0.5, 0.3]])
LABELS = np.array([0, 2, 0, 2])


def test_sparse_categorical_accuracy_accumulates_and_resets() -> None:
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(LABELS[:2], PROBS[:2])
    m.update_state(LABELS[2:], PROBS[2:])
    assert m.result() == pytest.approx(0.5)
    assert m.name == "sparse_categorical_accuracy"
    m.update_state(LABELS, PROBS, sample_weight=np.array([1.0, 1.0, 0.0, 0.0]))
    assert m.result() == pytest.approx(4 / 6)
    m.reset_state()
    assert m.result() == 0.0


def test_categorical_binary_and_plain_accuracy() -> None:
    onehot = np.eye(3)[LABELS]
    assert metrics.CategoricalAccuracy()(onehot, PROBS) == pytest.approx(0.5)
    b = metrics.BinaryAccuracy(threshold=0.5)
    assert b(np.array([[1], [0], [1], [0]]), np.array([[0.9], [0.6], [0.4], [0.1]])) == 0.5
    assert metrics.BinaryAccuracy(threshold=0.3)(np.array([1, 0]), np.array([0.4, 0.2])) == 1.0
    assert metrics.Accuracy()(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4])) == 0.75


def test_top_k() -> None:
    assert metrics.SparseTopKCategoricalAccuracy(k=2)(LABELS, PROBS) == pytest.approx(1.0)
    assert metrics.SparseTopKCategoricalAccuracy(k=1)(LABELS, PROBS) == pytest.approx(0.5)
    assert metrics.TopKCategoricalAccuracy(k=1)(np.eye(3)[LABELS], PROBS) == pytest.approx(0.5)


def test_mean_mse_mae() -> None:
    m = metrics.Mean()
    m.update_state([1.0, 2.0, 3.0])
    m.update_state(10.0, sample_weight=2.0)
    assert m.result() == pytest.approx((6 + 20) / 5)
    y, p = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 1.0]])
    assert metrics.MeanSquaredError()(y, p) == pytest.approx(1.5)
    assert metrics.MeanAbsoluteError()(y, p) == pytest.approx(1.0)


@pytest.mark.parametrize("loss, cls", [
    ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", metrics.CategoricalAccuracy),
    ("binary_crossentropy", metrics.BinaryAccuracy),
])
def test_accuracy_resolved_from_loss(loss, cls) -> None:
    from nablanet import losses

    for identifier in ("accuracy", "acc"):
        for given in (loss, losses.get(loss)):
            m = metrics.get(identifier, loss=given)
            assert type(m) is cls and m.name == identifier


def test_accuracy_without_loss_decides_from_shapes() -> None:
    sparse = metrics.get("accuracy")
    assert sparse.name == "accuracy"
    assert sparse(LABELS, PROBS) == pytest.approx(0.5)
    categorical = metrics.get("accuracy")
    assert categorical(np.eye(3)[LABELS], PROBS) == pytest.approx(0.5)
    binary = metrics.get("accuracy")
    assert binary(np.array([[1], [0]]), np.array([[0.8], [0.7]])) == pytest.approx(0.5)


def test_get_instances_functions_and_unknown_names() -> None:
    m = metrics.Mean(name="x")
    assert metrics.get(m) is m
    assert metrics.get("mse").name == "mse"
    wrapped = metrics.get(lambda y, p: np.abs(y - p))
    assert wrapped(np.array([1.0, 2.0]), np.array([1.0, 4.0])) == 1.0
    with pytest.raises(ValueError, match="Unknown metric: 'accurracy'.*'accuracy'"):
        metrics.get("accurracy")


def test_metrics_read_tensors_without_autograd() -> None:
    import nablanet as nb

    p = nb.tensor(PROBS, requires_grad=True)
    assert metrics.SparseCategoricalAccuracy()(LABELS, p) == pytest.approx(0.5)
