"""``TensorBoard``: Keras 3's callback, writing event files with tensorboardX.

The files are the ones ``tensorboard --logdir LOG_DIR`` reads, laid out as Keras lays them
out: ``LOG_DIR/train`` and ``LOG_DIR/validation``, epoch scalars tagged ``epoch_<metric>``
(validation metrics under their name without ``val_``, in the validation folder), batch
scalars ``batch_<metric>`` every ``update_freq`` steps, ``evaluation_<metric>_vs_iterations``
after each evaluation, and every ``histogram_freq`` epochs one histogram per weight tagged
``<layer>/<weight>/histogram`` (``.../image`` with ``write_images``).

nablanet adds what Keras leaves to TensorFlow's profiler and summary ops:
``write_gradients`` (a histogram of every weight's gradient, from the first training step
of each histogram epoch, tagged ``<layer>/<weight>/gradient``), ``activation_data`` (a
histogram of every layer's output on that probe batch, ``<layer>/activation``), and
``image_fn`` (a function ``image_fn(model, epoch)`` returning ``{tag: figure or image}``,
e.g. the prediction grid, written every ``histogram_freq`` epochs -- or every epoch when
``histogram_freq`` is 0).

The writer is `tensorboardX <https://github.com/lanpa/tensorboardX>`_
(``pip install 'nablanet[tensorboard]'``); nothing here writes protocol buffers by hand.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from nablanet.callbacks.base import Callback

__all__ = ["TensorBoard"]

_INSTALL = "pip install 'nablanet[tensorboard]'"


def _summary_writer(path: str) -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"TensorBoard needs tensorboardX: {_INSTALL}") from error
    return SummaryWriter(logdir=path, flush_secs=10)


def _weight_image(w: np.ndarray) -> np.ndarray | None:
    """A weight as a batch of grey images (N, H, W, 1), as Keras's ``write_images`` draws it:
    a bias as one row, a Dense kernel as one image (wide side horizontal), a 2-D
    convolution's kernel as one image per input channel; None for other shapes."""
    w = np.squeeze(np.asarray(w, dtype=np.float32))
    if w.ndim == 1:
        img = w.reshape(1, 1, -1, 1)
    elif w.ndim == 2:
        img = (w.T if w.shape[0] > w.shape[1] else w)[None, :, :, None]
    elif w.ndim == 3:
        img = np.transpose(w, (2, 0, 1))[..., None]
    else:
        return None
    low, high = float(img.min()), float(img.max())
    return (img - low) / (high - low) if high > low else np.zeros_like(img)


