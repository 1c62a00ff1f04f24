r"""``Sampling``: the reparameterisation trick of the variational autoencoder (§9.2).

The VAE's encoder outputs the mean :math:`\mu` and the log-variance :math:`\log\sigma^2` of
a diagonal Gaussian :math:`q(z \mid x) = \mathcal N(z \mid \mu, \operatorname{diag}\sigma^2)`.
Drawing :math:`z` from it directly would cut the graph; instead the noise is drawn from a
fixed distribution and :math:`z` is a differentiable function of :math:`\mu` and
:math:`\log\sigma^2`:

.. math::

    \varepsilon \sim \mathcal N(0, I), \qquad
    z = \mu + \sigma \odot \varepsilon
      = \mu + \exp\bigl(\tfrac12 \log\sigma^2\bigr) \odot \varepsilon,

so :math:`\partial z / \partial \mu = 1` and
:math:`\partial z / \partial \log\sigma^2 = \tfrac12 \sigma \odot \varepsilon`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer
from nablanet.ops.elementwise import add, exp, mul

__all__ = ["Sampling"]


def reparameterize(z_mean: Any, z_log_var: Any, epsilon: Any) -> Tensor:
    r"""The reparameterised sample :math:`z = \mu + \exp(\tfrac12\log\sigma^2) \odot \varepsilon`.

    Parameters
    ----------
    z_mean, z_log_var : Tensor or array of the same shape
        :math:`\mu` and :math:`\log\sigma^2`; gradients flow to both.
    epsilon : array
        Standard-normal noise of that shape (treated as a constant).

    Examples
    --------
    >>> import numpy as np
    >>> reparameterize(np.zeros(2), np.log([4.0, 9.0]), np.ones(2)).numpy()
    array([2., 3.], dtype=float32)
    """
    if not isinstance(z_mean, Tensor):
        z_mean = Tensor(z_mean)
    if not isinstance(z_log_var, Tensor):
        z_log_var = Tensor(z_log_var, dtype=z_mean.dtype)
    sigma = exp(mul(z_log_var, np.asarray(0.5, dtype=z_log_var.dtype)))
    noise = np.asarray(getattr(epsilon, "data", epsilon), dtype=z_mean.dtype)
    return add(z_mean, mul(sigma, noise))


class Sampling(Layer):
    r"""Draws :math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)`,
    from ``[z_mean, z_log_var]`` (the reparameterisation trick).

    A fresh :math:`\varepsilon` is drawn on every call, in training and at inference (as in
    the Keras VAE example); use the mean :math:`\mu` itself for a deterministic code. The
    noise comes from nablanet's seeded generator (:func:`nablanet.set_random_seed`), or from
    a generator of its own when ``seed`` is given.

    Parameters
    ----------
    seed : int, optional

    Input shape
    -----------
    A list of two tensors of the same shape ``(batch, latent_dim)``: :math:`\mu` and
    :math:`\log\sigma^2`.

    Output shape
    ------------
    ``(batch, latent_dim)``

    Examples
    --------
    >>> import numpy as np
    >>> import nablanet as nb
    >>> nb.set_random_seed(0)
    >>> z = Sampling()([np.zeros((4, 2), np.float32), np.full((4, 2), -50.0, np.float32)])
    >>> z.shape, float(abs(z.numpy()).max()) < 1e-6
    ((4, 2), True)
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"Sampling: seed must be a non-negative integer or None. "
                             f"Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _generator(self) -> np.random.Generator:
        if self._rng is not None:
            return self._rng
        from nablanet.random import generator

        return generator()

    def call(self, inputs: Sequence[Tensor]) -> Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"Sampling '{self.name}': expected a list [z_mean, z_log_var]. "
                             f"Received: {type(inputs).__name__} of length "
                             f"{len(inputs) if isinstance(inputs, (list, tuple)) else 1}")
        z_mean, z_log_var = inputs
        if z_mean.shape != z_log_var.shape:
            raise ValueError(f"Sampling '{self.name}': z_mean and z_log_var must have the same "
                             f"shape. Received: {z_mean.shape} and {z_log_var.shape}")
        epsilon = self._generator().standard_normal(z_mean.shape).astype(z_mean.dtype)
        return reparameterize(z_mean, z_log_var, epsilon)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}
