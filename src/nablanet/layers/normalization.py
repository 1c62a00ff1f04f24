"""BatchNormalization (Ioffe & Szegedy, 2015), chapter §5.4, with Keras 3 semantics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nablanet import constraints, initializers, regularizers
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

    **Masks.** A ``mask`` with one axis fewer than the inputs (``(batch, time)`` for
    ``(batch, time, features)``, as ``Masking`` / ``Embedding(mask_zero=True)`` produce)
    restricts the training statistics to the unmasked positions (Keras's weighted moments,
    :math:`\mu = \sum_i w_i x_i / (\sum_i w_i + 10^{-7})`, the variance likewise); masked
    positions are still normalised. Inference ignores the mask.

    **Batch renormalization** (Ioffe, 2017; ``renorm=True``): training normalises with the
    batch statistics and then corrects towards moving ones,
    :math:`y = \gamma\,(\hat x\, r + d) + \beta` with
    :math:`r = \sigma_B / \sigma_R` and :math:`d = (\mu_B - \mu_R) / \sigma_R` (no gradient
    through them; clipped to ``renorm_clipping``'s ``rmin``/``rmax``/``dmax`` when given),
    where :math:`\mu_R, \sigma_R` (``renorm_mean``, ``renorm_stddev``) move with
    ``renorm_momentum``. The inference statistics then move as a standard deviation,
    ``moving_stddev``, with ``moving_variance`` = ``moving_stddev``² − ε (Keras's layer).

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
                 renorm: bool = False, renorm_clipping: dict[str, float] | None = None,
                 renorm_momentum: float = 0.99, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1]. "
                             f"Received: momentum={momentum}")
        if not epsilon > 0:
            raise ValueError(f"BatchNormalization: epsilon must be positive. "
                             f"Received: epsilon={epsilon}")
        self.axis = int(axis) if isinstance(axis, (int, np.integer)) else [int(a) for a in axis]
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = bool(synchronized)
        self.renorm = bool(renorm)
        if self.renorm:
            renorm_clipping = dict(renorm_clipping or {})
            keys = ["rmax", "rmin", "dmax"]
            if set(renorm_clipping) - set(keys):
                raise ValueError("Received invalid keys for `renorm_clipping` argument: "
                                 f"{renorm_clipping}. Supported values: {keys}.")
            rmax, rmin = renorm_clipping.get("rmax"), renorm_clipping.get("rmin")
            dmax = renorm_clipping.get("dmax")
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError("rmax should be greater than rmin in the `renorm_clipping` "
                                 f"argument. Received: rmax={rmax}, rmin={rmin}.")
            if dmax is not None and dmax < 0:
                raise ValueError("dmax should be non-negative in the `renorm_clipping` "
                                 f"argument. Received: dmax={dmax}.")
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = float(renorm_momentum)
        self.gamma: Tensor | None = None
        self.beta: Tensor | None = None
        self.moving_mean: Tensor | None = None
        self.moving_variance: Tensor | None = None
        # with renorm=True (created by build)
        self.moving_stddev: Any = None
        self.renorm_mean: Any = None
        self.renorm_stddev: Any = None
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
                                         self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        self.beta_regularizer, constraint=self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, trainable=False)
        if self.renorm:
            # (its square root, as a starting standard deviation)
            stddev = initializers.Constant(np.sqrt(self.moving_variance.data))
            self.moving_stddev = self.add_weight("moving_stddev", shape, stddev, trainable=False)
            self.renorm_mean = self.add_weight("renorm_mean", shape,
                                               initializers.Constant(self.moving_mean.data),
                                               trainable=False)
            self.renorm_stddev = self.add_weight("renorm_stddev", shape, stddev,
                                                 trainable=False)
        self.built = True

    def call(self, inputs: Tensor, training: bool = False, mask: Any = None) -> Tensor:
        axes = self._axes(inputs.ndim)
        got = tuple(inputs.shape[a] for a in axes)
        if got != self._channel_shape:
            raise ValueError(f"BatchNormalization '{self.name}': expected {self._channel_shape} "
                             f"channels on axis {self.axis}, got input shape {inputs.shape}")
        if mask is not None:
            mask = np.asarray(getattr(mask, "data", mask))
            if mask.ndim != inputs.ndim - 1:
                raise ValueError("The mask provided should be one dimension less than the "
                                 f"inputs. Received: mask.shape={mask.shape}, "
                                 f"inputs.shape={inputs.shape}")
        if training and self.trainable and (mask is not None or self.renorm):
            return self._composite_training_call(inputs, mask, axes)
        if training and self.trainable:
            if self.synchronized and is_distributed():  # the statistics of all workers
                y, mean, var = sync_batch_normalization(inputs, self.gamma, self.beta, axes,
                                                        self.epsilon)
            else:
                y, mean, var = batch_normalization(inputs, self.gamma, self.beta, axes,
                                                   self.epsilon, training=True)
            # Built (call checked the channel shape); training returns the batch statistics.
            assert mean is not None and var is not None
            self._update_moving_statistics(mean, var)
            return y
        y, _, _ = batch_normalization(inputs, self.gamma, self.beta, axes, self.epsilon,
                                      training=False, moving_mean=self.moving_mean,
                                      moving_variance=self.moving_variance)
        return y

    def _composite_training_call(self, inputs: Tensor, mask: np.ndarray | None,
                                 axes: list[int]) -> Tensor:
        """Training with a mask (weighted moments over the unmasked positions) or with batch
        renormalization, written with operators (gradients flow through the batch statistics
        as in the fused primitive)."""
        from nablanet import ops
        from nablanet.config import epsilon as fuzz

        reduce = tuple(a for a in range(inputs.ndim) if a not in axes)
        dtype = inputs.dtype.type
        if mask is None:
            mean = ops.mean(inputs, axis=reduce, keepdims=True)
            centred = inputs - mean
            var = ops.mean(centred * centred, axis=reduce, keepdims=True)
        else:
            w = np.broadcast_to(mask[..., None], inputs.shape).astype(bool).astype(inputs.dtype)
            total = np.sum(w, axis=reduce, keepdims=True) + dtype(fuzz())
            mean = ops.sum(inputs * w, axis=reduce, keepdims=True) / total
            centred = (inputs - mean) * w
            var = ops.sum(centred * centred, axis=reduce, keepdims=True) / total
        y = (inputs - mean) / ops.sqrt(var + dtype(self.epsilon))
        shape = [1] * inputs.ndim
        for a in axes:
            shape[a] = inputs.shape[a]
        batch_mean = mean.data.reshape(self._channel_shape)
        batch_var = var.data.reshape(self._channel_shape)
        if self.renorm:
            r, d = self._renorm_correction(batch_mean, batch_var)
            y = y * r.reshape(shape).astype(inputs.dtype) + d.reshape(shape).astype(inputs.dtype)
        if self.gamma is not None:
            y = y * ops.reshape(self.gamma, tuple(shape))
        if self.beta is not None:
            y = y + ops.reshape(self.beta, tuple(shape))
        if self.renorm:
            self._update_renorm_statistics(batch_mean, batch_var)
        else:
            self._update_moving_statistics(batch_mean, batch_var)
        return y

    def _renorm_correction(self, mean: np.ndarray, var: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
        """Batch renormalization's ``r`` and ``d`` (constants: no gradient), clipped."""
        stddev = np.sqrt(var + self.epsilon)
        renorm_stddev = np.maximum(self.renorm_stddev.data, np.sqrt(self.epsilon))
        r = stddev / renorm_stddev
        d = (mean - self.renorm_mean.data) / renorm_stddev
        clip = self.renorm_clipping or {}
        if clip.get("rmin") is not None:
            r = np.maximum(r, clip["rmin"])
        if clip.get("rmax") is not None:
            r = np.minimum(r, clip["rmax"])
        if clip.get("dmax") is not None:
            d = np.clip(d, -clip["dmax"], clip["dmax"])
        return r, d

    def _update_renorm_statistics(self, mean: np.ndarray, var: np.ndarray) -> None:
        """Move ``renorm_mean`` / ``renorm_stddev`` (with ``renorm_momentum``) and the
        inference ``moving_mean`` / ``moving_stddev`` (with ``momentum``) towards the batch's;
        ``moving_variance`` = ``moving_stddev``² − ε (at least 0)."""
        assert self.moving_mean is not None and self.moving_variance is not None  # built
        stddev = np.sqrt(var + self.epsilon)
        rm, m = self.renorm_momentum, self.momentum
        for target, value, momentum in ((self.renorm_mean, mean, rm),
                                        (self.renorm_stddev, stddev, rm),
                                        (self.moving_mean, mean, m),
                                        (self.moving_stddev, stddev, m)):
            target.data[...] = target.data * momentum + value * (1.0 - momentum)
        self.moving_variance.data[...] = np.maximum(
            self.moving_stddev.data * self.moving_stddev.data - self.epsilon, 0.0)

    def _update_moving_statistics(self, mean: np.ndarray, var: np.ndarray) -> None:
        """Move the moving mean and variance towards the batch's (the momentum update above)."""
        assert self.moving_mean is not None and self.moving_variance is not None
        m = self.momentum
        mm, mv = self.moving_mean.data, self.moving_variance.data
        mm *= m
        mm += (1.0 - m) * mean.astype(mm.dtype)
        mv *= m
        mv += (1.0 - m) * var.astype(mv.dtype)

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
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }
