"""Tests against the production stack that `scripts/stack.sh up` starts (run by `make test-stack`).

They are skipped unless STACK_ENV_FILE names the stack's env file. Each test runs its program in a
child process with that env, as a client of the stack would, not in this process.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    path = os.environ.get("STACK_ENV_FILE")
    if not path:
        pytest.skip("the production stack is not up (make test-stack starts it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_", "AWS_", "AIRWATCH_"))}
    for line in Path(path).read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            env[key] = value
    return env
