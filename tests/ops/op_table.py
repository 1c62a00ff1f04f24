"""The one table of primitives: every Function subclass in nablanet.ops has an entry.

Each entry is an :class:`OpCase`: a name (the Function class's name), a callable taking
Tensors, and sample inputs as NumPy arrays. ``test_op_table.py`` gradient-checks every case in
float64 on the reference path, compares forward values and gradients with PyTorch in float32,
and runs every case on both kernel paths (``nablanet.set_kernels``), asserting that the fast
path equals the reference. :data:`LARGE_CASES` are for that last check only: shapes large
enough to reach the fast kernels' threaded and banded code.

Append new cases to the list for your module (keep the module sections).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import nablanet as nb

RNG = np.random.default_rng(1234)


def randn(*shape: int) -> np.ndarray:
    """Float64 standard-normal sample inputs (the gradient check runs in float64)."""
    return RNG.standard_normal(shape)


@dataclass
class OpCase:
    """One sample use of a primitive.

    op: name of the ``Function`` subclass exercised (coverage is checked by this name).
    fn: the nablanet computation, taking Tensors.
    inputs: sample inputs (ndarrays; may be non-contiguous views).
    torch_fn: the same computation on torch tensors (None only for ops with no torch analogue,
        which then must say why in ``note``).
    wrt: indices of the inputs to differentiate (default: every floating input).
    """

    op: str
    fn: Callable[..., Any]
    inputs: list[np.ndarray]
    torch_fn: Callable[..., Any] | None
    wrt: tuple[int, ...] | None = None
    id: str = ""
    note: str = ""
    tolerance: dict[str, float] = field(default_factory=dict)


CASES: list[OpCase] = []

# --- elementwise, reduction, shape, linalg, softmax (foundation) ---------------------------
def _ew(op: str, fn: Callable[..., Any], inputs: list[np.ndarray], torch_fn: Any = None,
        id: str = "", **tolerance: float) -> None:  # noqa: A002 - OpCase's field name
    """Add a foundation case; ``torch_fn`` defaults to ``fn`` (the operators are shared)."""
    CASES.append(OpCase(op, fn, inputs, fn if torch_fn is None else torch_fn, id=id,
                        tolerance=dict(tolerance)))


def _positive(*shape: int) -> np.ndarray:
    return np.abs(randn(*shape)) + 0.5


def _tt(array: np.ndarray) -> torch.Tensor:
    """A float32 torch constant (the torch side of a NumPy constant in a case)."""
    return torch.tensor(np.asarray(array), dtype=torch.float32)


_C34 = randn(3, 4)
_COND = RNG.random((3, 4)) > 0.5
_GATHER_INDEX = RNG.integers(0, 4, size=(3, 5))
_TAKE = np.array([2, 0, 2, 1])
_MASK = RNG.random((3, 4)) > 0.4

# Arithmetic: Tensor, Python scalar or ndarray on either side; broadcast, size-1,
# non-contiguous (transposed) and 0-d inputs.
_ew("Add", lambda a, b: a + b, [randn(3, 4), randn(4)], id="add-broadcast")
_ew("Add", lambda a, b: a + b, [randn(3, 1), randn(1, 4)], id="add-size1-both")
_ew("Add", lambda a, b: a + b, [randn(4, 3).T, randn(3, 4)], id="add-transposed")
_ew("Add", lambda a, b: a + b, [randn(), randn(2, 3)], id="add-0d")
_ew("Add", lambda a: 2.5 + a, [randn(2, 3)], id="radd-scalar")
_ew("Add", lambda a: nb.ops.add(a, _C34), [randn(3, 4)], lambda a: a + _tt(_C34),
    id="add-ndarray")
_ew("Sub", lambda a, b: a - b, [randn(2, 3, 4), randn(3, 1)], id="sub-broadcast")
_ew("Sub", lambda a: 1.5 - a, [randn(3, 4)], id="rsub-scalar")
_ew("Sub", lambda a: _C34 - a, [randn(3, 4)], lambda a: _tt(_C34) - a, id="rsub-ndarray")
_ew("Mul", lambda a, b: a * b, [randn(3, 4), randn(3, 4)], id="mul")
_ew("Mul", lambda a, b: a * b, [randn(5, 1, 4), randn(4, 3).T], id="mul-broadcast-T")
_ew("Mul", lambda a: a * 0.3, [randn(2, 3)], id="mul-scalar")
_ew("Mul", lambda a: a * np.float64(0.3), [randn(2, 3)], lambda a: a * 0.3,
    id="mul-numpy-scalar")
_ew("Mul", lambda a, b: a * b, [randn(), randn()], id="mul-0d-0d")
_ew("Div", lambda a, b: a / b, [randn(3, 4), _positive(4)], id="div-broadcast")
_ew("Div", lambda a: 2.0 / a, [_positive(2, 3)], id="rdiv-scalar")
_ew("Div", lambda a, b: a / b, [randn(3, 1), _positive(1, 3).T], id="div-size1")
_ew("Pow", lambda a, b: a ** b, [_positive(3, 4), randn(4)], id="pow-tensor-tensor")
_ew("Pow", lambda a: a ** 2, [randn(3, 4)], id="pow-int-scalar")
_ew("Pow", lambda a: a ** 0.5, [_positive(3, 4)], id="pow-float-scalar")
_ew("Pow", lambda a: 2.0 ** a, [randn(3, 4)], id="rpow")
_ew("Neg", lambda a: -a, [randn(3, 4).T], id="neg")
_ew("Abs", lambda a: abs(a), [randn(3, 4)], id="abs")
_ew("Exp", lambda a: a.exp(), [randn(3, 4)], id="exp")
_ew("Exp", lambda a: a.exp(), [randn()], id="exp-0d")
_ew("Log", lambda a: a.log(), [_positive(3, 4)], id="log")
_ew("Sqrt", lambda a: a.sqrt(), [_positive(4, 3).T], id="sqrt")
_ew("Tanh", lambda a: a.tanh(), [randn(3, 4)], id="tanh")
_ew("Sigmoid", lambda a: a.sigmoid(), [3 * randn(3, 4)], id="sigmoid")
_ew("Relu", lambda a: a.relu(), [randn(3, 4)], id="relu")
_ew("Maximum", lambda a, b: nb.ops.maximum(a, b), [randn(3, 4), randn(4)],
    lambda a, b: torch.maximum(a, b), id="maximum-broadcast")
_ew("Maximum", lambda a: nb.ops.maximum(a, 0.1), [randn(3, 4)],
    lambda a: torch.clamp(a, min=0.1), id="maximum-scalar")
_ew("Minimum", lambda a, b: nb.ops.minimum(a, b), [randn(3, 1), randn(1, 4)],
    lambda a, b: torch.minimum(a, b), id="minimum-broadcast")
_ew("Where", lambda a, b: nb.ops.where(_COND, a, b), [randn(3, 4), randn(4)],
    lambda a, b: torch.where(torch.from_numpy(_COND), a, b), id="where")
_ew("Where", lambda a: nb.ops.where(a > 0, a, 0.0), [randn(3, 4)],
    lambda a: torch.where(a > 0, a, 0.0), id="where-scalar")
_ew("Clip", lambda a: nb.ops.clip(a, -0.5, 0.7), [randn(3, 4)],
    lambda a: torch.clamp(a, -0.5, 0.7), id="clip")
_ew("Clip", lambda a: a.clip(max=0.2), [randn(3, 4)], lambda a: torch.clamp(a, max=0.2),
    id="clip-max-only")
_ew("Cast", lambda a: nb.ops.cast(a, np.float64) * 2.0, [randn(3, 4)],
    lambda a: a.double() * 2.0, id="cast-float64")
_ew("Cast", lambda a: nb.ops.cast(a, np.float32), [randn(3, 4)], lambda a: a.float(),
    id="cast-float32", eps=1e-2, atol=1e-3, rtol=1e-3)
for _name, _fn in [("Less", lambda a, b: a < b), ("LessEqual", lambda a, b: a <= b),
                   ("Greater", lambda a, b: a > b), ("GreaterEqual", lambda a, b: a >= b),
                   ("Equal", lambda a, b: a == b), ("NotEqual", lambda a, b: a != b)]:
    _x = np.round(randn(3, 4))
    _ew(_name, _fn, [_x, np.where(RNG.random(4) > 0.5, _x[0], np.round(randn(4)))],
        id=_name.lower())

# Matrix products: 2-D, batched with broadcasting, 1-D promotion, transposed operands.
_ew("MatMul", lambda a, b: a @ b, [randn(3, 4), randn(4, 2)], id="matmul")
_ew("MatMul", lambda a, b: a @ b, [randn(2, 1, 3, 4), randn(5, 4, 2)], id="matmul-batched")
_ew("MatMul", lambda a, b: a @ b, [randn(4, 3).T, randn(2, 4).T], id="matmul-transposed")
_ew("MatMul", lambda a, b: a @ b, [randn(4), randn(2, 4, 3)], id="matmul-1d-left")
_ew("MatMul", lambda a, b: a @ b, [randn(2, 3, 4), randn(4)], id="matmul-1d-right")
_ew("MatMul", lambda a, b: a @ b, [randn(4), randn(4)], id="matmul-dot")
_ew("MatMul", lambda a: a @ _C34.T, [randn(2, 4)], lambda a: a @ _tt(_C34.T),
    id="matmul-ndarray")
_ew("Dense", lambda x, w, b: nb.ops.linalg.dense(x, w, b, activation="relu"),
    [randn(5, 4), randn(4, 3), randn(3)], lambda x, w, b: torch.relu(x @ w + b),
    id="dense-relu")
_ew("Dense", lambda x, w: nb.ops.linalg.dense(x, w), [randn(4, 6).T, randn(4, 3)],
    lambda x, w: x @ w, id="dense-linear-no-bias")
_ew("Dense", lambda x, w, b: nb.ops.linalg.dense(x, w, b, activation="linear"),
    [randn(5, 4), randn(4, 3), randn(3)], lambda x, w, b: x @ w + b, id="dense-linear")

# Reductions: all axes, negative axes, tuple axes, keepdims, 0-d.
_ew("Sum", lambda a: a.sum(), [randn(3, 4)], id="sum-all")
_ew("Sum", lambda a: a.sum(axis=-1), [randn(2, 3, 4)], lambda a: a.sum(dim=-1),
    id="sum-neg-axis")
_ew("Sum", lambda a: a.sum(axis=(0, 2), keepdims=True), [randn(2, 3, 4)],
    lambda a: a.sum(dim=(0, 2), keepdim=True), id="sum-tuple-keepdims")
_ew("Sum", lambda a: a.sum(), [randn()], id="sum-0d")
_ew("Mean", lambda a: a.mean(axis=1), [randn(4, 3).T], lambda a: a.mean(dim=1), id="mean")
_ew("Mean", lambda a: a.mean(axis=(-1, 0), keepdims=True), [randn(2, 3, 4)],
    lambda a: a.mean(dim=(-1, 0), keepdim=True), id="mean-tuple")
_ew("Mean", lambda a: a.mean(), [randn(3, 4)], id="mean-all")
_ew("Max", lambda a: a.max(), [randn(3, 4)], lambda a: a.max(), id="max-all")
_ew("Max", lambda a: a.max(axis=-1, keepdims=True), [randn(2, 3, 4)],
    lambda a: a.amax(dim=-1, keepdim=True), id="max-axis")
_ew("Max", lambda a: a.max(axis=(0, 1)), [randn(2, 3, 4)], lambda a: a.amax(dim=(0, 1)),
    id="max-tuple")
_ew("Min", lambda a: a.min(axis=0), [randn(4, 3).T], lambda a: a.amin(dim=0), id="min-axis")
_ew("Min", lambda a: a.min(), [randn(3, 4)], lambda a: a.min(), id="min-all")
_ew("Var", lambda a: a.var(axis=1), [randn(3, 5)], lambda a: a.var(dim=1, correction=0),
    id="var")
_ew("Var", lambda a: a.var(axis=(0, -1), keepdims=True, ddof=1), [randn(2, 3, 4)],
    lambda a: a.var(dim=(0, -1), keepdim=True, correction=1), id="var-tuple-ddof")
_ew("Var", lambda a: a.std(axis=0), [randn(4, 3)], lambda a: a.std(dim=0, correction=0),
    id="std")
_ew("Var", lambda a: a.std(), [randn(3, 4)], lambda a: a.std(correction=0), id="std-all")
_ew("LogSumExp", lambda a: nb.ops.logsumexp(a, axis=-1), [randn(3, 4)],
    lambda a: torch.logsumexp(a, dim=-1), id="logsumexp")
_ew("LogSumExp", lambda a: nb.ops.logsumexp(a, axis=(0, 2), keepdims=True),
    [randn(2, 3, 4)], lambda a: torch.logsumexp(a, dim=(0, 2), keepdim=True),
    id="logsumexp-tuple")
_ew("LogSumExp", lambda a: nb.ops.logsumexp(a * 100.0), [randn(3, 4)],
    lambda a: torch.logsumexp(a * 100.0, dim=(0, 1)), id="logsumexp-large")
_ew("argmax", lambda a: nb.ops.argmax(a, axis=-1), [randn(3, 4)],
    lambda a: torch.argmax(a, dim=-1), id="argmax")
_ew("argmax", lambda a: nb.ops.argmax(a), [randn(3, 4)], lambda a: torch.argmax(a),
    id="argmax-flat")
_ew("argmin", lambda a: nb.ops.argmin(a, axis=0, keepdims=True), [randn(3, 4)],
    lambda a: torch.argmin(a, dim=0, keepdim=True), id="argmin")

# Shape ops.
_ew("Reshape", lambda a: a.reshape(4, -1), [randn(3, 4).T], id="reshape-noncontiguous")
_ew("Reshape", lambda a: a.reshape(()), [randn(1, 1)], id="reshape-to-0d")
_ew("Reshape", lambda a: a.squeeze(1), [randn(3, 1, 4)], id="squeeze")
_ew("Reshape", lambda a: a.squeeze(), [randn(1, 3, 1)], id="squeeze-all")
_ew("Reshape", lambda a: nb.ops.expand_dims(a, -1), [randn(3, 4)],
    lambda a: a.unsqueeze(-1), id="expand-dims")
_ew("Reshape", lambda a: a.unsqueeze(0), [randn(3)], id="unsqueeze")
_ew("Transpose", lambda a: a.T, [randn(3, 4)], id="T")
_ew("Transpose", lambda a: a.permute(2, 0, 1), [randn(2, 3, 4)], id="permute")
_ew("Transpose", lambda a: a.transpose(0, -1, 1), [randn(2, 3, 4)],
    lambda a: a.permute(0, -1, 1), id="transpose-neg-axes")
_ew("Transpose", lambda a: a.swapaxes(0, -1), [randn(2, 3, 4)],
    lambda a: torch.swapaxes(a, 0, -1), id="swapaxes")
_ew("BroadcastTo", lambda a: nb.ops.broadcast_to(a, (2, 3, 4)), [randn(3, 1)],
    lambda a: torch.broadcast_to(a, (2, 3, 4)), id="broadcast-to")
_ew("Concatenate", lambda a, b: nb.ops.concatenate([a, b], axis=-1), [randn(3, 2), randn(3, 4)],
    lambda a, b: torch.cat([a, b], dim=-1), id="concatenate")
_ew("Concatenate", lambda a, b, c: nb.ops.concatenate([a, b, c]),
    [randn(1, 3), randn(3, 2).T, randn(4, 3)], lambda a, b, c: torch.cat([a, b, c]),
    id="concatenate-3")
_ew("Stack", lambda a, b: nb.ops.stack([a, b], axis=-1), [randn(3, 4), randn(4, 3).T],
    lambda a, b: torch.stack([a, b], dim=-1), id="stack")
_ew("Stack", lambda a, b: nb.ops.stack([a, b]), [randn(), randn()],
    lambda a, b: torch.stack([a, b]), id="stack-0d")
_ew("Pad", lambda a: nb.ops.pad(a, ((1, 2), (0, 3)), value=0.5), [randn(3, 4)],
    lambda a: torch.nn.functional.pad(a, (0, 3, 1, 2), value=0.5), id="pad")
_ew("Pad", lambda a: nb.ops.pad(a, 1), [randn(2, 3)],
    lambda a: torch.nn.functional.pad(a, (1, 1, 1, 1)), id="pad-int")
_ew("Flip", lambda a: nb.ops.flip(a, axis=-1), [randn(3, 4)],
    lambda a: torch.flip(a, dims=(-1,)), id="flip")
_ew("Flip", lambda a: nb.ops.flip(a), [randn(2, 3)], lambda a: torch.flip(a, dims=(0, 1)),
    id="flip-all")
_ew("GetItem", lambda a: a[1:, ::2], [randn(3, 4)], id="getitem-slice")
_ew("GetItem", lambda a: a[1], [randn(3, 4).T], id="getitem-int")
_ew("GetItem", lambda a: a[..., None, 1:3], [randn(2, 3, 4)], id="getitem-ellipsis-none")
_ew("GetItem", lambda a: a[_TAKE], [randn(3, 4)], lambda a: a[torch.from_numpy(_TAKE)],
    id="getitem-int-array-repeats")
_ew("GetItem", lambda a: a[:, [1, 1, 3]], [randn(3, 4)], id="getitem-list")
_ew("GetItem", lambda a: a[[0, 2, 2], [1, 3, 3]], [randn(3, 4)], id="getitem-pairs")
_ew("GetItem", lambda a: a[_MASK], [randn(3, 4)], lambda a: a[torch.from_numpy(_MASK)],
    id="getitem-bool-mask")
_ew("GetItem", lambda a: nb.ops.split(a, 2, axis=1)[1] * 3.0, [randn(3, 4)],
    lambda a: torch.split(a, 2, dim=1)[1] * 3.0, id="split")
_ew("GetItem", lambda a: nb.ops.split(a, [1], axis=0)[1], [randn(3, 4)],
    lambda a: torch.split(a, [1, 2], dim=0)[1], id="split-indices")
_ew("GetItem", lambda a: nb.ops.stack(list(a)) * 2.0,
    [randn(3, 4)], lambda a: torch.stack(list(a)) * 2.0, id="iterate-first-axis")
_ew("Gather", lambda a: nb.ops.gather(a, _GATHER_INDEX, axis=1), [randn(3, 4)],
    lambda a: torch.gather(a, 1, torch.from_numpy(_GATHER_INDEX)), id="gather")
_ew("Gather", lambda a: nb.ops.gather(a, _GATHER_INDEX.T[:2], axis=0), [randn(4, 3)],
    lambda a: torch.gather(a, 0, torch.from_numpy(_GATHER_INDEX.T[:2].copy())),
    id="gather-axis0")

# Softmax family (large logits check the stable forms).
_ew("Softmax", lambda a: nb.ops.softmax(a), [randn(3, 4)],
    lambda a: torch.softmax(a, dim=-1), id="softmax")
_ew("Softmax", lambda a: nb.ops.softmax(a * 50.0, axis=0), [randn(3, 4)],
    lambda a: torch.softmax(a * 50.0, dim=0), id="softmax-large-axis0")
_ew("LogSoftmax", lambda a: nb.ops.log_softmax(a, axis=-1), [randn(2, 3, 4)],
    lambda a: torch.log_softmax(a, dim=-1), id="log-softmax")
_ew("LogSoftmax", lambda a: nb.ops.log_softmax(a * 100.0, axis=1), [randn(2, 3)],
    lambda a: torch.log_softmax(a * 100.0, dim=1), id="log-softmax-large")


# --- conv, pooling -------------------------------------------------------------------------
from nablanet.ops import conv as _conv  # noqa: E402
from nablanet.ops import conv_pool as _conv_pool  # noqa: E402
from nablanet.ops import pooling as _pool  # noqa: E402
from nablanet.ops import resize as _resize  # noqa: E402


def _t_nhwc(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a torch NCHW computation so that it takes and returns NHWC tensors."""

    def run(x: Any, *rest: Any) -> Any:
        return fn(x.permute(0, 3, 1, 2), *rest).permute(0, 2, 3, 1)

    return run


