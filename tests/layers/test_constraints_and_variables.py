"""Weight constraints applied by the optimizer in training, Keras variable names and paths,
and the RNN / BatchNormalization mask options (issue 19)."""

from __future__ import annotations

import numpy as np
import pytest

import nablanet as nb
from nablanet import constraints, layers, models, optimizers


def _fit(model, x, y, optimizer="sgd", epochs=3):
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)


def test_every_layer_keeps_its_constraint_through_training() -> None:
    nb.set_random_seed(0)
    rng = np.random.default_rng(0)
    dense = layers.Dense(4, kernel_constraint=constraints.MaxNorm(0.5),
                         bias_constraint="non_neg", kernel_initializer="ones",
                         bias_initializer=nb.initializers.Constant(-1.0))
    model = models.Sequential([layers.Input((6,)), dense])
    _fit(model, rng.normal(size=(32, 6)), rng.normal(size=(32, 4)) * 10,
         optimizer=optimizers.SGD(0.5))
    norms = np.sqrt((dense.kernel.data ** 2).sum(axis=0))
    assert np.all(norms <= 0.5 + 1e-6) and np.all(dense.bias.data >= 0)

    lstm = layers.LSTM(3, recurrent_constraint=constraints.UnitNorm(),
                       kernel_constraint=constraints.MinMaxNorm(0.2, 0.4))
    emb = layers.Embedding(10, 4, embeddings_constraint="non_neg")
    bn = layers.BatchNormalization(gamma_constraint="non_neg", beta_constraint="non_neg")
    conv = layers.Conv1D(2, 2, kernel_constraint=constraints.MaxNorm(0.1, axis=[0, 1]))
    model = models.Sequential([layers.Input((5,)), emb, conv, bn, lstm])
    ids = rng.integers(0, 10, size=(32, 5))
    _fit(model, ids, rng.normal(size=(32, 3)) * 5, optimizer=optimizers.Adam(0.1))
    np.testing.assert_allclose(np.sqrt((lstm.recurrent_kernel.data ** 2).sum(axis=0)), 1.0,
                               rtol=1e-5)
    kernel_norms = np.sqrt((lstm.kernel.data ** 2).sum(axis=0))
    assert np.all(kernel_norms >= 0.2 - 1e-6) and np.all(kernel_norms <= 0.4 + 1e-6)
    assert emb.embeddings.data.min() >= 0
    assert bn.gamma.data.min() >= 0 and bn.beta.data.min() >= 0
    assert np.sqrt((conv.kernel.data ** 2).sum(axis=(0, 1))).max() <= 0.1 + 1e-6
    # the configs carry the constraints, and a model rebuilt from them has them again
    config = lstm.get_config()
    assert config["recurrent_constraint"]["class_name"] == "UnitNorm"
    clone = layers.LSTM.from_config(config)
    clone.build((None, 5, 2))
    assert isinstance(clone.recurrent_kernel.constraint, constraints.UnitNorm)


def test_weights_are_named_variables_and_weight_decay_excludes_by_name() -> None:
    nb.layers.clear_session()
    dense = layers.Dense(2, kernel_initializer="ones", bias_initializer="ones")
    dense.build((None, 3))
    assert [(w.name, w.path) for w in dense.weights] == [("kernel", "dense/kernel"),
                                                         ("bias", "dense/bias")]
    assert isinstance(dense.kernel, nb.Variable) and dense.kernel.trainable
    opt = optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    zeros = [np.zeros((3, 2), np.float32), np.zeros(2, np.float32)]
    opt.apply_gradients(zip(zeros, dense.trainable_weights))
    np.testing.assert_allclose(dense.kernel.data, 0.95)  # 1 - 0.1 * 0.5
    np.testing.assert_allclose(dense.bias.data, 1.0)  # excluded by its name


@pytest.mark.parametrize("go_backwards", [False, True])
def test_rnn_zero_output_for_mask(go_backwards: bool) -> None:
    x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype(np.float32)
    mask = np.array([[True, True, False, False], [True, False, True, True]])
    kwargs = {"return_sequences": True, "go_backwards": go_backwards,
              "kernel_initializer": "ones", "recurrent_initializer": "ones"}
    plain = layers.GRU(2, **kwargs)(x, mask=mask).data
    zeroed = layers.GRU(2, zero_output_for_mask=True, **kwargs)(x, mask=mask).data
    keep = mask[:, ::-1] if go_backwards else mask
    np.testing.assert_array_equal(zeroed[~keep], 0.0)
    np.testing.assert_allclose(zeroed[keep], plain[keep])
    # without the option a masked step repeats the previous output (0 before the first)
    assert not np.allclose(plain, zeroed)


def test_batch_normalization_mask_restricts_the_statistics() -> None:
    x = np.array([[[1.0], [3.0], [100.0]]], np.float32)  # the third step is padding
    bn = layers.BatchNormalization(momentum=0.0, epsilon=1e-3, center=False, scale=False)
    y = bn(x, training=True, mask=np.array([[True, True, False]])).data
    np.testing.assert_allclose(bn.moving_mean.data, [2.0], rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.data, [1.0], rtol=1e-6)
    np.testing.assert_allclose(y[0, :2, 0], [-1.0, 1.0] / np.sqrt(1.0 + 1e-3), rtol=1e-5)
    with pytest.raises(ValueError, match="one dimension less"):
        bn(x, training=True, mask=np.ones((1, 3, 1), bool))


def test_documented_differences() -> None:
    """docs/keras-differences.md: optimizer.variables' head is copies that set_weights
    writes back."""
    w = nb.Variable([1.0, 2.0])
    opt = optimizers.SGD(learning_rate=0.5)
    opt.apply_gradients([(np.ones(2), w)])
    head = opt.variables
    head[0][...] = 7  # a copy: the optimizer's counter is unchanged
    assert opt.iterations == 1
    opt.set_weights([np.array(7), np.array(0.25, np.float32)])
    assert opt.iterations == 7 and opt.learning_rate == 0.25
