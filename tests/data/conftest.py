"""A loopback HTTP server for the download tests: nothing leaves 127.0.0.1.

``loopback.add(name, data)`` serves ``data`` at ``loopback.url(name)``
(``http://127.0.0.1:<port>/files/<name>``); ``/redirect/<name>`` answers 302 to it,
``/truncated/<name>`` announces the full length and sends half the bytes before closing the
connection, and anything else is a 404. ``loopback.requests`` lists the paths asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Loopback:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with loopback._lock:
                    loopback.requests.append(self.path)
                kind, _, name = self.path.lstrip("/").partition("/")
                data = loopback.files.get(name)
                if data is None:
                    self.send_error(404, "Not Found")
                elif kind == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"/files/{name}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif kind in ("files", "truncated"):
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if kind == "files":
                        self.wfile.write(data)
                    else:
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                else:
                    self.send_error(404, "Not Found")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def add(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return self.url(name)

    def url(self, name: str, kind: str = "files") -> str:
        return f"{self.base}/{kind}/{name}"

    def count(self, name: str) -> int:
        return sum(path.endswith("/" + name) for path in self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server = Loopback()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the server is down)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/files/"
