"""The dashboard: the newest report page served over HTTP (``airwatch dashboard``).

``/`` answers with the report page, built by the function the server is given and kept for
``max_age`` seconds (building reads the store and the registry: seconds, not milliseconds, so a page
reloaded by several people is built once). ``/healthz`` answers ``ok`` without building anything.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True  # a browser's open connection must not keep the process alive after Ctrl-C

    def __init__(self, address: tuple[str, int], build: Callable[[], str], max_age: float) -> None:
        super().__init__(address, _Handler)
        self.build = build
        self.max_age = max_age
        self._lock = threading.Lock()
        self._page: bytes | None = None
        self._built = 0.0

    def page(self) -> bytes:
        """The cached page, or a new one when it is older than max_age (one build at a time)."""
        with self._lock:
            if self._page is None or time.monotonic() - self._built >= self.max_age:
                self._page = self.build().encode("utf-8")
                self._built = time.monotonic()
            return self._page


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "airwatch-dashboard"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8")
        elif path in ("/", "/index.html"):
            try:
                page = self.server.page()
            except Exception as exc:  # the server stays up; the next request tries again
                log.exception("dashboard: the report could not be built")
                body = f"<!DOCTYPE html><title>AirWatch</title><p>The report could not be built: {type(exc).__name__}: "
                body += f"{html.escape(str(exc))}</p>"
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, body.encode(), "text/html; charset=utf-8")
                return
            self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("dashboard: %s " + format, self.address_string(), *args)


def make_server(host: str, port: int, build: Callable[[], str], max_age: float = 60.0) -> DashboardServer:
    """A server bound to host:port (port 0: a free one, in server_port); serve_forever() runs it."""
    return DashboardServer((host, port), build, max_age)
