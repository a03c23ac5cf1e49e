"""A local Slack-compatible incoming webhook: keeps the JSON body of every POST it receives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.http import serving


@dataclass
class Webhook:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # the path of each POST (a Slack URL's token is there)

    def texts(self) -> list[str]:
        return [str(p.get("text", "")) for p in self.posts]


@contextmanager
def webhook_receiver() -> Iterator[Webhook]:
    """A receiver on an ephemeral loopback port, for the duration of the block."""
    posts: list[dict[str, Any]] = []
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            paths.append(self.path)
            posts.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        yield Webhook(f"http://127.0.0.1:{server.server_address[1]}/hook", posts, paths)
