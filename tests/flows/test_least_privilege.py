"""Each stage run for real on a slice of the bundled sample, its store operations recorded and judged
against its role's IAM policy (deploy/iam/) as deployed for s3://airwatch-prod/store.

Every operation is turned into the S3 requests S3Store makes for it (fakes.iam.store_requests, which
tests/io/test_s3store.py checks against an S3 server) and must be allowed by the role's policy together
with the bucket policy. The stages run twice, as on the second day (nothing new: manifests are read,
not written), the monitor alerts and starts a retraining through its deployment, and the operator
releases one quarantined file and deletes another. tests/test_iam.py checks the other direction:
what each policy refuses.
"""

from __future__ import annotations

import gzip
import random
import shutil
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from airwatch import catalog
from airwatch.flows.context import Context
from airwatch.flows.ingest import ingest_flow, ingest_weather_flow
from airwatch.flows.ingest_airnow import ingest_airnow_flow
from airwatch.flows.ingest_aqs import ingest_aqs_flow
from airwatch.flows.monitor import monitor_flow
from airwatch.flows.predict import predict_flow
from airwatch.flows.select import select_flow
from airwatch.flows.train import train_flow
from airwatch.flows.transform import transform_flow
from airwatch.flows.validate import validate_flow
from airwatch.io import audit, datasets, quarantine
from airwatch.io.monitoring import collect_report
from airwatch.io.store import LocalStore
from tests.fakes import iam
from tests.fakes.recording_store import Op, Recorder, RecordingStore

pytestmark = pytest.mark.usefixtures("prefect_harness")
BUCKET, PREFIX = "airwatch-prod", "store"
STAGES = ("ingest", "validate", "transform", "train", "select", "predict", "monitor", "report", "operator", "auditor")


def requests(ops: list[Op]) -> list[iam.Request]:
    return [r for op in ops for r in iam.store_requests(op.kind, op.key, BUCKET, PREFIX)]


def run_stages(recorder: Recorder, store: Path, input_dir: Path) -> None:
    def stage(label: str, call: Callable[[], Any]) -> None:
        recorder.label = label
        try:
            call()
        finally:
            recorder.label = ""

    for _ in range(2):  # the second time finds everything published: the daily run on a quiet day
        stage("ingest", lambda: (ingest_flow(input_dir=str(input_dir)), ingest_weather_flow()))
        stage("validate", validate_flow)
        stage("transform", lambda: transform_flow(pollutants=["pm25"]))
        stage("train", lambda: train_flow(pollutants=["pm25"]))
        stage("select", lambda: select_flow(pollutants=["pm25"]))
        stage("predict", lambda: predict_flow(pollutants=["pm25"]))
        stage("monitor", lambda: monitor_flow(pollutants=["pm25"], as_of="data"))
    recording = RecordingStore(LocalStore(store), recorder)
    registry = Context.build().registry
    stage("report", lambda: collect_report(recording, registry, ["pm25"]))
    held = sorted(quarantine.held(LocalStore(store)))
    assert len(held) == 2, held

    def operator() -> None:  # `airwatch quarantine list`, `release`, `delete`
        quarantine.held(recording)
        datasets.latest(recording, catalog.OBSERVATIONS)
        quarantine.release(recording, held[0])
        quarantine.delete(recording, held[1])

    stage("operator", operator)
    stage("auditor", lambda: audit.records(recording))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Iterator[tuple[Recorder, Path]]:
    root = tmp_path_factory.mktemp("least-privilege")
    input_dir, store = root / "input", root / "store"
    input_dir.mkdir()
    for year in (2010, 2011, 2012):
        shutil.copy(sample_dir / f"pm25_daily_{year}_cook_county_IL.csv.gz", input_dir)
    (input_dir / "garbage.csv").write_bytes(bytes(random.Random(7).getrandbits(8) for _ in range(4000)))
    (input_dir / "abc.csv").write_text("a,b,c\n1,2,3\n")
    # A revised value of a published row (validate supersedes the old one) and an impossible one
    # (quarantined with its reason): validate writes both areas.
    sample = gzip.decompress((input_dir / "pm25_daily_2012_cook_county_IL.csv.gz").read_bytes()).decode()
    header, row = sample.splitlines()[:2]
    revised = row.replace('"5.1"', '"6.0"')
    impossible = row.replace('"01/01/2012"', '"01/15/2013"').replace('"5.1"', '"-55.0"')
    (input_dir / "pm25_revised.csv").write_text(f"{header}\n{revised}\n{impossible}\n")
    recorder = Recorder()
    started: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        # Drift thresholds no feature stays under, and an AQI every forecast exceeds: the monitor
        # alerts (recorded, no webhook) and starts a retraining, through its deployment as in production.
        for name, value in (("STORE", store), ("TRAIN__VALIDATION_DAYS", 180), ("TRAIN__LIGHTGBM_ROUNDS", 40),
                            ("TRAIN__QUANTILE_ROUNDS", 20), ("MONITOR__DRIFT_PSI", 1e-6), ("MONITOR__DRIFT_KS", 1e-6),
                            ("MONITOR__DRIFT_MIN_VALUES", 10), ("MONITOR__HEALTH_AQI", 0)):  # fmt: skip
            mp.setenv(f"AIRWATCH_{name}", str(value))
        mp.delenv("AIRWATCH_ALERTS__WEBHOOK_URL", raising=False)
        mp.setattr("airwatch.io.deployments.deployed", lambda name: True)
        mp.setattr("airwatch.io.deployments.trigger", lambda name, *a, **k: started.append(name) or "flow-run-id")
        mp.setattr("airwatch.flows.context.open_store", lambda url: RecordingStore(LocalStore(url), recorder))
        run_stages(recorder, store, input_dir)
    assert started == ["retrain/train-weekly"]  # the monitor's retraining path ran (once: the cool-down)
    yield recorder, store


