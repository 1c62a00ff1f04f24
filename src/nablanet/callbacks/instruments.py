"""Instruments: callbacks that measure what the chapter says happens inside training.

* :class:`GradientFlow` -- per-layer gradient norms :math:`\\lVert\\nabla_{W_\\ell} J\\rVert_2`
  and update-to-weight ratios :math:`\\lVert\\Delta W_\\ell\\rVert_2 / \\lVert W_\\ell\\rVert_2`
  every ``freq`` batches: vanishing gradients in deep sigmoid nets (§4.2), exploding or
  vanishing ones under a fixed-variance initialisation (§4.3).
* :class:`DeadUnits` -- for each ReLU-family layer, the fraction of units whose output is
  zero for every example of a probe batch (a "dead" ReLU passes no gradient, §4.1), and the
  fraction that is non-positive for every example ("inactive": for a leaky ReLU these still
  pass a gradient of slope :math:`\\alpha` and can come back).
* :class:`ActivationStats` -- per layer, the mean and standard deviation of the activations
  on a probe batch, the saturated fraction (:math:`|\\tanh| > 0.99`, :math:`\\sigma` outside
  :math:`[0.01, 0.99]`), and optionally the mean absolute correlation between units (how
  much units co-adapt, which dropout is meant to stop, §5.3).

They only observe. Gradients are read where the optimizer receives them (the instrument
wraps ``optimizer.apply`` of the model's optimizers for the recorded step only), weights are
copied, and probe batches run in inference mode without recording a graph, so a model
trains to the same weights with or without them (tested). Between recordings a callback
does one integer comparison per batch.

A probe runs a ``Sequential`` model layer by layer (so a ``Conv2D`` that ``fit`` would fuse
with the following ``MaxPooling2D`` still shows its own output); other models run their
``call`` and each observed layer's output is captured on the way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from nablanet.callbacks.base import Callback

__all__ = ["ActivationStats", "DeadUnits", "GradientFlow", "GradientTap", "probe_activations",
           "relu_family"]

#: Activation names (as :func:`nablanet.activations.serialize` gives them) and layer classes
#: whose units can die: their output is exactly 0 wherever the pre-activation is <= 0.
_RELU_ACTIVATIONS = frozenset({"relu", "relu6", "leaky_relu", "abs_relu", "elu", "selu"})
_RELU_LAYERS = frozenset({"ReLU", "LeakyReLU", "PReLU", "GeneralizedReLU", "ELU"})

#: Saturation thresholds of :func:`_saturated`: |tanh| above the first, sigmoid outside the pair.
TANH_SATURATION = 0.99
SIGMOID_SATURATION = (0.01, 0.99)


def _activation_name(layer: Any) -> str | None:
    """The layer's built-in activation by name (``'relu'``), or None if it has none."""
    from nablanet import activations

    fn = getattr(layer, "activation", None)
    if fn is None or not callable(fn):
        return None
    try:
        return activations.serialize(fn)
    except ValueError:
        return None


def relu_family(layer: Any) -> bool:
    """Whether ``layer``'s output is a rectifier of its pre-activation (ReLU, leaky, PReLU...)."""
    if type(layer).__name__ in _RELU_LAYERS:
        return True
    return _activation_name(layer) in _RELU_ACTIVATIONS


def _leaf_layers(model: Any) -> list[Any]:
    """The layers of ``model`` that hold no layers themselves (Dense, Conv2D, ReLU, ...)."""
    return [layer for layer in model._flatten_layers()
            if layer is not model and not _is_input_layer(layer) and not layer._layers]


def _is_input_layer(layer: Any) -> bool:
    return type(layer).__name__ == "InputLayer"


def _as_array(x: Any) -> np.ndarray:
    return np.asarray(getattr(x, "data", x))


@contextmanager
def _capturing(layers: Sequence[Any], store: dict[str, np.ndarray]) -> Iterator[None]:
    """Record each layer's output (as a NumPy array, by layer name) while the block runs.

    The layer's ``call`` is replaced on the instance for the duration of the block only.
    """
    def wrap(layer: Any, call: Any) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            out = call(*args, **kwargs)
            store[layer.name] = np.array(_as_array(out), copy=True)
            return out
        return recorded

    patched = []
    try:
        for layer in layers:
            object.__setattr__(layer, "call", wrap(layer, layer.call))
            patched.append(layer)
        yield
    finally:
        for layer in patched:
            object.__delattr__(layer, "call")


