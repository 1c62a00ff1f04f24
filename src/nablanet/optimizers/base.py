"""The optimizer base class: hyperparameters, per-variable state, clipping, weight decay.

Each optimizer's update rule is a plain function on NumPy arrays in its own module
(``sgd_update``, ``adam_update``, ...); the class around it holds the hyperparameters and
the per-variable state ("slots") and calls the function once per variable per step.

The contract with the rest of nablanet:

- a *variable* is a :class:`nablanet.Tensor` (or a writable ndarray); it is updated in
  place (``variable.data`` keeps its identity, so references to it stay valid);
- gradients are ndarrays or Tensors (their ``.data`` is used); a ``None`` gradient
  skips its variable, with one warning per optimizer;
- per-variable state is created the first time a variable is seen (keyed by
  ``id(variable)``; the optimizer keeps a reference, so the id cannot be reused), or
  eagerly, in the given order, by :meth:`Optimizer.build`;
- :meth:`Optimizer.get_state` / :meth:`Optimizer.set_state` exchange a flat
  ``dict[str, ndarray]`` (``"iterations"``, ``"m/0"``, ``"v/0"``, ... keyed by build-order
  index) that can be written to a safetensors file.

Per step (:meth:`Optimizer.apply`), in Keras 3's order: drop ``None`` gradients; write the
gradient itself into variables marked ``overwrite_with_gradient``; skip the whole update with
a ``RuntimeWarning`` if any gradient holds NaN or inf (nothing changes, not even
``iterations``: a bad batch never writes NaN into the weights); with
``gradient_accumulation_steps`` = k, add the gradients to accumulators and update only on
every k-th call, with the mean of the k gradients; clip (``clipnorm`` per variable,
``global_clipnorm`` over all, or ``clipvalue``); decoupled weight decay
:math:`\\theta \\leftarrow \\theta - \\eta \\lambda \\theta`; the update rule; the moving
average of the variables (``use_ema``), written into them every ``ema_overwrite_frequency``
steps; each variable's ``constraint``; and ``iterations += 1``.

0-d (scalar) variables are updated through 1-element views, so every rule handles them.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from nablanet.optimizers import schedules as _schedules
from nablanet.optimizers.schedules import LearningRateSchedule

__all__ = ["Optimizer"]

LearningRate = float | LearningRateSchedule | Callable[..., float]

# Keras 3 constructor arguments nablanet does not implement: accepted at their default
# values (so that Keras configs load) and rejected otherwise. Loss scaling belongs to
# mixed-precision training, which nablanet (float32/float64 on NumPy) does not have.
_UNSUPPORTED_DEFAULTS: dict[str, Any] = {
    "loss_scale_factor": None,
}


# -- validation helpers (shared by the optimizer modules) --------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )


def check_non_negative(owner: str, name: str, value: Any) -> float:
    """Return ``float(value)``; raise ``ValueError`` echoing it unless it is a number >= 0."""
    if not (_is_number(value) and value >= 0):
        raise ValueError(f"{owner}: {name} must be a non-negative float. Received: {name}={value}")
    return float(value)


def check_positive_or_none(owner: str, name: str, value: Any) -> float | None:
    """``None`` passes; otherwise the value must be a number > 0."""
    if value is None:
        return None
    if not (_is_number(value) and value > 0):
        raise ValueError(
            f"{owner}: {name} must be a positive float or None. Received: {name}={value}"
        )
    return float(value)


def check_decay_rate(owner: str, name: str, value: Any, *, allow_one: bool = False) -> float:
    """A decay rate (β, ρ, momentum) in ``[0, 1)`` (``[0, 1]`` when ``allow_one``)."""
    ok = _is_number(value) and 0 <= value and (value <= 1 if allow_one else value < 1)
    if not ok:
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(
            f"{owner}: `{name}` must be a float between {interval}. Received: {name}={value}"
        )
    return float(value)


def _all_finite(g: np.ndarray) -> bool:
    """Whether the float array ``g`` holds no NaN or inf, in one pass when it can.

    A NaN or inf element makes ``g · g`` NaN or inf, so a finite ``g · g`` (one BLAS dot)
    settles it; otherwise (or when the squares overflow) the exact check decides.
    """
    if g.dtype in (np.float32, np.float64) and g.flags.c_contiguous:
        flat = g.reshape(-1)
        if np.isfinite(np.dot(flat, flat)):
            return True
    return bool(np.isfinite(g.max()) and np.isfinite(g.min()))


def _array_of_variable(variable: Any) -> np.ndarray:
    data = getattr(variable, "data", None)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(variable, np.ndarray):
        return variable
    raise TypeError(
        "Optimizer: a variable must be a nablanet.Tensor or a numpy.ndarray. "
        f"Received: variable of type {type(variable).__name__}"
    )


def _variable_label(variable: Any, index: int) -> str:
    name = getattr(variable, "name", None)
    return str(name) if name is not None else f"variable {index} (shape {variable.shape})"


class Optimizer:
    """Base class of nablanet's optimizers (Keras 3's ``keras.optimizers.Optimizer``).

    Parameters
    ----------
    learning_rate : float, LearningRateSchedule or callable
        A float >= 0, a schedule, or any callable ``step -> lr`` (a callable with no
        arguments is called without one, as Keras does).
    weight_decay : float, optional
        Decoupled weight decay :math:`\\lambda`: before the update,
        :math:`\\theta \\leftarrow \\theta - \\eta\\lambda\\theta` (Keras; ``torch.optim.AdamW``'s
        ``p.mul_(1 - lr * wd)``).
    clipnorm, clipvalue, global_clipnorm : float, optional
        Gradient clipping (at most one): each gradient rescaled to L2 norm at most
        ``clipnorm``; each element clipped to ``[-clipvalue, clipvalue]``; all gradients
        rescaled together so their joint L2 norm is at most ``global_clipnorm``.
    use_ema : bool
        Keep an exponential moving average of the variables: after each update,
        :math:`\\bar\\theta \\leftarrow \\mu \\bar\\theta + (1-\\mu)\\theta` with
        :math:`\\mu` = ``ema_momentum`` (:math:`\\bar\\theta = \\theta` after the first
        step). :meth:`finalize_variable_values` (called at the end of ``fit``) writes the
        averages into the variables.
    ema_momentum : float
        :math:`\\mu` in [0, 1]. Default 0.99.
    ema_overwrite_frequency : int, optional
        Also write the averages into the variables every this many steps.
    gradient_accumulation_steps : int, optional
        k >= 2: update only every k-th call, with the mean of the k gradients; ``iterations``
        counts the updates.
    name : str, optional
        Defaults to the class name in snake case, numbered as Keras numbers objects
        (``"adam"``, ``"adam_1"``, ``"sgd"``, ``"adam_w"``, ...).

    A subclass's ``__init__`` takes ``learning_rate`` and its own hyperparameters, validates
    and stores them as attributes named as the arguments, listed in ``_hyperparameters`` (so
    that :meth:`get_config` writes them), and passes everything else on as ``**kwargs``: the
    arguments common to all optimizers are declared and checked here only.
    """

    _hyperparameters: tuple[str, ...] = ()  # a subclass's own constructor arguments

    def __init__(
        self,
        learning_rate: LearningRate,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                          stacklevel=3)
        for key, default in _UNSUPPORTED_DEFAULTS.items():
            if key in kwargs:
                value = kwargs.pop(key)
                if value != default:
                    raise ValueError(
                        f"{owner}: {key} is not supported by nablanet (only its default "
                        f"{default!r} is). Received: {key}={value}"
                    )
        if kwargs:
            raise ValueError(f"{owner}: argument(s) not recognized: {kwargs}")
        if name is None:
            from nablanet.layers.base import to_snake_case, unique_name

            name = unique_name(to_snake_case(type(self).__name__))
        self.name = name
        self.use_ema = bool(use_ema)
        if not (_is_number(ema_momentum) and 0 <= ema_momentum <= 1):
            raise ValueError(f"{owner}: `ema_momentum` must be in the range [0, 1]. "
                             f"Received: ema_momentum={ema_momentum}")
        self.ema_momentum = float(ema_momentum)
        if ema_overwrite_frequency is not None and not (
                isinstance(ema_overwrite_frequency, (int, np.integer))
                and not isinstance(ema_overwrite_frequency, bool)
                and ema_overwrite_frequency >= 1):
            raise ValueError(f"{owner}: `ema_overwrite_frequency` must be an integer >= 1 or "
                             f"None. Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        self.ema_overwrite_frequency = (
            None if ema_overwrite_frequency is None else int(ema_overwrite_frequency))
        if gradient_accumulation_steps is not None and not (
                isinstance(gradient_accumulation_steps, (int, np.integer))
                and not isinstance(gradient_accumulation_steps, bool)
                and gradient_accumulation_steps >= 2):
            raise ValueError(f"{owner}: `gradient_accumulation_steps` must be an integer >= 2. "
                             f"Received: gradient_accumulation_steps="
                             f"{gradient_accumulation_steps}")
        self.gradient_accumulation_steps = (
            None if gradient_accumulation_steps is None else int(gradient_accumulation_steps))
        self.weight_decay = (
            None if weight_decay is None else check_non_negative(owner, "weight_decay",
                                                                 weight_decay)
        )
        self.clipnorm = check_positive_or_none(owner, "clipnorm", clipnorm)
        self.clipvalue = check_positive_or_none(owner, "clipvalue", clipvalue)
        self.global_clipnorm = check_positive_or_none(owner, "global_clipnorm", global_clipnorm)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                f"{owner}: Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                f"set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        self._learning_rate: Any = 0.0
        self._lr_takes_step = True
        self.learning_rate = learning_rate  # validated by the setter
        self._iterations = 0
        self._variables: list[Any] = []  # trainable variables, in build order
        self._index: dict[int, int] = {}  # id(variable) -> build-order index
        self._slots: list[dict[str, np.ndarray]] = []  # per variable: slot name -> array
        self._pending: dict[int, dict[str, np.ndarray]] = {}  # restored before first sight
        self._warned_missing = False
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern[str] | None = None

    # -- hooks for subclasses ------------------------------------------------------------------
    def _make_slots(self, array: np.ndarray) -> dict[str, np.ndarray]:
        """The state arrays of one variable, by slot name (zeros unless the rule says)."""
        return {}

    def _update_step(
        self, grad: np.ndarray, param: np.ndarray, slots: dict[str, np.ndarray], lr: float
    ) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _update_step")

    def _scalar_state(self) -> dict[str, float]:
        """Optimizer-wide scalar state other than ``iterations`` (saved by get_state)."""
        return {}

    def _set_scalar_state(self, name: str, value: float) -> None:
        raise ValueError(f"{type(self).__name__}: unknown state entry {name!r}")

    def _before_update_steps(self, lr: float) -> None:
        """Called once per step before the per-variable updates (Nadam's μ product)."""

    # -- properties ----------------------------------------------------------------------------
    @property
    def iterations(self) -> int:
        """Number of updates applied so far (with gradient accumulation: of the real updates,
        ``calls // gradient_accumulation_steps``)."""
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    @iterations.setter
    def iterations(self, value: int) -> None:
        if not (isinstance(value, (int, np.integer)) and value >= 0):
            raise ValueError(
                f"{type(self).__name__}: iterations must be a non-negative integer. "
                f"Received: iterations={value}"
            )
        self._iterations = int(value)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update (a schedule is evaluated at ``iterations``).

        Assigning a float replaces any schedule; assigning a schedule or callable installs it.
        """
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        if isinstance(value, LearningRateSchedule):
            self._learning_rate = value
            self._lr_takes_step = True
        elif callable(value):
            self._learning_rate = value
            self._lr_takes_step = _takes_an_argument(value)
        else:
            if isinstance(value, np.ndarray) and value.ndim == 0:
                value = value.item()
            self._learning_rate = check_non_negative(type(self).__name__, "learning_rate", value)

    @property
    def built(self) -> bool:
        return bool(self._variables)

    @property
    def variables(self) -> list[np.ndarray]:
        """Keras's ``optimizer.variables``: the iteration count and (when it is a float, not a
        schedule) the learning rate as 0-d arrays (copies), then the live state arrays,
        variable by variable in build order (slot order within). :meth:`set_weights` takes a
        list in this order."""
        head = [np.array(self._iterations, dtype=np.int64)]
        if isinstance(self._learning_rate, float):
            head.append(np.array(self._learning_rate, dtype=np.float32))
        return head + [array for slots in self._slots for array in slots.values()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Assign :attr:`variables` from a list in the same order (the optimizer must be
        built, so that its state arrays exist)."""
        owner = type(self).__name__
        if not self.built:
            raise ValueError(
                f"You are calling `set_weights()` on an optimizer that has not yet been "
                f"built. Please call `optimizer.build(trainable_variables)` to create the "
                f"optimizer weights before calling `set_weights()`. ({owner})")
        current = self.variables
        weights = [np.asarray(getattr(w, "data", w)) for w in weights]
        if len(weights) != len(current):
            raise ValueError(f"{owner}: set_weights got {len(weights)} arrays for "
                             f"{len(current)} optimizer variables.")
        for target, value in zip(current, weights):
            if target.shape != value.shape:
                raise ValueError(f"{owner}: set_weights got an array of shape {value.shape} "
                                 f"for a variable of shape {target.shape}.")
        self._iterations = int(weights[0])
        rest = weights[1:]
        if isinstance(self._learning_rate, float):
            self.learning_rate = float(rest[0])
            rest = rest[1:]
        arrays = [array for slots in self._slots for array in slots.values()]
        for array, value in zip(arrays, rest):
            np.copyto(array, value, casting="unsafe")

    def get_weights(self) -> list[np.ndarray]:
        """Copies of :attr:`variables`."""
        return [np.array(a, copy=True) for a in self.variables]

    @property
    def _model_variables_moving_average(self) -> list[np.ndarray]:
        """The moving averages of the variables (``use_ema``), in build order."""
        return [slots["ema_average"] for slots in self._slots if "ema_average" in slots]

    @property
    def _accumulated_gradients(self) -> list[np.ndarray]:
        """The gradient accumulators (``gradient_accumulation_steps``), in build order."""
        return [slots["grad_accumulator"] for slots in self._slots if "grad_accumulator" in slots]

    @property
    def trainable_variables(self) -> list[Any]:
        """The variables this optimizer has state for, in build order."""
        return list(self._variables)

    def _current_learning_rate(self) -> float:
        lr = self._learning_rate
        if isinstance(lr, float):
            return lr
        value = lr(self.iterations) if self._lr_takes_step else lr()
        value = float(np.asarray(getattr(value, "data", value)))
        if not value >= 0:
            raise ValueError(
                f"{type(self).__name__}: the learning-rate schedule gave an invalid value at "
                f"step {self._iterations}. Received: learning_rate={value}"
            )
        return value

    # -- variables and their state -------------------------------------------------------------
    def build(self, variables: Iterable[Any]) -> None:
        """Create the state of ``variables`` now, in this order (known ones are kept)."""
        for variable in variables:
            if id(variable) not in self._index:
                self._add_variable(variable)

    def _add_variable(self, variable: Any) -> int:
        array = _array_of_variable(variable)
        index = len(self._variables)
        slots = self._make_slots(array)
        if self.gradient_accumulation_steps:
            slots["grad_accumulator"] = np.zeros_like(array)
        if self.use_ema:
            slots["ema_average"] = np.array(array, copy=True)
        pending = self._pending.pop(index, None)
        if pending is not None:
            for slot_name, value in pending.items():
                self._restore_slot(slots, slot_name, index, value)
        self._variables.append(variable)
        self._index[id(variable)] = index
        self._slots.append(slots)
        return index

    def _index_of(self, variable: Any) -> int:
        index = self._index.get(id(variable))
        return self._add_variable(variable) if index is None else index

    def _restore_slot(
        self, slots: dict[str, np.ndarray], slot_name: str, index: int, value: np.ndarray
    ) -> None:
        key = f"{slot_name}/{index}"
        if slot_name not in slots:
            raise ValueError(
                f"{type(self).__name__}: state entry {key!r} does not match this optimizer's "
                f"state (its slots are {sorted(slots)})"
            )
        target = slots[slot_name]
        if target.shape != np.shape(value):
            raise ValueError(
                f"{type(self).__name__}: state entry {key!r} has shape {np.shape(value)}, "
                f"expected {target.shape}"
            )
        np.copyto(target, value, casting="same_kind")

    def exclude_from_weight_decay(
        self, var_list: Sequence[Any] | None = None, var_names: Sequence[str] | None = None
    ) -> None:
        """Exempt variables from weight decay: these objects, or those whose ``name``
        contains (``re.search``) one of ``var_names`` (e.g. ``["bias"]``; a layer's weights
        are named ``kernel``, ``bias``, ``gamma``, ... with path ``"dense/kernel"``)."""
        self._exclude_ids = {id(v) for v in var_list} if var_list else set()
        self._exclude_pattern = (
            re.compile("|".join(sorted(set(var_names)))) if var_names else None
        )

    def _uses_weight_decay(self, variable: Any) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        if self._exclude_pattern is not None:
            name = getattr(variable, "name", None)
            if name is not None and self._exclude_pattern.search(str(name)):
                return False
        return True

    # -- the step ------------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Any]]) -> int:
        """Apply one update from ``(gradient, variable)`` pairs; returns ``iterations``."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        grads, variables = zip(*pairs)
        return self.apply(list(grads), list(variables))

    def apply(self, grads: Sequence[Any], variables: Sequence[Any] | None = None) -> int:
        """Apply one update (Keras 3's ``optimizer.apply(grads, trainable_variables)``).

        Without ``variables`` the gradients must match the built variables one to one.
        Returns ``iterations`` after the update.
        """
        owner = type(self).__name__
        grads = list(grads)
        if not grads:
            return self._iterations
        if variables is None:
            if not self.built:
                raise ValueError(
                    f"{owner}: when passing `grads` without `variables`, the optimizer must "
                    "already be built on a list of variables. Call "
                    "`optimizer.build(variables)` first."
                )
            variables = self._variables
        variables = list(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"{owner}: got {len(grads)} gradients for {len(variables)} variables; they "
                "must match one to one."
            )
        kept_grads: list[np.ndarray] = []
        kept_vars: list[Any] = []
        missing: list[str] = []
        overwritten = False
        for i, (grad, variable) in enumerate(zip(grads, variables)):
            if grad is None:
                missing.append(_variable_label(variable, i))
                continue
            if getattr(variable, "overwrite_with_gradient", False):
                overwritten = True
                self._overwrite_with_gradient(grad, variable)
                continue
            param = _array_of_variable(variable)
            grad = np.asarray(getattr(grad, "data", grad))
            if grad.shape != param.shape:
                raise ValueError(
                    f"{owner}: gradient shape {grad.shape} does not match the shape "
                    f"{param.shape} of {_variable_label(variable, i)}"
                )
            if grad.dtype != param.dtype:
                grad = grad.astype(param.dtype)
            kept_grads.append(grad)
            kept_vars.append(variable)
        if not kept_grads and not overwritten:
            raise ValueError("No gradients provided for any variable.")
        if missing and not self._warned_missing:
            self._warned_missing = True
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss. "
                "If using `model.compile()`, did you forget to provide a `loss` argument?",
                stacklevel=2,
            )
        if self._non_finite(kept_grads, kept_vars):  # skipped: no weight becomes NaN
            return self._iterations
        if kept_grads:
            self._apply_kept(kept_grads, kept_vars)
        self._iterations += 1
        return self.iterations

    def _overwrite_with_gradient(self, grad: Any, variable: Any) -> None:
        """Keras's ``overwrite_with_gradient`` variables take their gradient as new value
        (with accumulation: the running maximum of the gradients, written every k-th call)."""
        param = _array_of_variable(variable)
        grad = np.asarray(getattr(grad, "data", grad), dtype=param.dtype)
        steps = self.gradient_accumulation_steps
        if not steps:
            np.copyto(param, grad)
            return
        accumulator = self._slots[self._index_of(variable)]["grad_accumulator"]
        np.maximum(accumulator, grad, out=accumulator)
        if (self._iterations + 1) % steps == 0:
            np.copyto(param, accumulator)
            accumulator[...] = 0

    def _apply_kept(self, grads: list[np.ndarray], variables: list[Any]) -> None:
        """Accumulation, clipping, weight decay, the update, EMA and constraints."""
        indices = [self._index_of(v) for v in variables]
        steps = self.gradient_accumulation_steps
        if steps:
            accumulators = [self._slots[i]["grad_accumulator"] for i in indices]
            if (self._iterations + 1) % steps != 0:
                for accumulator, grad in zip(accumulators, grads):
                    accumulator += grad
                self._after_update(variables)
                return
            grads = [(grad + accumulator) / grad.dtype.type(steps)
                     for grad, accumulator in zip(grads, accumulators)]
            for accumulator in accumulators:
                accumulator[...] = 0
        grads = self._clip_gradients(grads)
        lr = self._current_learning_rate()
        if self.weight_decay:
            factor = 1.0 - lr * self.weight_decay
            for variable in variables:
                if self._uses_weight_decay(variable):
                    param = _array_of_variable(variable)
                    np.multiply(param, factor, out=param)
        self._before_update_steps(lr)
        for grad, variable, index in zip(grads, variables, indices):
            param = _array_of_variable(variable)
            slots = self._slots[index]
            if param.ndim == 0:  # the rules index and write through views: use 1-element ones
                param, grad = param.reshape(1), grad.reshape(1)
                slots = {name: array.reshape(1) for name, array in slots.items()}
            self._update_step(grad, param, slots, lr)
        self._after_update(variables)

    def _non_finite(self, grads: list[np.ndarray], variables: list[Any]) -> bool:
        """Whether a gradient holds NaN or inf; if so the whole update is skipped (weights,
        slots and ``iterations`` unchanged) with a ``RuntimeWarning`` naming the variables."""
        with np.errstate(over="ignore", invalid="ignore"):  # (the squares may overflow)
            bad = [_variable_label(v, i) for i, (g, v) in enumerate(zip(grads, variables))
                   if g.dtype.kind in "fc" and g.size and not _all_finite(g)]
        if bad:
            warnings.warn(f"{type(self).__name__}: non-finite (NaN or inf) gradients for "
                          f"{bad}; this update was skipped, the weights are unchanged.",
                          RuntimeWarning, stacklevel=3)
        return bool(bad)

    def _after_update(self, variables: list[Any]) -> None:
        """The moving average (``use_ema``), then each variable's ``constraint`` (Keras's
        order)."""
        if self.use_ema:
            momentum = self.ema_momentum if self.iterations != 0 else 0.0
            for variable, slots in zip(self._variables, self._slots):
                average = slots["ema_average"]
                average *= momentum
                average += (1.0 - momentum) * _array_of_variable(variable)
            frequency = self.ema_overwrite_frequency
            if frequency and (self.iterations + 1) % frequency == 0:
                self._overwrite_with_averages(self._variables)
        for variable in variables:
            constraint = getattr(variable, "constraint", None)
            if constraint is not None:
                param = _array_of_variable(variable)
                value = constraint(variable if hasattr(variable, "data") else param)
                np.copyto(param, np.asarray(getattr(value, "data", value)), casting="unsafe")

    def _overwrite_with_averages(self, variables: Sequence[Any]) -> None:
        averages = self._model_variables_moving_average
        if len(variables) != len(averages):
            raise ValueError(
                f"The length of model variables ({len(variables)}) to override does not match "
                f"the length of model variables stored in the optimizer ({len(averages)}). "
                "Please check if the optimizer was called on your model.")
        for variable, average in zip(variables, averages):
            np.copyto(_array_of_variable(variable), average)

    def finalize_variable_values(self, var_list: Sequence[Any]) -> None:
        """End of training (``fit`` calls it): with ``use_ema``, write the moving averages
        into ``var_list`` (the variables the optimizer was built on, in that order)."""
        if self.use_ema:
            self._overwrite_with_averages(list(var_list))

    def _clip_gradients(self, grads: list[Any]) -> list[np.ndarray]:
        grads = [np.asarray(getattr(g, "data", g)) for g in grads]
        if self.clipnorm is not None:
            return [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            norm = math.hypot(*(_norm(g) for g in grads))
            if norm > self.global_clipnorm:
                return [_scaled(g, self.global_clipnorm / norm) for g in grads]
            return grads
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # -- saving --------------------------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """The whole state as copies: ``"iterations"``, scalars, then ``"<slot>/<index>"``."""
        state: dict[str, np.ndarray] = {"iterations": np.array(self._iterations, dtype=np.int64)}
        for name, value in self._scalar_state().items():
            state[name] = np.array(value, dtype=np.float64)
        for index, slots in enumerate(self._slots):
            for slot_name, array in slots.items():
                state[f"{slot_name}/{index}"] = array.copy()
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state`'s dict. Entries of variables not seen yet are kept and
        applied when the variable with that build-order index is first seen (or built)."""
        owner = type(self).__name__
        state = dict(state)
        if "iterations" not in state:
            raise ValueError(f"{owner}: set_state needs an 'iterations' entry. "
                             f"Received keys: {sorted(state)}")
        iterations = np.asarray(state.pop("iterations"))
        scalars = self._scalar_state()
        parsed: list[tuple[str, int, np.ndarray]] = []
        for key, value in state.items():
            if key in scalars:
                continue
            slot_name, _, index_text = key.rpartition("/")
            if not slot_name or not index_text.isdigit():
                raise ValueError(f"{owner}: unknown state entry {key!r}")
            parsed.append((slot_name, int(index_text), np.asarray(value)))
        for slot_name, index, value in parsed:  # check everything before changing anything
            if index < len(self._slots):
                slots = self._slots[index]
                if slot_name not in slots or slots[slot_name].shape != value.shape:
                    self._restore_slot(dict(slots), slot_name, index, value)  # raises
        self.iterations = int(iterations)
        for name in scalars:
            if name in state:
                self._set_scalar_state(name, float(np.asarray(state[name])))
        self._pending = {}
        for slot_name, index, value in parsed:
            if index < len(self._slots):
                self._restore_slot(self._slots[index], slot_name, index, value)
            else:
                self._pending.setdefault(index, {})[slot_name] = value.copy()

    def get_config(self) -> dict[str, Any]:
        """Keras-style config: name, learning_rate (float or serialized schedule), weight decay
        and clipping, plus each optimizer's own hyperparameters (``_hyperparameters``)."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr_config: Any = _schedules.serialize(lr)
        elif callable(lr):
            warnings.warn(
                f"{type(self).__name__}.get_config: a plain callable learning rate cannot be "
                "serialized; its current value is written instead. Use a "
                "LearningRateSchedule subclass to keep the schedule.",
                stacklevel=2,
            )
            lr_config = self._current_learning_rate()
        else:
            lr_config = lr
        config = {
            "name": self.name,
            "learning_rate": lr_config,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": None,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }
        config.update({key: getattr(self, key) for key in self._hyperparameters})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """Rebuild an optimizer from :meth:`get_config`'s dict (Keras configs load too)."""
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = _schedules.deserialize(lr)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} iterations={self._iterations}>"


