"""The fused Conv2D + ReLU + max-pool kernel, and the models' fusion pass that chooses it.

The op table (op_table.py) gradient-checks it and compares it with PyTorch; here: it equals
the unfused composition exactly (values and every gradient), over runs of images and threads,
and a Sequential model runs its Conv2D(relu) + MaxPooling2D pairs through it only when that
is the same computation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import nablanet as nb
from nablanet import layers, models
from nablanet.functional import conv2d, conv2d_max_pool2d, max_pool2d
from nablanet.kernels import conv as conv_ops
from nablanet.kernels import threads
from nablanet.kernels.conv_pool import Conv2DMaxPool2D
from nablanet.kernels.pooling import applies
from nablanet.kernels.registry import use_kernels
from nablanet.models.fusion import fuse


def _grads(fused: bool, arrays: list[np.ndarray], dtype: Any, **conv: Any) -> list[np.ndarray]:
    pool = conv.pop("pool_size", (2, 2))
    tensors = [nb.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    if fused:
        y = conv2d_max_pool2d(*tensors, pool_size=pool, **conv)
    else:
        y = max_pool2d(conv2d(*tensors, activation="relu", **conv), pool)
    y.backward(np.random.default_rng(9).standard_normal(y.shape).astype(dtype))
    return [y.data] + [t.grad for t in tensors]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, conv", [
    ((5, 11, 13, 3), (3, 3), {}),  # odd conv output: a row and a column no window covers
    ((4, 12, 10, 16), (3, 3), {"padding": "same", "pool_size": (3, 2)}),
    ((3, 14, 15, 8), (2, 3), {"strides": (2, 1), "dilation_rate": (1, 2)}),
])
def test_fused_equals_composition_over_runs_and_threads(monkeypatch: Any, dtype: Any,
                                                        shape: tuple, kernel: tuple,
                                                        conv: dict) -> None:
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(shape), 0.3 * rng.standard_normal((*kernel, shape[3], 6)),
              0.1 * rng.standard_normal(6)]
    first = None
    tolerance = 1e-4 if dtype == np.float32 else 1e-12
    # whole images per run; bands of rows (the fused op's bands hold whole pooling windows,
    # so they differ from the plain conv's); bands of a few rows, over three threads
    for sub_bytes, workers in [(conv_ops._SUB_BYTES, 1), (1, 2), (1 << 12, 3)]:
        monkeypatch.setattr(conv_ops, "_SUB_BYTES", sub_bytes)
        monkeypatch.setattr(threads, "worker_count", lambda w=workers: w)
        monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
        expected = _grads(False, arrays, dtype, **dict(conv))
        got = _grads(True, arrays, dtype, **dict(conv))
        for a, b in zip(got, expected):
            assert a.dtype == b.dtype
            if first is None:  # the same runs: the same arithmetic
                np.testing.assert_array_equal(a, b)
            else:  # other runs: other GEMM blocking and partial sums
                np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)
        first = first or got
        for a, b in zip(got, first):
            np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("bias", [0.5, -20.0])
def test_fused_ties_and_non_positive_windows_as_the_composition(bias: float) -> None:
    """Constant input and kernel: every window is a tie (first winner), or, with a negative
    bias, not positive (no gradient at all)."""
    arrays = [np.ones((2, 7, 7, 2)), np.ones((3, 3, 2, 3)), np.full(3, bias)]
    got, expected = (_grads(fused, arrays, np.float32) for fused in (True, False))
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert (np.count_nonzero(got[1]) == 0) == (bias < 0)


def test_fused_without_bias_and_without_input_gradient() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 9, 9, 3)).astype(np.float32)
    w = nb.tensor(rng.standard_normal((3, 3, 3, 4)).astype(np.float32), requires_grad=True)
    y = conv2d_max_pool2d(x, w)
    assert y.shape == (2, 3, 3, 4) and isinstance(y._ctx, Conv2DMaxPool2D)
    y.sum().backward()
    wt = torch.tensor(w.data).permute(3, 2, 0, 1).requires_grad_()
    yt = torch.nn.functional.max_pool2d(
        torch.relu(torch.nn.functional.conv2d(torch.tensor(x).permute(0, 3, 1, 2), wt)), 2)
    yt.sum().backward()
    np.testing.assert_allclose(y.data, yt.permute(0, 2, 3, 1).detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(w.grad, wt.grad.permute(2, 3, 1, 0).numpy(), rtol=1e-4,
                               atol=1e-4)


def test_fallback_and_errors() -> None:
    assert applies(np.float32, 4) and not applies(np.float16, 4)
    assert not applies(np.float32, 64)  # 64 taps: more than a winner code holds
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((1, 10, 10, 2)), rng.standard_normal((2, 2, 2, 3))
    y = conv2d_max_pool2d(x, w, pool_size=(8, 8))  # the unfused composition
    np.testing.assert_array_equal(y.data, max_pool2d(conv2d(x, w, activation="relu"),
                                                     (8, 8)).data)
    with pytest.raises(ValueError, match=r"pool_size \(4, 4\) is larger than the conv output"):
        conv2d_max_pool2d(x[:, :4, :4], w, pool_size=4)
    with pytest.raises(ValueError, match="input has 2 channels but the kernel expects 3"):
        conv2d_max_pool2d(x, rng.standard_normal((2, 2, 3, 3)))


def _model(conv: dict, pool: dict, filters: int = 4, functional: bool = False) -> Any:
    stack = [layers.Conv2D(filters, 3, **conv), layers.MaxPooling2D(**pool), layers.Flatten(),
             layers.Dense(2)]
    if not functional:
        return models.Sequential([layers.Input(shape=(12, 11, 3)), *stack])
    x = inputs = layers.Input(shape=(12, 11, 3))
    for layer in stack:
        x = layer(x)
    return models.Model(inputs, x)


def _graph_ops(tensor: Any) -> list[str]:
    """The names of the graph's nodes, walking back from ``tensor``."""
    node = tensor._ctx
    if node is None:
        return []
    return [type(node).__name__] + [name for parent in node.inputs for name in _graph_ops(parent)]