def probe_activations(model: Any, x: Any, layers: Sequence[Any] | None = None
                      ) -> dict[str, np.ndarray]:
    """Outputs of ``layers`` (default: every leaf layer) on ``x``, in inference mode.

    Nothing is trained and no graph is recorded; layer statistics (BatchNormalization's
    moving averages) are not updated.

    Examples
    --------
    >>> import numpy as np
    >>> from nablanet import layers, models
    >>> m = models.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu",
    ...                        name="hidden"), layers.Dense(1, name="out")])
    >>> sorted(probe_activations(m, np.ones((5, 3), "float32")))
    ['hidden', 'out']
    >>> probe_activations(m, np.ones((5, 3), "float32"))["hidden"].shape
    (5, 4)
    """
    from nablanet.autograd.function import no_grad
    from nablanet.autograd.tensor import Tensor
    from nablanet.models.sequential import Sequential

    observed = list(_leaf_layers(model) if layers is None else layers)
    store: dict[str, np.ndarray] = {}
    data = x[0] if isinstance(x, tuple) else x
    with no_grad(), _capturing(observed, store):
        if isinstance(model, Sequential):
            out: Any = Tensor(np.asarray(getattr(data, "data", data)))
            for layer in model.layers:
                if not _is_input_layer(layer):
                    out = layer(out, training=False)
        else:
            model(data, training=False)
    return {layer.name: store[layer.name] for layer in observed if layer.name in store}


def _units_view(a: np.ndarray) -> np.ndarray:
    """``a`` as (examples, units): the last axis holds the units (channels); every other axis
    (batch, time, pixels) counts as examples."""
    a = np.asarray(a)
    if a.ndim == 1:
        return a[:, None]
    return a.reshape(-1, a.shape[-1])


def _saturated(name: str | None, a: np.ndarray) -> float:
    """Fraction of saturated activations for tanh / sigmoid outputs (NaN for the others)."""
    if name in ("tanh",):
        return float(np.mean(np.abs(a) > TANH_SATURATION))
    if name in ("sigmoid", "hard_sigmoid"):
        low, high = SIGMOID_SATURATION
        return float(np.mean((a < low) | (a > high)))
    return float("nan")


def mean_abs_correlation(a: np.ndarray) -> float:
    r"""Mean :math:`|\rho_{ij}|` over pairs of distinct units (columns of ``_units_view(a)``).

    Units that are constant on the batch have no correlation and are left out; NaN when
    fewer than two units vary.

    Examples
    --------
    >>> x = np.array([[0., 1.], [1., 3.], [2., 5.]])   # column 2 = 2 * column 1 + 1
    >>> mean_abs_correlation(x)
    1.0
    """
    u = _units_view(a).astype(np.float64)
    u = u[:, u.std(axis=0) > 0]
    k = u.shape[1]
    if k < 2 or u.shape[0] < 2:
        return float("nan")
    r = np.atleast_2d(np.corrcoef(u, rowvar=False))
    off = np.abs(r[~np.eye(k, dtype=bool)])
    return float(off.mean())


def _model_optimizers(model: Any) -> list[Any]:
    """The model's optimizers: ``model.optimizer`` and any other attribute holding one (a
    GAN's ``d_optimizer`` / ``g_optimizer``)."""
    from nablanet.optimizers.base import Optimizer

    found: list[Any] = []
    for value in vars(model).values():
        if isinstance(value, Optimizer) and all(value is not f for f in found):
            found.append(value)
    return found