def _t_conv2d(stride: int = 1, pads: tuple[int, ...] = (0, 0, 0, 0), dilation: int = 1,
              groups: int = 1) -> Callable[..., Any]:
    """torch conv2d on NHWC input and a Keras-layout kernel; ``pads`` as F.pad (l, r, t, b)."""
    import torch.nn.functional as F

    def run(x: Any, w: Any, b: Any = None) -> Any:
        xt = F.pad(x.permute(0, 3, 1, 2), pads)
        y = F.conv2d(xt, w.permute(3, 2, 0, 1), b, stride=stride, dilation=dilation,
                     groups=groups)
        return y.permute(0, 2, 3, 1)

    return run


def _t_conv1d(stride: int = 1, pads: tuple[int, int] = (0, 0), dilation: int = 1
              ) -> Callable[..., Any]:
    import torch.nn.functional as F

    def run(x: Any, w: Any, b: Any = None) -> Any:
        y = F.conv1d(F.pad(x.permute(0, 2, 1), pads), w.permute(2, 1, 0), b, stride=stride,
                     dilation=dilation)
        return y.permute(0, 2, 1)

    return run


def _t_conv2d_transpose(stride: Any, crop: tuple[int, int, int, int]) -> Callable[..., Any]:
    """torch conv_transpose2d (full output), then rows crop[0]:crop[1], cols crop[2]:crop[3]."""
    import torch.nn.functional as F

    def run(x: Any, w: Any, b: Any = None) -> Any:
        y = F.conv_transpose2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b, stride=stride)
        return y[:, :, crop[0] : crop[1], crop[2] : crop[3]].permute(0, 2, 3, 1)

    return run


