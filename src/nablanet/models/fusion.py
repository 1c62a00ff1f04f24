"""The fusion pass: which consecutive layers a model runs as one fused primitive.

A fused primitive computes exactly what its layers compute one after the other (same values,
same gradients) in fewer passes over memory. It is chosen here, where the model is built, and
nowhere else: layers and primitives never look at their neighbours. :data:`PATTERNS` lists every
fusion; :func:`fuse` turns a list of layers into a plan of :class:`Step` s (used by
``Sequential``) and :func:`match` answers for one pair (used by functional models, which match
a layer call whose only use is the next call).

To add a fusion: write the fused primitive (reference in ``ops``, kernel in ``kernels``), then
add a :class:`Pattern` here with its static check (the layers' configuration) and its runner
(the call, or None when the input rules it out at run time), and a test in
``tests/models/test_fusion.py`` comparing the fused model with the unfused one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer
from nablanet.layers.conv import Conv2D
from nablanet.layers.pooling import MaxPooling2D
from nablanet.ops.conv_pool import conv2d_max_pool2d


@dataclass(frozen=True)
class Pattern:
    """A fusion of two consecutive layers.

    ``types`` are the layers' exact types (a subclass may override ``call``, so it is not
    fused); ``matches(first, second)`` checks their configuration; ``run(first, second, x)``
    returns the fused result, or None when ``x`` rules the fusion out (the layers then run
    one after the other).
    """

    name: str
    types: tuple[type, type]
    matches: Callable[[Any, Any], bool]
    run: Callable[[Any, Any, Any], Tensor | None]


def _conv_relu_pool_matches(conv: Conv2D, pool: MaxPooling2D) -> bool:
    """A ``Conv2D(..., activation='relu')`` (no groups, no activity regularizer) followed by a
    ``MaxPooling2D`` whose windows tile its output (strides = pool size, 'valid'), both in
    the channels-last layout the primitive computes in."""
    return (conv.groups == 1 and conv._fused_activation() == "relu"
            and conv.data_format == pool.data_format == "channels_last"
            and conv.activity_regularizer is None and pool.activity_regularizer is None
            and pool.padding == "valid" and tuple(pool.strides) == tuple(pool.pool_size))


def _conv_relu_pool_run(conv: Conv2D, pool: MaxPooling2D, x: Any) -> Tensor | None:
    """``pool(conv(x))`` by :func:`nablanet.ops.conv_pool.conv2d_max_pool2d`, for built layers
    and a float tensor without a mask. What the layers' calls do besides the primitives (check
    the input, clear their per-call losses) is done here."""
    if not (conv.built and pool.built and isinstance(x, Tensor) and x.dtype.kind == "f"
            and getattr(x, "_keras_mask", None) is None):
        return None
    conv._check_input(x)
    pool.compute_output_shape(conv.compute_output_shape(x.shape))  # clear errors first
    conv._losses = []
    pool._losses = []
    return conv2d_max_pool2d(x, conv.kernel, conv.bias if conv.use_bias else None,
                             strides=conv.strides, padding=conv.padding,
                             dilation_rate=conv.dilation_rate, pool_size=pool.pool_size)


#: Every fusion, tried in this order.
PATTERNS: tuple[Pattern, ...] = (
    Pattern("conv2d_relu_max_pool2d", (Conv2D, MaxPooling2D), _conv_relu_pool_matches,
            _conv_relu_pool_run),
)


def match(first: Layer, second: Layer) -> Pattern | None:
    """The pattern that fuses ``first`` followed by ``second``, or None."""
    for pattern in PATTERNS:
        if type(first) is pattern.types[0] and type(second) is pattern.types[1] and \
                pattern.matches(first, second):
            return pattern
    return None


@dataclass(frozen=True)
class Step:
    """One step of a plan: a single layer, or layers run by a fused pattern."""

    layers: tuple[Layer, ...]
    pattern: Pattern | None = None

    def __call__(self, x: Any, training: bool = False) -> Any:
        if self.pattern is not None:
            first, second = self.layers
            out = self.pattern.run(first, second, x)
            if out is not None:
                return out
        for layer in self.layers:
            x = layer(x, training=training)
        return x


def fuse(layers: Sequence[Layer]) -> list[Step]:
    """The plan for running ``layers`` one after the other: each pair that a pattern fuses
    becomes one step, every other layer a step of its own.

    Examples
    --------
    >>> from nablanet import layers
    >>> plan = fuse([layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
    ...              layers.Flatten()])
    >>> [(len(step.layers), step.pattern and step.pattern.name) for step in plan]
    [(2, 'conv2d_relu_max_pool2d'), (1, None)]
    """
    plan: list[Step] = []
    i = 0
    while i < len(layers):
        pattern = match(layers[i], layers[i + 1]) if i + 1 < len(layers) else None
        if pattern is not None:
            plan.append(Step((layers[i], layers[i + 1]), pattern))
            i += 2
        else:
            plan.append(Step((layers[i],)))
            i += 1
    return plan
