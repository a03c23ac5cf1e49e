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
from urllib.parse import urlsplit

import pytest

from tests.fakes import airnow_server, aqs_server
from tests.fakes.webhook import Webhook, webhook_receiver
from tests.stack import sweep

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
AIRWATCH = str(Path(sys.executable).with_name("airwatch"))
RAN: list[str] = []  # the tag of the pipeline run, once it has run to the end (the sweep needs it)


@pytest.fixture(scope="module")
def hook() -> Iterator[Webhook]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def apis() -> Iterator[tuple[aqs_server.AqsServer, airnow_server.AirNowServer]]:
    """The stand-in AQS and AirNow servers, so the ingest deployments really send their keys."""
    with aqs_server.AqsServer() as aqs, airnow_server.AirNowServer() as airnow:
        yield aqs, airnow


@pytest.fixture(scope="module")
def sentinels(stack_env: dict[str, str], hook: Webhook) -> dict[str, str]:
    """A distinct, unmistakable value for every secret, and an MLflow user whose password is one.

    moto takes any AWS keys, so the clients' are sentinels; the MLflow admin (the stack's own, random
    password) creates a user with the sentinel password for the clients. Slack's webhook URLs carry
    their token in the path, so this one does too.
    """
    tag = uuid.uuid4().hex[:12]
    values = {
        "AQS key": aqs_server.KEY,
        "AirNow key": airnow_server.KEY,
        "AWS access key id": f"AKIASNTL{tag.upper()}",
        "AWS secret access key": f"sentinel-aws-secret-{uuid.uuid4().hex}",
        "MLflow password": f"sentinel-mlflow-password-{uuid.uuid4().hex[:16]}",
        "webhook token": f"sentinel-webhook-token-{uuid.uuid4().hex[:16]}",
        "MLflow user": f"it-user-{tag}",  # not a secret; the basic-auth needle needs it
    }
    values["webhook URL"] = f"{hook.url}/services/T0SNTL/B0SNTL/{values['webhook token']}"
    python(stack_env, f"""
import json
from mlflow.server import get_app_client
auth = get_app_client("basic-auth", tracking_uri={stack_env["MLFLOW_TRACKING_URI"]!r})
auth.create_user({values["MLflow user"]!r}, {values["MLflow password"]!r})
auth.update_user_admin({values["MLflow user"]!r}, True)
print(json.dumps("ok"))
""")  # fmt: skip
    return values


@pytest.fixture(scope="module")
def deployment_env(
    stack_env: dict[str, str],
    sentinels: dict[str, str],
    apis: tuple[aqs_server.AqsServer, airnow_server.AirNowServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """The stack's client environment for one test run: its own bucket prefix, models and work pool.

    Every secret is a sentinel (the sweep test searches for them afterwards), and the ingest
    deployments of the AQS and AirNow APIs are on, pointed at the stand-in servers.
    """
    tag = uuid.uuid4().hex[:8]
    folder = tmp_path_factory.mktemp("input")
    sample = REPO / "src" / "airwatch" / "sample_data"
    for name in ("ozone_daily_2000_cook_county_IL.csv.gz", "ozone_daily_2001_cook_county_IL.csv.gz",
                 "pm25_daily_2011_cook_county_IL.csv.gz", "pm25_daily_2012_cook_county_IL.csv.gz"):  # fmt: skip
        shutil.copy(sample / name, folder)
    spec = tmp_path_factory.mktemp("deploy") / "deployments.yaml"
    spec.write_text(
        (REPO / "deploy" / "deployments.yaml")
        .read_text()
        .replace("work_pool: airwatch", f"work_pool: it-{tag}")
        .replace("enabled: false  # needs", "enabled: true  # needs")
    )
    aqs, airnow = apis
    return {
        **stack_env,
        "AIRWATCH_STORE": f"s3://airwatch/it-{tag}",
        "AIRWATCH_MODEL_PREFIX": f"it-{tag}",
        "AIRWATCH_INPUT_DIR": str(folder),
        "AIRWATCH_TRAIN__VALIDATION_DAYS": "150",
        "AIRWATCH_TRAIN__LIGHTGBM_ROUNDS": "30",
        "AIRWATCH_WEATHER__MODE": "none",
        "AIRWATCH_ALERTS__WEBHOOK_URL": sentinels["webhook URL"],
        "AIRWATCH_AQS__BASE_URL": aqs.base_url,
        "AIRWATCH_AQS__EMAIL": aqs_server.EMAIL,
        "AIRWATCH_AQS__KEY": sentinels["AQS key"],
        "AIRWATCH_AQS__MIN_INTERVAL_SECONDS": "0",
        "AIRWATCH_AQS__MAX_RETRIES": "1",
        "AIRWATCH_AQS__BACKOFF_SECONDS": "0",
        "AIRWATCH_AIRNOW__BASE_URL": airnow.base_url,
        "AIRWATCH_AIRNOW__KEY": sentinels["AirNow key"],
        "AIRWATCH_AIRNOW__MIN_INTERVAL_SECONDS": "0",
        "AWS_ACCESS_KEY_ID": sentinels["AWS access key id"],
        "AWS_SECRET_ACCESS_KEY": sentinels["AWS secret access key"],
        "AIRWATCH_MLFLOW_USERNAME": sentinels["MLflow user"],
        "AIRWATCH_MLFLOW_PASSWORD": sentinels["MLflow password"],
        "MLFLOW_TRACKING_USERNAME": sentinels["MLflow user"],
        "MLFLOW_TRACKING_PASSWORD": sentinels["MLflow password"],
        # The clients' and the worker's own Prefect files (profiles, any persisted result) land here,
        # where the sweep finds them.
        "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect-home")),
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "TEST_TAG": tag,
        "TEST_SPEC": str(spec),
    }


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every process's stdout and stderr, and the report, are written (the sweep searches it)."""
    return tmp_path_factory.mktemp("outputs")


