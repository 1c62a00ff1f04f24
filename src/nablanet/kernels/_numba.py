"""The one place that loads numba.

Every compiled kernel is made with :func:`njit`, which returns None when numba is not installed
or is switched off (``NABLANET_NUMBA=0`` in the environment, or ``ENABLED[0] = False`` before the
first kernel is compiled); the kernels' callers then return None and the reference code runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

#: Global switch: False keeps numba unloaded and every compiled kernel absent.
ENABLED = [os.environ.get("NABLANET_NUMBA", "1").strip() not in ("0", "false", "no")]
_MODULE: list[Any] = []


def numba_module() -> Any:
    """The ``numba`` module, or None when it is missing or switched off."""
    if not ENABLED[0]:
        return None
    if not _MODULE:
        try:
            import numba
        except ImportError:
            _MODULE.append(None)
        else:
            _MODULE.append(numba)
    return _MODULE[0]


def njit(**options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any] | None]:
    """``numba.njit(cache=True, nogil=True, **options)`` as a decorator; the decorated name is
    None without numba. ``nogil``: the kernels run on the batch-split threads
    (:mod:`nablanet.kernels.threads`); numba's own threading layer is never started."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any] | None:
        numba = numba_module()
        if numba is None:
            return None
        return numba.njit(cache=True, nogil=True, **options)(fn)  # type: ignore[no-any-return]

    return decorate
