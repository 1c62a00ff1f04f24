"""conv2d / conv1d / conv2d_transpose / convolve2d against PyTorch, gradcheck and bad input."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import op_table  # tests/ops/op_table.py (on pytest's pythonpath)
import pytest
import torch
import torch.nn.functional as F

import nablanet as nb
from nablanet.functional import conv1d, conv2d, conv2d_transpose, convolve2d
from nablanet.testing import gradcheck

MINE = {"Conv2D", "Conv1D", "Conv2DTranspose"}
RNG = np.random.default_rng(7)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def tf_same(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding, written out independently of the library."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def nb_run(fn: Any, arrays: list[np.ndarray], grad_seed: int = 0) -> tuple[np.ndarray, list]:
    tensors = [nb.Tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    g = np.random.default_rng(grad_seed).standard_normal(out.shape)
    out.backward(g)
    return out.data, [t.grad for t in tensors]


def torch_run(fn: Any, arrays: list[np.ndarray], grad_seed: int = 0) -> tuple[np.ndarray, list]:
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    g = np.random.default_rng(grad_seed).standard_normal(tuple(out.shape))
    out.backward(torch.from_numpy(g))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def assert_same(ours: tuple, ref: tuple) -> None:
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-9, atol=1e-9)
    for a, b in zip(ours[1], ref[1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


# --- op-table cases (gradchecked by test_op_table.py): torch in float64 ------------------------
CASES = [c for c in op_table.CASES if c.op in MINE]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}-{c.id}" for c in CASES])
def test_op_table_case_matches_torch(case: Any) -> None:
    arrays = [np.ascontiguousarray(a) for a in case.inputs]
    assert_same(nb_run(case.fn, arrays), torch_run(case.torch_fn, arrays))


def test_op_table_covers_conv_functions() -> None:
    assert {c.op for c in CASES} == MINE


# --- conv2d ----------------------------------------------------------------------------------
CONV2D = [  # (N, H, W, C, kh, kw, F, strides, padding, dilation, groups)
    (n, h, w, c, kh, kw, f, s, p, d, g)
    for (n, h, w, c, f, g), (kh, kw), s, p, d in itertools.product(
        [(2, 7, 6, 3, 4, 1), (1, 8, 9, 4, 6, 2), (2, 6, 7, 8, 5, 1)],  # C = 8: channels-last
        [(3, 3), (2, 3), (1, 1)],
        [(1, 1), (2, 2), (3, 2)],
        ["valid", "same"],
        [(1, 1), (2, 1)],
    )
    if not (d != (1, 1) and s != (1, 1))  # TF forbids strides > 1 together with dilation > 1
]


@pytest.mark.parametrize("n,h,w,c,kh,kw,f,strides,padding,dilation,groups", CONV2D)
def test_conv2d_matches_torch(n: int, h: int, w: int, c: int, kh: int, kw: int, f: int,
                              strides: tuple, padding: str, dilation: tuple, groups: int) -> None:
    x, k, b = rand(n, h, w, c), rand(kh, kw, c // groups, f), rand(f)
    if padding == "same":
        (pt, pb), (pl, pr) = (tf_same(h, kh, strides[0], dilation[0]),
                              tf_same(w, kw, strides[1], dilation[1]))
    else:
        pt = pb = pl = pr = 0

    def ref(xt: Any, kt: Any, bt: Any) -> Any:
        xt = F.pad(xt.permute(0, 3, 1, 2), (pl, pr, pt, pb))
        y = F.conv2d(xt, kt.permute(3, 2, 0, 1), bt, stride=strides, dilation=dilation,
                     groups=groups)
        return y.permute(0, 2, 3, 1)

    def ours(xt: Any, kt: Any, bt: Any) -> Any:
        return conv2d(xt, kt, bt, strides=strides, padding=padding, dilation_rate=dilation,
                      groups=groups)

    assert_same(nb_run(ours, [x, k, b]), torch_run(ref, [x, k, b]))


def test_conv2d_same_output_size_is_ceil() -> None:
    y = conv2d(np.zeros((1, 7, 8, 2)), np.zeros((3, 4, 2, 5)), strides=(2, 3), padding="same")
    assert y.shape == (1, 4, 3, 5)


def test_conv2d_float32_and_input_grad_skipped() -> None:
    x = nb.tensor(rand(2, 9, 9, 3).astype(np.float32))  # the first layer: no gradient wanted
    w = nb.tensor(rand(3, 3, 3, 8).astype(np.float32), requires_grad=True)
    y = conv2d(x, w)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad is None and w.grad.dtype == np.float32
    xt = torch.tensor(x.data).permute(0, 3, 1, 2)
    wt = torch.tensor(w.data, requires_grad=True)
    F.conv2d(xt, wt.permute(3, 2, 0, 1)).sum().backward()
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("strides,padding,dilation", [
    (1, "valid", 1), (2, "same", 1), (1, "same", 2), (3, "valid", 1), (1, "causal", 3),
])
def test_conv1d_matches_torch(strides: int, padding: str, dilation: int) -> None:
    x, k, b = rand(2, 11, 3), rand(3, 3, 5), rand(5)
    if padding == "same":
        pads = tf_same(11, 3, strides, dilation)
    elif padding == "causal":
        pads = (2 * dilation, 0)
    else:
        pads = (0, 0)

    def ref(xt: Any, kt: Any, bt: Any) -> Any:
        y = F.conv1d(F.pad(xt.permute(0, 2, 1), pads), kt.permute(2, 1, 0), bt, stride=strides,
                     dilation=dilation)
        return y.permute(0, 2, 1)

    def ours(xt: Any, kt: Any, bt: Any) -> Any:
        return conv1d(xt, kt, bt, strides=strides, padding=padding, dilation_rate=dilation)

    assert_same(nb_run(ours, [x, k, b]), torch_run(ref, [x, k, b]))


# --- conv2d_transpose ------------------------------------------------------------------------
def keras_deconv_length(n: int, k: int, s: int, padding: str, op: int | None) -> int:
    if op is None:
        return n * s if padding == "same" else n * s + max(k - s, 0)
    pad = k // 2 if padding == "same" else 0
    return (n - 1) * s + k - 2 * pad + op


TRANSPOSE = [  # (H, W, kh, kw, strides, padding, output_padding)
    (4, 5, 3, 3, (2, 2), "same", None), (4, 5, 3, 3, (2, 2), "valid", None),
    (3, 3, 2, 2, (2, 2), "same", None), (3, 4, 1, 1, (3, 2), "valid", None),
    (3, 4, 4, 3, (1, 1), "same", None), (3, 3, 3, 3, (2, 2), "same", (1, 1)),
    (3, 3, 3, 3, (2, 3), "valid", (1, 2)), (4, 3, 5, 3, (3, 2), "same", (2, 0)),
]


@pytest.mark.parametrize("h,w,kh,kw,strides,padding,output_padding", TRANSPOSE)
def test_conv2d_transpose_matches_torch(h: int, w: int, kh: int, kw: int, strides: tuple,
                                        padding: str, output_padding: Any) -> None:
    cin, f = 3, 4
    x, k, b = rand(2, h, w, cin), rand(kh, kw, f, cin), rand(f)
    ops = output_padding or (None, None)
    out = [keras_deconv_length(n, kk, s, padding, o)
           for n, kk, s, o in zip((h, w), (kh, kw), strides, ops)]
    full = [(n - 1) * s + kk for n, kk, s in zip((h, w), (kh, kw), strides)]
    # TF: the transposed conv is the gradient of conv2d taken at the output size; 'same'
    # crops TF's pad_before = max(full - out, 0) // 2; positions past the full result are zero
    before = [max(fu - o, 0) // 2 if padding == "same" else 0 for fu, o in zip(full, out)]

    def ref(xt: Any, kt: Any, bt: Any) -> Any:
        y = F.conv_transpose2d(xt.permute(0, 3, 1, 2), kt.permute(3, 2, 0, 1), None,
                               stride=strides)
        extra = [max(bf + o - fu, 0) for bf, o, fu in zip(before, out, full)]
        y = F.pad(y, (0, extra[1], 0, extra[0]))
        y = y[:, :, before[0] : before[0] + out[0], before[1] : before[1] + out[1]]
        return y.permute(0, 2, 3, 1) + bt

    def ours(xt: Any, kt: Any, bt: Any) -> Any:
        return conv2d_transpose(xt, kt, bt, strides=strides, padding=padding,
                                output_padding=output_padding)

    result = nb_run(ours, [x, k, b])
    assert result[0].shape == (2, out[0], out[1], f)
    assert_same(result, torch_run(ref, [x, k, b]))


@pytest.mark.parametrize("h,w,kh,kw,strides,padding,output_padding", TRANSPOSE)
def test_conv2d_transpose_is_adjoint_of_conv2d(h: int, w: int, kh: int, kw: int,
                                               strides: tuple, padding: str,
                                               output_padding: Any) -> None:
    """<conv2d_transpose(x, k), y> = <x, conv2d(y, k)>: TF defines it as conv2d's gradient."""
    x, k = rand(2, h, w, 3), rand(kh, kw, 4, 3)
    up = conv2d_transpose(x, k, strides=strides, padding=padding,
                          output_padding=output_padding).data
    y = rand(*up.shape)
    down = conv2d(y, k, strides=strides, padding=padding).data
    assert down.shape == x.shape
    np.testing.assert_allclose(np.sum(up * y), np.sum(x * down), rtol=1e-10)


