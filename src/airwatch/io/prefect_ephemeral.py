"""The command's own Prefect server when none is configured: started at once, in a child process.

Prefect's client starts a temporary server itself when PREFECT_API_URL is unset, but to do so it
imports the whole server package in the command's process first (about 4-7 s of CPU), and only
then starts the child, which imports it again: the two imports run one after the other before the
first flow. Here the child is started as Prefect starts it (the same uvicorn command and settings),
as soon as the command has read its own settings and before it imports anything heavy, Prefect's
settings included (the child reads those itself and exits if they name a server), and
PREFECT_API_URL points at it: the child's import overlaps the command's own imports on another core,
and the command never imports the server.

The child is a process that would outlive a command killed without cleanup (SIGKILL, the OOM
killer): no atexit stops it, and it keeps a port and its memory (not the command's output: it writes
to a file of its own). On Linux it first asks the kernel to send it SIGTERM when the command's main
thread ends (PR_SET_PDEATHSIG). Once it answers it runs at a lower CPU priority than the command (nice
10); it starts at the command's own, since at nice 10 on a busy machine its start (importing the server
package) got a tenth of a core's share and did not answer within the start-up timeout: `airwatch run`
failed beside two backtests.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from airwatch.io.processes import terminate

_NOT_NEEDED = 4  # the child's exit code when Prefect's settings name a server (or turn this one off)
# The child. It reads Prefect's settings itself (the command's environment, profile and files) and
# serves only when they name no server: the command starts it before it has read them (importing them
# takes seconds, and the server's start is the critical path of a run with nothing new to do). Then it
# is Prefect's own `uvicorn --factory prefect.server.api.server:create_app`, run in this process (an
# exec would import the settings again).
_CHILD = (
    "import os, signal, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    import ctypes\n"
    "    ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "    if os.getppid() != int(sys.argv[1]): sys.exit(0)\n"  # the command ended before prctl
    "from prefect.settings import get_current_settings\n"
    "prefect = get_current_settings()\n"
    f"if prefect.api.url or not prefect.server.ephemeral.enabled: sys.exit({_NOT_NEEDED})\n"
    "sys.argv = ['uvicorn', *sys.argv[2:]]\n"
    "from uvicorn.main import main\n"
    "main()\n"
)
# What the command's server skips at its start, unless the environment says otherwise: registering
# Prefect's block types in its database (and, to learn whether they changed, importing every installed
# Prefect collection: prefect-dask imports Dask's distributed). The command's flows save no block; a
# block saved to this database registers its own type. About 1.2 s of a ~10 s start (docs/core.md).
SKIPPED_AT_START = {
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}
# The server only records what the command does; on two cores its state writes (about 60 ms of CPU a
# task run) would otherwise take turns with the pipeline's fits: measured in docs/production-notes.md.
_NICENESS = 10
_PORT_IN_USE = 3  # uvicorn's exit code when it cannot bind
log = logging.getLogger("prefect")  # the logger Prefect's own temporary server logs to


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lower_priority(pid: int, niceness: int) -> None:
    """Raise the niceness of every thread of a running process by this much (best effort).

    Linux keeps a niceness per thread: each of the process's threads is reniced, and the threads it
    starts later inherit it from the thread that starts them.
    """
    if not hasattr(os, "setpriority"):  # Windows: no niceness; the server keeps the command's priority
        return
    try:
        threads = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:  # no /proc (not Linux: one niceness per process), or the process has ended
        threads = [pid]
    for tid in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
        except OSError:  # the thread ended meanwhile
            continue


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: the command's, with no API URL, as an ephemeral server without UI."""
    env = {**SKIPPED_AT_START, **environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT__SERVER_FINAL": "1"}  # fmt: skip
    env.pop("PREFECT_API_URL", None)
    return env


class EphemeralPrefect:
    """A Prefect server for this command only, on a loopback port; `wait()` before the first flow."""

    def __init__(self, startup_timeout_s: float = 60.0) -> None:
        self.startup_timeout_s = startup_timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        # The server's own output: a file, not the command's terminal. Its shutdown on SIGTERM can
        # print a CancelledError traceback of Prefect's internals after the command's last line; it
        # is shown only when the server fails to start.
        self.output: IO[bytes] | None = None
        self.port = 0
        self._ready = threading.Event()
        self._healthy = False
        self._served = False  # announced and pointed at (a child stopped unused goes silently)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def answering(self) -> bool:
        """Whether the server has answered its health check (`wait` would return at once)."""
        return self._ready.is_set() and self._healthy

    def start(self) -> None:
        """Start the child and point this process's Prefect client at it (health is checked in the background)."""
        self.spawn()
        self.serve(self.startup_timeout_s)

    def spawn(self) -> None:
        """Start the child; it serves only if Prefect's settings name no server (else it exits, _NOT_NEEDED).

        This process's Prefect client is not pointed at it: `serve` does that once the command has read
        the settings itself, and `stop` ends a child that is not needed.
        """
        self.port = _free_port()
        uvicorn = ["--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
                   "--log-level", "error", "--lifespan", "on"]  # fmt: skip
        command = [sys.executable, "-c", _CHILD, str(os.getpid()), *uvicorn]
        env = child_environment(os.environ)
        self._ready.clear()
        self._healthy = False
        if self.output is not None:  # a retry on another port
            self.output.close()
        self.output = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(command, env=env, stdout=self.output, stderr=subprocess.STDOUT)  # noqa: S603
        atexit.register(self.stop)

    def serve(self, startup_timeout_s: float) -> None:
        """Point this process's Prefect client at the child and check its health in the background."""
        self.startup_timeout_s = startup_timeout_s
        self._served = True
        log.info("Starting temporary server on http://127.0.0.1:%d", self.port)
        os.environ["PREFECT_API_URL"] = self.api_url
        os.environ.setdefault("PREFECT_UI_URL", "")  # it serves no UI: no "View at" link to nowhere
        if "prefect.context" in sys.modules:  # settings already read: read them again
            import prefect.context

            prefect.context.refresh_global_settings_context()
        threading.Thread(target=self._watch, name="prefect-ephemeral-health", daemon=True).start()

    def _watch(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        try:
            while time.monotonic() < deadline and self.process is not None and self.process.poll() is None:
                try:
                    with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:  # noqa: S310
                        if response.status == 200:
                            self._healthy = True
                            lower_priority(self.process.pid, _NICENESS)
                            return
                except (urllib.error.URLError, OSError):
                    pass
                time.sleep(0.1)
        finally:
            self._ready.set()

    def wait(self) -> None:
        """Block until the server answers; a lost race for the port is retried on another."""
        for _ in range(3):
            self._ready.wait()
            if self._healthy:
                return
            if self.process is None or self.process.poll() != _PORT_IN_USE:
                break
            self.start()
        code = None if self.process is None else self.process.poll()
        raise RuntimeError(
            f"the temporary Prefect server on port {self.port} did not answer within {self.startup_timeout_s:.0f} s"
            + (f" (it exited with code {code})" if code is not None else "")
            + self._output_tail()
        )

    def _output_tail(self, limit: int = 2000) -> str:
        if self.output is None:
            return ""
        self.output.seek(0, os.SEEK_END)
        self.output.seek(max(0, self.output.tell() - limit))
        text = self.output.read().decode(errors="replace").strip()
        return f"; its output ends:\n{text}" if text else ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            if self._served:
                log.info("Stopping temporary server on http://127.0.0.1:%d", self.port)
            terminate(process, 5.0)
        if self.output is not None:
            self.output.close()
            self.output = None