def _t_pool(kind: str, k: int, s: int, pads: tuple[int, ...] = (0, 0, 0, 0)
            ) -> Callable[..., Any]:
    """torch max / average pooling (TF 'same': padding excluded) on NHWC input."""
    import torch
    import torch.nn.functional as F

    def run(x: Any) -> Any:
        xt = x.permute(0, 3, 1, 2)
        if kind == "max":
            y = F.max_pool2d(F.pad(xt, pads, value=-float("inf")), k, s)
        else:
            total = F.avg_pool2d(F.pad(xt, pads), k, s)
            count = F.avg_pool2d(F.pad(torch.ones_like(xt[:1, :1]), pads), k, s)
            y = total / count
        return y.permute(0, 2, 3, 1)

    return run


def _t_pool1d(kind: str, k: int) -> Callable[..., Any]:
    import torch.nn.functional as F

    def run(x: Any) -> Any:
        pool = F.max_pool1d if kind == "max" else F.avg_pool1d
        return pool(x.permute(0, 2, 1), k).permute(0, 2, 1)

    return run


def _t_interpolate(**kwargs: Any) -> Callable[..., Any]:
    import torch.nn.functional as F

    return _t_nhwc(lambda x: F.interpolate(x, **kwargs))


CASES += [
    OpCase("Conv2D", lambda x, w: _conv.conv2d(x, w), [randn(2, 5, 6, 3), randn(3, 3, 3, 4)],
           _t_conv2d(), id="valid"),
    OpCase("Conv2D", lambda x, w, b: _conv.conv2d(x, w, b, strides=2, padding="same"),
           [randn(2, 6, 5, 3), randn(3, 2, 3, 4), randn(4)],
           _t_conv2d(2, (0, 1, 0, 1)), id="same-stride2-bias"),
    OpCase("Conv2D", lambda x, w: _conv.conv2d(x, w, dilation_rate=2, padding="same"),
           [randn(1, 6, 6, 2), randn(2, 3, 2, 3)], _t_conv2d(1, (2, 2, 1, 1), 2),
           id="dilated-same"),
    OpCase("Conv2D", lambda x, w, b: _conv.conv2d(x, w, b, padding="same", activation="relu"),
           [randn(2, 5, 6, 3), randn(3, 3, 3, 4), randn(4)],
           lambda x, w, b: torch.relu(_t_conv2d(1, (1, 1, 1, 1))(x, w, b)), id="same-bias-relu"),
    OpCase("Conv2D", lambda x, w: _conv.conv2d(x, w, strides=(2, 1), activation="relu"),
           [randn(2, 7, 6, 3), randn(3, 2, 3, 4)],
           lambda x, w: torch.relu(_t_conv2d((2, 1))(x, w)), id="stride21-relu-nobias"),
    OpCase("Conv2D", lambda x, w: _conv.conv2d(x, w, groups=2),
           [randn(2, 5, 4, 4).transpose(0, 2, 1, 3), randn(2, 2, 2, 4)], _t_conv2d(groups=2),
           id="groups-noncontiguous"),
    OpCase("Conv1D", lambda x, w, b: _conv.conv1d(x, w, b, padding="causal", dilation_rate=2),
           [randn(2, 7, 3), randn(3, 3, 2), randn(2)], _t_conv1d(1, (4, 0), 2), id="causal"),
    OpCase("Conv1D", lambda x, w: _conv.conv1d(x, w, strides=2, padding="same"),
           [randn(2, 8, 2), randn(4, 2, 3)], _t_conv1d(2, (1, 1)), id="same-stride2"),
    OpCase("Conv2DTranspose",
           lambda x, w: _conv.conv2d_transpose(x, w, strides=2, padding="same"),
           [randn(2, 3, 4, 3), randn(3, 3, 2, 3)], _t_conv2d_transpose(2, (0, 6, 0, 8)),
           id="same-stride2"),
    OpCase("Conv2DTranspose",
           lambda x, w, b: _conv.conv2d_transpose(x, w, b, strides=(2, 1), padding="valid"),
           [randn(1, 3, 3, 2), randn(2, 3, 3, 2), randn(3)],
           _t_conv2d_transpose((2, 1), (0, 6, 0, 5)), id="valid-bias"),
    OpCase("MaxPool2D", lambda x: _pool.max_pool2d(x), [randn(2, 5, 4, 3)],
           _t_pool("max", 2, 2), id="2x2"),
    OpCase("MaxPool2D", lambda x: _pool.max_pool2d(x, 3, 2, padding="same"),
           [randn(1, 6, 5, 2)], _t_pool("max", 3, 2, (1, 1, 0, 1)), id="3x3-stride2-same"),
    OpCase("AvgPool2D", lambda x: _pool.avg_pool2d(x), [randn(2, 4, 5, 3)],
           _t_pool("avg", 2, 2), id="2x2"),
    OpCase("AvgPool2D", lambda x: _pool.avg_pool2d(x, 3, 2, padding="same"),
           [randn(1, 6, 5, 2)], _t_pool("avg", 3, 2, (1, 1, 0, 1)), id="3x3-stride2-same"),
    OpCase("Conv2DMaxPool2D", lambda x, w, b: _conv_pool.conv2d_max_pool2d(x, w, b),
           [randn(2, 7, 8, 3), randn(3, 3, 3, 4), randn(4)],
           lambda x, w, b: _t_nhwc(lambda y: torch.nn.functional.max_pool2d(y, 2))(
               torch.relu(_t_conv2d()(x, w, b))), id="valid-bias-odd-rows"),
    OpCase("Conv2DMaxPool2D",
           lambda x, w: _conv_pool.conv2d_max_pool2d(x, w, strides=(1, 2), padding="same",
                                                    pool_size=(3, 2)),
           [randn(2, 7, 9, 2), randn(2, 3, 2, 5)],
           lambda x, w: _t_nhwc(lambda y: torch.nn.functional.max_pool2d(y, (3, 2)))(
               torch.relu(_t_conv2d((1, 2), (1, 1, 0, 1))(x, w))), id="same-stride12-3x2"),
    OpCase("MaxPool1D", lambda x: _pool.max_pool1d(x, 3), [randn(2, 7, 3)],
           _t_pool1d("max", 3)),
    OpCase("AvgPool1D", lambda x: _pool.avg_pool1d(x, 2), [randn(2, 7, 3)],
           _t_pool1d("avg", 2)),
    OpCase("UpSampling2D", lambda x: _resize.upsampling2d(x, (2, 3)), [randn(2, 3, 2, 2)],
           _t_interpolate(scale_factor=(2, 3), mode="nearest")),
    OpCase("Resize", lambda x: _resize.resize(x, (5, 3)), [randn(2, 3, 4, 2)],
           _t_interpolate(size=(5, 3), mode="bilinear", align_corners=False), id="bilinear"),
    OpCase("Resize", lambda x: _resize.resize(x, (5, 3), method="nearest"), [randn(2, 3, 4, 2)],
           _t_interpolate(size=(5, 3), mode="nearest-exact"), id="nearest"),
]


