"""Fixtures of the compat tests."""

from __future__ import annotations

import pytest

# The chapter's listings are scripts run by test_listings.py, not test modules: importing them
# (for doctests) would run them.
collect_ignore_glob = ["listings/*"]


@pytest.fixture(autouse=True)
def _listings_on_one_blas_thread(one_blas_thread: None) -> None:
    """Every compat test trains small models: one BLAS thread (see tests/conftest.py)."""