class TensorBoard(Callback):
    """Write logs, histograms and images for TensorBoard (``keras.callbacks.TensorBoard``).

    Parameters
    ----------
    log_dir : str
        Folder of the event files (``train/`` and ``validation/`` inside it).
    histogram_freq : int
        Every how many epochs to write weight histograms (0: never).
    write_graph : bool
        Accepted for Keras compatibility; nablanet has no static graph to draw.
    write_images : bool
        Also write each weight as an image on histogram epochs.
    write_steps_per_second : bool
        Log training steps per second (``epoch_steps_per_second``, and ``batch_...``).
    update_freq : 'epoch', 'batch' or int
        Write batch-level scalars every ``update_freq`` training steps (``'batch'``: 1).
    profile_batch : int
        Must be 0: nablanet has no profiler to start (``cProfile`` works on any script).
    embeddings_freq : int
        Must be 0: the embedding projector is not supported.
    embeddings_metadata : None
        Must be None (see ``embeddings_freq``).
    write_gradients : bool
        nablanet: histogram of every weight's gradient on histogram epochs.
    activation_data : array, optional
        nablanet: a probe batch whose per-layer outputs are written as histograms.
    image_fn : callable, optional
        nablanet: ``image_fn(model, epoch) -> {tag: matplotlib Figure or HxW[xC] array}``.

    Examples
    --------
    >>> import os, tempfile, numpy as np, nablanet as nb
    >>> from nablanet import layers, models
    >>> m = models.Sequential([layers.Input((3,)), layers.Dense(1)])
    >>> m.compile(optimizer="sgd", loss="mse")
    >>> logs = tempfile.mkdtemp()
    >>> _ = m.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), epochs=2,
    ...           verbose=0, callbacks=[TensorBoard(logs, histogram_freq=1)])
    >>> sorted(os.listdir(logs))
    ['train']
    """

    def __init__(self, log_dir: str | os.PathLike[str] = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq: int | str = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0,
                 embeddings_metadata: Any = None, *, write_gradients: bool = False,
                 activation_data: Any = None,
                 image_fn: Callable[[Any, int], dict[str, Any]] | None = None) -> None:
        super().__init__()
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) \
                or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be a non-negative integer. "
                             f"Received: histogram_freq={histogram_freq!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool)
                                       or not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive "
                             f"integer. Received: update_freq={update_freq!r}")
        if profile_batch not in (0, None):
            raise ValueError(f"TensorBoard: profiling is not supported by nablanet; use "
                             f"profile_batch=0 (run the script under cProfile instead). "
                             f"Received: profile_batch={profile_batch!r}")
        if embeddings_freq or embeddings_metadata is not None:
            raise ValueError(f"TensorBoard: the embedding projector is not supported by "
                             f"nablanet. Received: embeddings_freq={embeddings_freq!r}, "
                             f"embeddings_metadata={embeddings_metadata!r}")
        self.log_dir = str(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.write_gradients = write_gradients
        self.activation_data = activation_data
        self.image_fn = image_fn
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._epoch = 0
        self._epoch_start = 0.0
        self._batch_start = 0.0
        self._epoch_steps = 0
        self._tap: Any = None
        self._gradients: dict[str, np.ndarray] = {}

    # -- writers ----------------------------------------------------------------------------
    def _writer(self, kind: str) -> Any:
        if kind not in self._writers:
            self._writers[kind] = _summary_writer(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def _close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _histogram_epoch(self, epoch: int) -> bool:
        return self.histogram_freq > 0 and epoch % self.histogram_freq == 0

    # -- training ---------------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._global_train_batch = 0

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._tap is not None:
            self._tap.stop()
            self._tap = None
        self._close()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch
        self._epoch_start = time.perf_counter()
        self._epoch_steps = 0

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batch_start = time.perf_counter()
        if self.write_gradients and batch == 0 and self._histogram_epoch(self._epoch):
            self._start_gradient_capture()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._global_train_batch += 1
        self._epoch_steps += 1
        if self._tap is not None:
            self._finish_gradient_capture()
        if self.update_freq == "epoch" or self._global_train_batch % int(self.update_freq):
            return
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"batch_{name}", float(value), self._global_train_batch)
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._batch_start
            if elapsed > 0:
                writer.add_scalar("batch_steps_per_second", 1.0 / elapsed,
                                  self._global_train_batch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and "learning_rate" not in train:
            try:
                train["learning_rate"] = float(optimizer.learning_rate)
            except (TypeError, ValueError):
                pass
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._epoch_start
            if elapsed > 0:
                train["steps_per_second"] = self._epoch_steps / elapsed
        for kind, values in (("train", train), ("validation", val)):
            scalars = {k: v for k, v in values.items() if np.ndim(v) == 0}
            if scalars:
                writer = self._writer(kind)
                for name, value in scalars.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self._histogram_epoch(epoch):
            self._log_weights(epoch)
            if self.activation_data is not None:
                self._log_activations(epoch)
        if self.image_fn is not None and (self.histogram_freq == 0
                                          or self._histogram_epoch(epoch)):
            self._log_images(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        writer = self._writer("validation")
        step = int(getattr(optimizer, "iterations", 0))
        for name, value in logs.items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), step)

    # -- histograms and images --------------------------------------------------------------
    def _named_weights(self) -> list[tuple[str, Any]]:
        out = []
        for layer in self.model.layers:
            for name, weight in layer._named_weights():
                path = getattr(weight, "path", None) or f"{layer.name}/{name}"
                out.append((str(path).replace(":", "_"), weight))
        return out

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for tag, weight in self._named_weights():
            values = np.asarray(getattr(weight, "data", weight))
            writer.add_histogram(f"{tag}/histogram", values, epoch)
            if self.write_images:
                image = _weight_image(values)
                if image is not None:
                    writer.add_images(f"{tag}/image", image, epoch, dataformats="NHWC")

    def _start_gradient_capture(self) -> None:
        from nablanet.callbacks.instruments import GradientTap

        tags = {id(weight): tag for tag, weight in self._named_weights()}
        self._gradients = {}

        def keep(variable: Any, grad: np.ndarray) -> None:
            if id(variable) in tags:
                self._gradients[tags[id(variable)]] = np.array(grad, dtype=np.float32)

        self._tap = GradientTap(self.model, keep)
        self._tap.start()

    def _finish_gradient_capture(self) -> None:
        assert self._tap is not None
        self._tap.stop()
        self._tap = None
        writer = self._writer("train")
        for tag, grad in self._gradients.items():
            writer.add_histogram(f"{tag}/gradient", grad, self._epoch)

    def _log_activations(self, epoch: int) -> None:
        from nablanet.callbacks.instruments import probe_activations

        writer = self._writer("train")
        for name, values in probe_activations(self.model, self.activation_data).items():
            writer.add_histogram(f"{name}/activation", values, epoch)

    def _log_images(self, epoch: int) -> None:
        assert self.image_fn is not None
        images = self.image_fn(self.model, epoch)
        if not isinstance(images, dict):
            raise TypeError(f"TensorBoard: image_fn must return a dict of tag -> figure or "
                            f"image. Received: {type(images).__name__}")
        writer = self._writer("train")
        for tag, image in images.items():
            if hasattr(image, "savefig"):
                writer.add_figure(tag, image, epoch, close=True)
                continue
            array = np.asarray(image)
            if array.ndim == 2:
                array = array[:, :, None]
            if array.ndim != 3:
                raise ValueError(f"TensorBoard: image {tag!r} must be HxW or HxWxC. "
                                 f"Received shape {array.shape}")
            if array.dtype.kind == "f" and array.max(initial=0.0) > 1.0:
                array = array / 255.0
            writer.add_image(tag, array, epoch, dataformats="HWC")
