"""Core layers: Dense, Activation, Flatten, Reshape, Lambda and the merging layers.

Keras 3 names, arguments and defaults; channels-last shapes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nablanet import activations, constraints, initializers, regularizers
from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer
from nablanet.ops.elementwise import add, mul
from nablanet.ops.linalg import dense
from nablanet.ops.shape import concatenate, reshape, transpose

__all__ = ["Activation", "Add", "Concatenate", "Dense", "Flatten", "Lambda", "Multiply",
           "Reshape"]


def _known(shape: Sequence[int | None]) -> tuple[int, ...] | None:
    """``shape`` as ints when every size is known, else None."""
    sizes = tuple(shape)
    return None if any(n is None for n in sizes) else tuple(n for n in sizes if n is not None)


class Dense(Layer):
    r"""Densely connected layer: ``output = activation(inputs @ kernel + bias)``.

    .. math::

        y = g(x W + b), \qquad W \in \mathbb R^{n_{in} \times \mathrm{units}}

    Inputs of rank > 2 are multiplied on their last axis (``(batch, d0, n_in)`` →
    ``(batch, d0, units)``). Computed by one primitive, :func:`nablanet.ops.linalg.dense`
    (the product, the bias and a ReLU activation in one node of the graph).

    Parameters
    ----------
    units : int
        Positive number of output units.
    activation : str or callable, optional
        Name (``'relu'``) or function; None is linear.
    use_bias : bool
    kernel_initializer, bias_initializer
        Keras defaults ``'glorot_uniform'`` and ``'zeros'``.
    kernel_regularizer, bias_regularizer, activity_regularizer
        Penalties added to :attr:`losses` (e.g. ``regularizers.L2(0.01)``). The chapter's
        ``regularizer=`` argument (§5.1) is a misprint for ``kernel_regularizer``.

    Input shape
    -----------
    ``(batch, ..., n_in)``

    Output shape
    ------------
    ``(batch, ..., units)``

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(3, activation='relu')
    >>> layer(np.ones((2, 4), dtype=np.float32)).shape
    (2, 3)
    >>> [w.shape for w in layer.weights]
    [(4, 3), (3,)]
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer. Received: units={units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel: Tensor | None = None
        self.bias: Tensor | None = None
        self.input_dim: int | None = None
        self.supports_masking = True

    def build(self, input_shape: Sequence[int | None]) -> None:
        last = input_shape[-1] if len(input_shape) else None
        if last is None:
            raise ValueError(f"Dense '{self.name}': the last dimension of the inputs must be "
                             f"known. Received: input_shape={tuple(input_shape)}")
        self.input_dim = int(last)
        self.kernel = self.add_weight("kernel", (self.input_dim, self.units),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        shape = inputs.shape
        if not shape or shape[-1] != self.input_dim:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: "
                             f"expected axis -1 of input shape to have value {self.input_dim}, "
                             f"but received input with shape {shape}")
        relu = self.activation is activations.relu  # applied inside the primitive
        rows = reshape(inputs, (-1, self.input_dim)) if inputs.ndim > 2 else inputs
        out = dense(rows, self.kernel, self.bias if self.use_bias else None,
                    activation="relu" if relu else None)
        if inputs.ndim > 2:
            out = reshape(out, (*shape[:-1], self.units))
        if not relu and self.activation is not None and \
                self.activation is not activations.linear:
            out = self.activation(out)  # (None, set after construction, is linear as in Keras)
        return out

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Activation(Layer):
    """Applies an activation function (name or callable) to its input.

    Input shape: any. Output shape: the input's.

    Examples
    --------
    >>> Activation('relu')(np.array([[-1.0, 2.0]], dtype=np.float32)).tolist()
    [[0.0, 2.0]]
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs: Tensor) -> Tensor:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Flatten(Layer):
    """Flattens every axis but the batch axis: ``(batch, d1, ..., dk)`` → ``(batch, d1···dk)``.

    Input shape: ``(batch, ...)``. Output shape: ``(batch, prod(...))``.
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from nablanet.config import standardize_data_format

        self.data_format = standardize_data_format(data_format)

    def call(self, inputs: Tensor) -> Tensor:
        if self.data_format == "channels_first" and inputs.ndim > 2:
            # Keras flattens channels-first inputs in channels-last order
            inputs = transpose(inputs, (0, *range(2, inputs.ndim), 1))
        return reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = _known(tuple(input_shape)[1:])
        flat = None if rest is None else math.prod(rest)
        return (input_shape[0], flat)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (batch axis kept; one entry may be -1).

    Input shape: ``(batch, ...)``. Output shape: ``(batch, *target_shape)``.
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = tuple(int(n) for n in target_shape)
        if sum(n == -1 for n in target) > 1 or any(n == 0 or n < -1 for n in target):
            raise ValueError(f"Reshape: target_shape must hold positive integers and at most "
                             f"one -1. Received: target_shape={tuple(target_shape)}")
        self.target_shape = target

    def _resolve(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = _known(tuple(input_shape)[1:])
        if rest is None:  # unknown sizes: the -1 stays unknown
            return tuple(None if n == -1 else n for n in self.target_shape)
        return self._resolve_known(rest)

    def _resolve_known(self, rest: tuple[int, ...]) -> tuple[int, ...]:
        """The target shape of samples of (known) shape ``rest``."""
        if -1 not in self.target_shape:
            if math.prod(rest) != math.prod(self.target_shape):
                raise ValueError(f"Reshape '{self.name}': cannot reshape samples of shape "
                                 f"{rest} ({math.prod(rest)} values) to {self.target_shape}")
            return self.target_shape
        known = math.prod(n for n in self.target_shape if n != -1)
        total = math.prod(rest)
        if total % known:
            raise ValueError(f"Reshape '{self.name}': cannot reshape samples of shape {rest} "
                             f"to {self.target_shape}")
        return tuple(total // known if n == -1 else n for n in self.target_shape)

    def call(self, inputs: Tensor) -> Tensor:
        return reshape(inputs, (inputs.shape[0], *self._resolve_known(inputs.shape[1:])))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (input_shape[0], *self._resolve(input_shape))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Lambda(Layer):
    """Wraps a function of Tensors as a layer (``Lambda(lambda x: x * 2)``).

    For safe saving only built-in activations given by name (``Lambda('relu')``) can be
    stored in a config; a Python function cannot (no code is ever loaded from files).
    """

    def __init__(self, function: Callable[..., Any] | str,
                 output_shape: Any = None, arguments: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._function_name = function if isinstance(function, str) else None
        self.function = activations.get(function) if isinstance(function, str) else function
        if not callable(self.function):
            raise ValueError(f"Lambda: function must be callable. Received: {function!r}")
        self.output_shape = output_shape
        self.arguments = dict(arguments or {})

    def call(self, inputs: Any) -> Any:
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape):
            return self.output_shape(input_shape)
        return (input_shape[0], *tuple(self.output_shape))

    def get_config(self) -> dict[str, Any]:
        if self._function_name is None:
            raise ValueError(f"Lambda '{self.name}': a Python function cannot be saved in a "
                             f"config (nablanet never loads code from files). Use a named "
                             f"activation, or subclass Layer.")
        return {**super().get_config(), "function": self._function_name,
                "output_shape": self.output_shape, "arguments": self.arguments}


class _Merge(Layer):
    """Base of layers combining a list of same-shape tensors."""

    def _check(self, inputs: Any) -> list[Tensor]:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': expects a list of input "
                             f"tensors. Received: {type(inputs).__name__}")
        return list(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shapes = [tuple(s) for s in input_shape]
        out = list(shapes[0])
        for s in shapes[1:]:
            if len(s) != len(out):
                raise ValueError(f"{type(self).__name__} '{self.name}': inputs of different "
                                 f"ranks: {shapes}")
            out = [a if b in (None, 1) else b if a in (None, 1) else a for a, b in zip(out, s)]
        return tuple(out)


class Add(_Merge):
    """Element-wise sum of a list of inputs (same shapes)."""

    def call(self, inputs: Any) -> Tensor:
        xs = self._check(inputs)
        out = xs[0]
        for x in xs[1:]:
            out = add(out, x)
        return out


class Multiply(_Merge):
    """Element-wise product of a list of inputs (same shapes)."""

    def call(self, inputs: Any) -> Tensor:
        xs = self._check(inputs)
        out = xs[0]
        for x in xs[1:]:
            out = mul(out, x)
        return out


class Concatenate(_Merge):
    """Concatenation of a list of inputs along ``axis`` (default: the last)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs: Any) -> Tensor:
        xs = self._check(inputs)
        return concatenate(xs, axis=self.axis)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shapes = [list(s) for s in input_shape]
        out = list(shapes[0])
        axis = self.axis % len(out)
        sizes = [s[axis] for s in shapes]
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
