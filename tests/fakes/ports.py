"""Loopback ports for the tests' servers, chosen outside the kernel's ephemeral range.

A port the kernel hands out for `bind(0)` comes from the ephemeral range, the one it also takes the
local port of every outgoing connection from. Between choosing such a port and the server binding it
(a Prefect server imports for seconds first), or while a server is stopped to be restarted on the
same port, another test's client connection can take it: "address already in use" (seen in CI, a
fault test's Prefect server). Ports below the range are never given to a client connection.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_LOW = 20_000  # above the well-known and registered services the tests could meet on loopback


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):  # not Linux: IANA's dynamic range starts at 49152
        return 49152


def free_port() -> int:
    """A port free on 127.0.0.1 now and outside the ephemeral range (a random one: two workers rarely meet)."""
    high = _ephemeral_start() - 1
    candidates = random.sample(range(_LOW, high), 200) if high - _LOW > 200 else []
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # nothing free below: any port
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
