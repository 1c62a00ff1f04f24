r"""Why depth helps (chapter §3): counting the linear regions of ReLU networks.

A network of Dense layers with ReLU activations computes a continuous piecewise-linear
function. Montúfar et al. (2014) showed that the number of linear pieces it can have grows
exponentially with depth but only polynomially with width. This module makes that
concrete for networks with one input, where regions can be counted *exactly*:

* :func:`count_linear_regions` follows the knots (points where some unit's pre-activation
  crosses zero) through the layers of a network restricted to an interval and returns the
  number of activation regions.
* :func:`zigzag_network` builds Montúfar's construction: each hidden layer of :math:`n` ReLUs
  folds :math:`[0, 1]` onto itself :math:`n` times,

  .. math::

      g(x) = \sum_{i=1}^{n} c_i \operatorname{ReLU}(n x - (i - 1)), \qquad
      c_1 = 1,\; c_i = 2 (-1)^{i-1} \;(i \ge 2),

  a zig-zag with :math:`n` linear pieces of slope :math:`\pm n`. Composing :math:`L` such
  layers gives :math:`n^L` pieces. The chapter's example — 5 layers of 10 units, 50 units in
  all — has :math:`10^5` regions, while one hidden layer with one input has at most
  (units + 1) regions, so it needs about :math:`10^5` units for as many.

The combination :math:`c` of one layer is folded into the next layer's weights, so every
layer is an ordinary ``Dense(n, activation='relu')``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Affine = tuple[np.ndarray, np.ndarray]


def dense_relu_weights(model: Any) -> list[Affine]:
    """The (kernel, bias) pairs of a model made of ``Dense`` layers, in order.

    Every layer but the last must use the ReLU activation; the last may be linear.
    """
    from nablanet.layers.core import Dense

    pairs = []
    dense_layers = [layer for layer in getattr(model, "layers", [model])]
    for k, layer in enumerate(dense_layers):
        if not isinstance(layer, Dense):
            raise ValueError(
                f"count_linear_regions: only Dense layers are supported; "
                f"layer {layer.name!r} is a {type(layer).__name__}"
            )
        activation = getattr(layer.activation, "__name__", str(layer.activation))
        last = k == len(dense_layers) - 1
        if activation != "relu" and not (last and activation == "linear"):
            raise ValueError(
                f"count_linear_regions: hidden layers must use ReLU; layer {layer.name!r} "
                f"uses {activation!r}"
            )
        if layer.kernel is None:
            raise ValueError(f"count_linear_regions: layer {layer.name!r} is not built; call "
                             "the model on data first")
        kernel = layer.kernel.data.astype(np.float64)
        bias = (layer.bias.data.astype(np.float64) if layer.bias is not None
                else np.zeros(kernel.shape[1]))
        pairs.append((kernel, bias))
    return pairs


def count_linear_regions(network: Any, low: float = 0.0, high: float = 1.0,
                         final_relu: bool = False) -> int:
    """Exact number of activation regions of a one-input ReLU network on ``[low, high]``.

    Parameters
    ----------
    network : Sequential model of Dense layers, or a list of ``(kernel, bias)`` pairs
        Hidden layers apply ReLU; the last layer is linear unless ``final_relu``.
    low, high : float
        The input interval.

    Returns
    -------
    int
        The number of maximal sub-intervals on which every unit's on/off state is constant
        (on each the network is affine).

    Notes
    -----
    Between consecutive knots every pre-activation is affine in :math:`x`, so each layer's
    zero crossings are found exactly by linear interpolation and added as new knots.

    Examples
    --------
    >>> count_linear_regions(zigzag_network(units=3, depth=2))
    9
    """
    layers = network if isinstance(network, (list, tuple)) else dense_relu_weights(network)
    if not layers:
        raise ValueError("count_linear_regions: the network has no layers")
    if layers[0][0].shape[0] != 1:
        raise ValueError(
            f"count_linear_regions: exact counting needs a network with one input; "
            f"the first kernel has shape {layers[0][0].shape}"
        )
    if not high > low:
        raise ValueError(f"count_linear_regions: need low < high. Received: low={low}, "
                         f"high={high}")
    knots = np.array([low, high], dtype=np.float64)
    values = knots[:, None]
    n_hidden = len(layers) if final_relu else len(layers) - 1
    for depth, (kernel, bias) in enumerate(layers):
        pre = values @ kernel + bias
        if depth >= n_hidden:
            break
        knots, pre = _insert_zero_crossings(knots, pre)
        values = np.maximum(pre, 0.0)
    return len(knots) - 1


def _insert_zero_crossings(knots: np.ndarray, pre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add the points where any column of the piecewise-affine ``pre`` crosses zero.

    Values within rounding error of zero are set to exactly zero first, so a unit that only
    touches zero at a knot does not create a spurious sliver of a region.
    """
    scale = max(float(np.abs(pre).max()), 1.0)
    pre = np.where(np.abs(pre) < 1e-9 * scale, 0.0, pre)
    left, right = pre[:-1], pre[1:]
    segment, unit = np.nonzero(left * right < 0)
    if segment.size == 0:
        return knots, pre
    t = left[segment, unit] / (left[segment, unit] - right[segment, unit])
    new_knots = knots[segment] + t * (knots[segment + 1] - knots[segment])
    merged = np.unique(np.concatenate([knots, new_knots]))
    # pre is affine between the old knots: interpolate every unit at the merged knots.
    new_pre = np.stack([np.interp(merged, knots, pre[:, j]) for j in range(pre.shape[1])],
                       axis=1)
    return merged, np.where(np.abs(new_pre) < 1e-9 * scale, 0.0, new_pre)


