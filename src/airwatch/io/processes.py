"""Child processes the project starts (servers), ended the same way everywhere."""

from __future__ import annotations

import subprocess
from typing import Any


def terminate(process: subprocess.Popen[Any], timeout_s: float) -> None:
    """Ask a child to stop (SIGTERM), kill it if it has not within timeout_s, and reap it."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
