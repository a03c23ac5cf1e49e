"""What the tests of failing dependencies share: the command line as a child process, reading its outputs."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

AIRWATCH = str(Path(sys.executable).with_name("airwatch"))
MODEL = "airwatch-pm25"


def airwatch(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryFile("w+") as out:  # a file, not a pipe: see tests/test_crash.py
        done = subprocess.run([AIRWATCH, *args], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=600)
        out.seek(0)
        return subprocess.CompletedProcess(done.args, done.returncode, out.read())


def run_python(code: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryFile("w+") as out:
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd, stdout=out,
                              stderr=subprocess.STDOUT, timeout=600)  # fmt: skip
        out.seek(0)
        return subprocess.CompletedProcess(done.args, done.returncode, out.read())


def versions(client: MlflowClient) -> list[tuple[str, str]]:
    """(version, its promotion decision) of every version of the model."""
    found = sorted(client.search_model_versions(f"name = '{MODEL}'"), key=lambda v: int(v.version))
    return [(str(v.version), v.tags.get("promotion_decision", "")) for v in found]


def rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """A frame's rows in a stable order, floats rounded (as compared across runs of the same code)."""
    frame = frame.round(dict.fromkeys(frame.select_dtypes("float").columns, 9))
    return sorted(frame.astype(str).itertuples(index=False, name=None))
