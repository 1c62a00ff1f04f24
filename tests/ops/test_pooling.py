"""Max / average pooling, upsampling and resize against PyTorch (float64); bad input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import op_table  # tests/ops/op_table.py (on pytest's pythonpath)
import pytest
import torch
import torch.nn.functional as F

import nablanet as nb
from nablanet.functional import (
    avg_pool1d,
    avg_pool2d,
    global_average_pooling1d,
    global_average_pooling2d,
    global_max_pooling1d,
    global_max_pooling2d,
    max_pool1d,
    max_pool2d,
    resize,
    upsampling2d,
)

MINE = {"MaxPool2D", "AvgPool2D", "MaxPool1D", "AvgPool1D", "UpSampling2D", "Resize"}
CASES = [c for c in op_table.CASES if c.op in MINE]
RNG = np.random.default_rng(11)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def tf_same(size: int, k: int, s: int) -> tuple[int, int]:
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def compare(ours: Any, ref: Any, arrays: list[np.ndarray], tol: float = 1e-10) -> None:
    tensors = [nb.Tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    out = ours(*tensors)
    g = RNG.standard_normal(out.shape)
    out.backward(g)
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref_out = ref(*tt)
    ref_out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=tol, atol=tol)
    for t, r in zip(tensors, tt):
        np.testing.assert_allclose(t.grad, r.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}-{c.id}" for c in CASES])
def test_op_table_case_matches_torch(case: Any) -> None:
    compare(case.fn, case.torch_fn, [np.ascontiguousarray(a) for a in case.inputs])


def test_op_table_covers_pooling_functions() -> None:
    assert {c.op for c in CASES} == MINE


POOLS = [  # (H, W, pool, strides, padding)
    (8, 8, (2, 2), None, "valid"), (7, 9, (2, 2), None, "valid"), (7, 9, (2, 2), None, "same"),
    (9, 8, (3, 3), (2, 2), "valid"), (9, 8, (3, 3), (2, 2), "same"), (6, 7, (3, 2), (1, 2), "same"),
    (5, 5, (2, 3), (3, 1), "valid"), (6, 6, (1, 1), (2, 2), "same"), (8, 7, (4, 4), None, "same"),
]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("h,w,pool,strides,padding", POOLS)
def test_pool2d_matches_torch(kind: str, h: int, w: int, pool: tuple, strides: Any,
                              padding: str) -> None:
    s = strides or pool
    pads = (0, 0, 0, 0)
    if padding == "same":
        (pt, pb), (pl, pr) = tf_same(h, pool[0], s[0]), tf_same(w, pool[1], s[1])
        pads = (pl, pr, pt, pb)

    def ref(x: Any) -> Any:
        xt = x.permute(0, 3, 1, 2)
        if kind == "max":
            y = F.max_pool2d(F.pad(xt, pads, value=-math.inf), pool, s)
        else:  # TF excludes the padding from each window's count
            y = (F.avg_pool2d(F.pad(xt, pads), pool, s)
                 / F.avg_pool2d(F.pad(torch.ones_like(xt[:1, :1]), pads), pool, s))
        return y.permute(0, 2, 3, 1)

    fn = max_pool2d if kind == "max" else avg_pool2d
    compare(lambda x: fn(x, pool, strides, padding), ref, [rand(2, h, w, 3)])


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("steps,pool,strides", [(9, 2, None), (10, 3, 2), (7, 3, 1)])
def test_pool1d_matches_torch(kind: str, steps: int, pool: int, strides: Any) -> None:
    def ref(x: Any) -> Any:
        f = F.max_pool1d if kind == "max" else F.avg_pool1d
        return f(x.permute(0, 2, 1), pool, strides or pool).permute(0, 2, 1)

    fn = max_pool1d if kind == "max" else avg_pool1d
    compare(lambda x: fn(x, pool, strides), ref, [rand(2, steps, 4)])


def test_pool1d_same_padding_shape() -> None:
    assert max_pool1d(np.zeros((2, 9, 3)), 2, padding="same").shape == (2, 5, 3)
    assert avg_pool1d(np.ones((2, 9, 3)), 2, padding="same").data[0, -1, 0] == 1.0


@pytest.mark.parametrize("value", [0.0, 1.5])
@pytest.mark.parametrize("pool,strides", [((2, 2), None), ((2, 2), (1, 1)), ((3, 3), (2, 2)),
                                          ((3, 3), (1, 1))])
def test_max_pool_ties_go_to_the_first_winner(pool: tuple, strides: Any, value: float) -> None:
    x = nb.Tensor(np.full((1, 5, 5, 1), value), dtype=np.float64, requires_grad=True)
    max_pool2d(x, pool, strides).sum().backward()
    xt = torch.full((1, 1, 5, 5), value, dtype=torch.float64, requires_grad=True)
    F.max_pool2d(xt, pool, strides or pool).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], xt.grad.numpy()[0, 0])
    s = strides or pool
    expected = np.zeros((5, 5))
    for i in range(0, 5 - pool[0] + 1, s[0]):
        for j in range(0, 5 - pool[1] + 1, s[1]):
            expected[i, j] += 1
    np.testing.assert_array_equal(x.grad[0, :, :, 0], expected)


def test_max_pool_float32_fast_path() -> None:
    x = RNG.standard_normal((4, 10, 12, 8)).astype(np.float32)
    y = max_pool2d(x).data
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x.reshape(4, 5, 2, 6, 2, 8).max(axis=(2, 4)))


@pytest.mark.parametrize("size", [(2, 2), (3, 2)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling2d_matches_torch(size: tuple, interpolation: str) -> None:
    def ref(x: Any) -> Any:
        kwargs = {} if interpolation == "nearest" else {"align_corners": False}
        y = F.interpolate(x.permute(0, 3, 1, 2), scale_factor=size, mode=interpolation, **kwargs)
        return y.permute(0, 2, 3, 1)

    compare(lambda x: upsampling2d(x, size, interpolation), ref, [rand(2, 3, 4, 2)])


@pytest.mark.parametrize("size", [(7, 5), (2, 3), (4, 4)])
@pytest.mark.parametrize("method", ["bilinear", "nearest"])
def test_resize_matches_torch(size: tuple, method: str) -> None:
    mode = {"bilinear": "bilinear", "nearest": "nearest-exact"}[method]

    def ref(x: Any) -> Any:
        kwargs = {"align_corners": False} if method == "bilinear" else {}
        return F.interpolate(x.permute(0, 3, 1, 2), size=size, mode=mode,
                             **kwargs).permute(0, 2, 3, 1)

    compare(lambda x: resize(x, size, method), ref, [rand(2, 4, 5, 3)])


def test_resize_single_image() -> None:
    image = rand(4, 6, 3)
    out = resize(image, (8, 3)).data
    batched = resize(image[None], (8, 3)).data[0]
    np.testing.assert_allclose(out, batched)


def test_global_pooling() -> None:
    x = rand(2, 4, 5, 3)
    np.testing.assert_allclose(global_average_pooling2d(x).data, x.mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(global_max_pooling2d(x).data, x.max(axis=(1, 2)), rtol=1e-6)
    assert global_average_pooling2d(x, keepdims=True).shape == (2, 1, 1, 3)
    s = rand(2, 6, 3)
    np.testing.assert_allclose(global_average_pooling1d(s).data, s.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(global_max_pooling1d(s).data, s.max(axis=1), rtol=1e-6)


@pytest.mark.parametrize("call,match", [
    (lambda: max_pool2d(np.zeros((4, 4, 3))), "max_pool2d: expected a 4-D input"),
    (lambda: avg_pool2d(np.zeros((1, 4, 4, 3)), 5), r"avg_pool2d: pool_size \(5, 5\) is larger"),
    (lambda: max_pool2d(np.zeros((1, 4, 4, 3)), 0), "pool_size must be a positive"),
    (lambda: max_pool2d(np.zeros((1, 4, 4, 3)), 2, padding="causal"), "padding must be"),
    (lambda: max_pool1d(np.zeros((1, 4, 4, 3))), "max_pool1d: expected a 3-D input"),
    (lambda: avg_pool1d(np.zeros((1, 2, 3)), 3), r"avg_pool1d: pool_size .* \(input shape"),
    (lambda: upsampling2d(np.zeros((1, 4, 4, 3)), 2, "cubic"), "interpolation must be"),
    (lambda: resize(np.zeros((1, 4, 4, 3)), (2, 2), "area"), "method must be"),
])
def test_bad_input_raises(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("pool,strides,padding", [((2, 2), None, "valid"), ((3, 3), (2, 2), "same"),
                                                  ((2, 3), (1, 1), "valid")])
def test_reference_path_matches_compiled_path(pool: tuple, strides: Any, padding: str) -> None:
    """The reference (tap by tap) gives the compiled kernels' values and gradients."""
    from nablanet.kernels.registry import use_kernels

    x = rand(2, 7, 8, 3)
    g = rand(*max_pool2d(x, pool, strides, padding).shape)

    def run() -> tuple[np.ndarray, np.ndarray]:
        t = nb.Tensor(x, dtype=np.float64, requires_grad=True)
        y = max_pool2d(t, pool, strides, padding)
        y.backward(g)
        return y.data, t.grad

    compiled = run()
    with use_kernels("reference"):
        fallback = run()
    np.testing.assert_array_equal(compiled[0], fallback[0])
    np.testing.assert_allclose(compiled[1], fallback[1], rtol=1e-12, atol=1e-12)