# --- recurrent -----------------------------------------------------------------------------
from nablanet.ops import recurrent as _rec  # noqa: E402


def _t_act(name: str, v: Any) -> Any:
    """Keras's activations on torch tensors (hard_sigmoid is Keras 3's relu6(x + 3) / 6)."""
    if name == "tanh":
        return v.tanh()
    if name == "sigmoid":
        return v.sigmoid()
    if name == "hard_sigmoid":
        return (v / 6 + 0.5).clamp(0.0, 1.0)
    if name == "relu":
        return v.relu()
    return v


def _t_recurrent(cell: str, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 mask: np.ndarray | None = None, go_backwards: bool = False,
                 reset_after: bool = True) -> Callable[..., Any]:
    """A plain per-step torch loop computing what :func:`nablanet.ops.recurrent.lstm` / ``gru`` /
    ``simple_rnn`` return: ``(sequence, h_T[, c_T])``."""
    import torch

    def run(x: Any, h: Any, *rest: Any) -> Any:
        if cell == "lstm":
            c, k, rk, b = rest
        else:
            k, rk, b = rest
        m = None if mask is None else torch.as_tensor(np.ascontiguousarray(mask))
        if go_backwards:
            x = x.flip(1)
            m = None if m is None else m.flip(1)
        act = lambda v: _t_act(activation, v)  # noqa: E731
        rec = lambda v: _t_act(recurrent_activation, v)  # noqa: E731
        outs = []
        for t in range(x.shape[1]):
            xt = x[:, t]
            c_new = None
            if cell == "lstm":
                i, f, cc, o = (xt @ k + h @ rk + b).chunk(4, dim=1)
                c_new = rec(f) * c + rec(i) * act(cc)
                h_new = rec(o) * act(c_new)
            elif cell == "gru":
                u = h.shape[1]
                if reset_after:
                    xp, hp = xt @ k + b[0], h @ rk + b[1]
                    z = rec(xp[:, :u] + hp[:, :u])
                    r = rec(xp[:, u : 2 * u] + hp[:, u : 2 * u])
                    hh = act(xp[:, 2 * u :] + r * hp[:, 2 * u :])
                else:
                    xp = xt @ k + b
                    z = rec(xp[:, :u] + h @ rk[:, :u])
                    r = rec(xp[:, u : 2 * u] + h @ rk[:, u : 2 * u])
                    hh = act(xp[:, 2 * u :] + (r * h) @ rk[:, 2 * u :])
                h_new = z * h + (1 - z) * hh
            else:
                h_new = act(xt @ k + h @ rk + b)
            if m is not None:
                keep = m[:, t, None]
                h_new = torch.where(keep, h_new, h)
                if c_new is not None:
                    c_new = torch.where(keep, c_new, c)
            h = h_new
            if c_new is not None:
                c = c_new
            outs.append(h)
        seq = torch.stack(outs, dim=1)
        return (seq, h, c) if cell == "lstm" else (seq, h)

    return run


