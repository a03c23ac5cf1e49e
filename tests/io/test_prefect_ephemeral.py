"""The command's own Prefect server: started at the command's priority, lowered once it answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airwatch.io.prefect_ephemeral import (
    _NOT_NEEDED,
    SKIPPED_AT_START,
    EphemeralPrefect,
    child_environment,
    lower_priority,
)

# A process with a second thread (Linux keeps a niceness per thread), and a third started after the renice.
CHILD = """
import os, sys, threading, time
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
sys.stdout.write(" ".join(sorted(os.listdir("/proc/self/task"))) + "\\n"); sys.stdout.flush()
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_every_thread_is_lowered_and_threads_started_later_inherit_it() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        base = os.getpriority(os.PRIO_PROCESS, 0)
        before = [int(t.name) for t in Path(f"/proc/{child.pid}/task").iterdir()]
        assert len(before) == 2 and all(os.getpriority(os.PRIO_PROCESS, t) == base for t in before)

        lower_priority(child.pid, 10)
        child.stdin.write("go\n")
        child.stdin.flush()
        threads = [int(t) for t in child.stdout.readline().split()]
        assert len(threads) == 3  # the two reniced and one started afterwards
        assert [os.getpriority(os.PRIO_PROCESS, t) for t in threads] == [min(19, base + 10)] * 3
    finally:
        child.kill()
        child.wait()


def test_a_process_that_has_ended_is_no_error() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: no /proc entry and no such pid (os.setpriority would raise)
    lower_priority(child.pid, 10)


def test_a_server_named_only_in_prefects_profile_is_found_by_the_child_which_then_serves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command starts its server before reading Prefect's settings; the child reads them and yields."""
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "remote"\n\n[profiles.remote]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n')
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(profiles))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    server = EphemeralPrefect()
    server.spawn()
    try:
        assert server.process is not None
        assert server.process.wait(timeout=120) == _NOT_NEEDED, server._output_tail()
        assert "PREFECT_API_URL" not in os.environ  # spawning points nothing at it; serve() would
    finally:
        server.stop()


# The command as it starts: the server's child must be started before Prefect's settings are imported.
START_ORDER = """
import sys
from airwatch import cli
from airwatch.io.prefect_ephemeral import EphemeralPrefect

spawn, seen = EphemeralPrefect.spawn, []
def recording(self):
    seen.append("prefect.settings" in sys.modules)
    spawn(self)
EphemeralPrefect.spawn = recording
cli._prepare(sys.argv[1])
server = cli._state["server"]
print(seen, server is not None and server.api_url == __import__("os").environ["PREFECT_API_URL"])
server.stop()
"""


def test_the_command_starts_its_server_before_it_imports_prefects_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "AIRWATCH_"))}
    env["PREFECT_HOME"] = str(tmp_path / "home")
    done = subprocess.run([sys.executable, "-c", START_ORDER, str(tmp_path / "store")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[False] True", done.stdout[-3000:]


def test_the_child_skips_registering_block_types_unless_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.settings import (
        PREFECT_API_BLOCKS_REGISTER_ON_START,
        PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION,
        Settings,
    )

    env = child_environment({"PREFECT_API_URL": "http://elsewhere/api", "HOME": "/home/u"})
    assert "PREFECT_API_URL" not in env and env["HOME"] == "/home/u" and env["PREFECT__SERVER_EPHEMERAL"] == "1"
    for name in SKIPPED_AT_START:  # Prefect reads these names: the server's start really skips the work
        monkeypatch.setenv(name, env[name])
    settings = Settings()
    assert PREFECT_API_BLOCKS_REGISTER_ON_START.value_from(settings) is False
    assert PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION.value_from(settings) is False
    told = child_environment({"PREFECT_API_BLOCKS_REGISTER_ON_START": "true"})
    assert told["PREFECT_API_BLOCKS_REGISTER_ON_START"] == "true"
