"""A fault-injecting HTTP proxy in front of a real server (moto's S3, MLflow), stdlib only.

Every request is forwarded to the upstream server as it came, unless a rule matches it first. A rule
names the requests it applies to (method, path prefix, and how many of them: the first N, or all),
and what happens to them instead of, or after, forwarding:

- ``status``: answer with an S3-style XML error (500 InternalError, 503 SlowDown, ...), not forwarded;
- ``reset``: close the connection with a TCP reset (SO_LINGER 0) before anything is forwarded;
- ``reset-after``: forward, let the upstream do the request, then reset instead of answering (the
  client does not know whether it happened: the case that makes retries of non-idempotent calls unsafe);
- ``down``: from this request on, reset every request, whatever it is (the server gone at that point
  of a run, until ``clear()``);
- ``stall``: hold the request for ``seconds`` without answering, then forward it (or, past the client's
  timeout, find the connection closed).

An upstream that refuses the connection (stopped, restarting) gets the client a 502, as from a load
balancer in front of it. The proxy keeps a log of every request and the fault applied to it, so tests
can assert that the fault happened and how often the client retried.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.http import serving

# Headers that belong to one connection, not to the request: never forwarded.
_HOP = {"connection", "expect", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
_S3_CODES = {500: "InternalError", 502: "BadGateway", 503: "SlowDown", 504: "GatewayTimeout"}


@dataclass
class Rule:
    """Which requests a fault applies to and what it is."""

    action: str  # status | reset | reset-after | down | stall
    method: str | None = None  # None: any method
    path_prefix: str = ""  # matched against the request's path (with the query string)
    count: int | None = None  # the first `count` matching requests; None: every one
    status: int = 503
    seconds: float = 0.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.hits >= self.count:
            return False
        return (self.method is None or self.method == method) and path.startswith(self.path_prefix)


@dataclass
class Seen:
    method: str
    path: str
    fault: str  # "" when forwarded untouched


@dataclass
class FaultProxy:
    url: str
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    log: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    down: bool = False

    def add(self, action: str, **kwargs: Any) -> Rule:
        rule = Rule(action, **kwargs)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()
            self.log.clear()
            self.down = False

    def _take(self, method: str, path: str) -> tuple[Rule | None, Seen]:
        with self.lock:
            rule = next((r for r in self.rules if r.matches(method, path)), None)
            if rule is not None:
                rule.hits += 1
                self.down = self.down or rule.action == "down"
            if self.down:
                rule = Rule("down")
            seen = Seen(method, path, rule.action if rule else "")
            self.log.append(seen)
            return rule, seen

    def requests(self, method: str | None = None, path_prefix: str = "") -> list[Seen]:
        with self.lock:
            return [s for s in self.log if (method is None or s.method == method) and s.path.startswith(path_prefix)]


def _error_body(status: int, path: str) -> bytes:
    code = _S3_CODES.get(status, "InternalError")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>injected fault'
            f"</Message><Resource>{path}</Resource><RequestId>fault-proxy</RequestId></Error>").encode()  # fmt: skip


def _reset(handler: BaseHTTPRequestHandler) -> None:
    # SO_LINGER with a zero timeout makes close() send RST: the client sees "connection reset by peer".
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


@contextlib.contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A proxy on an ephemeral loopback port forwarding to upstream (http://host:port)."""
    target = urlsplit(upstream)
    state = FaultProxy(url="", upstream=upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as S3 and boto's connection pool expect

        def log_message(self, *args: Any) -> None:
            pass

        def _error(self, status: int) -> None:
            payload = _error_body(status, self.path)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            except OSError:
                self.close_connection = True  # the client gave up (its timeout) while the request was stalled

        def _handle(self) -> None:
            body = _read_body(self)
            rule, seen = state._take(self.command, self.path)
            if rule is not None and rule.action in {"reset", "down"}:
                _reset(self)
                return
            if rule is not None and rule.action == "status":
                self._error(rule.status)
                return
            if rule is not None and rule.action == "stall":
                time.sleep(rule.seconds)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            if body or self.command in {"PUT", "POST"}:
                headers["Content-Length"] = str(len(body))
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except OSError:
                # The upstream is down: answer as a load balancer in front of it would.
                seen.fault = seen.fault or "upstream down"
                self._error(502)
                return
            finally:
                conn.close()
            if rule is not None and rule.action == "reset-after":
                _reset(self)
                return
            try:
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)) if self.command != "HEAD" else
                                 response.getheader("Content-Length", "0"))  # fmt: skip
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            except OSError:
                pass  # the client gave up (its timeout) while the request was stalled

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield state