def _rnn_inputs(cell: str, n: int, t: int, d: int, u: int, bias_shape: tuple[int, ...],
                transposed_kernel: bool = False) -> list[np.ndarray]:
    gates = {"lstm": 4, "gru": 3, "simple_rnn": 1}[cell]
    kernel = randn(gates * u, d).T if transposed_kernel else randn(d, gates * u)
    arrays = [randn(n, t, d), 0.5 * randn(n, u)]
    if cell == "lstm":
        arrays.append(0.5 * randn(n, u))
    return arrays + [0.5 * kernel, 0.5 * randn(u, gates * u), 0.3 * randn(*bias_shape)]


_RNN_MASK = np.array([[True, True, False, True], [False, True, True, False],
                      [True, False, False, True]])

for _kw, _id in [({}, "default"),
                 ({"mask": _RNN_MASK, "go_backwards": True}, "mask-backwards"),
                 ({"activation": "relu", "recurrent_activation": "hard_sigmoid"}, "relu-hard"),
                 ({"activation": "linear", "recurrent_activation": "sigmoid", "mask": _RNN_MASK},
                  "linear-mask")]:
    CASES.append(OpCase(
        "LSTMSequence",
        lambda x, h, c, k, rk, b, kw=_kw: _rec.lstm(x, h, c, k, rk, b, **kw),
        _rnn_inputs("lstm", 3, 4, 3, 2, (8,), transposed_kernel=_id == "default"),
        _t_recurrent("lstm", **_kw), id=f"lstm-{_id}"))

