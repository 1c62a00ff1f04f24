"""Layer wrappers: ``Bidirectional`` (a recurrent layer run both ways) and ``TimeDistributed``
(one layer applied to every time step), with Keras 3 arguments."""

from __future__ import annotations

from typing import Any, cast

from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import LAYER_REGISTRY, Layer
from nablanet.layers.recurrent import RNN
from nablanet.ops.elementwise import add, mul
from nablanet.ops.shape import concatenate, flip, reshape

__all__ = ["Bidirectional", "TimeDistributed"]

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _layer_config(layer: Layer) -> dict[str, Any]:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _layer_from_config(owner: str, config: Any) -> Layer:
    if isinstance(config, Layer):
        return config
    if not isinstance(config, dict) or config.get("class_name") not in LAYER_REGISTRY:
        raise ValueError(f"{owner}: cannot recreate the wrapped layer from {config!r}: expected "
                         f"{{'class_name': <a nablanet layer>, 'config': ...}}.")
    return LAYER_REGISTRY[config["class_name"]].from_config(dict(config["config"]))


class Bidirectional(Layer):
    r"""Runs a recurrent layer forwards and a copy of it backwards and merges the outputs.

    .. math::

        y_t = \mathrm{merge}\big(\overrightarrow{h}_t,\ \overleftarrow{h}_t\big)

    where :math:`\overleftarrow{h}` is computed from :math:`x_T` down to :math:`x_1`. With
    ``return_sequences`` the backward layer's output sequence is reversed back into time order
    before merging (so step :math:`t` of both halves refers to input step :math:`t`); without,
    the two last outputs are merged.

    Parameters
    ----------
    layer : RNN
        ``SimpleRNN``, ``LSTM`` or ``GRU`` (the forward layer).
    merge_mode : {'concat', 'sum', 'mul', 'ave', None}
        How the two outputs are combined; None returns them as a list ``[forward, backward]``.
    backward_layer : RNN, optional
        The backward layer; by default a copy of ``layer``'s configuration with
        ``go_backwards`` flipped (its own weights).

    With ``return_state`` the layer returns ``[output, *forward_states, *backward_states]``,
    and ``initial_state`` takes the forward layer's states then the backward layer's.

    Input shape
    -----------
    ``(batch, timesteps, features)``

    Output shape
    ------------
    The wrapped layer's, with ``2 * units`` features for ``merge_mode='concat'``.

    Examples
    --------
    >>> import numpy as np
    >>> from nablanet.layers import LSTM
    >>> Bidirectional(LSTM(4, return_sequences=True))(np.ones((2, 5, 3), np.float32)).shape
    (2, 5, 8)
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Layer | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        layer = _layer_from_config("Bidirectional", layer)
        if not isinstance(layer, RNN):  # SimpleRNN, LSTM, GRU (RNN itself cannot be made)
            raise ValueError(f"Bidirectional: layer must be a recurrent layer (SimpleRNN, LSTM "
                             f"or GRU). Received: layer={layer!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {list(MERGE_MODES)}. "
                             f"Received: merge_mode={merge_mode!r}")
        backward: RNN
        if backward_layer is None:
            config = layer.get_config()
            config["name"] = "backward_" + layer.name
            config["go_backwards"] = not layer.go_backwards
            backward = type(layer).from_config(config)
        else:
            # Used as a recurrent layer like ``layer`` (Keras requires one; not checked here).
            backward = cast(RNN, _layer_from_config("Bidirectional", backward_layer))
            for attr in ("return_sequences", "return_state", "stateful"):
                if getattr(backward, attr) != getattr(layer, attr):
                    raise ValueError(
                        f"Bidirectional: forward and backward layers must have the same "
                        f"{attr}. Received: {getattr(layer, attr)} and "
                        f"{getattr(backward, attr)}")
        self.forward_layer = layer
        self.backward_layer = backward
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        self.supports_masking = True
        self._initial_weights = weights

    def build(self, input_shape: Any) -> None:
        self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)
        self.forward_layer.built = self.backward_layer.built = True
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def reset_states(self, states: Any = None) -> None:
        """Reset both layers' stored states (``stateful`` layers only)."""
        self.forward_layer.reset_states(None if states is None else states[:len(states) // 2])
        self.backward_layer.reset_states(None if states is None else states[len(states) // 2:])

    def _merge(self, a: Tensor, b: Tensor) -> Any:
        if self.merge_mode == "concat":
            return concatenate([a, b], axis=-1)
        if self.merge_mode == "sum":
            return add(a, b)
        if self.merge_mode == "mul":
            return mul(a, b)
        if self.merge_mode == "ave":
            return mul(add(a, b), 0.5)
        return [a, b]

    def call(self, inputs: Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        fw_init = bw_init = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            half = len(states) // 2
            if len(states) % 2 or half == 0:
                raise ValueError(f"Bidirectional '{self.name}': initial_state must hold the "
                                 f"forward layer's states then the backward layer's (an even "
                                 f"number). Received {len(states)} states.")
            fw_init, bw_init = states[:half], states[half:]
        fw = self.forward_layer(inputs, initial_state=fw_init, mask=mask, training=training)
        bw = self.backward_layer(inputs, initial_state=bw_init, mask=mask, training=training)
        fw_states: list[Any] = []
        bw_states: list[Any] = []
        if self.return_state:
            fw, *fw_states = fw
            bw, *bw_states = bw
        if self.return_sequences:
            bw = flip(bw, 1)
        output = self._merge(fw, bw)
        if self.return_state:
            outputs = (output if isinstance(output, list) else [output]) + fw_states + bw_states
            if self.return_sequences and mask is not None:
                outputs[0]._keras_mask = mask
            return outputs
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask if self.return_sequences else None

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, *states = shape
        shape = tuple(shape)
        if self.merge_mode == "concat":
            out: Any = (*shape[:-1], 2 * shape[-1])
        elif self.merge_mode is None:
            out = [shape, shape]
        else:
            out = shape
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states + states
        return out

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "layer": _layer_config(self.forward_layer),
                  "merge_mode": self.merge_mode}
        if self.backward_layer.name != "backward_" + self.forward_layer.name:
            config["backward_layer"] = _layer_config(self.backward_layer)
        return config


class TimeDistributed(Layer):
    r"""Applies ``layer`` to every time step: :math:`y_{:, t} = f(x_{:, t})` with one set of
    weights, computed as one call on the ``(batch · timesteps, ...)`` reshaped input.

    Parameters
    ----------
    layer : Layer
        Any layer taking ``(batch, ...)`` inputs.

    Input shape
    -----------
    ``(batch, timesteps, ...)``

    Output shape
    ------------
    ``(batch, timesteps, *layer_output_shape[1:])``. An input mask is passed on.

    Examples
    --------
    >>> import numpy as np
    >>> from nablanet.layers import Dense
    >>> TimeDistributed(Dense(2))(np.ones((4, 5, 3), np.float32)).shape
    (4, 5, 2)
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        layer = _layer_from_config("TimeDistributed", layer)
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: layer must be a Layer. Received: "
                             f"layer={layer!r}")
        self.layer = layer
        self.supports_masking = True

    def _check(self, shape: tuple[Any, ...]) -> None:
        if len(shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}': expected inputs of rank >= 3 "
                             f"(batch, timesteps, ...). Received: inputs.shape={shape}")

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        self._check(shape)
        inner = (None if shape[0] is None or shape[1] is None else shape[0] * shape[1],
                 *shape[2:])
        if not self.layer.built:
            self.layer.build(inner)
            self.layer.built = True
        self.built = True

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        shape = tuple(inputs.shape)
        self._check(shape)
        n, t = shape[:2]
        out = self.layer(reshape(inputs, (n * t, *shape[2:])), training=training)
        return reshape(out, (n, t, *out.shape[1:]))

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        self._check(shape)
        inner = self.layer.compute_output_shape((None, *shape[2:]))
        return (shape[0], shape[1], *tuple(inner)[1:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": _layer_config(self.layer)}
