"""Rectifier and activation layers (chapter §4.1, eq. 8).

All the rectifiers are the chapter's generalised form

.. math::

    a(z, \\alpha)_i = \\max(0, z_i) + \\alpha_i \\min(0, z_i)

with α = 0 (:class:`ReLU`), a small fixed α (:class:`LeakyReLU`), α learned per unit
(:class:`PReLU`), or any of those including α = −1, absolute-value rectification
(:class:`GeneralizedReLU`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import activations, constraints, initializers, ops, regularizers
from nablanet.autograd.tensor import Tensor
from nablanet.functional import activations as F
from nablanet.layers.base import Layer

__all__ = ["ELU", "GeneralizedReLU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]


class _Elementwise(Layer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)


class ReLU(_Elementwise):
    """Rectified linear unit layer (Keras ``ReLU``).

    ``max(0, x)`` by default; ``negative_slope`` below ``threshold``, capped at
    ``max_value``. Input shape: any. Output shape: the input's.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError("max_value of a ReLU layer cannot be a negative value. "
                             f"Received: max_value={max_value}")
        if negative_slope is None or negative_slope < 0:
            raise ValueError("negative_slope of a ReLU layer cannot be None or a negative "
                             f"value. Received: negative_slope={negative_slope}")
        if threshold is None or threshold < 0:
            raise ValueError("threshold of a ReLU layer cannot be None or a negative value. "
                             f"Received: threshold={threshold}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def call(self, inputs: Tensor) -> Tensor:
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """Leaky ReLU: ``x`` for ``x > 0``, ``negative_slope * x`` otherwise (Keras default 0.3).

    ``alpha=`` (the Keras 2 name) is accepted as an alias of ``negative_slope``.
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or "
                             f"negative, Expected a float. Received: "
                             f"negative_slope={negative_slope}")
        self.negative_slope = float(negative_slope)

    def call(self, inputs: Tensor) -> Tensor:
        return F.leaky_relu(inputs, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


def _alpha_shape(input_shape: Sequence[int | None], shared_axes: Sequence[int] | None,
                 owner: str) -> tuple[int, ...]:
    """Per-unit slope shape: the sample shape with ``shared_axes`` (1-based) set to 1."""
    shape = list(input_shape[1:])
    for axis in shared_axes or ():
        if not 1 <= axis <= len(shape):
            raise ValueError(f"{owner}: shared_axes entries must be in [1, {len(shape)}]. "
                             f"Received: shared_axes={list(shared_axes or ())}")
        shape[axis - 1] = 1
    if any(n is None for n in shape):
        raise ValueError(f"{owner}: the sizes of the non-shared axes must be known to build "
                         f"per-unit slopes. Received: input_shape={tuple(input_shape)}; share "
                         f"the unknown axes with shared_axes")
    return tuple(int(n) for n in shape if n is not None)  # all known (checked above)


class PReLU(Layer):
    r"""Parametric ReLU (He et al., 2015): eq. 8 with a learned slope per unit.

    .. math:: y = \max(0, x) + \alpha \min(0, x)

    ``alpha`` has the sample shape, except along ``shared_axes`` (1-based, batch axis
    excluded) where one slope is shared: ``shared_axes=[1, 2]`` on images gives one slope per
    channel. Input shape: any. Output shape: the input's.
    """

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Sequence[int] | int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if isinstance(shared_axes, int):
            shared_axes = [shared_axes]
        self.shared_axes = None if shared_axes is None else [int(a) for a in shared_axes]
        self.alpha: Tensor | None = None
        self.supports_masking = True

    def build(self, input_shape: Sequence[int | None]) -> None:
        shape = _alpha_shape(input_shape, self.shared_axes, f"PReLU '{self.name}'")
        self.alpha = self.add_weight("alpha", shape, self.alpha_initializer,
                                     self.alpha_regularizer, constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        return F.generalized_relu(inputs, self.alpha)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class GeneralizedReLU(Layer):
    r"""The chapter's generalised rectifier (eq. 8): :math:`\max(0, z) + \alpha \min(0, z)`.

    Parameters
    ----------
    alpha : float
        The slope for negative inputs. ``-1`` (the default) is absolute-value rectification
        :math:`|z|`; ``0`` is ReLU; a small positive value is leaky ReLU. With
        ``learned=True`` it is the initial value of a learned slope (PReLU).
    learned : bool
        Learn α (one per unit, shared along ``shared_axes``) instead of fixing it.
    shared_axes : list of int, optional
        As in :class:`PReLU` (only with ``learned=True``).
    alpha_regularizer : optional
        Penalty on the learned α.

    Input shape: any. Output shape: the input's.

    Examples
    --------
    >>> GeneralizedReLU(alpha=-1.0)(np.array([[-2.0, 3.0]], dtype=np.float32)).tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, alpha: float = -1.0, learned: bool = False,
                 shared_axes: Sequence[int] | int | None = None, alpha_regularizer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            self.alpha_value = float(alpha)
        except (TypeError, ValueError):
            raise ValueError(f"GeneralizedReLU: alpha must be a number. Received: "
                             f"alpha={alpha!r}") from None
        if not np.isfinite(self.alpha_value):
            raise ValueError(f"GeneralizedReLU: alpha must be finite. Received: alpha={alpha}")
        self.learned = bool(learned)
        if isinstance(shared_axes, int):
            shared_axes = [shared_axes]
        if shared_axes is not None and not self.learned:
            raise ValueError("GeneralizedReLU: shared_axes only applies with learned=True")
        self.shared_axes = None if shared_axes is None else [int(a) for a in shared_axes]
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha: Tensor | None = None
        self.supports_masking = True

    def build(self, input_shape: Sequence[int | None]) -> None:
        if self.learned:
            shape = _alpha_shape(input_shape, self.shared_axes, f"GeneralizedReLU '{self.name}'")
            self.alpha = self.add_weight("alpha", shape, initializers.Constant(self.alpha_value),
                                         self.alpha_regularizer)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        if self.learned:
            return F.generalized_relu(inputs, self.alpha)
        if self.alpha_value == -1.0:
            return F.abs_relu(inputs)
        if self.alpha_value == 0.0:
            return F.relu(inputs)
        return F.generalized_relu(inputs, self.alpha_value)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha_value, "learned": self.learned,
                "shared_axes": self.shared_axes,
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer)}