for _kw, _id in [({"reset_after": True}, "reset-after"),
                 ({"reset_after": False}, "reset-before"),
                 ({"reset_after": True, "mask": _RNN_MASK, "go_backwards": True}, "after-mask"),
                 ({"reset_after": False, "mask": _RNN_MASK, "activation": "relu",
                   "recurrent_activation": "hard_sigmoid"}, "before-mask-relu")]:
    CASES.append(OpCase(
        "GRUSequence",
        lambda x, h, k, rk, b, kw=_kw: _rec.gru(x, h, k, rk, b, **kw),
        _rnn_inputs("gru", 3, 4, 3, 2, (2, 6) if _kw["reset_after"] else (6,),
                    transposed_kernel=_id == "reset-after"),
        _t_recurrent("gru", **_kw), id=f"gru-{_id}"))

for _kw, _id in [({}, "tanh"),
                 ({"activation": "sigmoid", "mask": _RNN_MASK, "go_backwards": True},
                  "sigmoid-mask-backwards")]:
    CASES.append(OpCase(
        "SimpleRNNSequence",
        lambda x, h, k, rk, b, kw=_kw: _rec.simple_rnn(x, h, k, rk, b, **kw),
        _rnn_inputs("simple_rnn", 3, 4, 3, 3, (3,), transposed_kernel=_id == "tanh"),
        _t_recurrent("simple_rnn", **_kw), id=f"simple-rnn-{_id}"))


