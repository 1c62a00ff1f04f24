"""Fixtures shared by the whole test suite."""

from collections.abc import Callable, Iterator
from typing import Any

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


@pytest.fixture
def record_calls(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[Any]]:
    """``record_calls(owner, name, keep=None)`` replaces ``owner.name`` for the test by a
    wrapper that appends ``keep(*args)`` (the positional arguments themselves without
    ``keep``) to the list it returns, then calls the original and returns its result: a spy
    on which path a kernel took."""

    def install(owner: Any, name: str, keep: Callable[..., Any] | None = None) -> list[Any]:
        calls: list[Any] = []
        real = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(args if keep is None else keep(*args))
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)
        return calls

    return install


@pytest.fixture(autouse=True)
def _published_files_from_nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the internet: the published data files (nablanet.data.download's
    registry) are fetched from a closed port on 127.0.0.1 unless a test serves them itself."""
    monkeypatch.setenv("NABLANET_DATA_URL", "http://127.0.0.1:9/nowhere/")
