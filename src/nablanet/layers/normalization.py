"""BatchNormalization (Ioffe & Szegedy, 2015), chapter §5.4, with Keras 3 semantics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import initializers, regularizers
from nablanet.autograd.tensor import Tensor
from nablanet.distribute._runtime import is_distributed
from nablanet.distribute.batchnorm import sync_batch_normalization
from nablanet.layers.base import Layer
from nablanet.ops.normalization import batch_normalization

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    r"""Normalises each channel (``axis``) over the batch and every other axis.

    Training (``training=True`` and the layer trainable) uses the batch statistics
    :math:`\mu_B, \sigma_B^2` (biased variance) and updates the moving statistics:

    .. math::

        y = \gamma \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta, \qquad
        m \leftarrow m \cdot \mathrm{momentum} + \mu_B (1 - \mathrm{momentum}), \qquad
        v \leftarrow v \cdot \mathrm{momentum} + \sigma_B^2 (1 - \mathrm{momentum})

    Inference uses the moving mean :math:`m` and variance :math:`v` instead. Keras's
    conventions: ``momentum=0.99`` weights the *old* value (PyTorch's ``momentum`` is
    ``1 - momentum`` here), ``epsilon=1e-3``, and the moving variance is fed the *biased*
    batch variance (PyTorch feeds the unbiased one). Weights in Keras order: ``gamma``,
    ``beta`` (trainable), ``moving_mean``, ``moving_variance`` (non-trainable). A frozen
    layer (``trainable=False``) always runs in inference mode, as in Keras 3.

    One fused primitive (:class:`~nablanet.ops.normalization.BatchNorm`) computes the
    forward and the hand-written backward pass.

    ``synchronized=True`` (Keras's argument): under ``mpiexec`` the batch statistics (and
    the sums in the backward pass) are taken over the examples of *all* workers
    (:mod:`nablanet.distribute.batchnorm`), so N workers train as one process on the
    global batch; in a one-worker run it changes nothing.

    Input shape: any, channels on ``axis``. Output shape: the input's.
    """

    def __init__(self, axis: int | Sequence[int] = -1, momentum: float = 0.99,
                 epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, synchronized: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1]. "
                             f"Received: momentum={momentum}")
        if not epsilon > 0:
            raise ValueError(f"BatchNormalization: epsilon must be positive. "
                             f"Received: epsilon={epsilon}")
        if beta_constraint is not None or gamma_constraint is not None:
            raise NotImplementedError("BatchNormalization: weight constraints are not supported")
        self.axis = int(axis) if isinstance(axis, (int, np.integer)) else [int(a) for a in axis]
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.synchronized = bool(synchronized)
        self.gamma: Tensor | None = None
        self.beta: Tensor | None = None
        self.moving_mean: Tensor | None = None
        self.moving_variance: Tensor | None = None
        self.supports_masking = True

    def _axes(self, ndim: int) -> list[int]:
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        out = []
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(f"BatchNormalization '{self.name}': axis {a} is out of range "
                                 f"for inputs of rank {ndim}")
            out.append(a % ndim)
        return sorted(out)

    def build(self, input_shape: Sequence[int | None]) -> None:
        axes = self._axes(len(input_shape))
        dims = tuple(input_shape[a] for a in axes)
        if any(n is None for n in dims):
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} of the input "
                             f"must have a known size. Received: input_shape="
                             f"{tuple(input_shape)}")
        shape = tuple(int(n) for n in dims if n is not None)  # all known (checked above)
        self._channel_shape = shape
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         self.gamma_regularizer)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        self.beta_regularizer)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, trainable=False)
        self.built = True

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        axes = self._axes(inputs.ndim)
        got = tuple(inputs.shape[a] for a in axes)
        if got != self._channel_shape:
            raise ValueError(f"BatchNormalization '{self.name}': expected {self._channel_shape} "
                             f"channels on axis {self.axis}, got input shape {inputs.shape}")
        if training and self.trainable:
            if self.synchronized and is_distributed():  # the statistics of all workers
                y, mean, var = sync_batch_normalization(inputs, self.gamma, self.beta, axes,
                                                        self.epsilon)
            else:
                y, mean, var = batch_normalization(inputs, self.gamma, self.beta, axes,
                                                   self.epsilon, training=True)
            # Built (call checked the channel shape); training returns the batch statistics.
            assert self.moving_mean is not None and self.moving_variance is not None
            assert mean is not None and var is not None
            m = self.momentum
            mm, mv = self.moving_mean.data, self.moving_variance.data
            mm *= m
            mm += (1.0 - m) * mean.astype(mm.dtype)
            mv *= m
            mv += (1.0 - m) * var.astype(mv.dtype)
            return y
        y, _, _ = batch_normalization(inputs, self.gamma, self.beta, axes, self.epsilon,
                                      training=False, moving_mean=self.moving_mean,
                                      moving_variance=self.moving_variance)
        return y

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "axis": self.axis, "momentum": self.momentum,
            "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer":
                initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": None, "gamma_constraint": None,
            "synchronized": self.synchronized,
        }
