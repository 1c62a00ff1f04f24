"""``GradientTape``: TensorFlow's way of asking for gradients, on nablanet's graph.

nablanet records every operation whose inputs require a gradient, tape or no tape (the graph
of :mod:`nablanet.autograd.function`). A tape marks the stretch of that recording it owns:
on entering the ``with`` block it notes the next node's sequence number, and
:meth:`GradientTape.gradient` differentiates only through nodes recorded from then on
(:func:`~nablanet.autograd.function.grad`), so a tensor computed before the block is a
constant to it, as in TensorFlow. Gradients go to the requested sources only; no ``.grad``
is touched, so a tape and ``fit``'s own ``backward`` never interfere.

Trainable variables (tensors with ``requires_grad``) are watched automatically; other float
tensors are watched with :meth:`~GradientTape.watch`. Tapes nest and may share one forward
pass (a GAN's generator and discriminator tapes). ``persistent=True`` allows several
``gradient`` calls; the graph is kept for as long as the tensors that hold it live.

Not supported: gradients of gradients. The backward passes of nablanet's primitives are
NumPy code that is not itself recorded, so a gradient taken inside an outer tape is a
constant to that tape; asking the outer tape to differentiate it raises ``NotImplementedError``
rather than returning a wrong (missing) second-order term.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from nablanet.autograd import function
from nablanet.autograd.tensor import Tensor

__all__ = ["GradientTape"]

_active: list[GradientTape] = []  # tapes inside their ``with`` block, innermost last
#: Gradients computed while an outer tape was recording (keyed by id, held weakly).
_inner_results: weakref.WeakValueDictionary[int, Tensor] = weakref.WeakValueDictionary()


def _flatten(structure: Any) -> list[Any]:
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _pack(structure: Any, leaves: Iterator[Any]) -> Any:
    if isinstance(structure, dict):
        packed = {key: _pack(structure[key], leaves) for key in sorted(structure)}
        return {key: packed[key] for key in structure}
    if isinstance(structure, (list, tuple)):
        items = [_pack(item, leaves) for item in structure]
        return type(structure)(items) if not hasattr(structure, "_fields") else \
            type(structure)(*items)
    return next(leaves)


class GradientTape:
    """Record operations in a ``with`` block and differentiate them (``tf.GradientTape``).

    Parameters
    ----------
    persistent : bool
        Allow more than one :meth:`gradient` call (False: the second call raises).
    watch_accessed_variables : bool
        Watch every trainable variable used in the block (True), or only what :meth:`watch`
        names (False).

    Examples
    --------
    >>> import nablanet as nb
    >>> w = nb.tensor([1.0, 2.0], requires_grad=True)
    >>> x = nb.tensor([3.0, 4.0])
    >>> with GradientTape() as tape:
    ...     tape.watch(x)
    ...     loss = (w * x).sum()
    >>> [g.numpy() for g in tape.gradient(loss, [w, x])]
    [array([3., 4.], dtype=float32), array([1., 2.], dtype=float32)]
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self.persistent = bool(persistent)
        self.watch_accessed_variables = bool(watch_accessed_variables)
        self._first_seq: int | None = None
        self._recording = False
        self._used = False
        self._watched: dict[int, Tensor] = {}
        self._flipped: list[Tensor] = []  # tensors whose requires_grad this tape turned on

    # -- the block ----------------------------------------------------------------------------
    def __enter__(self) -> GradientTape:
        if self._recording:
            raise ValueError("Tape is still recording, This can happen if you try to re-enter "
                             "an already-active tape.")
        if self._first_seq is None:
            self._first_seq = function._next_seq()
        self._recording = True
        _active.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._recording = False
        _active.remove(self)
        still_watched = {key for tape in _active for key in tape._watched}
        for tensor in self._flipped:
            if id(tensor) not in still_watched:
                tensor.requires_grad = False
        self._flipped = []

    def watch(self, tensor: Any) -> None:
        """Record operations on ``tensor`` (a Tensor or a nested list/tuple/dict of them) so
        gradients with respect to it can be taken. Integer tensors are ignored (they have no
        gradient, as in TensorFlow)."""
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise ValueError("watch: only nablanet Tensors can be watched. "
                                 f"Received: {type(t).__name__}")
            if t.dtype.kind not in "fc":
                continue
            if not t.requires_grad:
                t.requires_grad = True
                if self._recording:
                    self._flipped.append(t)
            self._watched[id(t)] = t

    def watched_variables(self) -> tuple[Tensor, ...]:
        """The tensors watched explicitly with :meth:`watch`."""
        return tuple(self._watched.values())

    @contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Inside this block operations are not recorded (nor by any other tape)."""
        if not self._recording:
            raise ValueError("stop_recording: the tape is not recording.")
        with function.no_grad():
            yield

    def reset(self) -> None:
        """Forget everything recorded so far (the tape records from here on)."""
        self._first_seq = function._next_seq()
        self._used = False

    # -- gradients ----------------------------------------------------------------------------
    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = "none") -> Any:
        """d(target)/d(source) for each source, in the structure of ``sources``.

        ``target`` is a Tensor (or a list of them: their gradients are summed);
        ``output_gradients`` weights a non-scalar target (same shape). A source that the
        target does not depend on through this tape's recording gets None, or zeros with
        ``unconnected_gradients="zero"``.
        """
        if self._first_seq is None:
            raise ValueError("gradient: the tape has not recorded anything (use it in a "
                             "`with` block first).")
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients (or jacobians)")
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError("gradient: unconnected_gradients must be 'none' or 'zero'. "
                             f"Received: unconnected_gradients={unconnected_gradients!r}")
        self._used = True
        flat_sources = _flatten(sources)
        for s in flat_sources:
            if not isinstance(s, Tensor):
                raise ValueError("gradient: every source must be a nablanet Tensor (a "
                                 f"variable or a watched tensor). Received: {type(s).__name__}")
        targets = _flatten(target)
        weights = _flatten(output_gradients) if output_gradients is not None else \
            [None] * len(targets)
        total: list[np.ndarray | None] = [None] * len(flat_sources)
        for t, w in zip(targets, weights):
            if not isinstance(t, Tensor):
                raise ValueError(f"gradient: target must be a Tensor. Received: {type(t).__name__}")
            if _inner_results.get(id(t)) is t:
                raise NotImplementedError(
                    "gradient: this target is itself a gradient taken inside this tape; "
                    "gradients of gradients (second-order derivatives) are not supported.")
            if not t.requires_grad:
                continue
            grads = function.grad(t, flat_sources, w, retain_graph=True,
                                  recorded_from=self._first_seq)
            total = [g if acc is None else acc if g is None else acc + g
                     for acc, g in zip(total, grads)]
        if not self.watch_accessed_variables:
            total = [g if id(s) in self._watched else None for g, s in zip(total, flat_sources)]
        results: list[Tensor | None] = []
        for g, s in zip(total, flat_sources):
            if g is None and unconnected_gradients == "zero":
                g = np.zeros_like(s.data)
            results.append(None if g is None else Tensor(g, dtype=s.data.dtype))
        if _active:
            for r in results:
                if r is not None:
                    _inner_results[id(r)] = r
        return _pack(sources, iter(results))