class GradientTap:
    """Shows ``on_gradient(variable, gradient)`` every gradient that the model's optimizers
    receive between :meth:`start` and :meth:`stop`, before they apply it.

    While any tap is started, ``optimizer.apply`` (which ``apply_gradients`` calls) is
    wrapped on the optimizer instance by one wrapper that calls every started tap's
    listener; the update itself is unchanged. The last tap to stop removes the wrapper.
    """

    def __init__(self, model: Any, on_gradient: Any) -> None:
        self.model = model
        self.on_gradient = on_gradient
        self._patched: list[Any] = []

    def start(self) -> None:
        for optimizer in _model_optimizers(self.model):
            listeners = optimizer.__dict__.get("_gradient_listeners")
            if listeners is None:
                listeners = []
                object.__setattr__(optimizer, "_gradient_listeners", listeners)
                object.__setattr__(optimizer, "_unwatched_apply", optimizer.__dict__.get("apply"))
                object.__setattr__(optimizer, "apply",
                                   _listening(optimizer, optimizer.apply, listeners))
            listeners.append(self.on_gradient)
            self._patched.append(optimizer)

    def stop(self) -> None:
        for optimizer in self._patched:
            listeners = optimizer.__dict__["_gradient_listeners"]
            listeners.remove(self.on_gradient)
            if not listeners:
                original = optimizer.__dict__["_unwatched_apply"]
                for name in ("_gradient_listeners", "_unwatched_apply", "apply"):
                    object.__delattr__(optimizer, name)
                if original is not None:
                    object.__setattr__(optimizer, "apply", original)
        self._patched = []


def _listening(optimizer: Any, apply: Any, listeners: list[Any]) -> Any:
    """``apply`` that first shows each (variable, gradient) pair to every listener."""
    def watched(grads: Sequence[Any], variables: Sequence[Any] | None = None,
                *args: Any, **kwargs: Any) -> Any:
        grads = list(grads)
        targets = variables if variables is not None else getattr(optimizer, "_variables", [])
        for g, v in zip(grads, targets):
            if g is not None:
                array = _as_array(g)
                for listener in listeners:
                    listener(v, array)
        return apply(grads, variables, *args, **kwargs)
    return watched


class _Recorder(Callback):
    """Shared bookkeeping: a global step counter and "record every ``freq`` steps"."""

    def __init__(self, freq: int | str) -> None:
        super().__init__()
        if freq != "epoch" and (isinstance(freq, bool) or not isinstance(freq, int)
                                or freq < 1):
            raise ValueError(f"{type(self).__name__}: freq must be a positive number of "
                             f"batches or 'epoch'. Received: freq={freq!r}")
        self.freq = freq
        self.steps: list[int] = []
        self._step = 0

    def _due(self) -> bool:
        return self.freq != "epoch" and self._step % int(self.freq) == 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._step = 0
        self.steps = []

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._step += 1


