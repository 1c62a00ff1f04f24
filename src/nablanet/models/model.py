"""``Model``: a layer that can be trained -- ``compile``, ``fit``, ``evaluate``, ``predict``.

Three ways to make one, as in Keras 3:

* ``Sequential([...])`` (:mod:`nablanet.models.sequential`);
* subclassing: ``class MyModel(Model)`` with layers assigned as attributes in ``__init__``
  and a ``call(inputs, training=False)``;
* the functional API: ``Model(inputs, outputs)`` from :func:`nablanet.layers.Input`
  (:mod:`nablanet.models.functional`).

The training loop lives here once. One step of ``fit`` is :meth:`Model.train_step`: one
forward pass, one ``backward()`` of the loss, one optimizer update from the weights'
``.grad`` (which are then reset to None), metrics updated on NumPy arrays. Subclasses may
override ``train_step``/``test_step`` (a GAN does, with its own optimizers); whatever dict
they return is shown in the progress line and recorded in the History.

Deliberate differences from Keras 3 (documented where they apply):

* ``verbose='auto'`` is 1; with 1, the progress line is redrawn in place on a terminal and
  printed once per epoch otherwise (Keras prints throttled intermediate lines).
* The progress line follows the chapter's tf.keras format
  (``56/56 [====] - 6s 46ms/step - loss: ...``), not Keras 3's unicode bar.
* ``fit``/``evaluate``/``predict`` refuse NaN or infinite inputs and check the feature shape
  (and, for sparse categorical losses, the label range) before any weight changes.
* A one-shot iterator (a generator) that runs out of batches warns as Keras does and
  stops training (Keras 3 goes on with empty epochs).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nablanet.autograd.function import no_grad
from nablanet.autograd.tensor import Tensor
from nablanet.layers.base import Layer, _shape_of
from nablanet.models.compile_utils import (
    CompileLoss,
    CompileMetrics,
    MeanTracker,
    _is_shape_resolved,
    log_value,
)
from nablanet.models.data_adapter import (
    DataHandler,
    flatten,
    pack_x_y_sample_weight,
    unpack_x_y_sample_weight,
)

if TYPE_CHECKING:
    from nablanet.callbacks.base import CallbackList

__all__ = ["Model"]

_NOT_COMPILED = "You must call `compile()` before using the model."


def _is_metric(value: Any) -> bool:
    return (not isinstance(value, Layer) and hasattr(value, "update_state")
            and hasattr(value, "result") and hasattr(value, "reset_state"))


def _resolve_verbose(verbose: Any) -> int:
    if verbose == "auto":
        verbose = 1
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    from nablanet.distribute._runtime import quiet_worker

    return 0 if verbose and quiet_worker() else int(verbose)  # only worker 0 prints


def _as_list(structure: Any) -> list[Any]:
    """Outputs/targets as a list, one entry per output."""
    if structure is None:
        return []
    if isinstance(structure, (list, tuple)):
        return list(structure)
    if isinstance(structure, dict):
        return list(structure.values())
    return [structure]


def _training_allocator(steps: int | None = None) -> Any:
    """The allocator setting of fit's, evaluate's and predict's loops and of the one-batch
    calls: :class:`nablanet.utils.freed_memory_kept` (see there). A loop returns the kept
    memory when it ends; a call of one batch (``steps`` 1: ``train_on_batch`` in a user's own
    loop, ``predict`` on each step of a GAN loop) keeps it for the next call instead
    (``release=False``), since returning it every call would cost what keeping it saves."""
    from nablanet import utils

    return utils.freed_memory_kept(enabled=utils.FIT_KEEPS_FREED_MEMORY, release=steps != 1)


def _float_logs(logs: Any) -> dict[str, Any]:
    if logs is None:
        return {}
    if not isinstance(logs, dict):
        raise TypeError("train_step/test_step must return a dict of logs. "
                        f"Received: {type(logs).__name__}")
    out: dict[str, Any] = {}
    for key, value in logs.items():
        try:
            out[key] = log_value(value)
        except (TypeError, ValueError):
            out[key] = value
    return out


class Model(Layer):
    """A trainable layer: Keras 3's ``keras.Model``.

    ``Model(inputs, outputs, name=None)`` builds a functional model; ``Model()`` (from a
    subclass's ``__init__``) a subclassed one.

    Examples
    --------
    >>> import numpy as np
    >>> import nablanet as nb
    >>> from nablanet import layers, models
    >>> class Linear(models.Model):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.dense = layers.Dense(1)
    ...     def call(self, x):
    ...         return self.dense(x)
    >>> model = Linear()
    >>> model(np.ones((2, 3), np.float32)).shape
    (2, 1)
    >>> len(model.trainable_weights)
    2
    """

    # Set with object.__setattr__ in _init_training_state (before __setattr__ may consult it).
    _tracked_metrics: list[Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is Model and (len(args) >= 2 or "outputs" in kwargs
                             or ("inputs" in kwargs and args)):
            from nablanet.models.functional import Functional

            return Layer.__new__(Functional)
        return Layer.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise TypeError(
                f"{type(self).__name__}: positional arguments and inputs/outputs are only "
                "accepted by the functional API, Model(inputs, outputs). Received "
                f"{len(args)} positional argument(s) and keys {sorted(kwargs)}"
            )
        allowed = {"name", "trainable", "dtype"}
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {unknown}")
        Layer.__init__(self, **kwargs)
        self._init_training_state()

    def _init_training_state(self) -> None:
        object.__setattr__(self, "_tracked_metrics", [])
        self.optimizer: Any = None
        self.compiled = False
        self.stop_training = False
        self.stop_evaluating = False
        self.stop_predicting = False
        self.history: Any = None
        self._compile_loss: CompileLoss | None = None
        self._compile_metrics: CompileMetrics | None = None
        self._loss_tracker: MeanTracker | None = None
        self._compile_args: dict[str, Any] | None = None
        self._build_input_shape: Any = None
        self._initial_epoch: int | None = None
        self._optimizer_built_for: int | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        tracked = self.__dict__.get("_tracked_metrics")
        if tracked is not None and not name.startswith("_") and _is_metric(value):
            if all(value is not m for m in tracked):
                tracked.append(value)
        super().__setattr__(name, value)

    # -- structure ----------------------------------------------------------------------------
    def call(self, inputs: Any, training: bool = False) -> Any:
        raise NotImplementedError(
            f"Model {type(self).__name__} has no call(): a subclassed model must implement "
            "`call(self, inputs, training=False)`."
        )

    def _maybe_build(self, inputs: Any) -> None:
        if not self.built:
            self._build_input_shape = _batchless(_shape_of(inputs))
            self.built = True

    def build(self, input_shape: Any = None) -> None:
        """Create the weights by running the model once on zeros of ``input_shape``.

        ``input_shape`` includes the batch axis (``None`` is allowed there).
        """
        if input_shape is None:
            raise ValueError(f"{self.name}: build() needs an input_shape.")
        if self.built and self._build_input_shape is not None:
            return
        zeros = _zeros_like_shape(input_shape)
        with no_grad():
            self(zeros, training=False)
        self._build_input_shape = _batchless(_shape_of(zeros))
        self.built = True

    @property
    def output_names(self) -> list[str] | None:
        """Names of the outputs (layer names) for functional and Sequential models."""
        return None

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer of the model by name or by index in :attr:`layers`."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in layers]}.")

    # -- compile ------------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None,
                metrics: Any = None, weighted_metrics: Any = None, run_eagerly: bool = False,
                steps_per_execution: int = 1, jit_compile: Any = "auto",
                auto_scale_loss: bool = True) -> None:
        """Configure the model for training.

        Parameters
        ----------
        optimizer : str or Optimizer
            A name (``'adam'``, ``'sgd'``, ``'rmsprop'``, ...) or an instance.
        loss : str, Loss, callable, list or dict, optional
            One loss, or one per output (a list in output order or a dict by output name).
            May be None when ``train_step`` is overridden (a GAN) or the model adds its own
            losses with ``add_loss``.
        loss_weights : list or dict, optional
            Scalars weighting the per-output losses in the total.
        metrics, weighted_metrics : list or dict, optional
            Metric names (``'accuracy'`` resolves against the loss) or Metric objects, for
            every output or per output. Only ``weighted_metrics`` see sample weights.
        run_eagerly, steps_per_execution, jit_compile, auto_scale_loss
            Accepted for compatibility with Keras and ignored (nablanet always runs
            eagerly, one step at a time).
        """
        from nablanet import optimizers

        self.optimizer = optimizers.get(optimizer)
        self._optimizer_built_for = None
        names = self.output_names
        self._compile_loss = (CompileLoss(loss, loss_weights, output_names=names)
                              if loss is not None else None)
        self._compile_metrics = None
        if metrics is not None or weighted_metrics is not None:
            self._compile_metrics = CompileMetrics(metrics, weighted_metrics,
                                                   output_names=names)
            probe = []
            if loss is not None and not isinstance(loss, (list, tuple, dict)) \
                    and not _is_shape_resolved(loss):
                from nablanet import losses as losses_module

                probe = [losses_module.get(loss)]
            self._compile_metrics.check_names(probe)
            # Build for the outputs known now (one for a subclassed model), so that
            # ``model.metrics`` lists the compiled metrics before any data (Keras); a model
            # with another number of outputs rebuilds them at its first batch.
            n_outputs = len(names) if names else 1
            per_output = isinstance(loss, dict) or isinstance(loss_weights, dict) or (
                isinstance(loss, (list, tuple)) and len(loss) > 1) or any(
                isinstance(a, dict) for a in (metrics, weighted_metrics))
            if names is not None or not per_output:
                fns: list[Any] = []
                if self._compile_loss is not None:
                    self._compile_loss.build(n_outputs, names)
                    fns = self._compile_loss.fns
                self._compile_metrics.build(n_outputs, names, fns)
        self._loss_tracker = MeanTracker("loss")
        self._compile_args = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                              "weighted_metrics": weighted_metrics}
        self.compiled = True
        self.stop_training = False

    def _assert_compiled(self) -> None:
        if not self.compiled or self.optimizer is None:
            raise ValueError(_NOT_COMPILED)

    @property
    def metrics(self) -> list[Any]:
        """The metric objects: the loss tracker, per-output loss trackers, compiled metrics,
        then metrics assigned as attributes (reset at the start of every epoch)."""
        out: list[Any] = []
        if self._reports_loss():
            out.append(self._loss_tracker)
        if self._compile_loss is not None:
            out += [t for t in self._compile_loss.trackers if t is not None]
        if self._compile_metrics is not None:
            out += self._compile_metrics.metrics
        for metric in self._tracked_metrics:
            if all(metric is not m for m in out):
                out.append(metric)
        for layer in self._flatten_layers():
            if layer is not self and isinstance(layer, Model):
                out += [m for m in layer._tracked_metrics if all(m is not o for o in out)]
        return out

    @property
    def metrics_variables(self) -> list[Any]:
        """The state variables of all metrics (Keras's ``model.metrics_variables``)."""
        return [v for metric in self.metrics for v in getattr(metric, "variables", [])]

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Reset every metric's state (done at the start of each epoch and evaluation)."""
        for metric in self.metrics:
            metric.reset_state()
        if self._loss_tracker is not None:
            self._loss_tracker.reset_state()

    # -- one step -----------------------------------------------------------------------------
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> Tensor:
        """The total loss: the compiled losses (weighted) plus the layers' ``losses``
        (regularisation penalties of the last call)."""
        total: Tensor | None = None
        if self._compile_loss is not None:
            preds = _as_list(y_pred)
            names = self._names_of(y_pred)
            if names != self._compile_loss.output_names:
                self._compile_loss.output_names = names
                self._compile_loss._built_for = None
            targets = _targets_list(y, len(preds), names)
            weights = _targets_list(sample_weight, len(preds), names)
            if len(weights) < len(preds) and sample_weight is not None and len(preds) > 1:
                weights = [sample_weight] * len(preds)
            total = self._compile_loss(targets, preds, weights)
        extra = self.losses
        for penalty in extra:
            total = penalty if total is None else total + penalty
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    def compute_metrics(self, x: Any, y: Any, y_pred: Any,
                        sample_weight: Any = None) -> dict[str, float]:
        """Update the compiled metrics with a batch and return all current results."""
        if self._compile_metrics is not None and y is not None:
            preds = _as_list(y_pred)
            names = self._names_of(y_pred)
            if self._compile_metrics._built_for != len(preds) or \
                    self._compile_metrics.output_names != names:
                self._compile_metrics.output_names = names
                fns = self._compile_loss.fns if self._compile_loss is not None else []
                if self._compile_loss is not None and self._compile_loss._built_for is None:
                    self._compile_loss.build(len(preds), names)
                    fns = self._compile_loss.fns
                self._compile_metrics.build(len(preds), names, fns)
            targets = [None if t is None else np.asarray(getattr(t, "data", t))
                       for t in _targets_list(y, len(preds), names)]
            weights = [None if w is None else np.asarray(getattr(w, "data", w))
                       for w in _targets_list(sample_weight, len(preds), names)]
            if len(weights) < len(preds) and sample_weight is not None:
                weights = [np.asarray(getattr(sample_weight, "data", sample_weight))] * len(preds)
            self._compile_metrics.update_state(targets, [p.data for p in preds], weights)
        return self.get_metrics_result()

    def _names_of(self, y_pred: Any) -> list[str] | None:
        """Output names: the keys of a dict of outputs, else the model's output names."""
        return list(y_pred.keys()) if isinstance(y_pred, dict) else self.output_names

    def get_metrics_result(self) -> dict[str, float]:
        """The current value of every metric, by name (``loss`` first)."""
        logs: dict[str, float] = {}
        if self._reports_loss():
            assert self._loss_tracker is not None
            logs["loss"] = self._loss_tracker.result()
        if self._compile_loss is not None:
            for tracker in self._compile_loss.trackers:
                if tracker is not None:
                    logs[tracker.name] = tracker.result()
        if self._compile_metrics is not None:
            logs.update(self._compile_metrics.results())
        for metric in self._tracked_metrics:
            logs[metric.name] = log_value(metric.result())
        return logs

    def _reports_loss(self) -> bool:
        """Whether ``loss`` is a metric: a compiled loss, or losses added with ``add_loss``
        (a model whose only loss comes from ``add_loss`` reports it too, as in Keras)."""
        tracker = self._loss_tracker
        return tracker is not None and (self._compile_loss is not None or tracker.count > 0)

    def _compute_loss(self, x: Any, y: Any, y_pred: Any, sample_weight: Any,
                      training: bool) -> Tensor:
        """Call :meth:`compute_loss`, also when an override has no ``training`` argument
        (Keras's backward compatibility)."""
        if _takes_training(self.compute_loss):
            return self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=training)
        return self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)

    def _trainable_for_step(self) -> list[Tensor]:
        weights = self.trainable_weights
        if self._optimizer_built_for != len(weights):
            self.optimizer.build(weights)
            self._optimizer_built_for = len(weights)
        return weights

    def train_step(self, data: Any) -> dict[str, Any]:
        """One training step on one batch: forward, loss, backward, optimizer update.

        Override it for custom training (a GAN); return a dict of logs.
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=True)
        if self._loss_tracker is not None:
            self._loss_tracker.update_state(loss.data, sample_weight=_batch_size(x))
        weights = self._trainable_for_step()
        for weight in weights:
            weight.grad = None
        if loss.requires_grad:
            loss.backward()
            pairs = [(w.grad, w) for w in weights if w.grad is not None]
            if pairs:
                self.optimizer.apply_gradients(pairs)
            for weight in weights:
                weight.grad = None
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict[str, Any]:
        """One evaluation step on one batch (no gradients); returns the running results."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with no_grad():
            y_pred = self(x, training=False)
            loss = None
            if self._compile_loss is not None or self.losses:
                loss = self._compute_loss(x, y, y_pred, sample_weight, training=False)
        if loss is not None and self._loss_tracker is not None:
            self._loss_tracker.update_state(loss.data, sample_weight=_batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's outputs on one batch (inference mode, no gradients)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        with no_grad():
            return self(x, training=False)

    # -- up-front checks ----------------------------------------------------------------------
    def _input_spec(self) -> list[tuple[Any, ...]] | None:
        """Per-input shapes the model accepts (None = any), when known."""
        return None

    def _input_spec_owner(self) -> str:
        return self.name

    def _check_inputs(self, x: Any) -> None:
        """Raise a clear error when ``x`` does not fit the model's known input shapes."""
        spec = self._input_spec()
        if spec is None:
            return
        arrays = flatten(x) if not isinstance(x, dict) else list(x.values())
        if len(arrays) != len(spec):
            raise ValueError(
                f'Layer "{self.name}" expects {len(spec)} input(s), but it received '
                f"{len(arrays)} input tensors."
            )
        for i, (array, expected) in enumerate(zip(arrays, spec)):
            shape = tuple(np.shape(getattr(array, "data", array)))
            ok = len(shape) == len(expected) and all(
                e is None or e == s for e, s in zip(expected[1:], shape[1:]))
            if not ok:
                raise ValueError(
                    f'Input {i} of layer "{self._input_spec_owner()}" is incompatible with the '
                    f"layer: expected shape={expected}, found shape={shape}"
                )

    def _prepare(self, handler: DataHandler) -> None:
        """Build the model and check inputs/labels before anything is trained."""
        if handler.kind != "arrays" or not self._has_call():
            return
        self._check_inputs(handler.x)
        if not self.built or self._needs_data_build():
            first = _map_first(handler.x)
            with no_grad():
                self(first, training=False)
        self._check_inputs(handler.x)
        self._check_label_range(handler)

    def _has_call(self) -> bool:
        """False for a subclassed model that only overrides ``train_step`` (no ``call``)."""
        return type(self).call is not Model.call

    def _needs_data_build(self) -> bool:
        return False

    def _output_shapes(self) -> list[tuple[Any, ...]] | None:
        return None

    def _check_label_range(self, handler: DataHandler) -> None:
        if self._compile_loss is None or handler.y is None:
            return
        shapes = self._output_shapes()
        if shapes is None:
            return
        ys = _as_list(handler.y) if not isinstance(handler.y, np.ndarray) else [handler.y]
        if self._compile_loss._built_for != len(shapes):
            self._compile_loss.build(len(shapes), self.output_names)
        for fn, y, shape in zip(self._compile_loss.fns, ys, shapes):
            if fn is None or y is None or not shape or shape[-1] is None:
                continue
            name = type(fn).__name__.lower() + str(getattr(fn, "name", "")).lower()
            if "sparse" not in name or "categorical" not in name:
                continue
            classes = int(shape[-1])
            y = np.asarray(y)
            if y.size == 0:
                continue
            low, high = y.min(), y.max()
            if low < 0 or high >= classes or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
                bad = low if low < 0 else high
                raise ValueError(
                    f"Received a label value of {bad} which is outside the valid range of "
                    f"[0, {classes}) for the model's output of shape {shape}. Label values: "
                    f"{' '.join(str(v) for v in np.unique(y)[:20])}"
                )

    # -- fit / evaluate / predict -------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Sequence[Any] | CallbackList | None = None,
            validation_split: float = 0.0, validation_data: Any = None,
            shuffle: bool | str = True, class_weight: dict[Any, float] | None = None,
            sample_weight: Any = None, initial_epoch: int = 0,
            steps_per_epoch: int | None = None, validation_steps: int | None = None,
            validation_batch_size: int | None = None, validation_freq: int = 1) -> Any:
        """Train the model for ``epochs`` epochs; returns the :class:`History`.

        Parameters
        ----------
        x, y : arrays, or a Dataset, PyDataset or generator yielding ``(x, y)`` batches
            (then ``y`` is None)
        batch_size : int
            Samples per step for arrays (32).
        epochs : int
            Index of the last epoch (training runs ``initial_epoch .. epochs-1``).
        verbose : 'auto', 0, 1 or 2
            See :mod:`nablanet.callbacks.progbar` ('auto' is 1).
        callbacks : list of Callback
        validation_split : float
            Fraction of the arrays (taken from the end, before shuffling) held out.
        validation_data : tuple ``(x_val, y_val[, sw_val])`` or a Dataset
        shuffle : bool or 'batch'
            Reshuffle the arrays before each epoch (not datasets).
        class_weight : dict
            ``{class: weight}`` multiplying the loss of samples of that class.
        sample_weight : array
            Per-sample loss weights (arrays input).
        initial_epoch : int
            Epoch to start from (to resume a run).
        steps_per_epoch, validation_steps : int, optional
            Batches per epoch (per validation). As in Keras 3 the batches continue from
            one epoch to the next, and an epoch ends early, with a warning, when the data
            run out; a generator that is exhausted stops training (see
            :mod:`nablanet.models.data_adapter`).
        validation_batch_size : int, optional
        validation_freq : int
            Validate every ``validation_freq`` epochs.

        Raises
        ------
        ValueError
            If the model is not compiled, or the data are inconsistent (different numbers of
            samples, empty, NaN/inf, a shape the model does not accept, labels outside the
            class range) -- always before any weight changes.
        """
        from nablanet.callbacks.base import CallbackList

        self._assert_compiled()
        from nablanet.models.validation import batch_checker, check_fit

        x = check_fit(self, x, y, validation_data, validation_freq, class_weight, callbacks)
        verbose = _resolve_verbose(verbose)
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative integer. Received: "
                             f"epochs={epochs!r}")
        if validation_split and validation_data is None:
            if not 0.0 < validation_split < 1.0:
                raise ValueError("fit: validation_split must be in (0, 1). Received: "
                                 f"validation_split={validation_split}")
            from nablanet.models.data_adapter import is_array_like

            if not is_array_like(x):
                raise ValueError("fit: `validation_split` is only supported for NumPy arrays "
                                 "and Tensors, not datasets. Pass validation_data instead.")
            (x, y, sample_weight), validation_data = _split(x, y, sample_weight,
                                                            validation_split)
        handler = DataHandler(x, y, sample_weight, batch_size=batch_size,
                              steps=steps_per_epoch, shuffle=shuffle,
                              class_weight=class_weight, where="fit",
                              check_batch=batch_checker("fit", self))
        self._prepare(handler)
        val_handler = None
        if validation_data is not None:
            val_handler = _validation_handler(validation_data,
                                              validation_batch_size or batch_size,
                                              validation_steps)
            self._prepare(val_handler)
        from nablanet.distribute.training import distributed_fit

        dist = distributed_fit(self, handler, val_handler, callbacks)  # None unless mpiexec
        if dist is not None:
            handler, val_handler, callbacks = dist.handler, dist.val_handler, dist.callbacks
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=epochs,
                                     steps=handler.steps)
        self.stop_training = False
        self._initial_epoch = None
        callbacks.on_train_begin()
        backup = self.__dict__.pop("_backup_and_restore", None)  # set by BackupAndRestore
        if backup is not None:
            backup.resume(callbacks)  # callbacks' state, generators, where to start
        if dist is not None:
            dist.after_resume(self)  # worker 0's (restored) weights and epoch to every worker
        start = self._initial_epoch if self._initial_epoch is not None else initial_epoch
        self._initial_epoch = None
        training_logs: dict[str, Any] | None = None
        memory = _training_allocator()  # freed memory kept for the next step, until the end
        try:
            for epoch in range(start, epochs):
                if backup is not None:
                    backup.before_epoch()  # generators' state before the shuffle is drawn
                batches = handler.epoch()
                first = next(batches, None)
                if first is None and handler.exhausted:
                    break  # a one-shot iterator ran out before this epoch (warned)
                self.reset_metrics()
                callbacks.on_epoch_begin(epoch)
                logs: dict[str, Any] = {}
                for step, batch in itertools.chain([first] if first is not None else [], batches):
                    if backup is not None and backup.skip(epoch, step, batch):
                        logs = backup.last_logs  # applied before the interruption
                        continue
                    callbacks.on_train_batch_begin(step)
                    self._losses = []
                    logs = _float_logs(self.train_step(batch))
                    callbacks.on_train_batch_end(step, logs)
                    if backup is not None:
                        backup.after_batch(epoch, step, logs, callbacks)
                    if self.stop_training:
                        break
                epoch_logs = dict(logs)
                if val_handler is not None and (epoch + 1) % validation_freq == 0:
                    val_logs = self.evaluate(_handler=val_handler, callbacks=callbacks,
                                             return_dict=True, verbose=0)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                callbacks.on_epoch_end(epoch, epoch_logs)
                if backup is not None:
                    backup.after_epoch(epoch, callbacks)
                training_logs = epoch_logs
                if self.stop_training:
                    break
        finally:
            memory.restore()
            for weight in self.trainable_weights:
                weight.grad = None
            if dist is not None:
                dist.close()
        if epochs > 0 and self.optimizer is not None:  # EMA averages replace the weights
            self.optimizer.finalize_variable_values(self.trainable_weights)
        callbacks.on_train_end(logs=training_logs)
        history = callbacks._history
        return history if history is not None else self.history

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: Sequence[Any] | CallbackList | None = None, return_dict: bool = False,
                 **kwargs: Any) -> Any:
        """The loss and metrics on the given data.

        Returns the loss (a float) when there are no metrics, else ``[loss, *metrics]``, or
        a dict by name with ``return_dict=True``.
        """
        from nablanet.callbacks.base import CallbackList

        handler: DataHandler | None = kwargs.pop("_handler", None)
        if kwargs:
            raise TypeError(f"evaluate: unexpected keyword argument(s) {sorted(kwargs)}")
        self._assert_compiled()
        verbose = _resolve_verbose(verbose)
        if handler is None:
            from nablanet.models.validation import batch_checker, check_evaluate

            x = check_evaluate(self, x, y, callbacks)
            handler = DataHandler(x, y, sample_weight, batch_size=batch_size, steps=steps,
                                  shuffle=False, where="evaluate",
                                  check_batch=batch_checker("evaluate", self))
            self._prepare(handler)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=handler.steps)
        self.reset_metrics()
        self.stop_evaluating = False
        callbacks.on_test_begin()
        logs: dict[str, Any] = {}
        memory = _training_allocator(handler.steps)  # freed memory kept for the next batch
        try:
            for step, batch in handler.epoch():
                callbacks.on_test_batch_begin(step)
                self._losses = []
                logs = _float_logs(self.test_step(batch))
                callbacks.on_test_batch_end(step, logs)
                if self.stop_evaluating:
                    break
        finally:
            memory.restore()
        logs = dict(logs)
        callbacks.on_test_end(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None,
                callbacks: Sequence[Any] | CallbackList | None = None) -> Any:
        """The model's outputs on ``x`` (in batches) as NumPy arrays.

        Returns one array, or a list/dict of arrays for a model with several outputs.
        """
        from nablanet.callbacks.base import CallbackList

        verbose = _resolve_verbose(verbose)
        from nablanet.models.validation import batch_checker, check_predict

        x = check_predict(self, x, callbacks)
        handler = DataHandler(x, None, None, batch_size=batch_size, steps=steps,
                              shuffle=False, where="predict",
                              check_batch=batch_checker("predict", self))
        self._prepare(handler)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=handler.steps)
        self.stop_predicting = False
        callbacks.on_predict_begin()
        outputs: list[Any] = []
        structure: Any = None
        memory = _training_allocator(handler.steps)  # freed memory kept for the next batch
        try:
            for step, batch in handler.epoch():
                callbacks.on_predict_batch_begin(step)
                out = self.predict_step(batch)
                structure = out
                outputs.append([t.data for t in _as_list(out)])
                callbacks.on_predict_batch_end(step, {"outputs": out})
                if self.stop_predicting:
                    break
        finally:
            memory.restore()
        callbacks.on_predict_end()
        if not outputs:
            raise ValueError("predict: the data yielded no batches.")
        columns = [np.concatenate(parts) if len(parts) > 1 else parts[0]
                   for parts in zip(*outputs)]
        if isinstance(structure, dict):
            return dict(zip(structure.keys(), columns))
        if isinstance(structure, (list, tuple)):
            return columns
        return columns[0]

    def _batch_data(self, x: Any, y: Any, sample_weight: Any, class_weight: Any,
                    where: str) -> Any:
        handler = DataHandler(x, y, sample_weight, batch_size=None, shuffle=False,
                              class_weight=class_weight, where=where)
        self._prepare(handler)

        def whole(a: np.ndarray) -> Tensor:
            return Tensor(a)

        from nablanet.models.data_adapter import _map

        return pack_x_y_sample_weight(_map(whole, handler.x), _map(whole, handler.y),
                                      _map(whole, handler.sample_weight))

    def _return(self, logs: dict[str, Any], return_dict: bool) -> Any:
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: dict[Any, float] | None = None,
                       return_dict: bool = False, reset_metrics: bool = True) -> Any:
        """One training step on one batch; returns the loss and metrics of this batch.

        The metrics are reset first (Keras 3; ``reset_metrics=False`` keeps accumulating, as
        tf.keras 2 allowed).
        """
        self._assert_compiled()
        if class_weight is not None and sample_weight is not None:
            raise ValueError("Arguments `sample_weight` and `class_weight` cannot be specified "
                             f"at the same time. Received: sample_weight={sample_weight}, "
                             f"class_weight={class_weight}")
        data = self._batch_data(x, y, sample_weight, class_weight, "train_on_batch")
        if reset_metrics:
            self.reset_metrics()
        self._losses = []
        with _training_allocator(1):  # freed memory kept for the caller's next step
            logs = _float_logs(self.train_step(data))
            for weight in self.trainable_weights:
                weight.grad = None
        return self._return(logs, return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False, reset_metrics: bool = True) -> Any:
        """Loss and metrics on one batch (metrics reset first unless ``reset_metrics`` is
        False)."""
        self._assert_compiled()
        data = self._batch_data(x, y, sample_weight, None, "test_on_batch")
        if reset_metrics:
            self.reset_metrics()
        self._losses = []
        with _training_allocator(1):
            logs = _float_logs(self.test_step(data))
        return self._return(logs, return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """The outputs on one batch as NumPy arrays."""
        data = self._batch_data(x, None, None, None, "predict_on_batch")
        with _training_allocator(1):
            out = self.predict_step(data)
        if isinstance(out, dict):
            return {k: v.data for k, v in out.items()}
        if isinstance(out, (list, tuple)):
            return [t.data for t in out]
        return out.data

    # -- summary and saving -------------------------------------------------------------------
    def summary(self, line_length: int | None = None, positions: Sequence[float] | None = None,
                print_fn: Any = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print the table of layers, output shapes and parameter counts (tf.keras format)."""
        from nablanet.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable)

    def save(self, filepath: Any, overwrite: bool = True, include_optimizer: bool = True) -> None:
        """Write architecture, weights, compile configuration and optimizer state to ONE
        safetensors file (see :mod:`nablanet.models.saving`)."""
        from nablanet.models.saving import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath: Any, overwrite: bool = True) -> None:
        """Write the weights (and the optimizer state when compiled) as safetensors."""
        from nablanet.models.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False) -> None:
        """Load weights written by :meth:`save_weights` or :meth:`save`."""
        from nablanet.models.saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def get_config(self) -> dict[str, Any]:
        return Layer.get_config(self)

    def get_compile_config(self) -> dict[str, Any] | None:
        """JSON-able compile arguments (optimizer, loss, metrics) or None."""
        if not self.compiled or self._compile_args is None:
            return None
        from nablanet import optimizers
        from nablanet.models.compile_utils import _serialize

        return {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": _serialize(self._compile_args["loss"]),
            "loss_weights": _serialize(self._compile_args["loss_weights"]),
            "metrics": _serialize(self._compile_args["metrics"]),
            "weighted_metrics": _serialize(self._compile_args["weighted_metrics"]),
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


# -- helpers --------------------------------------------------------------------------------------
def _batchless(shape: Any) -> Any:
    if isinstance(shape, list):
        return [_batchless(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _batchless(v) for k, v in shape.items()}
    return (None, *tuple(shape)[1:])


def _zeros_like_shape(shape: Any) -> Any:
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [_zeros_like_shape(tuple(s)) for s in shape]
    if isinstance(shape, dict):
        return {k: _zeros_like_shape(v) for k, v in shape.items()}
    concrete = tuple(1 if n is None else int(n) for n in shape)
    return Tensor(np.zeros(concrete, dtype=np.float32))


def _batch_size(x: Any) -> int:
    for leaf in flatten(x) if not isinstance(x, dict) else list(x.values()):
        shape = getattr(leaf, "shape", None)
        if shape:
            return int(shape[0])
    return 1


def _targets_list(y: Any, n_outputs: int, output_names: list[str] | None) -> list[Any]:
    if y is None:
        return [None] * n_outputs
    if isinstance(y, dict):
        if output_names is None:
            return list(y.values())
        return [y.get(name) for name in output_names]
    if isinstance(y, (list, tuple)) and n_outputs > 1:
        return list(y)
    return [y]


def _map_first(x: Any, n: int = 2) -> Any:
    """The first ``n`` samples of every array in ``x`` as Tensors."""
    from nablanet.models.data_adapter import _map

    return _map(lambda a: Tensor(a[:n]), x)


def _split(x: Any, y: Any, sample_weight: Any, fraction: float) -> tuple[Any, Any]:
    from nablanet.models.data_adapter import _map, _to_array

    arrays = _map(_to_array, x)
    n = len(flatten(arrays)[0])
    split_at = int(np.floor(n * (1.0 - fraction)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"fit: validation_split={fraction} leaves no training or no "
                         f"validation samples out of {n}.")

    def head(a: Any) -> Any:
        return _to_array(a)[:split_at]

    def tail(a: Any) -> Any:
        return _to_array(a)[split_at:]

    train = (_map(head, x), _map(head, y), _map(head, sample_weight))
    val = (_map(tail, x), _map(tail, y), _map(tail, sample_weight))
    return train, (val if sample_weight is not None else val[:2])


def _validation_handler(data: Any, batch_size: int | None, steps: int | None) -> DataHandler:
    from nablanet.models.data_adapter import is_array_like

    if isinstance(data, tuple) and len(data) in (2, 3) and is_array_like(data[0]):
        x, y, sw = (*data, None)[:3] if len(data) == 2 else data
        return DataHandler(x, y, sw, batch_size=batch_size, steps=steps, where="fit")
    if isinstance(data, tuple) and len(data) in (2, 3):
        raise ValueError("fit: validation_data must be (x_val, y_val), (x_val, y_val, "
                         "sample_weight) with arrays, or a dataset.")
    return DataHandler(data, None, None, batch_size=batch_size, steps=steps, where="fit")


_TAKES_TRAINING: dict[Any, bool] = {}


def _takes_training(compute_loss: Any) -> bool:
    """Whether a ``compute_loss`` accepts ``training=`` (its signature read once per
    function: ``inspect.signature`` costs tens of microseconds, every training step)."""
    import inspect

    key = getattr(compute_loss, "__func__", compute_loss)
    try:
        known = _TAKES_TRAINING.get(key)
    except TypeError:  # an unhashable callable: read its signature each time
        key, known = None, None
    if known is None:
        parameters = inspect.signature(compute_loss).parameters
        known = "training" in parameters or any(p.kind is p.VAR_KEYWORD
                                                for p in parameters.values())
        if key is not None:
            _TAKES_TRAINING[key] = known
    return known
