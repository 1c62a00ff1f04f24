"""Embedding (against torch.nn.Embedding, mask_zero, bad ids), Masking and RepeatVector."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers
from nablanet.testing import check_layer


@pytest.mark.parametrize("layer_cls, kwargs, in_shape, out_shape, n_weights", [
    (layers.Masking, {"mask_value": 0.5}, (2, 4, 3), (2, 4, 3), 0),
    (layers.RepeatVector, {"n": 3}, (2, 5), (2, 3, 5), 0),
])
def test_shared_layer_checks(layer_cls, kwargs, in_shape, out_shape, n_weights) -> None:
    check_layer(layer_cls, kwargs, in_shape, out_shape, n_weights)


def test_embedding_config_and_shapes() -> None:
    layer = layers.Embedding(12, 4, mask_zero=True)
    ids = np.array([[1, 5, 0], [11, 0, 0]])
    out = layer(ids)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out._keras_mask, ids != 0)
    assert np.abs(layer.embeddings.data).max() <= 0.05  # Keras's 'uniform'
    clone = layers.Embedding.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(ids)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(ids).data, out.data)
    assert layer.compute_output_shape((None, 3)) == (None, 3, 4)
    assert getattr(layers.Embedding(5, 2)(np.array([[0, 1]])), "_keras_mask", None) is None


def test_embedding_matches_torch_with_gradient() -> None:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 7, size=(4, 6))
    layer = layers.Embedding(7, 3, weights=[rng.standard_normal((7, 3)).astype(np.float32)])
    out = layer(ids)
    g = rng.standard_normal(out.shape).astype(np.float32)
    (out * nb.tensor(g)).sum().backward()
    ref = torch.nn.Embedding(7, 3)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.embeddings.data))
    r = ref(torch.from_numpy(ids))
    (r * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out.data, r.detach().numpy())
    np.testing.assert_allclose(layer.embeddings.grad, ref.weight.grad.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_embedding_rejects_bad_ids() -> None:
    layer = layers.Embedding(5, 2)
    with pytest.raises(ValueError, match=r"ids must be in \[0, 5\). Received: \[5\]"):
        layer(np.array([[1, 5]]))
    with pytest.raises(ValueError, match="integer ids"):
        layer(np.array([[1.5, 2.0]]))
    with pytest.raises(ValueError, match="input_dim must be a positive integer"):
        layers.Embedding(0, 3)


def test_masking_zeroes_and_masks_padded_steps() -> None:
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]], np.float32)
    out = layers.Masking(0.0)(x)
    np.testing.assert_array_equal(out._keras_mask, [[True, False, True]])
    np.testing.assert_array_equal(out.data, x)
    out = layers.Masking(-1.0)(np.array([[[-1.0], [2.0]]], np.float32))
    np.testing.assert_array_equal(out.data, [[[0.0], [2.0]]])
    np.testing.assert_array_equal(out._keras_mask, [[False, True]])


def test_repeat_vector_values_gradient_and_errors() -> None:
    x = nb.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    out = layers.RepeatVector(4)(x)
    np.testing.assert_array_equal(out.data, np.repeat(x.data[:, None], 4, axis=1))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 4.0))
    with pytest.raises(ValueError, match=r"\(batch, features\)"):
        layers.RepeatVector(2)(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        layers.RepeatVector(0)