class Softmax(_Elementwise):
    r"""Softmax along ``axis`` (default: the last; a tuple normalises over several axes).

    With a ``mask`` (broadcastable to the input; True or > 0.5 keeps a position) the masked
    positions are excluded: they are set to :math:`-10^9` before the softmax and to 0 after
    it, so a fully masked slice gives zeros (Keras's ``Softmax``).
    """

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis: int | tuple[int, ...] = (
            int(axis) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis))

    def call(self, inputs: Tensor, mask: Any = None) -> Tensor:
        keep = None
        if mask is not None:
            keep = _softmax_mask(inputs, mask)
            inputs = ops.where(keep, inputs, np.asarray(-1e9, dtype=inputs.dtype))
        axis = self.axis
        if isinstance(axis, tuple) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, tuple):
            outputs = ops.exp(inputs - ops.logsumexp(inputs, axis=axis, keepdims=True))
        else:
            outputs = activations.softmax(inputs, axis=axis)
        if keep is not None:
            outputs = ops.where(keep, outputs, np.zeros((), dtype=outputs.dtype))
        return outputs

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def _softmax_mask(inputs: Tensor, mask: Any) -> np.ndarray:
    """The boolean keep-mask of :class:`Softmax`, checked to broadcast to ``inputs``."""
    keep = np.asarray(getattr(mask, "data", mask))
    if keep.ndim > inputs.ndim:
        raise ValueError("The `mask` must be broadcastable to `inputs` and must not have more "
                         f"dimensions. Received: inputs.shape={inputs.shape}, "
                         f"mask.shape={keep.shape}")
    for m_dim, i_dim in zip(keep.shape[::-1], inputs.shape[::-1]):
        if m_dim != 1 and m_dim != i_dim:
            raise ValueError("The `mask` must be broadcastable to `inputs`. Each mask "
                             "dimension must be 1 or match the corresponding input dimension. "
                             f"Received: inputs.shape={inputs.shape}, mask.shape={keep.shape}")
    return keep if keep.dtype == bool else keep > 0.5


class ELU(_Elementwise):
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs: Tensor) -> Tensor:
        return F.elu(inputs, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}
