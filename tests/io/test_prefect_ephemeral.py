"""The command's own Prefect server: started at the command's priority, lowered once it answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airwatch.io.prefect_ephemeral import lower_priority

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
