"""The production-mode prototypes (scripts/prototypes/) against the running stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROTOTYPES = Path(__file__).resolve().parents[2] / "scripts" / "prototypes"

pytestmark = pytest.mark.stack


@pytest.mark.parametrize(
    ("script", "timeout"),
    [("mlflow_roundtrip.py", 300), ("prefect_stack.py", 600), ("dask_runner.py", 300), ("prefect_no_api.py", 120)],
)
def test_prototype(script: str, timeout: int, stack_env: dict[str, str]) -> None:
    run = subprocess.run(
        [sys.executable, str(PROTOTYPES / script)],
        env=stack_env,
        cwd=PROTOTYPES,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, f"{script} failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    print(run.stdout)


def test_store_on_the_stack(stack_env: dict[str, str]) -> None:
    """AIRWATCH_STORE from the env file opens an S3Store on moto and publishes create-only."""
    code = (
        "import os, uuid; from airwatch.io.store import open_store; s = open_store(os.environ['AIRWATCH_STORE']);"
        "k = f'tests/{uuid.uuid4().hex}/manifest.json';"
        "assert s.write_bytes(k, b'1', if_absent=True) and not s.write_bytes(k, b'2', if_absent=True);"
        "assert s.read_bytes(k) == b'1'; print(type(s).__name__, s.url)"
    )
    run = subprocess.run([sys.executable, "-c", code], env=stack_env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.stdout.startswith("S3Store s3://airwatch/store")
