r"""Sequence input layers: ``Embedding`` (token ids to vectors, ``mask_zero``), ``Masking``
(skip padded steps) and ``RepeatVector`` (a vector repeated into a sequence), as in Keras 3.

A mask is a boolean ``(batch, timesteps)`` array, True for the real steps; these layers attach
it to their output and the recurrent layers (:mod:`nablanet.layers.recurrent`) skip the
masked steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nablanet import constraints, initializers, regularizers
from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer
from nablanet.ops.elementwise import mul
from nablanet.ops.shape import broadcast_to, expand_dims

__all__ = ["Embedding", "Masking", "RepeatVector"]


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


class Embedding(Layer):
    r"""Turns non-negative integer ids into dense vectors: row ``i`` of ``embeddings`` for id
    ``i``.

    .. math::

        y_{b,t} = E_{x_{b,t}}, \qquad E \in \mathbb R^{\mathrm{input\_dim} \times
        \mathrm{output\_dim}}

    The gradient scatter-adds the output gradient into the rows that were looked up.

    Parameters
    ----------
    input_dim : int
        Size of the vocabulary (ids are ``0 … input_dim - 1``; others raise ``ValueError``).
    output_dim : int
        Dimension of the vectors.
    embeddings_initializer
        Keras's default ``'uniform'`` is ``RandomUniform(-0.05, 0.05)``.
    embeddings_regularizer, activity_regularizer
        Penalties added to :attr:`losses`.
    mask_zero : bool
        Treat id 0 as padding: the output carries the mask ``ids != 0`` so that recurrent
        layers skip those steps (id 0 then cannot be a real token).
    weights : list of one array, optional
        Initial embeddings.

    Input shape
    -----------
    ``(batch, ...)`` integer ids (floats holding integers are accepted).

    Output shape
    ------------
    ``(batch, ..., output_dim)``

    Examples
    --------
    >>> import numpy as np
    >>> layer = Embedding(10, 3, mask_zero=True)
    >>> out = layer(np.array([[4, 2, 0]]))
    >>> out.shape, out._keras_mask.tolist()
    ((1, 3, 3), [[True, True, False]])
    """

    def __init__(self, input_dim: int, output_dim: int,
                 embeddings_initializer: Any = "uniform", embeddings_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_dim = _positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = _positive_int("Embedding", "output_dim", output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.embeddings: Tensor | None = None
        self._initial_weights = weights

    def build(self, input_shape: Any) -> None:
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _ids(self, inputs: Any) -> np.ndarray:
        ids = np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs)
        if ids.dtype.kind == "f":
            if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
                raise ValueError(f"Embedding '{self.name}': inputs must be integer ids. "
                                 f"Received non-integer values, e.g. "
                                 f"{ids[ids != np.round(ids)][:3].tolist()}")
        elif ids.dtype.kind not in "iub":
            raise ValueError(f"Embedding '{self.name}': inputs must be integer ids. "
                             f"Received dtype {ids.dtype}")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = ids[(ids < 0) | (ids >= self.input_dim)]
            raise ValueError(f"Embedding '{self.name}': ids must be in [0, {self.input_dim}). "
                             f"Received: {bad[:5].tolist()}")
        return ids

    def call(self, inputs: Any) -> Tensor:
        ids = self._ids(inputs)
        assert self.embeddings is not None  # built by __call__
        return self.embeddings[ids]

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs) != 0

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}


class Masking(Layer):
    r"""Masks the time steps whose features all equal ``mask_value`` (padding).

    .. math::

        m_{b,t} = \big[\exists k:\ x_{b,t,k} \ne \mathrm{mask\_value}\big], \qquad
        y_{b,t} = m_{b,t}\, x_{b,t}

    The output (the input with masked steps zeroed, as Keras) carries the mask ``m``.

    Parameters
    ----------
    mask_value : float

    Input shape
    -----------
    ``(batch, timesteps, features)``

    Output shape
    ------------
    The input's.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.0], [0.0], [2.0]]], dtype=np.float32)
    >>> Masking()(x)._keras_mask.tolist()
    [[True, False, True]]
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)
        self.supports_masking = True

    def _mask(self, inputs: Any) -> np.ndarray:
        x = np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs)
        if x.ndim < 2:
            raise ValueError(f"Masking '{self.name}': expected inputs of rank >= 2 (batch, "
                             f"..., features). Received: inputs.shape={x.shape}")
        return np.any(x != self.mask_value, axis=-1)  # Keras: over the last axis only

    def call(self, inputs: Tensor) -> Tensor:
        keep = self._mask(inputs)
        return mul(inputs, Tensor(keep[..., None].astype(inputs.dtype)))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return self._mask(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}


class RepeatVector(Layer):
    r"""Repeats a vector ``n`` times: ``(batch, features)`` → ``(batch, n, features)``, the
    usual way to feed a fixed vector to every step of a decoder (vector-to-sequence, §8.1).

    .. math::

        y_{b,t} = x_b, \qquad t = 1 \dots n

    Parameters
    ----------
    n : int
        Number of repetitions.

    Examples
    --------
    >>> import numpy as np
    >>> RepeatVector(3)(np.ones((2, 4), np.float32)).shape
    (2, 3, 4)
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = _positive_int("RepeatVector", "n", n)

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.ndim != 2:
            raise ValueError(f"RepeatVector '{self.name}': expected inputs of shape (batch, "
                             f"features). Received: inputs.shape={tuple(inputs.shape)}")
        n, d = inputs.shape
        return broadcast_to(expand_dims(inputs, 1), (n, self.n, d))

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        return (shape[0], self.n, shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}