def zigzag_coefficients(units: int) -> np.ndarray:
    """:math:`c = (1, -2, 2, -2, \\dots)`: the output combination of one zig-zag layer."""
    c = np.full(units, 2.0)
    c[1::2] = -2.0
    c[0] = 1.0
    return c


def zigzag_network(units: int, depth: int) -> list[Affine]:
    """Montúfar's construction: ``depth`` ReLU layers of ``units`` units with ``units**depth``
    linear regions on [0, 1], followed by a linear output unit.

    Returned as (kernel, bias) pairs, ready for :func:`count_linear_regions` or for
    ``set_weights`` on ``Sequential([Dense(units, 'relu')] * depth + [Dense(1)])``.
    """
    if units < 1 or depth < 1:
        raise ValueError(f"zigzag_network: units and depth must be positive. "
                         f"Received: units={units}, depth={depth}")
    c = zigzag_coefficients(units)
    shifts = -np.arange(units, dtype=np.float64)
    first = (np.full((1, units), float(units)), shifts.copy())
    # Next layer's input n*g(x) = sum_i n c_i h_i: fold c into the kernel.
    middle = (units * np.outer(c, np.ones(units)), shifts.copy())
    output = (c[:, None].copy(), np.zeros(1))
    return [first] + [middle] * (depth - 1) + [output]


def shallow_max_regions(units: int) -> int:
    """Most regions one hidden ReLU layer of ``units`` units can cut a line into: units + 1."""
    return units + 1


def random_network(widths: Sequence[int], seed: int = 0) -> list[Affine]:
    """A one-input network with He-normal kernels and small random biases (for comparisons)."""
    rng = np.random.default_rng(seed)
    pairs = []
    fan_in = 1
    for width in [*widths, 1]:
        kernel = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, width))
        pairs.append((kernel, rng.normal(0.0, 0.5, size=width)))
        fan_in = width
    return pairs


def evaluate(network: Sequence[Affine], x: np.ndarray) -> np.ndarray:
    """The network's output at the points ``x`` (ReLU on every layer but the last)."""
    h = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    for k, (kernel, bias) in enumerate(network):
        h = h @ kernel + bias
        if k < len(network) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]
