"""The tests of the fast kernels' own machinery run on the fast path whatever NABLANET_KERNELS
says (the suite also runs with NABLANET_KERNELS=reference)."""

from collections.abc import Iterator

import pytest

from nablanet.kernels.registry import use_kernels


@pytest.fixture(autouse=True)
def fast_kernels() -> Iterator[None]:
    with use_kernels("fast"):
        yield
