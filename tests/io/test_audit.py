"""The audit log: one create-only record per publish, promotion and deployment change, none holding a secret.

Alias moves are audited by select; tests/flows/test_least_privilege.py runs it and checks its records.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from airwatch import catalog
from airwatch.cli import app
from airwatch.io import audit, datasets, deployments, records
from airwatch.io.store import LocalStore, StoreError

DEPLOY_SPEC = Path(__file__).resolve().parents[2] / "deploy" / "deployments.yaml"
SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "sentinel-aws-secret",
    "AWS_SESSION_TOKEN": "sentinel-aws-token",
    "AWS_ACCESS_KEY_ID": "sentinel-aws-key-id",
    "MLFLOW_TRACKING_PASSWORD": "sentinel-mlflow-password",
    "AIRWATCH_MLFLOW_PASSWORD": "sentinel-airwatch-mlflow-password",
    "MLFLOW_TRACKING_TOKEN": "sentinel-mlflow-token",
    "AIRWATCH_ALERTS__WEBHOOK_URL": "https://hooks.example/sentinel-webhook",
    "AIRWATCH_AQS__KEY": "sentinel-aqs-key",
    "AIRWATCH_AIRNOW__KEY": "sentinel-airnow-key",
}


def audit_records(store: LocalStore, event: str | None = None) -> list[dict]:
    return [r for r in audit.records(store) if event is None or r["event"] == event]


def test_a_publish_writes_one_record_and_publishing_it_again_none(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    manifest, _ = datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [1, 2]}), inputs={"a": "b"})
    datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [1, 2]}))  # already published: no change
    (record,) = audit_records(store)
    assert record["event"] == "publish" and record["key"].startswith("audit/")
    assert record["what"] == {"dataset": "processed/demo", "version": "v1", "rows": 2, "manifest": manifest.key,
                              "inputs": {"a": "b"}}  # fmt: skip
    assert record["when_utc"].startswith(datetime.now(UTC).date().isoformat())
    assert record["run"]["process_run_id"] == audit.PROCESS_RUN_ID  # outside a flow run
    assert "@" in record["identity"]["user"]


def test_a_promotion_writes_one_record(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    decision = {"pollutant": "pm25", "model": "airwatch-pm25", "candidate_version": "3", "decision": "promoted",
                "reason": "beats the champion"}  # fmt: skip
    key = records.append_promotion(store, decision)
    (record,) = audit_records(store)
    assert record["event"] == "promotion" and record["what"] == {**decision, "record": key}


def test_deploy_writes_one_deployment_change_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`airwatch deploy` against a stand-in for the Prefect server: what it installed is audited."""
    monkeypatch.setenv("AIRWATCH_STORE", str(tmp_path))
    installed = deployments.Installed("airwatch", {"monitor-daily": "monitor/monitor-daily"},
                                      {"monitor-daily": "0 9 * * *"}, ["airwatch-flow-run-failed"])  # fmt: skip
    monkeypatch.setattr(deployments, "install", lambda spec, **_: installed)
    monkeypatch.setattr("airwatch.cli._check_prefect", lambda **_: None)
    result = CliRunner().invoke(app, ["deploy", "--spec", str(DEPLOY_SPEC)])
    assert result.exit_code == 0, result.output
    (record,) = audit_records(LocalStore(tmp_path))
    assert record["key"] in result.output
    assert record["event"] == "deployment_change"
    assert record["what"]["deployments"] == {"monitor-daily": "monitor/monitor-daily"}
    assert record["what"]["automations"] == ["airwatch-flow-run-failed"] and len(record["what"]["spec_sha256"]) == 64


def test_an_existing_audit_key_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path)
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    taken = catalog.audit_key("2026-05-01", "20260501T120000.000000Z", "publish", "same")
    store.write_bytes(taken, b'{"event": "publish", "what": "the first record"}')
    ids = iter(["same", "same", "other"])
    monkeypatch.setattr(audit, "new_id", lambda: next(ids))
    key = audit.record(store, "publish", {"dataset": "processed/demo"}, now=now)
    assert key == catalog.audit_key("2026-05-01", "20260501T120000.000000Z", "publish", "other")
    assert json.loads(store.read_bytes(taken))["what"] == "the first record"
    assert json.loads(store.read_bytes(key))["what"] == {"dataset": "processed/demo"}


def test_an_unknown_event_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown audit event"):
        audit.record(LocalStore(tmp_path), "delete", {})  # type: ignore[arg-type]


def test_records_name_who_acted_but_hold_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/airwatch-select")
    store = LocalStore(tmp_path)
    datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [1]}))
    records.append_promotion(store, {"pollutant": "pm25", "model": "m", "candidate_version": "1"})
    audit.record(store, "alias_move", {"model": "m", "aliases": {"champion": "1"}})
    audit.record(store, "deployment_change", {"work_pool": "airwatch"})
    found = audit_records(store)
    assert sorted(r["event"] for r in found) == ["alias_move", "deployment_change", "promotion", "publish"]
    assert found[0]["identity"]["mlflow_user"] == "alice"
    assert found[0]["identity"]["aws_role"] == "arn:aws:iam::123456789012:role/airwatch-select"
    text = b"".join(store.read_bytes(k) for k in store.list(catalog.AUDIT)).decode()
    assert [v for v in SECRETS.values() if v in text] == []


def test_a_version_is_never_visible_without_its_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record is written before the manifest: if it fails, nothing is published, and the retry records it."""
    store = LocalStore(tmp_path)

    def unavailable(*args: object, **kwargs: object) -> str:
        raise StoreError("could not write audit/...: SlowDown")

    with monkeypatch.context() as m:
        m.setattr(audit, "record", unavailable)
        with pytest.raises(StoreError, match="SlowDown"):
            datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [1]}))
    assert store.list(catalog.manifest_prefix("processed/demo")) == []
    manifest, written = datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [1]}))  # the retry
    assert not written  # the claim decided: the first run's parts are published, with a record now
    (record,) = audit_records(store)
    assert record["what"]["manifest"] == manifest.key and record["what"]["recovered_from_claim"] is True
