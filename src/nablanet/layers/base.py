"""``Layer``: the Keras layer contract.

A layer's life:

1. ``__init__`` stores configuration only (and validates it);
2. on the first call, ``build(input_shape)`` creates the weights with :meth:`Layer.add_weight`;
3. every call runs ``call(inputs, training=...)`` on Tensors and records the regularisation
   penalties of that call in :attr:`Layer.losses`;
4. ``get_config()`` / ``from_config()`` round-trip the configuration (no weights).

Calling a layer on the symbolic tensors of :func:`nablanet.layers.Input` records a node of
a functional graph instead of computing (see :mod:`nablanet.layers.input_layer`).

Masks follow Keras: a layer that produces a mask (``compute_mask``) attaches it to its output
tensor; the next layer receives it as the ``mask`` argument of ``call`` when its ``call``
accepts one, and passes it on when ``supports_masking`` is true.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator, Sequence
from typing import Any, Self

import numpy as np

from nablanet.autograd.function import no_grad
from nablanet.autograd.tensor import Tensor
from nablanet.autograd.variable import Variable

Shape = tuple[int | None, ...]

#: Every Layer subclass defined inside nablanet, by class name: the allow-list that
#: saved models are resolved against (no import of names read from files).
LAYER_REGISTRY: dict[str, type[Layer]] = {}

_NAME_COUNTS: dict[str, int] = {}


def to_snake_case(name: str) -> str:
    """``BatchNormalization`` -> ``batch_normalization`` (Keras's automatic layer names)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return name.replace("2_d", "2d").replace("1_d", "1d").replace("3_d", "3d")


def unique_name(base: str) -> str:
    """``dense``, ``dense_1``, ``dense_2``, ... as Keras names layers."""
    count = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def clear_session() -> None:
    """Reset automatic layer names (``keras.backend.clear_session``)."""
    _NAME_COUNTS.clear()


class _CallContext:
    """The ``training`` flag of the outermost call, inherited by nested layer calls."""

    training: bool = False
    depth: int = 0


def _shape_of(x: Any) -> Any:
    """Shape of a Tensor/array, or a list of shapes for a list of inputs."""
    if isinstance(x, (list, tuple)):
        return [_shape_of(v) for v in x]
    if isinstance(x, dict):
        return {k: _shape_of(v) for k, v in x.items()}
    return tuple(x.shape)


def _to_tensors(x: Any) -> Any:
    if isinstance(x, Tensor) or _is_symbolic(x):
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(_to_tensors(v) for v in x)
    if isinstance(x, dict):
        return {k: _to_tensors(v) for k, v in x.items()}
    if x is None:
        return None
    return Tensor(x)


def _flatten(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [item for v in x for item in _flatten(v)]
    if isinstance(x, dict):
        return [item for v in x.values() for item in _flatten(v)]
    return [x]


def _is_symbolic(x: Any) -> bool:
    from nablanet.layers.input_layer import SymbolicTensor

    return isinstance(x, SymbolicTensor)


def _accepted_arguments(cls: type) -> list[str]:
    """Keyword arguments accepted by ``cls.__init__`` and every base class's ``__init__``."""
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) \
                    and p.name not in names:
                names.append(p.name)
    return names


def _unexpected_kwargs_message(cls: type, kwargs: dict[str, Any]) -> str:
    """``Dense: unexpected keyword argument 'regularizer'; did you mean ...?`` (difflib)."""
    import difflib

    accepted = _accepted_arguments(cls)
    parts = []
    for key in sorted(kwargs):
        # 'regularizer' -> 'kernel_regularizer' first (ERRATA 5.1), then close spellings.
        suffixed = sorted((a for a in accepted if a.endswith("_" + key)),
                          key=lambda a: (not a.startswith("kernel_"), a))
        close = suffixed + [a for a in difflib.get_close_matches(key, accepted, n=3, cutoff=0.6)
                            if a not in suffixed]
        hint = f"; did you mean {' or '.join(repr(c) for c in close[:3])}?" if close else "."
        parts.append(f"unexpected keyword argument {key!r}{hint}")
    return f"{cls.__name__}: {' '.join(parts)} Accepted arguments: {sorted(accepted)}."


class Layer:
    """Base class of all layers (Keras 3 contract).

    Parameters
    ----------
    trainable : bool
        Whether the layer's weights are updated by training.
    name : str, optional
        Unique name; by default the class name in snake case, numbered (``dense_1``).
    dtype : str, optional
        Only ``'float32'`` (the default) and ``'float64'`` are supported.
    activity_regularizer : regularizer, optional
        Penalty on the layer's output, added to :attr:`losses`.
    input_shape : tuple, optional
        Shape of one sample (without the batch axis), as Keras accepts on the first layer of
        a ``Sequential`` model.

    Subclasses implement ``build(input_shape)`` (create weights with :meth:`add_weight`),
    ``call(inputs, training=False)``, ``compute_output_shape`` and ``get_config``.
    """

    _layers: list[Layer]  # set with object.__setattr__ before attribute tracking starts

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("nablanet."):
            LAYER_REGISTRY[cls.__name__] = cls

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 activity_regularizer: Any = None, input_shape: Sequence[int | None] | None = None,
                 input_dim: int | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(_unexpected_kwargs_message(type(self), kwargs))
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string. "
                             f"Received: name={name!r}")
        object.__setattr__(self, "_layers", [])
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        from nablanet.config import floatx

        self.dtype = np.dtype(dtype or floatx()).name
        # as in Keras, a layer without weights (no build of its own) is built at once
        self.built = type(self).build is Layer.build
        self._weights: list[Tensor] = []
        self._weight_names: list[str] = []
        self._weight_trainable: list[bool] = []
        self._regularized: list[tuple[Tensor, Any]] = []
        self._losses: list[Tensor] = []
        from nablanet import regularizers

        self.activity_regularizer = regularizers.get(activity_regularizer)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self._batch_input_shape: Shape | None = (
            (None, *tuple(input_shape)) if input_shape is not None else None
        )
        self.supports_masking = False

    # -- attribute tracking -------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        layers = self.__dict__.get("_layers")
        if layers is not None and not name.startswith("_"):
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, Layer) and item is not self and item not in layers:
                    layers.append(item)
        object.__setattr__(self, name, value)

    @property
    def trainable(self) -> bool:
        """Whether training updates this layer's weights.

        Setting it to False also stops gradients being computed for the weights (they no
        longer require grad); gradients still flow through the layer to its inputs.
        """
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._flatten_layers():
            for weight, trainable in zip(layer._weights, layer._weight_trainable):
                weight.requires_grad = trainable and layer._trainable and self._trainable

    @property
    def layers(self) -> list[Layer]:
        """Layers assigned as attributes of this one (in assignment order)."""
        return list(self._layers)

    def _first_node(self, what: str) -> Any:
        nodes = self.__dict__.get("_inbound_nodes")
        if not nodes:
            raise AttributeError(f"Layer {self.name} has never been called on symbolic "
                                 f"inputs (layers.Input) and thus has no defined {what}.")
        return nodes[0]

    @property
    def input(self) -> Any:
        """The symbolic input of this layer's first call on symbolic tensors (Keras's
        ``layer.input``; a list when that call had several)."""
        parents = self._first_node("input").parents
        return parents[0] if len(parents) == 1 else list(parents)

    @property
    def output(self) -> Any:
        """The symbolic output of this layer's first call on symbolic tensors."""
        outputs = self._first_node("output").outputs
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def _flatten_layers(self) -> Iterator[Layer]:
        """This layer and every nested layer, depth first, each once."""
        seen: set[int] = set()
        stack: list[Layer] = [self]
        while stack:
            layer = stack.pop(0)
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            yield layer
            stack[:0] = layer._layers

    # -- weights ------------------------------------------------------------------------------
    def add_weight(self, name: str | None = None, shape: Sequence[int] = (),
                   initializer: Any = "glorot_uniform", regularizer: Any = None,
                   trainable: bool = True, dtype: Any = None, constraint: Any = None) -> Tensor:
        """Create a weight of ``shape`` with values from ``initializer``.

        The weight is a :class:`~nablanet.Tensor` that requires grad when ``trainable``;
        training updates its ``data`` in place, so references to it stay valid.
        ``regularizer(weight)`` is added to :attr:`losses` on every call. The weight is a
        :class:`~nablanet.Variable` named ``name`` with path ``"<layer name>/<name>"``;
        ``constraint`` (see :mod:`nablanet.constraints`) is kept as ``weight.constraint``
        and applied by the optimizer after each update.
        """
        from nablanet import constraints, initializers, regularizers

        shape = tuple(int(n) for n in shape)
        if any(n < 0 for n in shape):
            raise ValueError(f"{self.name}: weight {name!r} has a negative dimension: {shape}")
        init = initializers.get(initializer)
        if init is None:  # the TypeError calling None would raise, with a clearer message
            raise TypeError(f"{self.name}: weight {name!r} needs an initializer. "
                            "Received: initializer=None")
        from nablanet.models.saving import check_allocation  # a file being loaded caps it

        check_allocation(self.name, name, shape, dtype or self.dtype)
        values = np.asarray(init(shape, dtype=dtype or self.dtype), dtype=dtype or self.dtype)
        name = name or f"variable_{len(self._weights)}"
        weight = Variable(values, dtype=values.dtype, name=name, path=f"{self.name}/{name}",
                          trainable=trainable, constraint=constraints.get(constraint))
        weight.requires_grad = bool(trainable) and self._trainable
        self._weights.append(weight)
        self._weight_names.append(name)
        self._weight_trainable.append(bool(trainable))
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._regularized.append((weight, reg))
        return weight

    def _own_weights(self, trainable: bool | None) -> list[Tensor]:
        return [w for w, t in zip(self._weights, self._weight_trainable)
                if trainable is None or (t and self.trainable) == trainable]

    @property
    def trainable_weights(self) -> list[Tensor]:
        """Weights updated by training (empty when ``trainable`` is False)."""
        if not self.trainable:
            return []
        return [w for layer in self._flatten_layers() if layer.trainable
                for w in layer._own_weights(True)]

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        """Weights not updated by gradient descent (e.g. batch-norm moving statistics)."""
        out = []
        for layer in self._flatten_layers():
            if self.trainable:
                out += layer._own_weights(False)
            else:
                out += layer._own_weights(None)
        return out

    @property
    def weights(self) -> list[Tensor]:
        """``trainable_weights + non_trainable_weights``, as Keras orders them."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_variables(self) -> list[Tensor]:
        """Keras's other name for :attr:`trainable_weights` (``tape.gradient(loss, ...)``)."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Tensor]:
        """Keras's other name for :attr:`non_trainable_weights`."""
        return self.non_trainable_weights

    @property
    def variables(self) -> list[Tensor]:
        """Keras's other name for :attr:`weights`."""
        return self.weights

    def _named_weights(self) -> list[tuple[str, Tensor]]:
        """Every weight with a path name unique within this layer (for saving)."""
        out = []
        for layer in self._flatten_layers():
            prefix = "" if layer is self else f"{layer.name}/"
            out += [(f"{prefix}{n}", w) for n, w in zip(layer._weight_names, layer._weights)]
        return out

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights as NumPy arrays, in :attr:`weights` order."""
        return [w.data.copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set the weights from arrays in :attr:`weights` order (shapes must match)."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Layer {self.name}: you called `set_weights(weights)` with a weight list of "
                f"length {len(weights)}, but the layer was expecting {len(own)} weights."
            )
        for current, new in zip(own, weights):
            new = np.asarray(new.data if isinstance(new, Tensor) else new)
            if new.shape != current.shape:
                raise ValueError(
                    f"Layer {self.name}: weight shape {current.shape} is not compatible with "
                    f"provided weight shape {new.shape}."
                )
        for current, new in zip(own, weights):
            current.data[...] = np.asarray(new.data if isinstance(new, Tensor) else new)

    def count_params(self) -> int:
        """Number of scalars in all weights."""
        return int(sum(w.size for w in self.weights))

    # -- losses -------------------------------------------------------------------------------
    @property
    def losses(self) -> list[Tensor]:
        """Regularisation penalties: weight penalties, plus the last call's activity and
        ``add_loss`` terms.

        As in Keras 3, weight penalties ``regularizer(weight)`` are computed when this
        property is read (once per training step), not on every call, and the activity
        penalty is added undivided by the batch size.
        """
        out = []
        for layer in self._flatten_layers():
            out += [regularizer(weight) for weight, regularizer in layer._regularized]
            out += layer._losses
        return out

    def add_loss(self, loss: Any) -> None:
        """Add a scalar term to the training loss for the current call."""
        self._losses.append(loss if isinstance(loss, Tensor) else Tensor(loss))

    # -- calling ------------------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis included)."""
        self.built = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs: the input mask when ``supports_masking``, else None."""
        return mask if self.supports_masking else None

    def _call_accepts(self, argument: str) -> bool:
        cache = type(self).__dict__.get("_call_arguments")
        if cache is None:
            cache = set(inspect.signature(self.call).parameters)
            type.__setattr__(type(self), "_call_arguments", cache)
        return argument in cache

    def _maybe_build(self, inputs: Any) -> None:
        if not self.built:
            self.build(_shape_of(inputs))
            self.built = True

    def __call__(self, *args: Any, training: bool | None = None, mask: Any = None,
                 **kwargs: Any) -> Any:
        if args:
            inputs, args = args[0], args[1:]
        else:  # the first argument of call() given by keyword, e.g. layer(logits=..., ...)
            first = self._first_call_argument()
            if first not in kwargs:
                raise TypeError(f"{self.name}: missing the first argument of call(), "
                                f"{first!r}.")
            inputs = kwargs.pop(first)
        if any(_is_symbolic(x) for x in _flatten(inputs)):
            from nablanet.layers.input_layer import symbolic_call

            return symbolic_call(self, inputs, args, dict(kwargs, training=training, mask=mask))
        inputs = _to_tensors(inputs)
        if mask is None and isinstance(inputs, Tensor):
            mask = getattr(inputs, "_keras_mask", None)
        if training is None:
            training = _CallContext.training
        previous = _CallContext.training
        _CallContext.training = bool(training)
        _CallContext.depth += 1
        try:
            self._maybe_build(inputs)
            self._losses = []
            if self._call_accepts("training"):
                kwargs["training"] = bool(training)
            if mask is not None and self._call_accepts("mask"):
                kwargs["mask"] = mask
            outputs = self.call(inputs, *args, **kwargs)
            if self.activity_regularizer is not None:
                for out in _flatten(outputs):
                    self._losses.append(self.activity_regularizer(out))
            out_mask = self.compute_mask(inputs, mask)
            if out_mask is not None and isinstance(outputs, Tensor):
                outputs._keras_mask = out_mask
        finally:
            _CallContext.training = previous
            _CallContext.depth -= 1
        return outputs

    def _first_call_argument(self) -> str:
        import inspect

        return next(iter(inspect.signature(self.call).parameters))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape for ``input_shape`` (``None`` for unknown sizes).

        The default runs the layer on zeros (unknown sizes tried at two lengths; the axes
        whose size follows the input are reported as ``None``). Layers override it when a
        formula is cheaper.
        """
        return infer_output_shape(self, input_shape)

    # -- configuration ------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that recreate this layer (no weights)."""
        from nablanet import regularizers

        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": self.dtype}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self._batch_input_shape is not None:
            config["input_shape"] = list(self._batch_input_shape[1:])
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Recreate a layer from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def infer_output_shape(layer: Layer, input_shape: Any) -> Any:
    """Output shape(s) of ``layer`` found by running it on zeros.

    Unknown (None) input sizes are tried as 2 and then 3; output axes whose size changes
    between the two runs are unknown too.
    """

    def concrete(shape: Any, fill: int) -> Any:
        if isinstance(shape, list):
            return [concrete(s, fill) for s in shape]
        return tuple(fill if n is None else n for n in shape)

    def zeros(shape: Any) -> Any:
        if isinstance(shape, list):
            return [zeros(s) for s in shape]
        return Tensor(np.zeros(shape, dtype=np.float32))

    def run(fill: int) -> tuple[list[tuple[int, ...]], Any]:
        with no_grad():
            out = layer(zeros(concrete(input_shape, fill)), training=False)
        return [tuple(o.shape) for o in _flatten(out)], out

    shapes_a, out = run(2)
    has_unknown = any(n is None for s in _flatten_shapes(input_shape) for n in s)
    shapes_b = run(3)[0] if has_unknown else shapes_a
    merged = [tuple(a if a == b else None for a, b in zip(sa, sb))
              for sa, sb in zip(shapes_a, shapes_b)]
    if isinstance(out, (list, tuple)):
        return merged
    return merged[0]


def _flatten_shapes(shape: Any) -> list[tuple[int | None, ...]]:
    if isinstance(shape, list):
        return [s for item in shape for s in _flatten_shapes(item)]
    return [tuple(shape)]