@pytest.mark.parametrize("role", STAGES)
def test_each_stage_needs_only_what_its_role_allows(recorded: tuple[Recorder, Path], role: str) -> None:
    recorder, _ = recorded
    ops = recorder.ops[role]
    refused = iam.denied(iam.policies(role, BUCKET, PREFIX), requests(ops))
    assert refused == [], f"{role} needs what deploy/iam/{role}.json does not allow"


def test_the_run_exercised_every_kind_of_access_the_roles_are_given(recorded: tuple[Recorder, Path]) -> None:
    """Not a vacuous pass: the recorded run read, listed, created, rewrote and deleted in the areas named."""
    ops = recorded[0].ops
    kinds = {(role, op.kind, op.key.split("/")[0]) for role, found in ops.items() for op in found}
    exercised = [
        ("ingest", "create", "raw"), ("validate", "read", "raw"), ("validate", "create", "quarantine"),
        ("validate", "create", "processed"), ("transform", "create", "processed"), ("train", "create", "models"),
        ("select", "create", "locks"), ("select", "write", "locks"), ("select", "create", "models"),
        ("predict", "create", "predictions"), ("monitor", "create", "monitoring"), ("monitor", "write", "state"),
        ("report", "read", "monitoring"), ("operator", "delete", "raw"), ("operator", "delete", "quarantine"),
        ("auditor", "read", "audit"),
    ]  # fmt: skip
    for expected in exercised:
        assert expected in kinds, expected
    validated = {op.key for op in ops["validate"] if op.kind == "write"}
    assert any(k.startswith("quarantine/validate/") for k in validated)
    assert any(k.startswith("processed/superseded/") for k in validated)
    monitored = {op.key for op in ops["monitor"] if op.kind in ("write", "create")}
    assert catalog.retrain_state_key("pm25") in monitored
    assert any(k.startswith(catalog.alerts_prefix("pm25")) for k in monitored)
    for role in STAGES:  # every stage that changes something says so in the audit log
        audited = any(op.kind == "create" and op.key.startswith(catalog.AUDIT) for op in ops[role])
        assert audited == (role not in ("train", "report", "auditor")), role


def test_only_the_operator_deletes(recorded: tuple[Recorder, Path]) -> None:
    deleting = {role for role, ops in recorded[0].ops.items() if any(op.kind == "delete" for op in ops)}
    assert deleting == {"operator"}


def test_select_audits_its_alias_moves_and_promotion(recorded: tuple[Recorder, Path]) -> None:
    records = audit.records(LocalStore(recorded[1]))
    (moved,) = [r for r in records if r["event"] == "alias_move"]
    assert moved["what"]["aliases"] == {"champion": "1"} and moved["what"]["model"] == "airwatch-pm25"
    (promoted,) = [r for r in records if r["event"] == "promotion"]
    assert promoted["what"]["decision"] == "promoted" and promoted["run"]["flow"] == "select"
    assert promoted["run"]["flow_run_id"] == moved["run"]["flow_run_id"]


def test_a_policy_missing_one_prefix_is_caught(recorded: tuple[Recorder, Path]) -> None:
    """The check can fail: validate's policy without quarantine/files/ refuses what validate did."""
    documents = iam.policies("validate", BUCKET, PREFIX)
    write = next(s for s in documents[0]["Statement"] if s["Sid"] == "Write")
    write["Resource"] = [r for r in write["Resource"] if "quarantine/files" not in r]
    refused = iam.denied(documents, requests(recorded[0].ops["validate"]))
    assert refused and all("/quarantine/files/" in r.resource and r.action == "s3:PutObject" for r in refused)


@pytest.fixture
def api_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """The AQS backfill, an incremental AQS run and an AirNow ingest, against the local fake servers."""
    from tests.fakes import airnow_server, aqs_server

    recorder = Recorder("ingest")
    monkeypatch.setattr("airwatch.flows.context.open_store", lambda url: RecordingStore(LocalStore(url), recorder))
    with aqs_server.AqsServer() as aqs, airnow_server.AirNowServer() as airnow:
        for name, value in (("STORE", tmp_path / "store"), ("AQS__BASE_URL", aqs.base_url),
                            ("AQS__EMAIL", aqs_server.EMAIL), ("AQS__KEY", aqs_server.KEY),
                            ("AQS__MIN_INTERVAL_SECONDS", 0), ("AIRNOW__BASE_URL", airnow.base_url),
                            ("AIRNOW__KEY", airnow_server.KEY), ("AIRNOW__MIN_INTERVAL_SECONDS", 0)):  # fmt: skip
            monkeypatch.setenv(f"AIRWATCH_{name}", str(value))
        site = {"state": "36", "county": "081", "site": "0124"}
        ingest_aqs_flow(["88101"], **site, start=date(2019, 1, 1), end=date(2019, 12, 31))
        ingest_aqs_flow(["88101"], **site, incremental=True, end=date(2019, 12, 31))
        ingest_airnow_flow("-79.5,35.5,-78.5,36.5", datetime(2019, 8, 1, 0), datetime(2019, 8, 1, 5), ["PM25"])
    yield recorder


def test_the_api_ingests_need_only_the_ingest_role(api_ingest: Recorder) -> None:
    ops = api_ingest.ops["ingest"]
    areas = {op.key.split("/")[1] for op in ops if op.kind == "create" and op.key.startswith("raw/")}
    assert areas == {"aqs", "airnow"}
    assert {op.key.split("/")[1] for op in ops if op.key.startswith("state/")} == {"watermarks", "backfills"}
    assert iam.denied(iam.policies("ingest", BUCKET, PREFIX), requests(ops)) == []
