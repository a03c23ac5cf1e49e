"""(f) Production mode: PREFECT_SERVER_EPHEMERAL_ENABLED=false and no PREFECT_API_URL.

    python scripts/prototypes/prefect_no_api.py

Shows Prefect's own error (raised when the flow starts, from get_client) and the one-line check a
program can make first, from Prefect's settings, so the user reads one clear sentence instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

CHILD = """
from prefect import flow

@flow
def hello() -> int:
    return 1

hello()
"""

CHECK = """
from prefect.settings import get_current_settings

s = get_current_settings()
if not s.api.url and not s.server.ephemeral.enabled:
    raise SystemExit("AirWatch: no Prefect server: set AIRWATCH_PREFECT_API_URL (or PREFECT_API_URL)")
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        # A fresh PREFECT_HOME: its default profile ("ephemeral") turns ephemeral mode on, and
        # the environment variable below overrides it.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AIRWATCH_"))}
        env.update(PREFECT_HOME=home, PREFECT_SERVER_EPHEMERAL_ENABLED="false", DO_NOT_TRACK="true")
        run = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True)
        assert run.returncode == 1
        print(f"(f) Prefect says: {run.stderr.strip().splitlines()[-1]}")
        check = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True)
        assert check.returncode == 1
        print(f"(f) the check says: {check.stderr.strip()}")


if __name__ == "__main__":
    main()
