"""Fixtures shared by the whole test suite."""

from collections.abc import Iterator

import pytest

from nablanet.utils import limit_threads


@pytest.fixture
def one_blas_thread() -> Iterator[None]:
    """Run BLAS and numba on one thread: on a shared, oversubscribed machine OpenBLAS's
    spinning worker threads can make a small matrix product take seconds instead of
    milliseconds. Modules that train whole models opt in with
    ``pytestmark = pytest.mark.usefixtures("one_blas_thread")``."""
    with limit_threads(1):
        yield