def python(env: dict[str, str], code: str, timeout: float = 900, log: Path | None = None) -> Any:
    """Run code as a client of the stack; it prints one JSON value. log: a file that keeps its output."""
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    if log is not None:
        with log.open("a") as fh:
            fh.write(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_deployment(
    env: dict[str, str], name: str, log: Path | None = None, parameters: dict[str, Any] | None = None
) -> dict[str, str]:
    code = f"""
import json
from prefect.deployments import run_deployment
run = run_deployment({name!r}, parameters={parameters!r}, timeout=900)
print(json.dumps({{"state": run.state.name, "message": run.state.message or "", "id": str(run.id)}}))
"""
    return python(env, code, log=log)  # type: ignore[no-any-return]


def wait_for_posts(hook: Webhook, before: int) -> list[dict[str, Any]]:
    """The alerts that arrive after the first `before`; waits for one, then a little for a second."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(hook.posts) == before:
        time.sleep(2)
    time.sleep(5)  # a second POST for the same failure would have arrived by now
    return hook.posts[before:]


def test_deployments_run_the_pipeline_on_s3_mlflow_and_prefect(
    deployment_env: dict[str, str], hook: Webhook, apis: tuple[aqs_server.AqsServer, Any], outputs: Path
) -> None:
    env, tag = deployment_env, deployment_env["TEST_TAG"]
    log = outputs / "clients.log"
    deployed = subprocess.run([AIRWATCH, "deploy", "--spec", env["TEST_SPEC"]], env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
    (outputs / "deploy.log").write_text(deployed.stdout + deployed.stderr)
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
""", log=log)  # fmt: skip
    assert schedules["ingest/ingest-daily"]["cron"] == ["0 6 * * *"]
    assert schedules["monitor/monitor-daily"]["cron"] == ["0 9 * * *"]
    assert schedules["retrain/train-weekly"]["cron"] == ["0 3 * * 0"]
    assert schedules["forecast/predict-daily"]["cron"] == []  # it runs when ingest-daily completes
    assert {d["pool"] for d in schedules.values()} == {f"it-{tag}"} and {d["limit"] for d in schedules.values()} == {1}

    posts_before = len(hook.posts)
    with (outputs / "worker.log").open("wb") as worker_log:
        worker = subprocess.Popen([AIRWATCH, "worker", "--pool", f"it-{tag}"], env=env, stdout=worker_log,
                                  stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        ingest = run_deployment(env, "ingest/ingest-daily", log)
        assert ingest["state"] == "Completed", ingest
        # Ingest completing starts the forecast; with no champion yet it fails, and the alert says so, once.
        alerts = wait_for_posts(hook, posts_before)
        assert len(alerts) == 1, alerts
        assert "of forecast ended Failed" in alerts[0]["text"] and "champion" in alerts[0]["text"]

        trained = run_deployment(env, "retrain/train-weekly", log)
        assert trained["state"] == "Completed", trained
        forecast = run_deployment(env, "forecast/predict-daily", log)
        assert forecast["state"] == "Completed", forecast
        monitored = run_deployment(env, "monitor/monitor-daily", log)
        assert monitored["state"] == "Completed", monitored

        # The API ingests send their keys to the stand-ins, into a store of their own (their sites
        # would change what the forecasts above cover).
        apis_store = f"{env['AIRWATCH_STORE']}-apis"
        airnow_run = run_deployment(env, "ingest-airnow/ingest-airnow-daily", log, parameters={
            "bbox": "-79.5,35.5,-78.5,36.5", "start": "2019-08-01T00:00:00", "end": "2019-08-01T05:00:00",
            "params": ["PM25"], "store": apis_store})  # fmt: skip
        assert airnow_run["state"] == "Completed", airnow_run
        # AQS: the first year is fetched and kept, then, with the key in use, AQS answers status Failed
        # for the second: the run fails with the exception, and the alert goes out.
        apis[0].inject(aqs_server.Fault("slow", 0.0, "dailyData"), aqs_server.Fault("failed", service="dailyData"))
        before = len(hook.posts)
        failed = run_deployment(env, "ingest-aqs/ingest-aqs-daily", log, parameters={
            "params": ["88101"], "state": "36", "county": "081", "site": "0124", "start": "2018-01-01",
            "end": "2019-12-31", "incremental": False, "store": apis_store})  # fmt: skip
        assert failed["state"] == "Failed" and "status 'Failed'" in failed["message"], failed
        alerts = wait_for_posts(hook, before)
        assert len(alerts) == 1 and "of ingest-aqs ended Failed" in alerts[0]["text"], alerts
        sent = [r for r in apis[0].state.requests if r.startswith("/dailyData/")]
        assert len(sent) == 2 and all(aqs_server.KEY in r for r in sent), sent  # the key really went out
        assert any(airnow_server.KEY in r for r in apis[1].requests)
        kept = python(env, f"""
import json
from airwatch.io.store import open_store
print(json.dumps([k for k in open_store({apis_store!r}).list("raw/") if k.endswith(".json.gz")]))
""", log=log)  # fmt: skip
        assert any("aqs" in k for k in kept) and any("airnow" in k for k in kept), kept

        # One run per day and deployment for runs started with the day's key.
        same = python(env, """
import json
from datetime import date
from airwatch.io.deployments import trigger
print(json.dumps([trigger("monitor/monitor-daily", date(2026, 12, 1)) for _ in range(2)]))
""", log=log)  # fmt: skip
        assert same[0] == same[1]
        # That run is real and the worker takes it: let it end before the worker is told to stop (a worker
        # stopped while it hands a run to a process can wait on that process past any timeout).
        ended = python(env, f"""
import json, time
from uuid import UUID
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    for _ in range(600):
        run = client.read_flow_run(UUID({same[0]!r}))
        if run.state.is_final():
            break
        time.sleep(1)
print(json.dumps(run.state.name))
""", log=log)  # fmt: skip
        assert ended == "Completed", ended
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            stopped = worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)  # left running, it would hold the pool past the test
            worker.wait()
            stopped = None
    # A supervisor's SIGTERM stops the worker cleanly (`prefect worker start` idles on: airwatch.io.worker).
    assert stopped == 0, f"worker exit {stopped} (None: still running 60 s after SIGTERM)"
    # Every alert went to the URL with its token.
    assert set(hook.paths) == {urlsplit(env["AIRWATCH_ALERTS__WEBHOOK_URL"]).path}, hook.paths

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
""", log=log)  # fmt: skip
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

    # The report, as an operator makes it, with the same credentials.
    report = subprocess.run([AIRWATCH, "report", "--output", str(outputs / "report.html")], env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    (outputs / "report.log").write_text(report.stdout + report.stderr)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "<html" in (outputs / "report.html").read_text()[:2000].lower()
    RAN.append(tag)


DUMP = r"""
import json, os
from pathlib import Path

