"""Symbolic tensors for the functional API: ``Input`` and the graph nodes layers record.

``x = layers.Input(shape=(28, 28, 1))`` makes a :class:`SymbolicTensor` (Keras's
``KerasTensor``): a shape with an unknown batch axis and no values. Calling a layer on
symbolic tensors does not compute anything; it records a :class:`Node` (the layer, the call's
arguments with their symbolic tensors, the outputs) and returns symbolic outputs whose shapes
are inferred. ``Model(inputs, outputs)`` later replays the nodes on real tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.function import no_grad
from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer, _flatten, unique_name


class Node:
    """One recorded layer call: ``outputs = layer(*args, **kwargs)``.

    ``args`` and ``kwargs`` hold the call's arguments as given, with
    :class:`SymbolicTensor` s where the real inputs will go; ``parents`` lists those.
    """

    __slots__ = ("layer", "args", "kwargs", "parents", "outputs")

    def __init__(self, layer: Layer, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.parents = [x for x in _flatten([list(args), list(kwargs.values())])
                        if isinstance(x, SymbolicTensor)]
        self.outputs: list[SymbolicTensor] = []

    def replay(self, values: dict[int, Any]) -> Any:
        """Call the layer with each symbolic tensor replaced by ``values[id(tensor)]``."""
        args = replace_symbolic(self.args, values)
        kwargs = replace_symbolic(self.kwargs, values)
        return self.layer(*args, **kwargs)


class SymbolicTensor:
    """A placeholder with a shape (``None`` for unknown sizes) and no values.

    Parameters
    ----------
    shape : tuple
        Full shape, batch axis first (usually ``None``).
    dtype : str
    node : Node, optional
        The layer call that produces this tensor (None for an ``Input``).
    index : int
        Which output of that call this is.
    """

    __slots__ = ("shape", "dtype", "node", "index", "name", "input_layer")

    def __init__(self, shape: Sequence[int | None], dtype: str = "float32",
                 node: Node | None = None, index: int = 0, name: str | None = None) -> None:
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name
        #: The :class:`InputLayer` an ``Input`` tensor comes from (None for layer outputs).
        self.input_layer: InputLayer | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        source = self.name or (self.node.layer.name if self.node else "?")
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={source}>"

    def _no_arithmetic(self, *args: Any) -> Any:
        raise TypeError(
            "Symbolic tensors of the functional API have no values, so they cannot be used "
            "in arithmetic directly. Wrap the computation in a layer (for example "
            "layers.Add(), layers.Concatenate() or layers.Lambda(fn))."
        )

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _no_arithmetic
    __truediv__ = __rtruediv__ = __matmul__ = __neg__ = __pow__ = _no_arithmetic
    __getitem__ = _no_arithmetic

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self!r} is symbolic: it has no values. Build a Model(inputs, outputs) and call "
            "it (or its predict) on real data."
        )


KerasTensor = SymbolicTensor


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None,  # noqa: N802
          dtype: str | None = None, name: str | None = None,
          batch_shape: Sequence[int | None] | None = None) -> SymbolicTensor:
    """The symbolic input of a model (``keras.Input``).

    Parameters
    ----------
    shape : tuple
        Shape of one sample, without the batch axis; ``None`` for sizes that vary
        (e.g. ``(None, 8)`` for sequences of any length).
    batch_size : int, optional
    dtype : str, optional
        ``'float32'`` by default.
    name : str, optional
    batch_shape : tuple, optional
        The full shape including the batch axis (instead of ``shape``).

    Examples
    --------
    >>> from nablanet import layers
    >>> layers.Input(shape=(128, 128, 3)).shape
    (None, 128, 128, 3)
    """
    batch_shape = _batch_shape("Input", shape, batch_size, batch_shape)
    return InputLayer(batch_shape=batch_shape, dtype=dtype, name=name).output


def _batch_shape(owner: str, shape: Any, batch_size: int | None, batch_shape: Any
                 ) -> tuple[int | None, ...]:
    """The full input shape from ``batch_shape``, or from ``shape`` and ``batch_size``."""
    if batch_shape is not None:
        return tuple(batch_shape)
    if shape is None:
        raise ValueError(f"{owner}: you must pass a `shape` argument.")
    if isinstance(shape, int):
        shape = (shape,)
    for n in shape:
        if n is not None and (not isinstance(n, (int, np.integer)) or n <= 0):
            raise ValueError(f"Input: shape entries must be positive integers or None. "
                             f"Received: shape={tuple(shape)}")
    return (batch_size, *tuple(shape))


class InputLayer(Layer):
    """The layer behind :func:`Input` (``keras.layers.InputLayer``): it holds the model's
    symbolic input, ``layer.output``, and passes real inputs through unchanged.

    A functional model's ``layers`` start with its InputLayers, as in Keras; a Sequential
    model accepts one as its first element, like ``Input``.

    Examples
    --------
    >>> layer = InputLayer(shape=(3,), name="features")
    >>> layer.output.shape, layer.batch_shape
    ((None, 3), (None, 3))
    """

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: str | None = None, sparse: bool | None = None,
                 batch_shape: Sequence[int | None] | None = None, input_tensor: Any = None,
                 optional: bool = False, name: str | None = None, **kwargs: Any) -> None:
        if "input_shape" in kwargs and shape is None:
            shape = kwargs.pop("input_shape")
        if sparse:
            raise ValueError("InputLayer: sparse inputs are not supported by nablanet. "
                             f"Received: sparse={sparse}")
        name = name or (input_tensor.name if isinstance(input_tensor, SymbolicTensor) else None) \
            or unique_name("input_layer")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if isinstance(input_tensor, SymbolicTensor):
            tensor = input_tensor
        else:
            batch_shape = _batch_shape("InputLayer", shape, batch_size, batch_shape)
            tensor = SymbolicTensor(batch_shape, dtype or "float32", name=name)
        tensor.input_layer = self
        self._tensor = tensor
        self.batch_shape = tuple(tensor.shape)
        self.optional = optional
        self.built = True

    @property
    def output(self) -> SymbolicTensor:  # type: ignore[override]
        return self._tensor

    @property
    def input(self) -> SymbolicTensor:  # type: ignore[override]
        return self._tensor

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": self._tensor.dtype,
                "name": self.name}


def replace_symbolic(structure: Any, values: dict[int, Any]) -> Any:
    """Copy of ``structure`` (nested lists/tuples/dicts) with symbolic tensors replaced."""
    if isinstance(structure, SymbolicTensor):
        return values[id(structure)]
    if isinstance(structure, (list, tuple)):
        return type(structure)(replace_symbolic(v, values) for v in structure)
    if isinstance(structure, dict):
        return {k: replace_symbolic(v, values) for k, v in structure.items()}
    return structure


def _dummy(shape: tuple[int | None, ...], fill: int, dtype: str) -> Tensor:
    concrete = tuple(fill if n is None else n for n in shape)
    return Tensor(np.zeros(concrete, dtype=dtype))


def symbolic_call(layer: Layer, inputs: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
    """Record ``layer(inputs, *args, **kwargs)`` as a graph node and return symbolic outputs.

    Output shapes come from running the layer on zeros: unknown sizes are tried as 2 and
    as 3, and output sizes that change between the two runs are unknown (None).
    """
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    node = Node(layer, (inputs, *args), kwargs)
    layer.__dict__.setdefault("_inbound_nodes", []).append(node)

    def run(fill: int) -> Any:
        values = {id(t): _dummy(t.shape, fill, t.dtype) for t in node.parents}
        with no_grad():
            return node.replay(values)

    first = run(2)
    needs_second = any(n is None for t in node.parents for n in t.shape)
    second = run(3) if needs_second else first
    flat_a, flat_b = _flatten(first), _flatten(second)
    outputs = []
    for i, (a, b) in enumerate(zip(flat_a, flat_b)):
        shape = tuple(x if x == y else None for x, y in zip(a.shape, b.shape))
        outputs.append(SymbolicTensor(shape, a.data.dtype.name, node=node, index=i))
    node.outputs = outputs
    if hasattr(layer, "reset_states") and getattr(layer, "stateful", False):
        layer.reset_states()
    if isinstance(first, (list, tuple)):
        return type(first)(outputs)
    return outputs[0]
