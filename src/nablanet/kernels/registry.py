"""Which implementation runs a primitive: the reference (``ops``) or a fast kernel (``kernels``).

A primitive in :mod:`nablanet.ops` is written once, plainly. A fast implementation of it lives
in a module of :mod:`nablanet.kernels` and is registered under the primitive's name::

    @register("conv2d")
    def conv2d(x, w, bias=None, **options):  # same arguments as nablanet.ops.conv.conv2d
        ...                                   # a Tensor, or None: "not for these arguments"

The primitive's public function returns :func:`dispatch`'s result: the kernel's, or the
reference's when there is no kernel, the kernel returns None, or the switch says
``'reference'``. The switch is
the environment variable ``NABLANET_KERNELS`` (``fast``, the default, or ``reference``) read at
import, and :func:`set_kernels` / :func:`use_kernels` at run time.

This module imports nothing from nablanet, so ``ops`` can use it without depending on the kernel
modules; those are imported (and so registered) on the first fast lookup.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

MODES = ("fast", "reference")

#: The kernel modules, imported on the first fast lookup (each registers its kernels).
KERNEL_MODULES = (
    "nablanet.kernels.conv",
    "nablanet.kernels.pooling",
    "nablanet.kernels.conv_pool",
    "nablanet.kernels.linalg",
    "nablanet.kernels.adam",
    "nablanet.kernels.decompositions",
    "nablanet.kernels.recurrent",
)

_FAST: dict[str, Callable[..., Any]] = {}
_LOADED: list[bool] = []


def _mode_from_env() -> str:
    value = os.environ.get("NABLANET_KERNELS", "fast").strip().lower() or "fast"
    if value not in MODES:
        raise ValueError(f"NABLANET_KERNELS must be 'fast' or 'reference'. Received: "
                         f"NABLANET_KERNELS={value!r}")
    return value


_MODE = [_mode_from_env()]


def get_kernels() -> str:
    """The current implementation choice: ``'fast'`` or ``'reference'``.

    Examples
    --------
    >>> get_kernels() in ("fast", "reference")
    True
    """
    return _MODE[0]


def set_kernels(mode: str) -> None:
    """Run the primitives with the fast kernels (``'fast'``) or the reference NumPy code
    (``'reference'``) from now on, in every thread.

    Examples
    --------
    >>> previous = get_kernels()
    >>> set_kernels("reference"); get_kernels()
    'reference'
    >>> set_kernels(previous)
    """
    if mode not in MODES:
        raise ValueError(f"set_kernels: mode must be 'fast' or 'reference'. Received: "
                         f"mode={mode!r}")
    _MODE[0] = mode


@contextmanager
def use_kernels(mode: str) -> Iterator[None]:
    """``with use_kernels('reference'): ...`` runs the block with that choice, then restores
    the previous one.

    Examples
    --------
    >>> with use_kernels("reference"):
    ...     get_kernels()
    'reference'
    """
    previous = get_kernels()
    set_kernels(mode)
    try:
        yield
    finally:
        set_kernels(previous)


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``fn`` as the fast implementation of the primitive ``name``."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _FAST and _FAST[name] is not fn:
            raise ValueError(f"register: a fast kernel for {name!r} is already registered "
                             f"({_FAST[name].__module__}.{_FAST[name].__qualname__})")
        _FAST[name] = fn
        return fn

    return decorate


def lookup(name: str) -> Callable[..., Any] | None:
    """The fast implementation of ``name`` when the switch says ``'fast'``, else None."""
    if _MODE[0] != "fast":
        return None
    if not _LOADED:
        _LOADED.append(True)
        for module in KERNEL_MODULES:
            importlib.import_module(module)
    return _FAST.get(name)


def dispatch(name: str, reference: Callable[..., Any], *args: Any, **options: Any) -> Any:
    """``name``'s fast kernel on these arguments when there is one and it takes them, else
    ``reference(*args, **options)``: what a primitive's public function returns."""
    fast = lookup(name)
    out = None if fast is None else fast(*args, **options)
    return reference(*args, **options) if out is None else out


def registered() -> dict[str, Callable[..., Any]]:
    """Every registered fast kernel by primitive name (loads the kernel modules)."""
    if not _LOADED:
        _LOADED.append(True)
        for module in KERNEL_MODULES:
            importlib.import_module(module)
    return dict(_FAST)
