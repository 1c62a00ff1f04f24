"""Fixtures of the compat tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits

# The chapter's listings are scripts run by test_listings.py, not test modules: importing them
# (for doctests) would run them.
collect_ignore_glob = ["listings/*"]


@pytest.fixture(autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Run BLAS on one thread: on a shared, oversubscribed machine OpenBLAS's spinning worker
    threads make a small GEMM take seconds instead of milliseconds."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