def _takes_an_argument(fn: Callable[..., Any]) -> bool:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD,
                              parameter.VAR_POSITIONAL):
            return True
    return False


def _norm(g: np.ndarray) -> float:
    """The L2 norm of ``g`` without overflow: when the float32 sum of squares overflows
    (entries above ~1e19), it is taken of ``g / max|g|`` and scaled back (in float64)."""
    flat = g.reshape(-1)
    with np.errstate(over="ignore"):  # (handled below)
        squared = float(np.dot(flat, flat))
    if math.isfinite(squared):
        return math.sqrt(squared)
    top = float(np.max(np.abs(flat)))
    unit = flat / flat.dtype.type(top)
    return top * math.sqrt(float(np.dot(unit, unit)))


def _scaled(g: np.ndarray, scale: float) -> np.ndarray:
    """``g * scale`` in ``g``'s dtype; a scale too small for it is applied in float64."""
    if g.dtype.kind != "f" or scale >= float(np.finfo(g.dtype).tiny):
        return g * g.dtype.type(scale)
    return (g.astype(np.float64) * scale).astype(g.dtype)


def _clip_by_norm(g: np.ndarray, clipnorm: float) -> np.ndarray:
    norm = _norm(g)
    if norm > clipnorm:
        return _scaled(g, clipnorm / norm)
    return g
