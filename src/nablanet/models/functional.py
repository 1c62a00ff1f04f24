"""The functional API: ``Model(inputs, outputs)`` replays the recorded layer calls.

Calling layers on the symbolic tensors of :func:`nablanet.layers.Input` records
:class:`~nablanet.layers.input_layer.Node` s. ``Model(inputs, outputs)`` walks back from the
outputs to the inputs, keeps the nodes in topological order and, when called on real
tensors, replays them in that order (:meth:`Functional.call`; a Conv2D whose output only
feeds a MaxPooling2D runs with it as one fused primitive, as in ``Sequential``). Several
inputs and outputs (lists or dicts), shared layers (one layer called at several nodes) and
nested models (a model is a layer) are supported.
"""

from __future__ import annotations

from typing import Any

from nablanet.layers.base import Layer, _flatten, _to_tensors
from nablanet.layers.input_layer import Input, Node, SymbolicTensor, replace_symbolic
from nablanet.models.fusion import Pattern, match
from nablanet.models.model import Model

__all__ = ["Functional"]


def _symbols(structure: Any) -> list[SymbolicTensor]:
    return [t for t in _flatten(structure) if isinstance(t, SymbolicTensor)]


class Functional(Model):
    """A model defined by a graph of layer calls (what ``Model(inputs, outputs)`` returns).

    Parameters
    ----------
    inputs : SymbolicTensor, list or dict of them
        Made by ``layers.Input``.
    outputs : SymbolicTensor, list or dict of them
        Results of layer calls on (tensors derived from) ``inputs``.
    name : str, optional
    trainable : bool

    Examples
    --------
    >>> from nablanet import layers, models
    >>> a = layers.Input(shape=(3,), name="a")
    >>> b = layers.Input(shape=(2,), name="b")
    >>> h = layers.Concatenate()([layers.Dense(4)(a), b])
    >>> model = models.Model([a, b], [layers.Dense(1, name="y1")(h), layers.Dense(2, name="y2")(h)])
    >>> model.output_names
    ['y1', 'y2']
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None,
                 trainable: bool = True, dtype: Any = None) -> None:
        Model.__init__(self, name=name, trainable=trainable, dtype=dtype)
        if isinstance(inputs, dict):
            inputs = dict(inputs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        in_list = _symbols(inputs)
        out_list = _symbols(outputs)
        if not in_list or len(in_list) != len(_flatten(inputs)):
            raise ValueError(
                "Functional model: all inputs must be symbolic tensors made by layers.Input. "
                f"Received: inputs={inputs!r}"
            )
        if not out_list or len(out_list) != len(_flatten(outputs)):
            raise ValueError(
                "Functional model: all outputs must be symbolic tensors (results of layer "
                f"calls on Inputs). Received: outputs={outputs!r}"
            )
        for t in in_list:
            if t.node is not None:
                raise ValueError(
                    f"Functional model: input {t!r} is not an Input but the output of layer "
                    f"{t.node.layer.name!r}. Pass the layers.Input(...) tensors as inputs."
                )
        self._input_list = in_list
        self._output_list = out_list
        self._nodes = self._topological_nodes()
        self._conv_of_pool = self._conv_pool_pairs()
        self._deferred = {id(first) for first, _ in self._conv_of_pool.values()}
        layers: list[Layer] = []
        for node in self._nodes:
            if all(node.layer is not seen for seen in layers):
                layers.append(node.layer)
        names: dict[str, Layer] = {}
        for layer in layers:
            other = names.get(layer.name)
            if other is not None and other is not layer:
                raise ValueError(
                    f'The name "{layer.name}" is used 2 times in the model. All layer names '
                    "should be unique."
                )
            names[layer.name] = layer
        self._layers.extend(layers)
        self.built = True
        self._build_input_shape = [t.shape for t in in_list]

    def _topological_nodes(self) -> list[Node]:
        """The nodes between inputs and outputs, each after the nodes it depends on."""
        input_ids = {id(t) for t in self._input_list}
        order: list[Node] = []
        state: dict[int, int] = {}  # id(node) -> 1 visiting, 2 done
        for out in self._output_list:
            if id(out) in input_ids:
                continue
            stack: list[tuple[Node, bool]] = [(out.node, False)]  # type: ignore[list-item]
            while stack:
                node, expanded = stack.pop()
                if expanded:
                    if state.get(id(node)) != 2:
                        state[id(node)] = 2
                        order.append(node)
                    continue
                if state.get(id(node)) == 2:
                    continue
                state[id(node)] = 1
                stack.append((node, True))
                for parent in node.parents:
                    if id(parent) in input_ids:
                        continue
                    if parent.node is None:
                        raise ValueError(
                            f"Graph disconnected: cannot find the value of tensor {parent!r} "
                            f"needed by layer {node.layer.name!r}: it is an Input that is not "
                            "among the model's inputs. Pass it in `inputs`."
                        )
                    if state.get(id(parent.node)) != 2:
                        stack.append((parent.node, False))
        return order

    def _conv_pool_pairs(self) -> dict[int, tuple[Node, Pattern]]:
        """``id(node) -> (previous node, pattern)`` for each plain layer call whose input is the
        only use of a plain call that the fusion pass fuses with it
        (:func:`nablanet.models.fusion.match`): :meth:`call` runs the pair as one step."""
        uses: dict[int, int] = {}
        for t in [p for node in self._nodes for p in node.parents] + self._output_list:
            uses[id(t)] = uses.get(id(t), 0) + 1

        def plain(node: Node) -> bool:  # one symbolic argument, no options
            return (len(node.args) == 1 and isinstance(node.args[0], SymbolicTensor)
                    and all(v is None for v in node.kwargs.values()))

        pairs = {}
        for node in self._nodes:
            if not plain(node):
                continue
            source = node.args[0]
            first = source.node
            if first is None or not plain(first) or len(first.outputs) != 1 or \
                    uses.get(id(source)) != 1:
                continue
            pattern = match(first.layer, node.layer)
            if pattern is not None:
                pairs[id(node)] = (first, pattern)
        return pairs

    # -- calling ------------------------------------------------------------------------------
    def _bind_inputs(self, inputs: Any) -> dict[int, Any]:
        if isinstance(self._inputs_struct, dict):
            if not isinstance(inputs, dict):
                values = _flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
                if len(values) != len(self._input_list):
                    raise ValueError(f'Layer "{self.name}" expects {len(self._input_list)} '
                                     f"input(s), but it received {len(values)}.")
                return {id(t): v for t, v in zip(self._input_list, values)}
            missing = sorted(set(self._inputs_struct) - set(inputs))
            if missing:
                raise ValueError(f'Layer "{self.name}": missing inputs {missing}. Expected '
                                 f"keys {sorted(self._inputs_struct)}")
            return {id(t): inputs[k] for k, t in self._inputs_struct.items()}
        if isinstance(inputs, dict):
            by_name = {t.name: t for t in self._input_list}
            unknown = sorted(set(inputs) - set(by_name))
            if unknown or len(inputs) != len(by_name):
                raise ValueError(f'Layer "{self.name}": input keys {sorted(inputs)} do not '
                                 f"match the input names {sorted(by_name, key=str)}")
            return {id(by_name[k]): v for k, v in inputs.items()}
        values = _flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(values) != len(self._input_list):
            raise ValueError(f'Layer "{self.name}" expects {len(self._input_list)} input(s), '
                             f"but it received {len(values)} input tensors.")
        return {id(t): v for t, v in zip(self._input_list, values)}

    def call(self, inputs: Any, training: bool = False) -> Any:
        values = self._bind_inputs(inputs)
        ordered = [values[id(t)] for t in self._input_list]
        self._check_inputs(ordered)
        for node in self._nodes:
            if id(node) in self._deferred:  # a conv that runs with its max-pool
                continue
            fused = self._conv_of_pool.get(id(node))
            result = None
            if fused is not None:
                first, pattern = fused
                x = _to_tensors(values[id(first.args[0])])
                result = pattern.run(first.layer, node.layer, x)
                if result is None:
                    values[id(first.outputs[0])] = first.replay(values)
            if result is None:
                result = node.replay(values)
            flat = _flatten(result)
            for symbol, value in zip(node.outputs, flat):
                values[id(symbol)] = value
        return replace_symbolic(self._outputs_struct, values)

    def _input_spec(self) -> list[tuple[Any, ...]] | None:
        return [tuple(t.shape) for t in self._input_list]

    def _input_spec_owner(self) -> str:
        return self._input_list[0].name or self.name

    def _check_inputs(self, x: Any) -> None:
        if isinstance(x, dict):
            x = [x[k] for k in self._inputs_struct] if isinstance(self._inputs_struct, dict) \
                else list(x.values())
        super()._check_inputs(x)

    def _output_shapes(self) -> list[tuple[Any, ...]] | None:
        return [tuple(t.shape) for t in self._output_list]

    # -- structure ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The InputLayers of the inputs, then the layers in call order (as in Keras)."""
        inputs = [t.input_layer for t in self._input_list if t.input_layer is not None]
        return [*inputs, *self._layers]

    @property
    def inputs(self) -> list[SymbolicTensor]:
        return list(self._input_list)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self._output_list)

    @property
    def input_names(self) -> list[str]:
        return [t.name or f"input_{i}" for i, t in enumerate(self._input_list)]

    @property
    def output_names(self) -> list[str]:
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct.keys())
        names = []
        for t in self._output_list:
            names.append(t.node.layer.name if t.node is not None else (t.name or "output"))
        return names

    @property
    def input_shape(self) -> Any:
        shapes = [tuple(t.shape) for t in self._input_list]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [tuple(t.shape) for t in self._output_list]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def nodes(self) -> list[Node]:
        """The recorded layer calls in execution (topological) order."""
        return list(self._nodes)

    # -- configuration ------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Layers (configs) and connectivity: the nodes in order, with tensor references."""
        from nablanet.models.saving import serialize_layer

        node_index = {id(node): i for i, node in enumerate(self._nodes)}
        input_index = {id(t): i for i, t in enumerate(self._input_list)}

        def encode(value: Any) -> Any:
            if isinstance(value, SymbolicTensor):
                if id(value) in input_index:
                    return {"__input__": input_index[id(value)]}
                if value.node is None or id(value.node) not in node_index:
                    raise ValueError(f"{self.name}: tensor {value!r} is not part of the graph")
                return {"__node__": node_index[id(value.node)], "index": value.index}
            if isinstance(value, tuple):
                return {"__tuple__": [encode(v) for v in value]}
            if isinstance(value, list):
                return [encode(v) for v in value]
            if isinstance(value, dict):
                return {"__dict__": {str(k): encode(v) for k, v in value.items()}}
            if value is None or isinstance(value, (bool, int, float, str)):
                return value
            raise ValueError(
                f"{self.name}: cannot save a layer call argument of type "
                f"{type(value).__name__} ({value!r}); only tensors, numbers, strings and "
                "lists/dicts of them can be saved."
            )

        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [serialize_layer(layer) for layer in self._layers],
            "inputs": [{"batch_shape": list(t.shape), "dtype": t.dtype, "name": t.name}
                       for t in self._input_list],
            "nodes": [{"layer": node.layer.name, "args": encode(node.args),
                       "kwargs": encode(node.kwargs)} for node in self._nodes],
            "input_structure": encode(self._inputs_struct),
            "output_structure": encode(self._outputs_struct),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
                    ) -> Functional:
        from nablanet.models.saving import deserialize_layer

        def field(owner: Any, key: str, kind: Any, where: str = "the configuration") -> Any:
            value = owner.get(key) if isinstance(owner, dict) else None
            if not isinstance(value, kind):
                raise ValueError(f"Functional.from_config: {where} needs a {key!r} field "
                                 f"of the right kind. Received: {key}={value!r:.80}")
            return value

        layers = {}
        for layer_config in config.get("layers", []):
            layer = deserialize_layer(layer_config, custom_objects)
            layers[layer.name] = layer
        inputs = [Input(batch_shape=tuple(field(spec, "batch_shape", list, "each input")),
                        dtype=spec.get("dtype"), name=spec.get("name"))
                  for spec in field(config, "inputs", list)]
        produced: list[list[Any]] = []

        def reference(table: list[Any], value: Any, key: str) -> Any:
            index = value.get(key)
            if isinstance(index, bool) or not isinstance(index, int) \
                    or not 0 <= index < len(table):
                raise ValueError(f"Functional.from_config: the reference {key}={index!r} "
                                 f"points outside the {len(table)} tensors defined before it.")
            return table[index]

        def decode(value: Any) -> Any:
            if isinstance(value, dict):
                if "__input__" in value:
                    return reference(inputs, value, "__input__")
                if "__node__" in value:
                    return reference(reference(produced, value, "__node__"), value, "index")
                if "__tuple__" in value:
                    return tuple(decode(v) for v in value["__tuple__"])
                if "__dict__" in value:
                    return {k: decode(v) for k, v in value["__dict__"].items()}
                raise ValueError(f"Functional.from_config: malformed entry {value!r}")
            if isinstance(value, list):
                return [decode(v) for v in value]
            return value

        for node_config in config.get("nodes", []):
            name = node_config.get("layer") if isinstance(node_config, dict) else None
            if not isinstance(name, str) or name not in layers:
                raise ValueError(f"Functional.from_config: node refers to unknown layer {name!r}")
            args = decode(field(node_config, "args", (list, dict), f"node {name!r}"))
            kwargs = decode(field(node_config, "kwargs", dict, f"node {name!r}"))
            result = layers[name](*args, **kwargs)
            produced.append(_flatten(result))
        for key in ("input_structure", "output_structure"):
            if key not in config:
                raise ValueError(f"Functional.from_config: the configuration needs an {key!r} "
                                 "field.")
        return cls(decode(config["input_structure"]), decode(config["output_structure"]),
                   name=config.get("name"), trainable=config.get("trainable", True))
