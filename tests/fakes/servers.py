"""Real MLflow and Prefect servers as child processes, on a fixed loopback port, stopped and restarted at will.

Not stand-ins: ``mlflow server`` and ``prefect server start`` themselves, with their state in a
folder (SQLite), so a restart on the same port finds what the server had before, as a production
server restarted on its database would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO

QUIET = {"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
BIN = Path(sys.executable).parent


class Server:
    """One server process; start() waits until its health URL answers, stop() until it has exited."""

    def __init__(self, name: str, command: list[str], health: str, env: dict[str, str]) -> None:
        self.name, self.command, self.health, self.env = name, command, health, env
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def start(self, timeout: float = 120.0) -> float:
        """Start and wait until healthy; the seconds that took."""
        started = time.monotonic()
        self.proc = subprocess.Popen(self.command, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        while True:
            try:
                with urllib.request.urlopen(self.health, timeout=2):
                    return time.monotonic() - started
            except OSError:
                if self.proc.poll() is not None or time.monotonic() - started > timeout:
                    self.stop()
                    raise RuntimeError(f"{self.name} did not start: {self.tail()}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server and every process it started (its session), as a service manager would."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def tail(self, size: int = 3000) -> str:
        self._log.seek(0)
        return self._log.read()[-size:].decode(errors="replace")

    def close(self) -> None:
        self.stop()
        self._log.close()


def mlflow_server(folder: Path, port: int) -> Server:
    """MLflow's tracking server on SQLite, serving its artifacts from a folder (clients upload through it)."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
               "--artifacts-destination", str(folder / "artifacts")]  # fmt: skip
    return Server("mlflow", command, f"http://127.0.0.1:{port}/health", {**os.environ, **QUIET})


def prefect_server(folder: Path, port: int) -> Server:
    """Prefect's API server on SQLite (its home in the folder), without the UI."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **QUIET, "PREFECT_HOME": str(folder),
           "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{folder / 'prefect.db'}"}  # fmt: skip
    env.pop("PREFECT_API_URL", None)
    command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui",
               "--analytics-off"]  # fmt: skip
    return Server("prefect", command, f"http://127.0.0.1:{port}/api/health", env)
