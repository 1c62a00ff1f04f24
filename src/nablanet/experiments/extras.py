"""Optional extras the jobs need, checked before any training starts.

The 8×8 digits of the §9 jobs come with scikit-learn, which is not a dependency of nablanet
but its optional ``examples`` extra. A job that needs it calls :func:`require_extra` first,
so a missing package stops the job at once with the install command of the README, rather
than after minutes of training on the parts that do not need it.
"""

from __future__ import annotations

import importlib

#: extra -> (module it provides, package name, the README's install command)
EXTRAS: dict[str, tuple[str, str, str]] = {
    "examples": ("sklearn.datasets", "scikit-learn", "pip install '.[examples]'"),
}


def require_extra(job: str, extra: str, purpose: str) -> None:
    """Exit with a one-paragraph message naming the install command when ``extra`` is missing.

    Examples
    --------
    >>> require_extra("vae", "examples", "the 8x8 digits")  # installed: returns quietly
    """
    module, package, command = EXTRAS[extra]
    try:
        importlib.import_module(module)
    except ImportError:
        raise SystemExit(
            f"{job}: {purpose} come with {package}, which is not installed. Install nablanet's "
            f"optional '{extra}' extra from the nablanet folder with\n    {command}\n"
            f"and run the job again (nothing was trained).") from None