out = Path(os.environ["DUMP_DIR"])
counts = {}


def save(rel, value):
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(value, bytes):
        path.write_bytes(value)
    else:
        path.write_text(json.dumps(value, default=lambda o: getattr(o, "__dict__", None) or str(o), indent=1))


def plain(model):
    return model.model_dump(mode="json")


# The bucket: every object, the store's and MLflow's artifacts alike.
import boto3

s3 = boto3.client("s3")
n = artifacts = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="airwatch"):
    for obj in page.get("Contents", []):
        save(f"s3/{obj['Key']}", s3.get_object(Bucket="airwatch", Key=obj["Key"])["Body"].read())
        n, artifacts = n + 1, artifacts + obj["Key"].startswith("mlflow/")
counts.update({"s3 objects": n, "s3 mlflow artifacts": artifacts})

# MLflow: experiments, every run's params, tags and metric names; logged models; the registry. The
# artifacts are the bucket's mlflow/ objects above, as the server stores them: downloading them again
# through the server costs a password check per request (minutes), for the same bytes.
from mlflow import MlflowClient
from mlflow.entities import ViewType

client = MlflowClient()
runs = models = versions = 0
for exp in client.search_experiments(view_type=ViewType.ALL):
    save(f"mlflow/experiments/{exp.experiment_id}.json", {"name": exp.name, "tags": exp.tags,
         "artifact_location": exp.artifact_location})
    token = None
    while True:
        page = client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=500, page_token=token)
        for run in page:
            runs += 1
            rid = run.info.run_id
            save(f"mlflow/runs/{rid}.json", {"info": dict(run.info), "params": run.data.params,
                 "tags": run.data.tags, "metric_names": sorted(run.data.metrics)})
        token = page.token
        if not token:
            break
    for model in client.search_logged_models(experiment_ids=[exp.experiment_id]):
        models += 1
        save(f"mlflow/logged-models/{model.model_id}.json", {"name": model.name, "params": model.params,
             "tags": model.tags, "source_run_id": model.source_run_id, "artifact_location": model.artifact_location})
