"""What the local stand-in servers share: serving in a thread, a quiet handler, a JSON response whole or cut short."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar

# serve_forever looks for a shutdown request once per poll: at its default (0.5 s), stopping a server
# waited 0.25 s on average, 5.5 s of a `make test-py` run's worker time over its 15 stops.
POLL_SECONDS = 0.02
S = TypeVar("S", bound=socketserver.BaseServer)


def start(server: socketserver.BaseServer) -> None:
    """Serve in a daemon thread until stop()."""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True).start()


def stop(server: socketserver.BaseServer) -> None:
    server.shutdown()
    server.server_close()


@contextmanager
def serving(server: S) -> Iterator[S]:
    """The server served in a thread for the duration of the block."""
    start(server)
    try:
        yield server
    finally:
        stop(server)


def send(handler: BaseHTTPRequestHandler, code: int, body: bytes, *, truncate: bool = False) -> None:
    """Write a response; truncate sends half the body under the full Content-Length, then hangs up."""
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body[: len(body) // 2] if truncate else body)
    if truncate:
        handler.close_connection = True


class StandInHandler(BaseHTTPRequestHandler):
    """A request handler that keeps test output clean and sends JSON with send()."""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, truncate: bool = False) -> None:
        send(self, code, body, truncate=truncate)