class GradientFlow(_Recorder):
    r"""Per-layer gradient norms and update/weight ratios during training.

    For each layer :math:`\ell` with trainable weights, at every recorded step:

    .. math::

        g_\ell = \Big(\sum_{W \in \ell} \lVert \partial J / \partial W \rVert_2^2\Big)^{1/2},
        \qquad
        r_\ell = \frac{\big(\sum_{W \in \ell}\lVert W_{t+1} - W_t\rVert_2^2\big)^{1/2}}
                      {\big(\sum_{W \in \ell}\lVert W_t\rVert_2^2\big)^{1/2}}

    where the gradient is the one the optimizer receives (after the loss's reduction over
    the batch, before clipping). A healthy network keeps :math:`g_\ell` within an order of
    magnitude across layers; :math:`r_\ell` around :math:`10^{-3}` is the usual rule of thumb.

    Parameters
    ----------
    freq : int
        Record the first step and then every ``freq`` training steps (default 10).
    layers : list of str, optional
        Names of the layers to watch (default: every layer with trainable weights).

    Attributes
    ----------
    steps : list of int
        The global training step (0-based) of each recording.
    grad_norms, update_ratios : dict of str to list of float
        Per layer name, one value per recording.

    Examples
    --------
    >>> import numpy as np, nablanet as nb
    >>> from nablanet import layers, models
    >>> nb.set_random_seed(0)
    >>> m = models.Sequential([layers.Input((4,)), layers.Dense(8, activation="tanh"),
    ...                        layers.Dense(1)])
    >>> m.compile(optimizer="sgd", loss="mse")
    >>> flow = GradientFlow(freq=2)
    >>> _ = m.fit(np.ones((16, 4), "float32"), np.zeros((16, 1), "float32"), batch_size=4,
    ...           epochs=1, verbose=0, callbacks=[flow])
    >>> flow.steps
    [0, 2]
    >>> len(flow.grad_norms[m.layers[0].name])
    2
    """

    def __init__(self, freq: int = 10, layers: Sequence[str] | None = None) -> None:
        super().__init__(freq)
        if freq == "epoch":
            raise ValueError("GradientFlow: freq must be a positive number of batches. "
                             "Received: freq='epoch'")
        self.layer_names = None if layers is None else list(layers)
        self.grad_norms: dict[str, list[float]] = {}
        self.update_ratios: dict[str, list[float]] = {}
        self._before: dict[int, np.ndarray] = {}
        self._owner: dict[int, str] = {}
        self._weights: dict[str, list[Any]] = {}
        self._grads: dict[int, float] = {}
        self._tap: GradientTap | None = None

    # -- which weights belong to which layer ------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self.grad_norms, self.update_ratios = {}, {}
        self._weights, self._owner = {}, {}
        for layer in _leaf_layers(self.model):
            if self.layer_names is not None and layer.name not in self.layer_names:
                continue
            weights = list(layer.trainable_weights)
            if weights:
                self._weights[layer.name] = weights
                for w in weights:
                    self._owner[id(w)] = layer.name
        if self.layer_names is not None:
            missing = sorted(set(self.layer_names) - set(self._weights))
            if missing:
                raise ValueError(f"GradientFlow: no trainable layer named {missing} in model "
                                 f"'{self.model.name}'. Layers with weights: "
                                 f"{sorted(self._owner.values())}")
        for name in self._weights:
            self.grad_norms[name] = []
            self.update_ratios[name] = []

    def _add_gradient(self, variable: Any, grad: np.ndarray) -> None:
        if id(variable) in self._owner:
            g = grad.astype(np.float64, copy=False)
            self._grads[id(variable)] = self._grads.get(id(variable), 0.0) + float(np.sum(g * g))

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._due():
            return
        self._grads = {}
        self._before = {id(w): np.array(_as_array(w), dtype=np.float64)
                        for ws in self._weights.values() for w in ws}
        self._tap = GradientTap(self.model, self._add_gradient)
        self._tap.start()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._due() and self._before:
            self._stop_tap()
            self.steps.append(self._step)
            for name, weights in self._weights.items():
                grad_sq = sum(self._grads.get(id(w), 0.0) for w in weights)
                delta_sq = sum(float(np.sum((_as_array(w) - self._before[id(w)]) ** 2))
                               for w in weights)
                weight_sq = sum(float(np.sum(self._before[id(w)] ** 2)) for w in weights)
                self.grad_norms[name].append(float(np.sqrt(grad_sq)))
                self.update_ratios[name].append(
                    float(np.sqrt(delta_sq / weight_sq)) if weight_sq > 0 else float("nan"))
            self._before = {}
        super().on_train_batch_end(batch, logs)

    def _stop_tap(self) -> None:
        if self._tap is not None:
            self._tap.stop()
            self._tap = None

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._stop_tap()

    # -- reading the record -----------------------------------------------------------------
    def first_last_ratio(self, index: int = 0) -> float:
        """:math:`g_{\\text{first}} / g_{\\text{last}}` at recording ``index``: far below 1 means
        the gradient vanishes on its way down to the first layer, far above 1 that it grows."""
        names = list(self.grad_norms)
        if not names or not self.steps:
            raise ValueError("GradientFlow: nothing recorded yet")
        last = self.grad_norms[names[-1]][index]
        return self.grad_norms[names[0]][index] / last if last > 0 else float("inf")

    def plot(self, path: str | os.PathLike[str], title: str = "Gradient flow") -> Any:
        """Two panels: the gradient norm per layer (log colour) over training, and the
        norm per layer at the first and the last recording. Returns the PNG's path."""
        import matplotlib.pyplot as plt

        from nablanet.plotting import save_figure

        names = list(self.grad_norms)
        if not names or not self.steps:
            raise ValueError("GradientFlow.plot: nothing recorded yet")
        grid = np.array([self.grad_norms[n] for n in names])
        fig, (ax, side) = plt.subplots(1, 2, figsize=(12, 0.4 * len(names) + 2.5),
                                       gridspec_kw={"width_ratios": [3, 2]})
        shown = np.log10(np.maximum(grid, 1e-30))
        image = ax.imshow(shown, aspect="auto", cmap="viridis", interpolation="nearest",
                          extent=(self.steps[0] - 0.5, self.steps[-1] + 0.5,
                                  len(names) - 0.5, -0.5))
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("training step")
        ax.set_ylabel("layer (input at the top)")
        ax.set_title("log10 gradient norm per layer")
        fig.colorbar(image, ax=ax, label="log10 ||dJ/dW||")
        depth = np.arange(1, len(names) + 1)
        side.semilogy(depth, grid[:, 0], marker="o", label=f"step {self.steps[0]}")
        side.semilogy(depth, grid[:, -1], marker="s", label=f"step {self.steps[-1]}")
        side.set_xlabel("layer (1 = first)")
        side.set_ylabel("gradient norm")
        side.set_title("first vs last recording")
        side.grid(alpha=0.3)
        side.legend()
        fig.suptitle(title)
        fig.tight_layout()
        return save_figure(fig, path)


