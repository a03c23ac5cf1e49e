"""moto's standalone S3 server on a free loopback port, for tests that need a real S3 endpoint.

The server runs as a child process (``python -m moto.server``), so requests go over HTTP like they
would to S3, and conditional writes are decided by the server, not by a mock inside this process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator

from airwatch.io.processes import terminate
from tests.fakes.ports import free_port


@contextlib.contextmanager
def moto_server(timeout: float = 30.0) -> Iterator[str]:
    """Start moto on 127.0.0.1:<free port>; yield its endpoint URL; stop it afterwards."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DO_NOT_TRACK": "true"}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        tail = log.read()[-2000:].decode(errors="replace")
                        raise RuntimeError(f"moto server did not start on port {port}: {tail}") from None
                    time.sleep(0.1)
            yield endpoint
        finally:
            terminate(proc, 10.0)