for rm in client.search_registered_models():
    save(f"mlflow/registered/{rm.name}.json", {"tags": rm.tags, "description": rm.description,
         "aliases": rm.aliases})
    for v in client.search_model_versions(f"name='{rm.name}'"):
        versions += 1
        save(f"mlflow/registered/{rm.name}/v{v.version}.json", {"tags": v.tags, "description": v.description,
             "source": v.source, "run_id": v.run_id, "aliases": v.aliases})
counts.update({"mlflow runs": runs, "mlflow logged models": models, "mlflow model versions": versions})

# Prefect: flow runs (parameters, every state and its message), task runs, logs, deployments, blocks
# (as the API shows them), automations, work pools, variables, artifacts, events.
import httpx
from prefect.client.orchestration import get_client


def paged(read, **kw):
    offset, out_ = 0, []
    while batch := read(limit=200, offset=offset, **kw):
        out_.extend(batch)
        offset += len(batch)
    return out_


with get_client(sync_client=True) as pc:
    flow_runs = paged(pc.read_flow_runs)
    for fr in flow_runs:
        save(f"prefect/flow-runs/{fr.id}.json", plain(fr))
        save(f"prefect/flow-runs/{fr.id}-states.json", [plain(st) for st in pc.read_flow_run_states(fr.id)])
    task_runs = paged(pc.read_task_runs)
    save("prefect/task-runs.json", [plain(t) for t in task_runs])
    logs = paged(pc.read_logs)
    save("prefect/logs.json", [plain(g) for g in logs])
    save("prefect/deployments.json", [plain(d) for d in paged(pc.read_deployments)])
    save("prefect/blocks.json", [plain(b) for b in pc.read_block_documents(include_secrets=False)])
    save("prefect/automations.json", [plain(a) for a in pc.read_automations()])
    save("prefect/work-pools.json", [plain(w) for w in pc.read_work_pools()])
    save("prefect/variables.json", [plain(v) for v in pc.read_variables()])
    save("prefect/artifacts.json", [plain(a) for a in pc.read_artifacts()])
    counts.update({"prefect flow runs": len(flow_runs), "prefect task runs": len(task_runs), "prefect logs": len(logs)})
    api = os.environ["PREFECT_API_URL"]
    events, page = [], httpx.post(f"{api}/events/filter", json={"limit": 50}).json()
    while True:
        events.extend(page.get("events", []))
        if not page.get("next_page"):
            break
        page = httpx.get(page["next_page"]).json()
    save("prefect/events.json", events)
    counts["prefect events"] = len(events)