class _ProbeRecorder(_Recorder):
    """A recorder that runs the model on a fixed probe batch every ``freq`` steps (or at the
    end of every epoch with ``freq='epoch'``), and once before training starts."""

    def __init__(self, probe: Any, freq: int | str, layers: Sequence[str] | None) -> None:
        super().__init__(freq)
        if probe is None:
            raise ValueError(f"{type(self).__name__}: probe must be a batch of inputs. "
                             "Received: probe=None")
        self.probe = probe
        self.layer_names = None if layers is None else list(layers)

    def _chosen(self) -> list[Any]:
        candidates = _leaf_layers(self.model)
        if self.layer_names is None:
            return [layer for layer in candidates if self._default_layer(layer)]
        by_name = {layer.name: layer for layer in candidates}
        missing = [n for n in self.layer_names if n not in by_name]
        if missing:
            raise ValueError(f"{type(self).__name__}: no layer named {missing} in model "
                             f"'{self.model.name}'. Layers: {sorted(by_name)}")
        return [by_name[n] for n in self.layer_names]

    def _default_layer(self, layer: Any) -> bool:
        raise NotImplementedError

    def _record(self, outputs: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _probe(self) -> None:
        layers = self._chosen()
        self._record(probe_activations(self.model, self.probe, layers))
        self.steps.append(self._step)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        super().on_train_begin(logs)
        self._reset()
        self._probe()

    def _reset(self) -> None:
        raise NotImplementedError

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_train_batch_end(batch, logs)
        if self._due():
            self._probe()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.freq == "epoch":
            self._probe()


class DeadUnits(_ProbeRecorder):
    r"""Fraction of dead units in each ReLU-family layer, over training.

    A unit :math:`j` of a layer is *dead* on a probe batch :math:`\{x_n\}` when
    :math:`a_j(x_n) = 0` for every :math:`n` (for convolutions: every example and every
    position): it then passes no gradient to the weights feeding it, so gradient descent
    cannot revive it (§4.1). It is *inactive* when :math:`a_j(x_n) \le 0` for every
    :math:`n`: for ReLU that is the same thing; a leaky ReLU's or a PReLU's inactive units
    still pass a gradient of slope :math:`\alpha` and can recover.

    Parameters
    ----------
    probe : array
        A batch of inputs (a fixed sample of the training set).
    freq : int or 'epoch'
        Probe every ``freq`` training steps, or at the end of every epoch (default).
        The model is also probed before the first step.
    layers : list of str, optional
        Names of the layers to watch (default: every ReLU-family layer, see
        :func:`relu_family`).

    Attributes
    ----------
    steps : list of int
        Training step of each probe (0 = before training).
    dead, inactive : dict of str to list of float
        Per layer name, the fraction of its units, one value per probe.

    Examples
    --------
    >>> import numpy as np
    >>> from nablanet import layers, models
    >>> m = models.Sequential([layers.Input((2,)), layers.Dense(3, activation="relu",
    ...                        name="h", bias_initializer="zeros")])
    >>> m.layers[0].kernel.data[:] = [[1., -1., 0.], [1., -1., 0.]]
    >>> d = DeadUnits(probe=np.ones((4, 2), "float32"))
    >>> d.set_model(m)
    >>> d.on_train_begin()
    >>> round(d.dead["h"][0], 3)   # units 2 and 3 output 0 on every example
    0.667
    """

    def __init__(self, probe: Any, freq: int | str = "epoch",
                 layers: Sequence[str] | None = None) -> None:
        super().__init__(probe, freq, layers)
        self.dead: dict[str, list[float]] = {}
        self.inactive: dict[str, list[float]] = {}

    def _default_layer(self, layer: Any) -> bool:
        return relu_family(layer)

    def _reset(self) -> None:
        self.dead, self.inactive = {}, {}

    def _record(self, outputs: dict[str, np.ndarray]) -> None:
        for name, a in outputs.items():
            u = _units_view(a)
            self.dead.setdefault(name, []).append(float(np.mean(np.all(u == 0, axis=0))))
            self.inactive.setdefault(name, []).append(float(np.mean(np.all(u <= 0, axis=0))))

    def plot(self, path: str | os.PathLike[str], title: str = "Dead units") -> Any:
        """Dead fraction per layer over training (one line per layer)."""
        import matplotlib.pyplot as plt

        from nablanet.plotting import save_figure

        if not self.dead:
            raise ValueError("DeadUnits.plot: nothing recorded yet")
        fig, ax = plt.subplots(figsize=(7, 4))
        for name, values in self.dead.items():
            ax.plot(self.steps, values, marker=".", label=name)
        ax.set_xlabel("training step")
        ax.set_ylabel("fraction of dead units")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        return save_figure(fig, path)


class ActivationStats(_ProbeRecorder):
    r"""Per-layer statistics of the activations on a probe batch, over training.

    For each watched layer's output :math:`a` (all examples, positions and units together):
    ``mean`` :math:`\bar a`, ``std`` :math:`\sqrt{\overline{(a-\bar a)^2}}`, ``saturated`` --
    the fraction with :math:`|a| > 0.99` for a tanh layer or :math:`a \notin [0.01, 0.99]`
    for a sigmoid layer (NaN for other activations) -- and, with ``correlation=True``,
    the mean absolute correlation between the layer's units across the probe batch
    (:func:`mean_abs_correlation`), a measure of how much units co-adapt.

    Parameters
    ----------
    probe : array
        A batch of inputs.
    freq : int or 'epoch'
        As for :class:`DeadUnits` (default ``'epoch'``; the model is also probed first).
    layers : list of str, optional
        Names of the layers to watch (default: every layer with an activation other than
        linear/softmax, every activation layer and every BatchNormalization layer).
    correlation : bool
        Also record the mean absolute correlation between units (default False).

    Attributes
    ----------
    steps : list of int
    mean, std, saturated, correlation : dict of str to list of float

    Examples
    --------
    >>> import numpy as np
    >>> from nablanet import layers, models
    >>> m = models.Sequential([layers.Input((2,)), layers.Dense(4, activation="tanh",
    ...                        name="h", kernel_initializer="ones")])
    >>> s = ActivationStats(probe=np.full((3, 2), 10.0, "float32"))
    >>> s.set_model(m)
    >>> s.on_train_begin()
    >>> s.saturated["h"]   # tanh(20) = 1.0 everywhere
    [1.0]
    """

    def __init__(self, probe: Any, freq: int | str = "epoch",
                 layers: Sequence[str] | None = None, correlation: bool = False) -> None:
        super().__init__(probe, freq, layers)
        self.with_correlation = bool(correlation)
        self.mean: dict[str, list[float]] = {}
        self.std: dict[str, list[float]] = {}
        self.saturated: dict[str, list[float]] = {}
        self.correlation: dict[str, list[float]] = {}
        self._names: dict[str, str | None] = {}

    def _default_layer(self, layer: Any) -> bool:
        if type(layer).__name__ in _RELU_LAYERS | {"Activation", "BatchNormalization"}:
            return True
        return _activation_name(layer) not in (None, "linear", "softmax")

    def _reset(self) -> None:
        self.mean, self.std, self.saturated, self.correlation = {}, {}, {}, {}
        self._names = {layer.name: _activation_name(layer) for layer in self._chosen()}

    def _record(self, outputs: dict[str, np.ndarray]) -> None:
        for name, a in outputs.items():
            a64 = np.asarray(a, dtype=np.float64)
            self.mean.setdefault(name, []).append(float(a64.mean()))
            self.std.setdefault(name, []).append(float(a64.std()))
            self.saturated.setdefault(name, []).append(_saturated(self._names.get(name), a64))
            if self.with_correlation:
                self.correlation.setdefault(name, []).append(mean_abs_correlation(a64))
