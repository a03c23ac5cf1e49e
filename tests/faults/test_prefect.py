"""The Prefect server restarting mid-run, and a run failing on a dependency alerting once.

A real `prefect server start` (SQLite) on a loopback port, stopped and started again on it while a
run trains; the failure alert installed as `airwatch deploy` installs it, a webhook receiver.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airwatch.io import records
from airwatch.io.store import LocalStore
from tests.fakes.ports import free_port
from tests.fakes.servers import prefect_server
from tests.fakes.webhook import webhook_receiver
from tests.faults.helpers import AIRWATCH, run_python

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

RUN_TAGGED = """
import sys
from prefect import tags
from airwatch.flows.pipeline import run_flow
with tags("airwatch"):  # as the deployments' runs are tagged: the failure alert matches the tag
    run_flow(sys.argv[1], sys.argv[2], ["pm25"])
print("run completed")
"""

SERVER_VIEW = """
import json
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    runs = client.read_flow_runs()
    print(json.dumps(sorted([str(r.state.name), sorted(r.tags)] for r in runs)))
"""

RETRY = "Another attempt will be made"  # what the client logs when it retries a request

INSTALL_ALERT = """
import sys
from datetime import timedelta
from airwatch.io.deployments import _install_automations
_install_automations(sys.argv[1], {}, timedelta(hours=24))
print("installed")
"""


def test_prefect_server_restarting_mid_run_and_a_failed_run_alerting_once(
    env: dict[str, str], tmp_path: Path, sample_dir: Path
) -> None:
    """The Prefect server is stopped while the run trains, and started again: the run carries on.

    With the failure alert installed (as `airwatch deploy` does), that run sends none; a run that then
    fails on a dependency sends one.

    Prefect's client retries a refused connection (once it has reached the server) and 502/503 with
    backoff (PREFECT_CLIENT_MAX_RETRIES, 5: about a minute), so a restart shorter than that is waited
    for. The server stays down until the client has logged a retry (a fixed pause could fall where
    the run makes no API call), then starts again; the flow run ends Completed on the restarted
    server, and no failure alert is sent.
    """
    server = prefect_server(tmp_path / "prefect-server", free_port())
    started = server.start()
    store, folder = tmp_path / "store", tmp_path / "input"
    folder.mkdir()
    shutil.copy(sample_dir / "pm25_daily_2010_cook_county_IL.csv.gz", folder)
    # The client's retries are logged at DEBUG: shown, to check that the run did meet the server down.
    client_env = {**env, "PREFECT_API_URL": server.health.removesuffix("/health"),
                  "AIRWATCH_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
                  "PREFECT_LOGGING_LOGGERS_PREFECT_CLIENT_LEVEL": "DEBUG"}  # fmt: skip
    try:
        with webhook_receiver() as hook:
            installed = run_python(INSTALL_ALERT, [hook.url], client_env, tmp_path)
            assert installed.returncode == 0, installed.stdout[-3000:]
            run_log = tmp_path / "run.log"
            with run_log.open("w") as out:
                child = subprocess.Popen([sys.executable, "-c", RUN_TAGGED, str(store), str(folder)], env=client_env,
                                         cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, text=True)  # fmt: skip
                # Once validate has published, the run is in transform or train: stop the server there.
                deadline = time.monotonic() + 300
                while not list(store.glob("processed/observations/_manifests/*.json")) and child.poll() is None:
                    assert time.monotonic() < deadline, "validate did not publish"
                    time.sleep(0.2)
                server.stop()
                # Down until the run's client has met it (a retry logged), not for a fixed time: a run may
                # make no API call for many seconds while it trains; it makes one when its flow run ends.
                down = time.monotonic()
                while RETRY not in run_log.read_text() and child.poll() is None and time.monotonic() - down < 300:
                    time.sleep(0.2)
                down = time.monotonic() - down
                restarted = server.start()
                child.wait(timeout=600)
            log = run_log.read_text()
            assert child.returncode == 0 and "run completed" in log, log[-4000:]
            retried = [line for line in log.splitlines() if RETRY in line]
            problems = [line[:300] for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
            assert retried, problems  # the client did meet the server down, and waited for it
            assert records.prediction_keys(LocalStore(store), "pm25"), "the run published no forecast"
            view = run_python(SERVER_VIEW, [], client_env, tmp_path)
            assert view.returncode == 0, view.stdout[-3000:]
            assert view.stdout.strip().splitlines()[-1] == '[["Completed", ["airwatch"]]]', view.stdout[-3000:]
            time.sleep(5)  # a failure alert would have been sent by now
            assert hook.posts == []

            # A run that fails on a dependency (MLflow unreachable) alerts once.
            closed = f"http://127.0.0.1:{free_port()}"
            failing_env = {**client_env, "AIRWATCH_MLFLOW_TRACKING_URI": closed, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
            failed = run_python(RUN_TAGGED, [str(store), str(folder)], failing_env, tmp_path)
            assert failed.returncode != 0 and f"RegistryError: MLflow at {closed}: could not" in failed.stdout, (
                failed.stdout[-3000:]
            )
            deadline = time.monotonic() + 120
            while not hook.posts and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(5)  # a second message for the same failure would have arrived by now
            assert len(hook.texts()) == 1, hook.posts
            assert " of run ended Failed: " in hook.texts()[0] and f"MLflow at {closed}" in hook.texts()[0], hook.posts
    finally:
        server.close()
    print(f"prefect server: started in {started:.1f} s, restarted in {restarted:.1f} s (down {down + restarted:.1f} s)")


def test_worker_stops_on_sigterm(env: dict[str, str], tmp_path: Path) -> None:
    """`airwatch worker` ends cleanly, exit 0, soon after a supervisor's SIGTERM (Prefect's CLI worker idles on)."""
    server = prefect_server(tmp_path / "prefect-server", free_port())
    server.start()
    client_env = {**env, "PREFECT_API_URL": server.health.removesuffix("/health")}
    log = tmp_path / "worker.log"
    try:
        with log.open("w") as out:
            worker = subprocess.Popen([AIRWATCH, "worker", "--pool", "sigterm-test"],
                                      env=client_env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 120
        while "started" not in log.read_text() and worker.poll() is None:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        time.sleep(3)  # past its first poll and heartbeat, with its worker channel open
        worker.send_signal(signal.SIGTERM)
        begin = time.monotonic()
        try:
            code = worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            code = None
        text = log.read_text()
        assert code == 0, f"exit {code} (None: running 30 s after SIGTERM)\n{text[-3000:]}"
        assert "Received SIGTERM" in text and "stopped" in text, text[-3000:]
        print(f"worker stopped {time.monotonic() - begin:.1f} s after SIGTERM")
    finally:
        server.close()
