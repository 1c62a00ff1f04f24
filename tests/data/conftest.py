"""Fixtures of the download tests: a loopback HTTP server (nablanet.testing.LoopbackServer)
and a URL where nothing listens."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from nablanet.testing import LoopbackServer


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the server is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/files/"