def test_conv2d_transpose_keras_shapes() -> None:
    x = np.zeros((1, 7, 5, 2))
    assert conv2d_transpose(x, np.zeros((3, 3, 6, 2)), strides=2).shape == (1, 15, 11, 6)
    assert conv2d_transpose(x, np.zeros((3, 3, 6, 2)), strides=2,
                            padding="same").shape == (1, 14, 10, 6)
    assert conv2d_transpose(x, np.zeros((4, 4, 6, 2)), strides=2, padding="same",
                            output_padding=1).shape == (1, 13, 9, 6)


# --- convolve2d: eqs. 13-16 ------------------------------------------------------------------
def direct_convolution(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """'full' convolution by the double sum s(i, j) = sum_m sum_n x(m, n) y(i - m, j - n)."""
    (h, w), (kh, kw) = x.shape, y.shape
    s = np.zeros((h + kh - 1, w + kw - 1))
    for i in range(s.shape[0]):
        for j in range(s.shape[1]):
            for m in range(h):
                for n in range(w):
                    if 0 <= i - m < kh and 0 <= j - n < kw:
                        s[i, j] += x[m, n] * y[i - m, j - n]
    return s


def direct_convolution_commuted(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The same by eq. 15's order: s(i, j) = sum_m sum_n x(i - m, j - n) y(m, n)."""
    (h, w), (kh, kw) = x.shape, y.shape
    s = np.zeros((h + kh - 1, w + kw - 1))
    for i in range(s.shape[0]):
        for j in range(s.shape[1]):
            for m in range(kh):
                for n in range(kw):
                    if 0 <= i - m < h and 0 <= j - n < w:
                        s[i, j] += x[i - m, j - n] * y[m, n]
    return s


@pytest.mark.parametrize("shape,kshape", [((5, 6), (3, 3)), ((4, 7), (2, 3)), ((6, 5), (4, 1))])
def test_convolve2d_is_the_double_sum(shape: tuple, kshape: tuple) -> None:
    x, k = rand(*shape), rand(*kshape)
    full = direct_convolution(x, k)
    np.testing.assert_allclose(full, direct_convolution_commuted(x, k), rtol=1e-12)
    (h, w), (kh, kw) = shape, kshape
    expected = {
        "full": full,
        "valid": full[kh - 1 : h, kw - 1 : w],
        "same": full[(kh - 1) // 2 : (kh - 1) // 2 + h, (kw - 1) // 2 : (kw - 1) // 2 + w],
    }
    for mode, value in expected.items():
        got = convolve2d(nb.Tensor(x, dtype=np.float64), nb.Tensor(k, dtype=np.float64), mode)
        np.testing.assert_allclose(got.data, value, rtol=1e-10, atol=1e-12)


def test_convolve2d_is_conv2d_with_flipped_kernel() -> None:
    x, k = rand(3, 6, 7), rand(3, 2)
    batched = convolve2d(x, k).data
    cross = conv2d(x[..., None], k[::-1, ::-1, None, None]).data[..., 0]
    np.testing.assert_allclose(batched, cross, rtol=1e-12)
    np.testing.assert_allclose(convolve2d(x[1], k).data, cross[1], rtol=1e-12)
    # and it is not the cross-correlation itself (the kernel is not symmetric)
    assert not np.allclose(batched, conv2d(x[..., None], k[:, :, None, None]).data[..., 0])


def test_convolve2d_gradients() -> None:
    assert gradcheck(lambda x, k: convolve2d(x, k, mode="same"), rand(2, 4, 5), rand(3, 2))


# --- bad input -------------------------------------------------------------------------------
def test_channel_mismatch_names_op_and_shapes() -> None:
    message = ("conv2d: input has 3 channels but the kernel expects 4 (input shape (2, 8, 8, 3), "
               "kernel shape (3, 3, 4, 16))")
    with pytest.raises(ValueError) as info:
        conv2d(np.zeros((2, 8, 8, 3)), np.zeros((3, 3, 4, 16)))
    assert str(info.value) == message


@pytest.mark.parametrize("call,match", [
    (lambda: conv2d(np.zeros((8, 8, 3)), np.zeros((3, 3, 3, 4))), "conv2d: expected a 4-D input"),
    (lambda: conv2d(np.zeros((1, 8, 8, 3)), np.zeros((3, 3, 4))), "conv2d: expected a 4-D kernel"),
    (lambda: conv2d(np.zeros((1, 4, 4, 3)), np.zeros((5, 3, 3, 4))), "larger than the padded"),
    (lambda: conv2d(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 3, 2)), dilation_rate=2),
     "larger than the padded"),
    (lambda: conv2d(np.zeros((1, 4, 4, 4)), np.zeros((3, 3, 2, 3)), groups=2),
     "groups=2 must divide"),
    (lambda: conv2d(np.zeros((1, 4, 4, 3)), np.zeros((1, 1, 3, 2)), padding="full"),
     "padding must be 'valid' or 'same'"),
    (lambda: conv2d(np.zeros((1, 4, 4, 3)), np.zeros((1, 1, 3, 2)), strides=0), "strides"),
    (lambda: conv2d(np.zeros((1, 4, 4, 3)), np.zeros((1, 1, 3, 2)), np.zeros(3)), "bias"),
    (lambda: conv1d(np.zeros((1, 4, 4, 3)), np.zeros((1, 3, 2))), "conv1d: expected a 3-D"),
    (lambda: conv1d(np.zeros((1, 2, 3)), np.zeros((3, 3, 2))), "conv1d: the kernel"),
    (lambda: conv2d_transpose(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 5))),
     "conv2d_transpose: input has 3 channels but the kernel expects 5"),
    (lambda: conv2d_transpose(np.zeros((1, 4, 4, 3)), np.zeros((3, 3, 2, 3)), strides=2,
                              output_padding=2), "output_padding"),
    (lambda: convolve2d(np.zeros((1, 2, 4, 4)), np.zeros((3, 3))), "convolve2d: expected"),
])
def test_bad_input_raises(call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# --- fused relu, tap-loop input gradient, im2col workspace ------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("use_bias", [True, False])
def test_fused_relu_equals_conv_then_relu(dtype: Any, use_bias: bool) -> None:
    x, k, b = rand(2, 7, 6, 3), rand(3, 2, 3, 5), rand(5)
    arrays = [x, k, b] if use_bias else [x, k]
    tensors = [nb.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    ref_tensors = [nb.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    fused = conv2d(*tensors, padding="same", activation="relu")
    plain = nb.ops.relu(conv2d(*ref_tensors, padding="same"))
    assert isinstance(fused.grad_fn, nb.ops.conv.Conv2D)  # no separate ReLU node
    g = np.random.default_rng(3).standard_normal(fused.shape).astype(dtype)
    fused.backward(g)
    plain.backward(g)
    np.testing.assert_array_equal(fused.data, plain.data)
    for t, r in zip(tensors, ref_tensors):
        assert t.grad.dtype == dtype
        np.testing.assert_allclose(t.grad, r.grad, rtol=1e-6, atol=1e-6)


def test_fused_relu_conv1d_and_nan_propagates() -> None:
    x = rand(2, 9, 3)
    x[0, 4, 1] = np.nan
    y = conv1d(x, rand(3, 3, 4), rand(4), activation="relu")
    assert np.isnan(y.data[0, 2:5]).all() and not np.isnan(y.data[1]).any()
    assert (y.data[1] >= 0).all()


def test_bad_activation_raises() -> None:
    with pytest.raises(ValueError, match=r"conv2d: activation must be None, 'linear' or 'relu'"
                                         r"\. Received: activation='tanh'"):
        conv2d(np.zeros((1, 4, 4, 1)), np.zeros((2, 2, 1, 1)), activation="tanh")


@pytest.mark.parametrize("strides, dilation, padding", [
    ((1, 1), (1, 1), "valid"), ((2, 3), (1, 1), "same"), ((1, 1), (2, 3), "same"),
])
def test_tap_loop_input_gradient_is_adjoint(strides: tuple, dilation: tuple,
                                            padding: str) -> None:
    """<conv(x), g> = <x, grad_x> for the per-tap input gradient (strided, dilated, padded)."""
    x, k, g0 = rand(2, 11, 10, 3), rand(3, 3, 3, 4), None
    xt = nb.tensor(x, dtype=np.float64, requires_grad=True)
    y = conv2d(xt, k, strides=strides, padding=padding, dilation_rate=dilation)
    g0 = np.random.default_rng(5).standard_normal(y.shape)
    y.backward(g0)
    np.testing.assert_allclose(np.vdot(y.data, g0), np.vdot(x, xt.grad), rtol=1e-10)


@pytest.mark.parametrize("groups", [1, 2])
def test_backward_twice_with_retain_graph(groups: int) -> None:
    """conv2d keeps what its backward needs: a second backward (retain_graph) adds the same."""
    x = nb.tensor(rand(2, 6, 6, 4), dtype=np.float64, requires_grad=True)
    w = nb.tensor(rand(3, 3, 4 // groups, 4), dtype=np.float64, requires_grad=True)
    loss = nb.ops.sum(conv2d(x, w, padding="same", groups=groups, activation="relu") ** 2)
    loss.backward(retain_graph=True)
    first = (x.grad.copy(), w.grad.copy())
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first[0], rtol=1e-12)
    np.testing.assert_allclose(w.grad, 2 * first[1], rtol=1e-12)
