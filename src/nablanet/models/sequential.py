"""``Sequential``: a plain stack of layers, each feeding the next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nablanet.autograd.function import no_grad
from nablanet.layers.base import Layer, _shape_of, _to_tensors
from nablanet.layers.input_layer import Input, InputLayer, SymbolicTensor
from nablanet.models.fusion import fuse
from nablanet.models.model import Model

__all__ = ["Sequential"]


class Sequential(Model):
    """A linear stack of layers (``keras.Sequential``).

    Parameters
    ----------
    layers : list, optional
        Layers in order. The first may be ``layers.Input(shape=...)``, or the first layer
        may receive ``input_shape=``; the model is then built at once (weights exist,
        ``summary()`` works). Otherwise it is built by its first call on data.
    name : str, optional
    trainable : bool

    Examples
    --------
    >>> from nablanet import layers
    >>> model = Sequential([layers.Input(shape=(4,)), layers.Dense(8, activation="relu"),
    ...                     layers.Dense(3)])
    >>> model.output_shape
    (None, 3)
    >>> model.count_params()
    67
    """

    def __init__(self, layers: Sequence[Any] | None = None, trainable: bool = True,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(trainable=trainable, name=name, dtype=dtype)
        self._input: SymbolicTensor | None = None
        self._from_data = False
        self._output_symbols: list[Any] = []
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_from_spec()

    # -- structure ----------------------------------------------------------------------------
    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (or an ``Input`` / ``InputLayer``, which must come first)."""
        if isinstance(layer, InputLayer):
            layer = layer.output
        if isinstance(layer, SymbolicTensor):
            if self._input is not None:
                raise ValueError(
                    f"Sequential model '{self.name}' has already been configured to use input "
                    f"shape {self._input.shape}. You cannot add a different Input layer to it."
                )
            if self._layers:
                raise ValueError(
                    f"Sequential {self.name}: an Input can only be the first element of a "
                    f"Sequential model. Received: {layer!r}"
                )
            if layer.node is not None:
                raise ValueError(
                    f"Sequential {self.name}: only the symbolic tensor of layers.Input(...) "
                    "can be added, not the output of another layer."
                )
            self._input = layer
            return
        if not isinstance(layer, Layer):
            raise ValueError(
                "Only instances of `nablanet.layers.Layer` can be added to a Sequential "
                f"model. Received: {layer!r} (of type {type(layer).__name__})"
            )
        if any(existing is layer for existing in self._layers):
            raise ValueError(f"Sequential {self.name}: layer {layer.name} was already added.")
        names = {existing.name for existing in self._layers}
        if layer.name in names:
            raise ValueError(
                f'All layers added to a Sequential model should have unique names. Name '
                f'"{layer.name}" is already the name of a layer in this model. Update the '
                "`name` argument to pass a unique name."
            )
        self._layers.append(layer)
        if rebuild:
            self.built = False
            self._build_input_shape = None
            self._maybe_build_from_spec()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        shape = self._build_input_shape
        self.built = False
        self._output_symbols = []
        self._maybe_build_from_spec()
        if not self.built and shape is not None and self._layers:
            # Built from data (or from a built first layer): still built for that shape.
            self._build_symbolic(tuple(shape), from_data=self._from_data)
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @layers.setter
    def layers(self, _: Any) -> None:
        raise AttributeError("`Sequential.layers` is read-only. Use `add()` and `pop()` to "
                             "change the layers of a Sequential model.")

    def _maybe_build_from_spec(self) -> None:
        """Build at once when the input shape is known (Input or first layer's input_shape)."""
        shape = None
        first = self._layers[0] if self._layers else None
        if self._input is not None:
            shape = self._input.shape
        elif first is not None and getattr(first, "_batch_input_shape", None) is not None:
            shape = first._batch_input_shape
        elif isinstance(first, Model) and first.built and _single_input_shape(first) is not None:
            # A built model as the first layer fixes the input shape (Keras).
            shape = _single_input_shape(first)
        if shape is not None and self._layers:
            self._build_symbolic(tuple(shape), from_data=False)

    def _build_symbolic(self, shape: tuple[Any, ...], from_data: bool) -> None:
        """Run the layers on a symbolic input: builds every layer and records output shapes."""
        for layer in self._layers:
            _check_single_positional(layer)
        x: Any = Input(batch_shape=(None, *shape[1:]), name=f"{self.name}_input")
        if self._input is None or from_data:
            self._symbolic_input = x
        else:
            x = self._input
            self._symbolic_input = x
        outputs = []
        for layer in self._layers:
            try:
                x = layer(x)
            except Exception as error:
                message = (f"Sequential {self.name}: layer {layer.name!r} "
                           f"({type(layer).__name__}) failed on an input of shape "
                           f"{_shape_str(getattr(x, 'shape', x))}: {error}")
                try:  # the same kind of error with the layer named, when it can be made
                    again = type(error)(message)
                except Exception:  # noqa: BLE001 - e.g. NumPy's memory error needs (shape, dtype)
                    raise error from None
                raise again from error
            outputs.append(x)
        self._output_symbols = outputs
        self._from_data = from_data
        self._build_input_shape = (None, *shape[1:])
        self.built = True

    def _maybe_build(self, inputs: Any) -> None:
        if not self._layers:
            raise ValueError(f"Sequential model '{self.name}' has no layers: add some with "
                             "`model.add(layer)` before calling it.")
        if not self.built:
            shape = _shape_of(inputs)
            if isinstance(shape, tuple):
                self._build_symbolic(shape, from_data=True)
            else:  # a list or dict of inputs: the layers build on their first call
                self.built = True

    def build(self, input_shape: Any = None) -> None:
        """Build the layers for inputs of ``input_shape`` (batch axis included)."""
        if input_shape is None:
            if self.built:
                return
            raise ValueError(f"Sequential {self.name}: build() needs an input_shape.")
        if self._input is not None and tuple(input_shape)[1:] != tuple(self._input.shape)[1:]:
            raise ValueError(
                f"Sequential model '{self.name}' has already been configured to use input "
                f"shape {self._input.shape}. You cannot build it with input_shape "
                f"{tuple(input_shape)}"
            )
        if not self.built:
            self._build_symbolic(tuple(input_shape), from_data=True)

    # -- calling ------------------------------------------------------------------------------
    def call(self, inputs: Any, training: bool = False) -> Any:
        """Run the layers in order, by the plan of the fusion pass
        (:func:`nablanet.models.fusion.fuse`: e.g. a ``Conv2D(..., activation='relu')``
        followed by a ``MaxPooling2D`` that tiles its output is one fused primitive)."""
        self._check_inputs([inputs])
        x = _to_tensors(inputs)
        for step in fuse(self._layers):
            x = step(x, training=training)
        return x

    def _input_spec(self) -> list[tuple[Any, ...]] | None:
        if not self.built or self._build_input_shape is None:
            return None
        shape = tuple(self._build_input_shape)
        if self._from_data:
            # Built from data: only the feature (last) axis is fixed; sequence lengths and
            # image sizes may vary as the layers allow.
            shape = (None,) * (len(shape) - 1) + (shape[-1],)
        return [shape]

    def _input_spec_owner(self) -> str:
        return self._layers[0].name if self._layers else self.name

    def _output_shapes(self) -> list[tuple[Any, ...]] | None:
        if not self._output_symbols:
            return None
        return [tuple(self._output_symbols[-1].shape)]

    @property
    def output_names(self) -> list[str] | None:
        return [self._layers[-1].name] if self._layers else None

    @property
    def input_shape(self) -> tuple[Any, ...]:
        if self._build_input_shape is None:
            raise AttributeError(f"Sequential {self.name} has no defined input shape yet.")
        return tuple(self._build_input_shape)

    @property
    def output_shape(self) -> tuple[Any, ...]:
        shapes = self._output_shapes()
        if shapes is None:
            raise AttributeError(f"Sequential {self.name} has no defined output shape yet "
                                 "(call it on data or give it an Input).")
        return shapes[0]

    @property
    def inputs(self) -> list[SymbolicTensor]:
        symbol = getattr(self, "_symbolic_input", None)
        if symbol is None:
            raise AttributeError(f"Sequential {self.name} has no defined inputs yet (call it "
                                 "on data or give it an Input).")
        return [symbol]

    @property
    def outputs(self) -> list[Any]:
        if not self._output_symbols:
            raise AttributeError(f"Sequential {self.name} has no defined outputs yet (call it "
                                 "on data or give it an Input).")
        return [self._output_symbols[-1]]

    def layer_output_shapes(self) -> list[Any]:
        """The output shape of every layer (for ``summary``), or ``'?'`` when not built."""
        if not self._output_symbols:
            return ["?"] * len(self._layers)
        return [tuple(s.shape) if isinstance(s, SymbolicTensor) else [tuple(t.shape) for t in s]
                for s in self._output_symbols]

    # -- configuration ------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from nablanet.models.saving import serialize_layer

        config: dict[str, Any] = {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [serialize_layer(layer) for layer in self._layers],
        }
        if self._input is not None:
            config["input"] = {"batch_shape": list(self._input.shape),
                               "dtype": self._input.dtype, "name": self._input.name}
        elif self._build_input_shape is not None:
            config["build_input_shape"] = list(self._build_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
                    ) -> Sequential:
        from nablanet.models.saving import deserialize_layer

        layers: list[Any] = []
        if config.get("input") is not None:
            spec = config["input"]
            layers.append(Input(batch_shape=tuple(spec["batch_shape"]),
                                dtype=spec.get("dtype"), name=spec.get("name")))
        layers += [deserialize_layer(c, custom_objects) for c in config.get("layers", [])]
        model = cls(layers, name=config.get("name"), trainable=config.get("trainable", True))
        shape = config.get("build_input_shape")
        if shape is not None and not model.built:
            with no_grad():
                model.build(tuple(shape))
        return model


def _check_single_positional(layer: Layer) -> None:
    """Keras's rule: a layer in a Sequential model takes one positional argument."""
    import inspect

    required = [name for name, p in inspect.signature(layer.call).parameters.items()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
    if len(required) > 1:
        raise ValueError(
            "Layers added to a Sequential model can only have a single positional argument, "
            f"the input tensor. Layer {type(layer).__name__} has multiple positional "
            f"arguments: {required}"
        )


def _single_input_shape(model: Model) -> tuple[Any, ...] | None:
    try:
        shape = getattr(model, "input_shape")  # noqa: B009 - a property that may raise
    except (AttributeError, ValueError):
        return None
    return tuple(shape) if isinstance(shape, tuple) else None


def _shape_str(shape: Any) -> str:
    return str(tuple(shape)) if isinstance(shape, (tuple, list)) else str(shape)