def _layer_by_layer(model: Any, x: np.ndarray) -> Any:
    y = nb.tensor(x)
    for layer in model.layers:
        y = layer(y)
    return y


@pytest.mark.parametrize("functional", [False, True])
@pytest.mark.parametrize("conv, pool, fuses", [
    ({"activation": "relu"}, {}, True),
    ({"activation": "relu", "padding": "same", "strides": (1, 2)}, {"pool_size": 3}, True),
    ({"activation": "tanh"}, {}, False),
    ({"activation": "relu"}, {"strides": 1}, False),
    ({"activation": "relu"}, {"padding": "same"}, False),
    ({"activation": "relu", "groups": 3}, {}, False),
    ({"activation": "relu", "activity_regularizer": "l2"}, {}, False),
])
def test_models_fuse_conv_relu_max_pool_only_when_equal(conv: dict, pool: dict, fuses: bool,
                                                         functional: bool) -> None:
    model = _model(conv, pool, filters=6 if conv.get("groups") else 4, functional=functional)
    x = np.random.default_rng(7).standard_normal((3, 12, 11, 3)).astype(np.float32)
    results = []
    for run in (model, lambda x: _layer_by_layer(model, x)):
        for w in model.trainable_weights:
            w.grad = None
        y = run(nb.tensor(x))
        if run is model:
            assert ("Conv2DMaxPool2D" in _graph_ops(y)) == fuses
            assert any(step.pattern is not None for step in fuse(model.layers)) == fuses
        (y * y).sum().backward()
        results.append([y.data] + [w.grad.copy() for w in model.trainable_weights])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_functional_model_does_not_fuse_a_conv_output_used_twice() -> None:
    inputs = layers.Input(shape=(8, 8, 2))
    conv = layers.Conv2D(3, 3, activation="relu")
    features = conv(inputs)
    pooled = layers.Flatten()(layers.MaxPooling2D()(features))
    model = models.Model(inputs, [pooled, features])
    x = np.random.default_rng(2).standard_normal((2, 8, 8, 2)).astype(np.float32)
    out_pooled, out_features = model(x)
    assert "Conv2DMaxPool2D" not in _graph_ops(out_pooled)
    np.testing.assert_array_equal(out_features.data, conv(x).data)
    np.testing.assert_array_equal(
        out_pooled.data, max_pool2d(out_features.data, 2).data.reshape(2, -1))
    assert model.predict(x, verbose=0)[0].shape == (2, 27)


def test_fused_model_trains_like_the_unfused_one() -> None:
    """fit() through the fused pair gives the losses of the same model whose pair cannot be
    fused (an identity Activation layer between the conv and the pool)."""
    rng = np.random.default_rng(8)
    x = rng.random((16, 12, 11, 3)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    histories = []
    for split in (False, True):
        nb.utils.set_random_seed(1)
        stack: list[Any] = [layers.Input(shape=(12, 11, 3)),
                            layers.Conv2D(4, 3, activation="relu")]
        if split:
            stack.append(layers.Activation("linear"))
        stack += [layers.MaxPooling2D(), layers.Flatten(), layers.Dense(2)]
        model = models.Sequential(stack)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
        histories.append(history.history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-6)


def test_reference_kernels_run_the_fused_pattern_as_the_composition() -> None:
    """With the reference kernels the fusion pass still picks the pattern, and the primitive
    is the plain composition: same values and gradients as the fast fused kernel."""
    model = _model({"activation": "relu"}, {})
    x = np.random.default_rng(8).standard_normal((3, 12, 11, 3)).astype(np.float32)
    results = []
    for mode in ("fast", "reference"):
        with use_kernels(mode):
            for w in model.trainable_weights:
                w.grad = None
            y = model(nb.tensor(x))
            assert ("Conv2DMaxPool2D" in _graph_ops(y)) == (mode == "fast")
            (y * y).sum().backward()
            results.append([y.data] + [w.grad.copy() for w in model.trainable_weights])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
