"""What the local stand-in servers share: a quiet handler and writing a JSON response, whole or cut short."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any


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
