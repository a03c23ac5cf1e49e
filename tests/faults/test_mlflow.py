"""The MLflow server failing under select: an answer lost, the server gone, the server restarting.

A real `mlflow server` (SQLite, its artifacts served by itself), tests.fakes.fault_proxy in front of
it, and the command line as in production, as child processes. What must hold: a retried request
does not register a model twice; a server gone for longer than the client's retries ends the run
with one clear error, no version registered and no alias moved; a restart is waited for, and the
next select registers the training once.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from airwatch.io import records
from airwatch.io.store import LocalStore
from tests.fakes.fault_proxy import fault_proxy
from tests.fakes.ports import free_port
from tests.fakes.servers import Server, mlflow_server
from tests.faults.helpers import AIRWATCH, MODEL, airwatch, versions

pytestmark = [pytest.mark.e2e, pytest.mark.faults]
CREATE_VERSION = "/api/2.0/mlflow/model-versions/create"


@pytest.fixture
def mlflow(tmp_path: Path) -> Iterator[Server]:
    server = mlflow_server(tmp_path / "mlflow-server", free_port())
    server.start()
    try:
        yield server
    finally:
        server.close()


def test_mlflow_lost_answer_down_and_restarting_during_select(
    env: dict[str, str], mlflow: Server, tmp_path: Path, sample_dir: Path
) -> None:
    port = int(mlflow.health.split(":")[2].split("/")[0])
    direct = f"http://127.0.0.1:{port}"
    client = MlflowClient(tracking_uri=direct, registry_uri=direct)
    store, folder = tmp_path / "store", tmp_path / "input"
    folder.mkdir()
    shutil.copy(sample_dir / "pm25_daily_2010_cook_county_IL.csv.gz", folder)
    where = ["--store", str(store), "--pollutants", "pm25"]

    # 1. The answer to the version create is lost after the server made the version: MLflow's client
    #    sends the create again, and the registry would hold two versions of one training.
    with fault_proxy(direct) as proxy:
        proxy.add("reset-after", method="POST", path_prefix=CREATE_VERSION, count=1)
        first = airwatch(["run", *where, "--input-dir", str(folder)],
                         {**env, "AIRWATCH_MLFLOW_TRACKING_URI": proxy.url}, tmp_path)  # fmt: skip
        creates = [s.fault for s in proxy.requests("POST", CREATE_VERSION)]
    assert first.returncode == 0, first.stdout[-3000:]
    assert creates == ["reset-after", ""], creates
    assert "is a second registration of v1" in first.stdout, first.stdout[-3000:]
    assert versions(client) == [("1", "promoted")]
    assert client.get_model_version_by_alias(MODEL, "champion").version == "1"

    # 2. New data; the server goes away as select starts (from its first registry call on, every
    #    request is reset): the run fails with one clear error, nothing registered, no alias moved.
    shutil.copy(sample_dir / "pm25_daily_2011_cook_county_IL.csv.gz", folder)
    with fault_proxy(direct) as proxy:
        proxy.add("down", method="GET", path_prefix="/api/2.0/mlflow/registered-models/alias")
        started = time.monotonic()
        down = airwatch(["run", *where, "--input-dir", str(folder)],
                        {**env, "AIRWATCH_MLFLOW_TRACKING_URI": proxy.url}, tmp_path)  # fmt: skip
        took = time.monotonic() - started
        refused = [s.fault for s in proxy.requests() if s.fault]
    assert down.returncode == 1, down.stdout[-3000:]
    assert refused == ["down"] * 3, refused  # the first attempt and MLflow's 2 retries, then the error
    text = " ".join(down.stdout.split())  # the console wraps long lines
    said = f"run failed: MLflow at {proxy.url}: could not read the 'champion' alias of {MODEL}: "
    assert text.count("run failed") == 1 and said in text, down.stdout[-3000:]
    reason = text[text.index(said) + len(said) :]
    assert reason.startswith(("Connection aborted", "Connection reset")), reason
    assert "(after MLflow's client retried)" in reason and "internal error" not in text, reason
    assert versions(client) == [("1", "promoted")]
    assert client.get_model_version_by_alias(MODEL, "champion").version == "1"
    assert [r["candidate_version"] for r in records.promotions(LocalStore(store), "pm25")] == ["1"]

    # 3. The server is stopped, and restarted while select runs: the client's retries wait for it; the
    #    training trained by the failed run is registered once, promoted, the aliases moved.
    mlflow.stop()
    # 6 retries: 0+2+4+8+16+32 s of backoff at most, more than the server takes to start.
    patient = {**env, "AIRWATCH_MLFLOW_TRACKING_URI": direct, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "6"}
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen([AIRWATCH, "select", *where], env=patient, cwd=tmp_path, stdout=out,
                                 stderr=subprocess.STDOUT, text=True)  # fmt: skip
        time.sleep(2.0)
        restart = mlflow.start()
        child.wait(timeout=300)
        out.seek(0)
        log = out.read()
    assert child.returncode == 0, log[-3000:]
    # v2 was the duplicate deleted in step 1: version numbers are not reused, the new one is v3.
    assert versions(client) == [("1", "promoted"), ("3", "promoted")], log[-3000:]
    aliases = client.get_registered_model(MODEL).aliases
    assert aliases == {"champion": "3", "previous": "1"}, aliases
    assert [r["candidate_version"] for r in records.promotions(LocalStore(store), "pm25")] == ["1", "3"]
    print(f"run with MLflow gone at select: failed after {took:.1f} s; the server restarted in {restart:.1f} s")
