"""The one random-number generator behind every random choice nablanet makes.

``set_random_seed(seed)`` reseeds it (and Python's and NumPy's global generators, as
``keras.utils.set_random_seed`` does), so the same seed and thread count give
bit-identical training runs.
"""

from __future__ import annotations

import random as _python_random

import numpy as np

_state: dict[str, np.random.Generator] = {"rng": np.random.default_rng()}


def set_random_seed(seed: int) -> None:
    """Seed nablanet's generator, Python's ``random`` and NumPy's legacy global generator.

    Examples
    --------
    >>> import nablanet as nb
    >>> nb.set_random_seed(0); a = nb.randn(3).numpy()
    >>> nb.set_random_seed(0); b = nb.randn(3).numpy()
    >>> bool((a == b).all())
    True
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(
            f"set_random_seed: seed must be a non-negative integer. Received: seed={seed!r}"
        )
    _state["rng"] = np.random.default_rng(int(seed))
    _python_random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def generator() -> np.random.Generator:
    """The current generator (replaced by each ``set_random_seed`` call)."""
    return _state["rng"]


def make_generator(seed: int | np.random.Generator | None = None) -> np.random.Generator:
    """A generator from an explicit seed, or a child of the framework generator when None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(_state["rng"].integers(2**63))
    return np.random.default_rng(seed)


class SeedStream:
    """The generators of a layer built with an integer ``seed`` (Keras's ``SeedGenerator``).

    The n-th draw (n = 0, 1, ...) comes from ``np.random.default_rng([seed, n])``: the
    stream Keras's NumPy backend gives a layer's ``SeedGenerator(seed)``, whose state
    ``[seed, n]`` advances by one per draw. So ``Dropout(0.5, seed=s)`` draws different masks
    on each call, the same sequence in every run, and the masks Keras's NumPy backend draws.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.draws = 0

    def next(self) -> np.random.Generator:
        """The generator of the next draw."""
        rng = np.random.default_rng([self.seed, self.draws])
        self.draws += 1
        return rng

