"""Production mode end to end on the loopback stack that `make test-stack` starts.

PostgreSQL, moto's S3 server, an MLflow tracking server on PostgreSQL with its artifacts proxied to
S3 and basic-auth on, and a Prefect server: `airwatch deploy` installs the deployments and the
failure alert, a worker runs them, and the outputs are checked where they live (the bucket, the
registry, the Prefect server, a webhook receiver). Everything runs as a client would, in child
processes with the stack's environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.webhook import Webhook, webhook_receiver

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
AIRWATCH = str(Path(sys.executable).with_name("airwatch"))


@pytest.fixture(scope="module")
def hook() -> Iterator[Webhook]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def deployment_env(
    stack_env: dict[str, str], hook: Webhook, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The stack's client environment for one test run: its own bucket prefix, models and work pool."""
    tag = uuid.uuid4().hex[:8]
    folder = tmp_path_factory.mktemp("input")
    sample = REPO / "src" / "airwatch" / "sample_data"
    for name in ("ozone_daily_2000_cook_county_IL.csv.gz", "ozone_daily_2001_cook_county_IL.csv.gz",
                 "pm25_daily_2011_cook_county_IL.csv.gz", "pm25_daily_2012_cook_county_IL.csv.gz"):  # fmt: skip
        shutil.copy(sample / name, folder)
    spec = tmp_path_factory.mktemp("deploy") / "deployments.yaml"
    spec.write_text(
        (REPO / "deploy" / "deployments.yaml").read_text().replace("work_pool: airwatch", f"work_pool: it-{tag}")
    )
    return {
        **stack_env,
        "AIRWATCH_STORE": f"s3://airwatch/it-{tag}",
        "AIRWATCH_MODEL_PREFIX": f"it-{tag}",
        "AIRWATCH_INPUT_DIR": str(folder),
        "AIRWATCH_TRAIN__VALIDATION_DAYS": "150",
        "AIRWATCH_TRAIN__LIGHTGBM_ROUNDS": "30",
        "AIRWATCH_WEATHER__MODE": "none",
        "AIRWATCH_ALERTS__WEBHOOK_URL": hook.url,
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "TEST_TAG": tag,
        "TEST_SPEC": str(spec),
    }


def python(env: dict[str, str], code: str, timeout: float = 900) -> Any:
    """Run code as a client of the stack; it prints one JSON value."""
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_deployment(env: dict[str, str], name: str) -> dict[str, str]:
    code = f"""
import json
from prefect.deployments import run_deployment
run = run_deployment({name!r}, timeout=900)
print(json.dumps({{"state": run.state.name, "message": run.state.message or "", "id": str(run.id)}}))
"""
    return python(env, code)  # type: ignore[no-any-return]


def test_deployments_run_the_pipeline_on_s3_mlflow_and_prefect(deployment_env: dict[str, str], hook: Webhook) -> None:
    env, tag = deployment_env, deployment_env["TEST_TAG"]
    deployed = subprocess.run([AIRWATCH, "deploy", "--spec", env["TEST_SPEC"]], env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "airwatch-flow-run-failed" in deployed.stdout

    # The schedules on the server: cron for the scheduled ones, an event trigger for predict.
    schedules = python(env, """
import json
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    out = {}
    for name in ("ingest/ingest-daily", "monitor/monitor-daily", "retrain/train-weekly", "forecast/predict-daily"):
        d = client.read_deployment_by_name(name)
        out[name] = {"cron": [s.schedule.cron for s in d.schedules], "pool": d.work_pool_name,
                     "limit": d.global_concurrency_limit.limit if d.global_concurrency_limit else None}
print(json.dumps(out))
""")  # fmt: skip
    assert schedules["ingest/ingest-daily"]["cron"] == ["0 6 * * *"]
    assert schedules["monitor/monitor-daily"]["cron"] == ["0 9 * * *"]
    assert schedules["retrain/train-weekly"]["cron"] == ["0 3 * * 0"]
    assert schedules["forecast/predict-daily"]["cron"] == []  # it runs when ingest-daily completes
    assert {d["pool"] for d in schedules.values()} == {f"it-{tag}"} and {d["limit"] for d in schedules.values()} == {1}

    posts_before = len(hook.posts)
    worker = subprocess.Popen([AIRWATCH, "worker", "--pool", f"it-{tag}"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        ingest = run_deployment(env, "ingest/ingest-daily")
        assert ingest["state"] == "Completed", ingest
        # Ingest completing starts the forecast; with no champion yet it fails, and the alert says so, once.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(hook.posts) == posts_before:
            time.sleep(2)
        time.sleep(5)  # a second POST for the same failure would have arrived by now
        alerts = hook.posts[posts_before:]
        assert len(alerts) == 1, alerts
        assert "of forecast ended Failed" in alerts[0]["text"] and "champion" in alerts[0]["text"]

        trained = run_deployment(env, "retrain/train-weekly")
        assert trained["state"] == "Completed", trained
        forecast = run_deployment(env, "forecast/predict-daily")
        assert forecast["state"] == "Completed", forecast
        monitored = run_deployment(env, "monitor/monitor-daily")
        assert monitored["state"] == "Completed", monitored

        # One run per day and deployment for runs started with the day's key.
        same = python(env, """
import json
from datetime import date
from airwatch.io.deployments import trigger
print(json.dumps([trigger("monitor/monitor-daily", date(2026, 12, 1)) for _ in range(2)]))
""")  # fmt: skip
        assert same[0] == same[1]
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)

    # The outputs where they live: the bucket and the registry.
    found = python(env, """
import json, os
from airwatch.io.store import open_store
from airwatch.io.registry import Registry
s = open_store(os.environ["AIRWATCH_STORE"])
keys = s.list("")
manifests = [json.loads(s.read_bytes(k)) for k in keys if k.startswith("predictions/") and k.endswith(".json")]
r = Registry(os.environ["AIRWATCH_MLFLOW_TRACKING_URI"], prefix=os.environ["AIRWATCH_MODEL_PREFIX"])
champions = {}
for p in ("ozone", "pm25"):
    v = r.champion(p)
    files, folders = [], ["artifacts/model"]
    while folders:  # every file of the model, each horizon's folder included
        for a in r.client.list_logged_model_artifacts(v.model_id, folders.pop()):
            (folders if a.is_dir else files).append(a.path)
    champions[p] = {"version": v.version, "model_id": v.model_id, "files": files}
print(json.dumps({"keys": keys, "manifests": manifests, "champions": champions}))
""")  # fmt: skip
    keys = found["keys"]
    for prefix in ("raw/epa-daily/", "processed/observations/_manifests/", "processed/features/ozone/_manifests/",
                   "processed/features/pm25/_manifests/", "models/ozone/training/", "models/ozone/promotions/",
                   "predictions/ozone/", "predictions/pm25/", "monitoring/scores/", "audit/"):  # fmt: skip
        assert any(k.startswith(prefix) for k in keys), prefix
    assert len(found["manifests"]) == 2
    for manifest in found["manifests"]:
        champion = found["champions"][manifest["pollutant"]]
        assert manifest["model_name"] == f"it-{tag}-{manifest['pollutant']}"
        assert manifest["model_version"] == champion["version"] and manifest["model_id"] == champion["model_id"]
        assert champion["model_id"].startswith("m-")
    for champion in found["champions"].values():
        names = {Path(f).name for f in champion["files"]}
        assert "model.json" in names and not any(n.endswith((".pkl", ".pickle")) for n in names), names


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
