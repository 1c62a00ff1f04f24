r"""``DistributedOptimizer``: average the gradients of all workers before every update.

Data-parallel training runs the same model on every worker, each on its part of the global
batch. Worker :math:`r` holds :math:`n_r` of the :math:`n` examples of the step and computes
the gradient :math:`g_r` of its mean loss; the gradient of the mean loss over the global
batch is

.. math::

    g = \sum_r \frac{n_r}{n}\, g_r \qquad (= \tfrac{1}{N}\textstyle\sum_r g_r
    \text{ when every worker holds } n/N),

which every worker computes with one allreduce (a sum over workers, the same result on all
of them), so the weights stay identical everywhere without ever being sent.

Implementation: the gradients of a step are written, already multiplied by
:math:`n_r / n`, into one flat buffer (allocated once per set of variables), the buffer is
summed over the workers in place by a single ``MPI_Allreduce``, and the optimizer's own
update rule then reads its slices (reshaped views, no copies). One collective per step
rather than one per variable: its latency is paid once, and MPI splits a large buffer into
pipelined chunks on its own.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from nablanet.distribute import _runtime

__all__ = ["DistributedOptimizer"]


class _FlatGradients:
    """The flat buffer of one list of variables and its per-variable views."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        dtype = np.result_type(*[a.dtype for a in arrays])
        sizes = [a.size for a in arrays]
        self.buffer = np.empty(int(sum(sizes)), dtype=dtype)
        self.views: list[np.ndarray] = []
        offset = 0
        for array, n in zip(arrays, sizes):
            self.views.append(self.buffer[offset:offset + n].reshape(array.shape))
            offset += n
        self.layout = [(tuple(a.shape), str(a.dtype)) for a in arrays]


def _average_then_apply(self: Any, grads: Any, variables: Any = None) -> int:
    """The wrapped ``apply``: fill the flat buffer, allreduce it, apply the average."""
    apply = type(self).apply
    grads = list(grads)
    if not grads:
        return apply(self, grads, variables)
    targets = list(self._variables) if variables is None else list(variables)
    if _runtime.size() == 1 or len(targets) != len(grads):
        return apply(self, grads, variables)  # one worker, or a mismatch apply reports
    key = tuple(id(v) for v in targets)
    flat = self._distributed_buffers.get(key)
    if flat is None:
        flat = _FlatGradients([v.data if isinstance(getattr(v, "data", None), np.ndarray)
                               else np.asarray(v) for v in targets])
        # One-time check when the set of variables changes: the buffers must match.
        _runtime.check_same(flat.layout, "the shapes of the variables being trained")
        self._distributed_buffers.clear()
        self._distributed_buffers[key] = flat
    share = _runtime.state.batch_share
    scale = (1.0 / _runtime.state.size) if share is None else share
    for grad, view in zip(grads, flat.views):
        if grad is None:  # counted as zeros, so that every worker applies the same update
            view.fill(0)
        else:
            np.multiply(getattr(grad, "data", grad), scale, out=view, casting="same_kind")
    _runtime.timed_allreduce(flat.buffer)
    return apply(self, flat.views, targets)


def DistributedOptimizer(optimizer: Any) -> Any:  # noqa: N802 (Horovod's name)
    """Make ``optimizer`` average the gradients of all workers before every update.

    Horovod's and ChainerMN's name. Returns the same optimizer object (its class, state,
    configuration and saved form are unchanged; ``isinstance`` still holds), with its
    ``apply`` (and so ``apply_gradients``) replaced by one that first averages the
    gradients over the workers with one fused allreduce of a flat buffer, in place. In a
    one-worker run nothing changes. ``fit`` applies it by itself under ``mpiexec``; call it
    for a custom training loop.

    Works with every nablanet optimizer: the average is taken *before* the optimizer's
    own processing, so gradient clipping (``clipnorm``, ``clipvalue``, ``global_clipnorm``)
    and decoupled weight decay act on the averaged gradient -- the same on every worker,
    which keeps the weights identical. Regularisation penalties (``kernel_regularizer``,
    ``add_loss``) are part of every worker's loss and therefore of the average. A ``None``
    gradient counts as zeros. Every worker must call ``apply`` with the same variables in
    the same order; the shapes are checked across workers whenever that list changes.

    Examples
    --------
    >>> from nablanet import optimizers
    >>> from nablanet.distribute import DistributedOptimizer
    >>> opt = DistributedOptimizer(optimizers.Adam(0.01))
    >>> type(opt).__name__, opt.learning_rate
    ('Adam', 0.01)
    """
    from nablanet.optimizers.base import Optimizer

    if not isinstance(optimizer, Optimizer):
        raise TypeError("DistributedOptimizer: expected a nablanet optimizer. Received: "
                        f"optimizer={optimizer!r} of type {type(optimizer).__name__}")
    if not is_distributed_optimizer(optimizer):
        attributes = vars(optimizer)  # an instance attribute shadows the class's apply
        attributes["_distributed_buffers"] = {}
        attributes["apply"] = types.MethodType(_average_then_apply, optimizer)
    return optimizer


def is_distributed_optimizer(optimizer: Any) -> bool:
    """Whether :func:`DistributedOptimizer` was applied to ``optimizer``."""
    return "_distributed_buffers" in getattr(optimizer, "__dict__", {})