# --- losses, normalization, layers' fused ops ----------------------------------------------
from nablanet.ops import losses as _losses  # noqa: E402
from nablanet.ops import normalization as _norm  # noqa: E402

_CE_LABELS = np.array([2, 0, 4, 1, 3, 0])
_CE_LABELS_SEQ = np.array([[0, 3], [2, 2], [1, 0]])


def _t_bn(training: bool, mean: Any = None, var: Any = None) -> Callable[..., Any]:
    """torch batch_norm over the last (channel) axis of an N..C tensor."""
    import torch

    def run(x: Any, g: Any, b: Any) -> Any:
        xt = x.movedim(-1, 1) if x.ndim > 2 else x
        rm = None if mean is None else torch.from_numpy(mean.astype(np.float32))
        rv = None if var is None else torch.from_numpy(var.astype(np.float32))
        y = torch.nn.functional.batch_norm(xt, rm, rv, g, b, training=training, eps=1e-3)
        return y.movedim(1, -1) if x.ndim > 2 else y

    return run


_BN_MEAN, _BN_VAR = RNG.standard_normal(3), RNG.uniform(0.5, 2.0, 3)

CASES += [
    OpCase("SparseSoftmaxCrossEntropy",
           lambda z: _losses.sparse_softmax_cross_entropy_with_logits(z, _CE_LABELS),
           [randn(6, 5) * 3.0],
           lambda z: torch.nn.functional.cross_entropy(
               z, torch.from_numpy(_CE_LABELS), reduction="none"), id="sparse-ce"),
    OpCase("SparseSoftmaxCrossEntropy",
           lambda z: _losses.sparse_softmax_cross_entropy_with_logits(z, _CE_LABELS_SEQ),
           [randn(4, 3, 2).transpose(1, 2, 0)],
           lambda z: torch.nn.functional.cross_entropy(
               z.reshape(-1, 4), torch.from_numpy(_CE_LABELS_SEQ.reshape(-1)),
               reduction="none").reshape(3, 2), id="sparse-ce-seq-noncontiguous"),
    OpCase("SoftmaxCrossEntropy",
           lambda z, t: _losses.softmax_cross_entropy_with_logits(z, t),
           [randn(5, 4) * 3.0, np.abs(randn(5, 4))],
           lambda z, t: -(t * torch.log_softmax(z, dim=-1)).sum(-1), id="dense-ce"),
    OpCase("SigmoidCrossEntropy",
           lambda z, t: _losses.sigmoid_cross_entropy_with_logits(z, t),
           [randn(4, 3) * 4.0, RNG.uniform(0, 1, (4, 3))],
           lambda z, t: torch.clamp(z, min=0) - z * t + torch.log1p(torch.exp(-z.abs())),
           id="sigmoid-bce"),
    OpCase("BatchNorm", lambda x, g, b: _norm.batch_normalization(x, g, b)[0],
           [randn(6, 3), randn(3), randn(3)], _t_bn(True), id="train-2d"),
    OpCase("BatchNorm", lambda x, g, b: _norm.batch_normalization(x, g, b)[0],
           [randn(2, 3, 4, 3), randn(3), randn(3)], _t_bn(True), id="train-nhwc",
           tolerance={"torch_atol": 3e-5}),
    OpCase("BatchNorm",
           lambda x, g, b: _norm.batch_normalization(
               x, g, b, training=False, moving_mean=_BN_MEAN, moving_variance=_BN_VAR)[0],
           [randn(2, 4, 3), randn(3), randn(3)], _t_bn(False, _BN_MEAN, _BN_VAR),
           id="inference"),
]

# --- tensor algebra --------------------------------------------------------------------------


