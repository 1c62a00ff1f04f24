r"""Recurrent layers: ``SimpleRNN``, ``LSTM`` and ``GRU`` (chapter §8), with Keras 3 arguments.

All three share :class:`RNN`'s machinery: validation of the inputs, ``initial_state``, masks,
dropout, ``return_sequences`` / ``return_state``, ``go_backwards`` and ``stateful``. The work is
done by the fused whole-sequence primitives of :mod:`nablanet.ops.recurrent` (one autograd node
per call, hand-written backpropagation through time); the weights have Keras's layouts and gate
orders:

=========  ======================  ==========================  ================================
layer      ``kernel``              ``recurrent_kernel``        ``bias``
=========  ======================  ==========================  ================================
SimpleRNN  ``(input_dim, u)``      ``(u, u)``                  ``(u,)``
LSTM       ``(input_dim, 4u)``     ``(u, 4u)``, gates i f c o  ``(4u,)``
GRU        ``(input_dim, 3u)``     ``(u, 3u)``, gates z r h    ``(2, 3u)`` when ``reset_after``
                                                               (row 0 input, row 1 recurrent
                                                               bias), else ``(3u,)``
=========  ======================  ==========================  ================================

:mod:`nablanet.layers.recurrent_weights` converts these to and from PyTorch's ``nn.RNN`` /
``nn.LSTM`` / ``nn.GRU`` weights.

**Masks.** A ``mask`` of shape ``(batch, timesteps)`` (True = real step), given to ``call`` or
attached to the inputs by ``Embedding(mask_zero=True)`` or ``Masking``: at a masked step the
states carry over unchanged and the output is the carried state, so the last output and the
final states are those of the last real step. With ``return_sequences`` the mask is passed on.

**Dropout.** As in Keras, one dropout mask per sequence: ``dropout`` drops the same input
features at every step (applied to the inputs before the fused primitive), ``recurrent_dropout``
drops the same units of :math:`h_{t-1}` where it enters the recurrent products at every step
(the carried state itself is not dropped). The fused primitives have no hook inside their loop,
so a call with ``recurrent_dropout > 0`` in training runs the *composite path*: the same
equations step by step with nablanet's differentiable ops (one autograd node per operation; it
is slower, and exact). The composite path is also what runs activations the fused primitives do
not implement (anything but ``tanh``, ``sigmoid``, ``hard_sigmoid``, ``relu`` and ``linear``).

**Stateful.** With ``stateful=True`` the final states of a call are the initial states of the
next one (for the same batch size); :meth:`RNN.reset_states` sets them back to zeros (or to
given values).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import activations, constraints, initializers, regularizers
from nablanet import random as nb_random
from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer, _flatten, _is_symbolic
from nablanet.ops import recurrent as rnn_ops
from nablanet.ops.elementwise import add, mul, sub, where
from nablanet.ops.linalg import matmul
from nablanet.ops.shape import flip, stack

__all__ = ["GRU", "LSTM", "RNN", "SimpleRNN"]


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def _rate(owner: str, name: str, value: Any) -> float:
    rate = float(value)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{owner}: {name} must be in the interval [0, 1). "
                         f"Received: {name}={value!r}")
    return rate


def _activation_name(activation: Any) -> str | None:
    """The built-in name of ``activation`` (None for a user function)."""
    try:
        return activations.serialize(activation)
    except ValueError:
        return None


def _fused_name(activation: Any) -> str:
    """The built-in name of an activation on the fused path (``_fused_activations`` holds)."""
    name = _activation_name(activation)
    assert name is not None, "the fused path needs built-in activations"
    return name


class RNN(Layer):
    """Shared base of :class:`SimpleRNN`, :class:`LSTM` and :class:`GRU` (not used directly).

    Subclasses set ``_cell`` (``'simple_rnn'``, ``'lstm'``, ``'gru'``), ``_gates`` (blocks of
    ``units`` columns in the kernels) and ``_state_names``, and implement ``_fused`` (the
    primitive of :mod:`nablanet.ops.recurrent`) and ``_step`` (one step of the composite
    path). Everything else — arguments, weights, ``call`` — is here.

    Parameters
    ----------
    units : int
        Dimension of the hidden state (and of the output).
    activation : str or callable
        Applied to the candidate state (``tanh`` by default).
    use_bias : bool
    kernel_initializer, recurrent_initializer, bias_initializer
        Keras defaults ``'glorot_uniform'``, ``'orthogonal'`` and ``'zeros'``.
    kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer
        Penalties added to :attr:`losses`.
    dropout : float
        Fraction of the input features dropped (one mask per sequence, training only).
    recurrent_dropout : float
        Fraction of the units of :math:`h_{t-1}` dropped in the recurrent products (one mask
        per sequence, training only; runs the composite path, see the module docstring).
    seed : int, optional
        Seed of the dropout masks (else :func:`nablanet.random.generator`).
    return_sequences : bool
        Return the whole output sequence ``(batch, timesteps, units)`` instead of the last
        output ``(batch, units)``.
    return_state : bool
        Also return the final states: ``[output, h]`` (``[output, h, c]`` for LSTM).
    go_backwards : bool
        Process the sequence in reverse; the output sequence is in that reversed order.
    stateful : bool
        Carry the final states of one call over to the next call.
    unroll : bool
        Accepted for compatibility; the loop is always the fused primitive's.
    kernel_constraint, recurrent_constraint, bias_constraint
        Constraints (:mod:`nablanet.constraints`) the optimizer applies after each update.
    zero_output_for_mask : bool
        With a mask and ``return_sequences``, output zeros at the masked steps (Keras's
        option) instead of repeating the last unmasked output (the default, as in Keras).
    """

    _cell = ""
    _gates = 1
    _state_names: tuple[str, ...] = ("h",)

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        if not self._cell:
            raise TypeError("RNN is the shared base of SimpleRNN, LSTM and GRU; use one of "
                            "those.")
        self.units = _positive_int(owner, "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(owner, "dropout", dropout)
        self.recurrent_dropout = _rate(owner, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self._dropout_rng = None if seed is None else np.random.default_rng(seed)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        # As in Keras, an RNN consumes its mask; compute_mask passes it on with
        # return_sequences.
        self.supports_masking = False
        self.kernel: Tensor | None = None
        self.recurrent_kernel: Tensor | None = None
        self.bias: Tensor | None = None
        self.input_dim: int | None = None
        self.states: list[np.ndarray] | None = None
        self._tracing = False
        #: The dropout masks of the last training call, ``{'dropout': (batch, features),
        #: 'recurrent_dropout': (batch, units)}`` (scaled by ``1/(1-rate)``), for inspection.
        self.last_dropout_masks: dict[str, np.ndarray] = {}

    # -- configuration hooks of the subclasses -----------------------------------------------
    def _fused_activations(self) -> bool:
        return _activation_name(self.activation) in rnn_ops.ACTIVATIONS

    def _bias_shape(self) -> tuple[int, ...]:
        return (self._gates * self.units,)

    def _bias_initializer(self) -> Any:
        return self.bias_initializer

    # -- weights ------------------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected inputs of shape "
                             f"(batch, timesteps, features) (rank 3). Received: "
                             f"input_shape={shape}")
        if shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the feature dimension of "
                             f"the inputs must be known. Received: input_shape={shape}")
        self.input_dim = int(shape[-1])
        g = self._gates * self.units
        self.kernel = self.add_weight("kernel", (self.input_dim, g), self.kernel_initializer,
                                      self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, g),
                                                self.recurrent_initializer,
                                                self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self._bias_initializer(),
                                        self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    # -- states -------------------------------------------------------------------------------
    def reset_states(self, states: Any = None) -> None:
        """Set the stored states of a ``stateful`` layer to zeros (``states=None``: they are
        created at the next call) or to ``states`` (one ``(batch, units)`` array per state)."""
        if not self.stateful:
            raise AttributeError(f"{type(self).__name__} '{self.name}': reset_states() needs "
                                 f"a stateful layer (stateful=True).")
        if states is None:
            if self.states is not None:
                self.states = [np.zeros_like(s) for s in self.states]
            return
        values = [np.asarray(s.data if isinstance(s, Tensor) else s, dtype=self.dtype)
                  for s in (states if isinstance(states, (list, tuple)) else [states])]
        self._check_states(values, values[0].shape[0] if values else 0, "states")
        self.states = [v.copy() for v in values]

    reset_state = reset_states  # Keras 3 spells it both ways

    def _check_states(self, states: Sequence[Any], batch: int, what: str) -> None:
        owner = f"{type(self).__name__} '{self.name}'"
        if len(states) != len(self._state_names):
            raise ValueError(f"{owner}: expected {len(self._state_names)} {what} "
                             f"({', '.join(self._state_names)}), received {len(states)}.")
        for name, s in zip(self._state_names, states):
            if tuple(s.shape) != (batch, self.units):
                raise ValueError(f"{owner}: expected {what} {name!r} of shape "
                                 f"{(batch, self.units)}. Received: shape={tuple(s.shape)}")

    # -- calling ------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        symbolic = any(_is_symbolic(x) for x in _flatten([list(args), list(kwargs.values())]))
        if self.stateful and symbolic:  # shape inference on dummy batches: leave states alone
            self._tracing = True
            try:
                return super().__call__(*args, **kwargs)
            finally:
                self._tracing = False
        return super().__call__(*args, **kwargs)

    def _dropout_mask(self, shape: tuple[int, ...], rate: float, dtype: Any) -> np.ndarray:
        rng = self._dropout_rng if self._dropout_rng is not None else nb_random.generator()
        keep = rng.random(shape, dtype=np.float32) >= rate
        return keep.astype(dtype) * np.asarray(1.0 / (1.0 - rate), dtype=dtype)

    def call(self, inputs: Tensor, initial_state: Any = None, mask: Any = None,
             training: bool = False) -> Any:
        owner = f"{type(self).__name__} '{self.name}'"
        if inputs.ndim != 3:
            raise ValueError(f"{owner}: expected inputs of shape (batch, timesteps, features) "
                             f"(rank 3). Received: inputs.shape={tuple(inputs.shape)}")
        n, t, d = inputs.shape
        if d != self.input_dim:
            raise ValueError(f"{owner}: expected inputs with {self.input_dim} features (the "
                             f"layer was built for them). Received: inputs.shape="
                             f"{tuple(inputs.shape)}")
        if t == 0:
            raise ValueError(f"{owner}: the sequence must have at least one time step. "
                             f"Received: inputs.shape={tuple(inputs.shape)}")

        # initial states: given, stored (stateful), or zeros (None)
        states: list[Tensor | None]
        if initial_state is not None:
            given = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            given = [s if isinstance(s, Tensor) else Tensor(np.asarray(s, dtype=self.dtype))
                     for s in given]
            self._check_states(given, n, "initial_state")
            states = list(given)
        elif self.stateful and not self._tracing and self.states is not None:
            if self.states[0].shape[0] != n:
                raise ValueError(f"{owner}: this stateful layer holds states for batch size "
                                 f"{self.states[0].shape[0]}; received inputs with batch size "
                                 f"{n}. Call reset_states() first or keep the batch size.")
            states = [Tensor(s) for s in self.states]
        else:
            states = [None] * len(self._state_names)

        mask_array = None
        if mask is not None:
            mask_array = np.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)
            if mask_array.shape != (n, t):
                raise ValueError(f"{owner}: expected a mask of shape (batch, timesteps) = "
                                 f"{(n, t)}. Received: mask.shape={mask_array.shape}")
            if mask_array.all():
                mask_array = None

        x = inputs
        self.last_dropout_masks = {}
        if training and self.dropout > 0.0:
            drop = self._dropout_mask((n, d), self.dropout, x.dtype)
            self.last_dropout_masks["dropout"] = drop
            x = mul(x, Tensor(drop[:, None, :]))
        rec_mask = None
        if training and self.recurrent_dropout > 0.0:
            rec_mask = self._dropout_mask((n, self.units), self.recurrent_dropout, x.dtype)
            self.last_dropout_masks["recurrent_dropout"] = rec_mask

        if rec_mask is None and self._fused_activations():
            sequence, *final = self._fused(x, states, mask_array)
        else:
            sequence, *final = self._composite(x, states, mask_array, rec_mask)

        if self.stateful and not self._tracing:
            self.states = [np.array(s.data, dtype=self.dtype, copy=True) for s in final]
        if self.zero_output_for_mask and mask_array is not None:
            keep = mask_array[:, ::-1] if self.go_backwards else mask_array
            sequence = where(keep[:, :, None], sequence, np.zeros((), dtype=sequence.dtype))
        output = sequence if self.return_sequences else final[0]
        if self.return_state:
            if self.return_sequences and mask is not None:
                output._keras_mask = mask
            return [output, *final]
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask if self.return_sequences else None

    # -- the two paths --------------------------------------------------------------------------
    def _fused(self, x: Tensor, states: list[Tensor | None],
               mask: np.ndarray | None) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def _step(self, xw_t: Tensor, states: list[Tensor], rec_mask: Tensor | None
              ) -> list[Tensor]:
        """One step of the composite path: the new states (the output is the first)."""
        raise NotImplementedError

    def _input_projection(self, x: Tensor) -> Tensor:
        """``x @ kernel (+ input bias)`` for every step at once: ``(batch, timesteps, g·u)``."""
        n, t, d = x.shape
        xw = matmul(x.reshape(n * t, d), self.kernel).reshape(n, t, self._gates * self.units)
        if self.use_bias:
            assert self.bias is not None  # built with use_bias
            xw = add(xw, self.bias if self.bias.ndim == 1 else self.bias[0])
        return xw

    def _composite(self, x: Tensor, states: list[Tensor | None], mask: np.ndarray | None,
                   rec_mask: np.ndarray | None) -> tuple[Tensor, ...]:
        """The recurrence step by step with differentiable ops (see the module docstring)."""
        n, t, _ = x.shape
        if self.go_backwards:
            x = flip(x, 1)
            mask = None if mask is None else mask[:, ::-1]
        xw = self._input_projection(x)
        current = [s if s is not None else Tensor(np.zeros((n, self.units), dtype=x.dtype))
                   for s in states]
        rec = None if rec_mask is None else Tensor(rec_mask)
        outputs = []
        for step in range(t):
            new = self._step(xw[:, step], current, rec)
            if mask is not None and not mask[:, step].all():
                keep = Tensor(mask[:, step, None])
                new = [where(keep, a, b) for a, b in zip(new, current)]
            current = new
            outputs.append(current[0])
        return (stack(outputs, axis=1), *current)

    # -- shapes and configuration -------------------------------------------------------------
    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected inputs of shape "
                             f"(batch, timesteps, features). Received: input_shape={shape}")
        out = (shape[0], shape[1], self.units) if self.return_sequences \
            else (shape[0], self.units)
        if self.return_state:
            return [out] + [(shape[0], self.units)] * len(self._state_names)
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
        }


class SimpleRNN(RNN):
    r"""Fully connected recurrent layer (Elman network), the chapter's :math:`h_t = f(h_{t-1},
    x_t, \theta)` of §8:

    .. math::

        H_t = \phi(X_t W_x + H_{t-1} W_h + b)

    with :math:`\phi` = ``activation`` (``tanh``), ``kernel`` :math:`W_x` and
    ``recurrent_kernel`` :math:`W_h`. The arguments are :class:`RNN`'s.

    Input shape
    -----------
    ``(batch, timesteps, features)``

    Output shape
    ------------
    ``(batch, units)``, or ``(batch, timesteps, units)`` with ``return_sequences``; with
    ``return_state`` a list ``[output, h_T]``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = SimpleRNN(4, return_sequences=True)
    >>> layer(np.ones((2, 5, 3), dtype=np.float32)).shape
    (2, 5, 4)
    >>> [w.shape for w in layer.weights]
    [(3, 4), (4, 4), (4,)]
    """

    _cell = "simple_rnn"
    _gates = 1
    _state_names = ("h",)

    def _fused(self, x: Tensor, states: list[Tensor | None],
               mask: np.ndarray | None) -> tuple[Tensor, ...]:
        return rnn_ops.simple_rnn(x, states[0], self.kernel, self.recurrent_kernel, self.bias,
                                  activation=_fused_name(self.activation), mask=mask,
                                  go_backwards=self.go_backwards)

    def _step(self, xw_t: Tensor, states: list[Tensor], rec_mask: Tensor | None
              ) -> list[Tensor]:
        h = states[0] if rec_mask is None else mul(states[0], rec_mask)
        return [self.activation(add(xw_t, matmul(h, self.recurrent_kernel)))]


class LSTM(RNN):
    r"""Long short-term memory layer (Hochreiter & Schmidhuber, 1997; the chapter's §8.5.1 with
    the forget gate corrected as in ERRATA 8.5.1).

    .. math::

        I_t &= \sigma(X_t W_{xi} + H_{t-1} W_{hi} + b_i) \\
        F_t &= \sigma(X_t W_{xf} + H_{t-1} W_{hf} + b_f) \\
        \tilde C_t &= \tanh(X_t W_{xc} + H_{t-1} W_{hc} + b_c) \\
        O_t &= \sigma(X_t W_{xo} + H_{t-1} W_{ho} + b_o) \\
        C_t &= F_t \odot C_{t-1} + I_t \odot \tilde C_t \\
        H_t &= O_t \odot \tanh(C_t)

    :math:`\sigma` is ``recurrent_activation`` (``sigmoid``) and :math:`\tanh` stands for
    ``activation``. ``kernel`` is :math:`[W_{xi}, W_{xf}, W_{xc}, W_{xo}]` (Keras's gate order
    i, f, c, o, as PyTorch's), ``recurrent_kernel`` likewise.

    Parameters
    ----------
    units, activation, ... :
        As :class:`RNN`.
    recurrent_activation : str or callable
        The gates' activation (``sigmoid``).
    unit_forget_bias : bool
        Initialise the forget gate's bias to ones (Jozefowicz et al., 2015), the other biases
        with ``bias_initializer``.

    Input shape
    -----------
    ``(batch, timesteps, features)``

    Output shape
    ------------
    ``(batch, units)`` or ``(batch, timesteps, units)``; with ``return_state`` a list
    ``[output, h_T, c_T]``.

    Examples
    --------
    >>> import numpy as np
    >>> out, h, c = LSTM(8, return_state=True)(np.ones((2, 5, 3), dtype=np.float32))
    >>> out.shape, h.shape, c.shape
    ((2, 8), (2, 8), (2, 8))
    """

    _cell = "lstm"
    _gates = 4
    _state_names = ("h", "c")

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, **kwargs: Any) -> None:
        # Keras's ``implementation`` (1 or 2) picks how its backends batch the gate products;
        # the result is the same, so it is accepted and kept, not used.
        self.implementation = int(kwargs.pop("implementation", 2))
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _fused_activations(self) -> bool:
        return super()._fused_activations() and \
            _activation_name(self.recurrent_activation) in rnn_ops.ACTIVATIONS

    def _bias_initializer(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = self.bias_initializer, self.units
        if base is None:  # add_weight rejects the missing initializer
            return None

        def forget_ones(shape: Sequence[int], dtype: Any = None) -> np.ndarray:
            return np.concatenate([np.asarray(base((u,), dtype=dtype)), np.ones(u, dtype=dtype),
                                   np.asarray(base((2 * u,), dtype=dtype))])

        return forget_ones

    def _fused(self, x: Tensor, states: list[Tensor | None],
               mask: np.ndarray | None) -> tuple[Tensor, ...]:
        return rnn_ops.lstm(x, states[0], states[1], self.kernel, self.recurrent_kernel,
                            self.bias, activation=_fused_name(self.activation),
                            recurrent_activation=_fused_name(self.recurrent_activation),
                            mask=mask, go_backwards=self.go_backwards)

    def _step(self, xw_t: Tensor, states: list[Tensor], rec_mask: Tensor | None
              ) -> list[Tensor]:
        h, c = states
        u = self.units
        hr = h if rec_mask is None else mul(h, rec_mask)
        z = add(xw_t, matmul(hr, self.recurrent_kernel))
        sig, act = self.recurrent_activation, self.activation
        i, f = sig(z[:, :u]), sig(z[:, u:2 * u])
        c_new = add(mul(f, c), mul(i, act(z[:, 2 * u:3 * u])))
        h_new = mul(sig(z[:, 3 * u:]), act(c_new))
        return [h_new, c_new]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRU(RNN):
    r"""Gated recurrent unit layer (Cho et al., 2014; the chapter's §8.5.2 with the candidate
    state corrected as in ERRATA 8.5.2), in both of Keras's forms.

    .. math::

        Z_t &= \sigma(X_t W_{xz} + H_{t-1} W_{hz} + b_z) \\
        R_t &= \sigma(X_t W_{xr} + H_{t-1} W_{hr} + b_r) \\
        \tilde H_t &= \tanh(X_t W_{xh} + (R_t \odot H_{t-1}) W_{hh} + b_h)
            && \texttt{reset_after=False} \text{ (the chapter's)} \\
        \tilde H_t &= \tanh(X_t W_{xh} + b_{xh} + R_t \odot (H_{t-1} W_{hh} + b_{hh}))
            && \texttt{reset_after=True} \text{ (Keras's default, PyTorch's)} \\
        H_t &= Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde H_t

    Gate order z, r, h in ``kernel`` ``(input_dim, 3u)`` and ``recurrent_kernel`` ``(u, 3u)``;
    the bias is ``(2, 3u)`` with ``reset_after`` (row 0 the input bias, row 1 the recurrent
    bias; the z and r gates see their sum), ``(3u,)`` otherwise.

    Parameters
    ----------
    units, activation, ... :
        As :class:`RNN`.
    recurrent_activation : str or callable
        The gates' activation (``sigmoid``).
    reset_after : bool
        Apply the reset gate after the recurrent product (True, Keras's default and the form
        ``torch.nn.GRU`` computes) or before it (False).

    Input shape
    -----------
    ``(batch, timesteps, features)``

    Output shape
    ------------
    ``(batch, units)`` or ``(batch, timesteps, units)``; with ``return_state`` a list
    ``[output, h_T]``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = GRU(4)
    >>> layer(np.ones((2, 5, 3), dtype=np.float32)).shape
    (2, 4)
    >>> [w.shape for w in layer.weights]
    [(3, 12), (4, 12), (2, 12)]
    """

    _cell = "gru"
    _gates = 3
    _state_names = ("h",)

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 reset_after: bool = True, **kwargs: Any) -> None:
        self.implementation = int(kwargs.pop("implementation", 2))  # (as in LSTM)
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _fused_activations(self) -> bool:
        return super()._fused_activations() and \
            _activation_name(self.recurrent_activation) in rnn_ops.ACTIVATIONS

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _fused(self, x: Tensor, states: list[Tensor | None],
               mask: np.ndarray | None) -> tuple[Tensor, ...]:
        return rnn_ops.gru(x, states[0], self.kernel, self.recurrent_kernel, self.bias,
                           activation=_fused_name(self.activation),
                           recurrent_activation=_fused_name(self.recurrent_activation),
                           reset_after=self.reset_after, mask=mask,
                           go_backwards=self.go_backwards)

    def _step(self, xw_t: Tensor, states: list[Tensor], rec_mask: Tensor | None
              ) -> list[Tensor]:
        h = states[0]
        u = self.units
        hr = h if rec_mask is None else mul(h, rec_mask)
        sig, act = self.recurrent_activation, self.activation
        rk = self.recurrent_kernel
        assert rk is not None  # built
        if self.reset_after:
            hw = matmul(hr, rk)
            if self.use_bias:
                assert self.bias is not None  # built with use_bias
                hw = add(hw, self.bias[1])
            z = sig(add(xw_t[:, :u], hw[:, :u]))
            r = sig(add(xw_t[:, u:2 * u], hw[:, u:2 * u]))
            candidate = act(add(xw_t[:, 2 * u:], mul(r, hw[:, 2 * u:])))
        else:
            hw = matmul(hr, rk[:, :2 * u])
            z = sig(add(xw_t[:, :u], hw[:, :u]))
            r = sig(add(xw_t[:, u:2 * u], hw[:, u:]))
            candidate = act(add(xw_t[:, 2 * u:], matmul(mul(r, hr), rk[:, 2 * u:])))
        # H_t = Z ⊙ H_{t-1} + (1 - Z) ⊙ H~ = H~ + Z ⊙ (H_{t-1} - H~)
        return [add(candidate, mul(z, sub(h, candidate)))]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}