print(json.dumps(counts))
"""


def test_no_secret_leaks_anywhere(
    deployment_env: dict[str, str],
    sentinels: dict[str, str],
    apis: tuple[aqs_server.AqsServer, airnow_server.AirNowServer],
    outputs: Path,
    tmp_path: Path,
) -> None:
    """After the production run above, no sentinel secret is in anything the run left anywhere.

    Searched: every object in the bucket (expanded: gzip, zip members, Parquet as text; MLflow's
    artifacts are there), MLflow (every run's params, tags and metric names, logged models, registered
    model versions), Prefect (flow runs' parameters and states, task runs, logs, deployments, blocks,
    automations, events ...), pg_dumps of the MLflow, MLflow-auth and Prefect databases, the stack's
    service logs, every client's and the worker's captured output, their Prefect home, and the report.
    """
    if not RAN:
        pytest.fail("the production run above did not complete, so there is nothing to sweep")
    env = {**deployment_env, "DUMP_DIR": str(tmp_path / "dump")}
    counts = python(env, DUMP, log=outputs / "sweep-client.log")
    run_dir = Path(os.environ["STACK_ENV_FILE"]).parent
    for db in ("mlflow", "mlflow_auth", "prefect"):
        dumped = subprocess.run([str(REPO / "scripts" / "stack.sh"), "dump", db], capture_output=True, timeout=300,
                                env={**os.environ, "STACK_DIR": str(run_dir)})  # fmt: skip
        assert dumped.returncode == 0, dumped.stderr.decode()[-2000:]
        (tmp_path / "dump" / f"pg_dump-{db}.sql").write_bytes(dumped.stdout)
        counts[f"pg_dump {db} bytes"] = len(dumped.stdout)
    # Things a search must find, so a sweep that searched nothing cannot pass.
    assert counts["s3 objects"] > 100 and counts["s3 mlflow artifacts"] >= 10, counts
    assert counts["mlflow runs"] >= 4 and counts["mlflow model versions"] >= 2, counts
    assert counts["prefect flow runs"] >= 7 and counts["prefect logs"] > 50 and counts["prefect events"] > 0, counts
    assert b"COPY public.params" in (tmp_path / "dump" / "pg_dump-mlflow.sql").read_bytes()
    # Prefect keeps the webhook URL, which its server calls, in a block: masked by the API, and
    # encrypted in its database (Fernet; the key is in that database too: docs/security.md).
    blocks = json.loads((tmp_path / "dump" / "prefect" / "blocks.json").read_text())
    assert [b["data"]["url"] for b in blocks if b["name"] == "airwatch-alerts"] == ["********"]
    assert b"airwatch-alerts" in (tmp_path / "dump" / "pg_dump-prefect.sql").read_bytes()

    secrets = {k: v for k, v in sentinels.items() if k != "MLflow user"}
    wanted = sweep.needles(secrets, basic_auth=(sentinels["MLflow user"], sentinels["MLflow password"]))
    roots = [tmp_path / "dump", outputs, Path(deployment_env["PREFECT_HOME"]), run_dir / "logs"]
    searched, found = sweep.find(roots, wanted)
    print(f"secret sweep: {searched} files searched; {counts}")
    assert searched > counts["s3 objects"]
    assert not found, "secrets found:\n" + "\n".join(found[:200])

    # The search does find a secret where there is one: the stand-ins' request logs hold the keys, as sent.
    requests = "\n".join(apis[0].state.requests + apis[1].requests).encode()
    assert {f.rsplit(": ", 1)[1].split(" at ")[0] for f in sweep.search(requests, "requests", wanted)} == {
        "AQS key",
        "AirNow key",
    }


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