# --- large shapes: fast kernels against the reference only ----------------------------------
# Big enough for the worker-thread split (a pass of >= 1 MB) and, for the convolutions, for
# bands of output rows (one image's im2col rows > 1 MB), and the planar im2col (few channels).
_LARGE_MASK = RNG.random((13, 30)) > 0.3
LARGE_CASES: list[OpCase] = [
    OpCase("Conv2D", lambda x, w, b: _conv.conv2d(x, w, b, padding="same", activation="relu"),
           [randn(4, 66, 66, 16), randn(3, 3, 16, 8), randn(8)], None, id="large-bands-relu"),
    OpCase("Conv2D", lambda x, w, b: _conv.conv2d(x, w, b, strides=2),
           [randn(6, 70, 70, 3), randn(5, 5, 3, 16), randn(16)], None, id="large-planar"),
    OpCase("Conv2D", lambda x, w: _conv.conv2d(x, w, dilation_rate=2, activation="relu"),
           [randn(8, 40, 40, 32), randn(3, 3, 32, 32)], None, id="large-dilated"),
    OpCase("Conv1D", lambda x, w, b: _conv.conv1d(x, w, b, padding="causal"),
           [randn(16, 400, 64), randn(5, 64, 32), randn(32)], None, id="large"),
    OpCase("Conv2DTranspose",
           lambda x, w, b: _conv.conv2d_transpose(x, w, b, strides=2, padding="same"),
           [randn(8, 32, 32, 16), randn(3, 3, 8, 16), randn(8)], None, id="large"),
    OpCase("MaxPool2D", lambda x: _pool.max_pool2d(x), [randn(8, 64, 64, 16)], None,
           id="large-2x2"),
    OpCase("MaxPool2D", lambda x: _pool.max_pool2d(x, 3, 2, padding="same"),
           [randn(8, 63, 64, 16)], None, id="large-3x3-overlapping"),
    OpCase("MaxPool1D", lambda x: _pool.max_pool1d(x, 2), [randn(16, 500, 32)], None,
           id="large"),
    OpCase("Conv2DMaxPool2D", lambda x, w, b: _conv_pool.conv2d_max_pool2d(x, w, b),
           [randn(4, 66, 67, 16), randn(3, 3, 16, 8), randn(8)], None, id="large-bands"),
    OpCase("Conv2DMaxPool2D",
           lambda x, w, b: _conv_pool.conv2d_max_pool2d(x, w, b, padding="same", pool_size=3),
           [randn(6, 64, 64, 3), randn(3, 3, 3, 16), randn(16)], None, id="large-planar-3x3"),
    # 3×3 stride 1, >= 8 channels: Winograd F(2×2, 3×3) (kernels/winograd.py); odd sizes
    OpCase("Conv2D", lambda x, w, b: _conv.conv2d(x, w, b, activation="relu"),
           [randn(6, 33, 31, 64), randn(3, 3, 64, 16), randn(16)], None,
           id="large-winograd-odd"),
    OpCase("Conv2DMaxPool2D", lambda x, w, b: _conv_pool.conv2d_max_pool2d(x, w, b, padding="same"),
           [randn(8, 31, 30, 16), randn(3, 3, 16, 32), randn(32)], None, id="large-winograd"),
    OpCase("MatMul", lambda a, b: a @ b, [randn(512, 300), randn(300, 256)], None,
           id="large-rows"),
    OpCase("MatMul", lambda a, b: a @ b, [randn(64, 300), randn(300, 1024)], None,
           id="large-columns"),
    OpCase("Dense", lambda x, w, b: nb.ops.linalg.dense(x, w, b, activation="relu"),
           [randn(128, 784), randn(784, 512), randn(512)], None, id="large-relu"),
    OpCase("Dense", lambda x, w, b: nb.ops.linalg.dense(x, w, b),
           [randn(96, 300), randn(300, 40), randn(40)], None, id="large-middle-linear"),
    # the recurrences: 2 batch slices of >= 4 rows each for the compiled LSTM's threads
    OpCase("LSTMSequence", lambda x, h, c, k, rk, b: _rec.lstm(x, h, c, k, rk, b),
           [randn(32, 20, 16), randn(32, 32), randn(32, 32), 0.2 * randn(16, 128),
            0.2 * randn(32, 128), randn(128)], None, id="large"),
    OpCase("LSTMSequence",
           lambda x, h, c, k, rk, b: _rec.lstm(x, h, c, k, rk, b, mask=_LARGE_MASK,
                                               go_backwards=True),
           [randn(13, 30, 9), randn(13, 20), randn(13, 20), 0.3 * randn(9, 80),
            0.3 * randn(20, 80), randn(80)], None, id="large-mask-backwards"),
    OpCase("GRUSequence", lambda x, h, k, rk, b: _rec.gru(x, h, k, rk, b),
           [randn(32, 20, 16), randn(32, 32), 0.2 * randn(16, 96), 0.2 * randn(32, 96),
            randn(2, 96)], None, id="large"),
    OpCase("GRUSequence",
           lambda x, h, k, rk, b: _rec.gru(x, h, k, rk, b, reset_after=False, mask=_LARGE_MASK),
           [randn(13, 30, 9), randn(13, 20), 0.3 * randn(9, 60), 0.3 * randn(20, 60),
            randn(60)], None, id="large-before-mask"),
    OpCase("SimpleRNNSequence", lambda x, h, k, rk, b: _rec.simple_rnn(x, h, k, rk, b),
           [randn(32, 20, 16), randn(32, 32), 0.2 * randn(16, 32), 0.2 * randn(32, 32),
            randn(32)], None, id="large"),
]
