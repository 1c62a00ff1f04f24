"""Building the compat name tables: copy a nablanet module's public names into a namespace."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def public_names(module: ModuleType) -> dict[str, Any]:
    """The public names of ``module``: its ``__all__`` plus every non-module name defined in
    the module or its subpackage (so names re-exported with ``import *`` are included)."""
    prefix = module.__name__
    names = {n: getattr(module, n) for n in getattr(module, "__all__", ())}
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, ModuleType):
            continue
        origin = getattr(value, "__module__", None) or ""
        if origin == prefix or origin.startswith(prefix + "."):
            names[name] = value
    return names


def reexport(namespace: dict[str, Any], *sources: ModuleType, **extra: Any) -> list[str]:
    """Put the public names of ``sources`` and the ``extra`` names into ``namespace``; return
    the sorted list of names for ``__all__``."""
    table: dict[str, Any] = {}
    for module in sources:
        table.update(public_names(module))
    table.update(extra)
    namespace.update(table)
    return sorted(table)
