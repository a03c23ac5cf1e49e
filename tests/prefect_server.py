"""One Prefect server for every pytest-xdist worker of a test session.

Prefect's test harness starts a server per process: under `make test-py` each worker paid a server
start (importing the server package and migrating a new SQLite database: about 12 s of CPU on this
2-core machine) and both servers then took turns with the tests for the cores. Here the first worker
that needs a server starts it, in the session's shared temporary folder, and the others use it.

The server must outlive the worker that started it (the other may still be running flows) but not
the session: it is started in a session of its own under a small watchdog that stops it when the
pytest process that started the workers has exited (polled; PR_SET_PDEATHSIG would follow the worker).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from airwatch.io.prefect_ephemeral import SKIPPED_AT_START
from tests.fakes.ports import free_port

_ROOT = Path(__file__).resolve().parents[1]  # where `tests` is imported from, by the server too

_WATCHDOG = (
    "import os, subprocess, sys, time\n"
    "session, command = int(sys.argv[1]), sys.argv[2:]\n"
    "server = subprocess.Popen(command)\n"
    "while server.poll() is None:\n"
    "    try:\n"
    "        os.kill(session, 0)\n"
    "    except ProcessLookupError:\n"
    "        server.terminate()\n"
    "        try:\n"
    "            server.wait(10)\n"
    "        except subprocess.TimeoutExpired:\n"
    "            server.kill()\n"
    "        break\n"
    "    time.sleep(0.5)\n"
)
_MIGRATE = (
    "import asyncio\n"
    "from prefect.server.database import provide_database_interface\n"
    "asyncio.run(provide_database_interface().create_db())\n"
)


# The services that turn the clients' events into records no test here reads: task-run states (the
# recorder writes each task run's state changes to SQLite as they arrive), the event table, and the
# automations' triggers and actions. They took 69 s of CPU in a profiled `make test-py` (414 s of
# samples) on the two cores the tests share; off, it took 11 s of 258 s sampled and the suite 127-129 s
# instead of 149 s (README, "make test-py"). Flow runs and their states are written by the API itself and
# stay. The production stack's tests (tests/stack) run against a server with every service on, and
# read its task runs.
_UNREAD_SERVICES_OFF = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
}


def _healthy(api_url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def shared_server(folder: Path, session_pid: int, timeout_s: float = 180.0) -> str:
    """The API URL of the session's Prefect server in `folder`, started by the first caller; waits until it answers."""
    api_url = start_shared_server(folder, session_pid)
    if not _healthy(api_url, timeout_s):
        log = (folder / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the shared Prefect test server at {api_url} did not answer: {log}")
    return api_url


def start_shared_server(folder: Path, session_pid: int) -> str:
    """Start the session's server unless a worker has already; its API URL, without waiting for it."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "server.json"
    with (folder / "server.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.exists():
            api_url = json.loads(record.read_text())["api_url"]
        else:
            port = free_port()
            api_url = f"http://127.0.0.1:{port}/api"
            env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
            # As the command's own server starts (without registering block types), on its own database.
            env |= {
                "PREFECT_HOME": str(folder),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{_database(folder, env)}",
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **SKIPPED_AT_START,
                **_UNREAD_SERVICES_OFF,
            }
            uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "tests.prefect_app:create_app",
                       "--app-dir", str(_ROOT), "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
                       "--lifespan", "on"]  # fmt: skip
            with (folder / "server.log").open("ab") as out:
                subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(session_pid), *uvicorn], env=env,
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
            record.write_text(json.dumps({"api_url": api_url}))
    return api_url


def _database(folder: Path, env: dict[str, str]) -> Path:
    """The server's database: a copy of an empty one at Prefect's schema, made once per Prefect version.

    A server on a new database first runs Prefect's whole migration history: about 5 s of the 10 s it
    takes to answer, while both workers wait for it.
    """
    import prefect

    database = folder / "prefect.db"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airwatch"
    template = cache / f"prefect-{prefect.__version__}-empty.db"
    if not template.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / f".{template.name}.{os.getpid()}.partial"
        partial.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{partial}"
        subprocess.run([sys.executable, "-c", _MIGRATE], env={**env, "PREFECT_SERVER_DATABASE_CONNECTION_URL": url},
                       check=True, capture_output=True, timeout=300)  # fmt: skip
        with contextlib.closing(sqlite3.connect(partial)) as connection:
            connection.execute("PRAGMA journal_mode=DELETE")  # the write-ahead log folded in: one file to copy
        os.replace(partial, template)
    shutil.copyfile(template, database)
    return database