# --- conv + relu followed by a max-pool (unfused: two nodes, each with its own backward) --------
def _conv_relu_pool(x: np.ndarray, k: np.ndarray, b: np.ndarray, g: np.ndarray, pool: tuple,
                    strides: Any, padding: str, retain: bool = False
                    ) -> tuple[np.ndarray, ...]:
    from nablanet.functional import conv2d

    xt, kt, bt = (nb.tensor(a, dtype=np.float64, requires_grad=True) for a in (x, k, b))
    z = conv2d(xt, kt, bt, padding="same", activation="relu")
    if retain:
        z.retain_grad()
    y = max_pool2d(z, pool, strides, padding)
    y.backward(g)
    zg = z.grad if retain else None
    return (y.data, xt.grad, kt.grad, bt.grad) + ((zg,) if retain else ())


@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("pool,strides,padding,hw", [
    ((2, 2), None, "valid", (8, 8)), ((2, 2), None, "valid", (7, 9)),
    ((3, 3), (2, 2), "same", (7, 8)), ((2, 3), (1, 1), "valid", (6, 7)),
])
def test_conv_relu_then_max_pool_matches_torch(mode: str, pool: tuple, strides: Any,
                                               padding: str, hw: tuple) -> None:
    """conv(relu) -> max-pool on both kernel paths equals PyTorch's, values and gradients
    (many windows are all zero: negative bias; the dead filter gets no gradient)."""
    import torch

    from nablanet.kernels.registry import use_kernels

    rng = np.random.default_rng(4)
    x, k = rng.standard_normal((3, *hw, 2)), rng.standard_normal((3, 3, 2, 4))
    b = np.array([-0.5, -3.0, 0.2, -20.0])  # the last filter is dead: every window max is 0
    shape = max_pool2d(np.zeros((3, *hw, 4)), pool, strides, padding).shape
    g = rng.standard_normal(shape)
    with use_kernels(mode):
        ours = _conv_relu_pool(x, k, b, g, pool, strides, padding)
    xt, kt, bt = (torch.tensor(a, requires_grad=True) for a in (x, k, b))
    z = torch.relu(torch.nn.functional.conv2d(xt.permute(0, 3, 1, 2), kt.permute(3, 2, 0, 1),
                                              bt, padding="same"))
    st = pool if strides is None else strides
    if padding == "same":  # TensorFlow's 'same' pooling: pad with -inf, the smaller half first
        ph = max((-(-z.shape[2] // st[0]) - 1) * st[0] + pool[0] - z.shape[2], 0)
        pw = max((-(-z.shape[3] // st[1]) - 1) * st[1] + pool[1] - z.shape[3], 0)
        z = torch.nn.functional.pad(z, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2),
                                    value=-float("inf"))
    y = torch.nn.functional.max_pool2d(z, pool, st)
    y.backward(torch.tensor(g).permute(0, 3, 1, 2))
    theirs = (y.permute(0, 2, 3, 1).detach().numpy(), xt.grad.numpy(), kt.grad.numpy(),
              bt.grad.numpy())
    for a, c in zip(ours, theirs):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-10)
    assert not ours[2][..., 3].any()


def test_relu_output_grad_when_retained_is_the_pool_gradient() -> None:
    """With ``retain_grad`` on the relu output its gradient is the plain pool gradient."""
    rng = np.random.default_rng(6)
    x, k = rng.standard_normal((2, 6, 6, 2)), rng.standard_normal((3, 3, 2, 3))
    b = np.array([-20.0, 0.1, -0.3])
    g = rng.standard_normal((2, 3, 3, 3))
    *_, zg = _conv_relu_pool(x, k, b, g, (2, 2), None, "valid", retain=True)
    assert np.abs(zg[..., 0]).sum() > 0  # dead filter: windows of zeros still pass g on
    np.testing.assert_allclose(zg.reshape(2, 3, 2, 3, 2, 3).sum(axis=(2, 4)), g, atol=1e-12)


def test_max_pool_split_batch_matches_serial(monkeypatch: Any) -> None:
    """The compiled max-pool kernels split over the batch on 3 threads give the same result."""
    from nablanet.kernels import threads

    x = rand(5, 9, 8, 3)
    g = rand(5, 4, 4, 3)

    def run() -> tuple[np.ndarray, np.ndarray]:
        t = nb.Tensor(x, dtype=np.float64, requires_grad=True)
        y = max_pool2d(t)
        y.backward(g)
        return y.data, t.grad

    monkeypatch.setattr(threads, "worker_count", lambda: 1)
    serial = run()
    monkeypatch.setattr(threads, "worker_count", lambda: 3)
    monkeypatch.setattr(threads, "SPLIT_MIN_BYTES", 0)
    split = run()
    for a, c in zip(serial, split):
        np.testing.assert_array_equal(a, c)
