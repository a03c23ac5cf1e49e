"""Fault injection: a checkpoint kills its process only where and when AIRWATCH_FAULT_KILL_AT says."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from airwatch import faults

# Passes ingest.payload three times and prints after each pass, as a run would keep three files.
SCRIPT = """
from airwatch import faults
for i in (1, 2, 3):
    faults.checkpoint("publish.part")
    faults.checkpoint("ingest.payload")
    print(i, flush=True)
"""


def passes(kill_at: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, faults.ENV: kill_at}
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_the_process_is_killed_at_the_named_pass_of_the_named_checkpoint() -> None:
    second = passes("ingest.payload:2")
    assert second.returncode == -signal.SIGKILL and second.stdout.split() == ["1"]
    first = passes("ingest.payload")
    assert first.returncode == -signal.SIGKILL and first.stdout == ""


def test_without_the_variable_or_past_the_last_pass_nothing_happens() -> None:
    for kill_at in ("", "ingest.payload:4"):
        result = passes(kill_at)
        assert result.returncode == 0 and result.stdout.split() == ["1", "2", "3"], kill_at


def test_an_unknown_checkpoint_is_an_error_not_a_run_that_never_dies() -> None:
    result = passes("ingest.paylod")
    assert result.returncode == 1 and "unknown checkpoint 'ingest.paylod'" in result.stderr


def test_every_checkpoint_is_passed_by_production_code() -> None:
    import airwatch

    root = Path(airwatch.__file__).parent
    sources = "".join(p.read_text() for p in root.rglob("*.py") if p.name != "faults.py")
    for name in faults.CHECKPOINTS:
        assert f'faults.checkpoint("{name}")' in sources, name


@pytest.mark.parametrize("value", ["publish.part:x", "publish.part:", "publish.part:0"])
def test_a_malformed_count_is_an_error(value: str) -> None:
    result = passes(value)
    assert result.returncode == 1 and "expected <checkpoint> or <checkpoint>:<n> with n >= 1" in result.stderr
