"""Small JSON records in the store: training reports, promotion decisions, ingest state."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pandas as pd

from airwatch import catalog, faults
from airwatch.domain.train import TrainingReport
from airwatch.io import audit
from airwatch.io.datasets import to_parquet_bytes, utc_stamp
from airwatch.io.store import Store, StoreError

log = logging.getLogger(__name__)


def read_json(store: Store, key: str) -> dict[str, Any] | None:
    return json.loads(store.read_bytes(key)) if store.exists(key) else None


def write_json(store: Store, key: str, data: dict[str, Any], *, if_absent: bool = False) -> bool:
    return store.write_bytes(key, json.dumps(data, indent=2, sort_keys=True, default=str).encode(), if_absent=if_absent)


def save_training_report(store: Store, report: TrainingReport) -> str:
    key = catalog.training_report_key(report.pollutant, report.created_utc, report.training_id)
    store.write_bytes(key, report.model_dump_json(indent=2).encode(), if_absent=True)
    return key


def latest_training_report(store: Store, pollutant: str) -> TrainingReport | None:
    keys = [k for k in store.list(catalog.training_prefix(pollutant)) if k.endswith(".json")]
    return TrainingReport.model_validate_json(store.read_bytes(keys[-1])) if keys else None


def training_report(store: Store, pollutant: str, training_id: str) -> TrainingReport | None:
    """The report of one training (the newest, if it was written twice)."""
    keys = [k for k in store.list(catalog.training_prefix(pollutant)) if k.endswith(f"_{training_id}.json")]
    return TrainingReport.model_validate_json(store.read_bytes(keys[-1])) if keys else None


def append_promotion(store: Store, record: dict[str, Any]) -> str:
    """One object per decision, never rewritten."""
    key = catalog.promotion_key(record["pollutant"], utc_stamp(), record["model"], record["candidate_version"])
    write_json(store, key, record, if_absent=True)
    what = {k: record.get(k) for k in ("pollutant", "model", "candidate_version", "decision", "reason")}
    audit.record(store, "promotion", {**what, "record": key})
    return key


def promotion_of(store: Store, pollutant: str, model_name: str, version: str) -> dict[str, Any] | None:
    """The newest recorded decision on one model version, if one was made."""
    suffix = f"_{model_name}-v{version}.json"
    keys = [k for k in store.list(catalog.promotions_prefix(pollutant)) if k.endswith(suffix)]
    return json.loads(store.read_bytes(keys[-1])) if keys else None


def promotions(store: Store, pollutant: str) -> list[dict[str, Any]]:
    return [json.loads(store.read_bytes(k)) for k in store.list(catalog.promotions_prefix(pollutant))]


def save_predictions(store: Store, key: str, frame: pd.DataFrame, manifest: dict[str, Any]) -> None:
    """A predictions file, then its manifest beside it (readers take a file only with its manifest)."""
    folder = key.rsplit("/", 1)[0] + "/"
    listed = set(store.list(folder))
    orphans = [k for k in listed if k.endswith(".parquet") and catalog.predictions_manifest_key(k) not in listed]
    if orphans:
        log.warning("predict: ignoring %d predictions file(s) without a manifest in %s (a run that stopped "
                    "before publishing them): %s", len(orphans), folder, ", ".join(sorted(orphans)))  # fmt: skip
    if not store.write_bytes(key, to_parquet_bytes(frame), if_absent=True):
        raise StoreError(f"{key} exists already; a predictions file is never overwritten")
    faults.checkpoint("predict.file")
    manifest_key = catalog.predictions_manifest_key(key)
    # Recorded before the manifest that makes the file visible: no published forecast lacks its record.
    what = {k: manifest.get(k) for k in ("pollutant", "issue_date", "rows", "model_name", "model_version", "model_id")}
    audit.record(store, "publish", {"dataset": catalog.predictions_prefix(str(manifest.get("pollutant", ""))),
                                    "predictions": key, "manifest": manifest_key, **what})  # fmt: skip
    write_json(store, manifest_key, {"predictions": key, **manifest}, if_absent=True)


def prediction_keys(store: Store, pollutant: str, since: str = "", until: str = "9999") -> list[str]:
    """The published predictions files of a pollutant issued on days since..until (YYYY-MM-DD), oldest first.

    A file counts only with its manifest: a predict run that died between the two published nothing.
    """
    keys = [k for k in store.list(catalog.predictions_prefix(pollutant)) if k.endswith(".parquet")]
    keys = [k for k in keys if since <= k.split("/")[-2] <= until]
    manifests = set(store.list(catalog.predictions_prefix(pollutant)))
    return [k for k in keys if catalog.predictions_manifest_key(k) in manifests]


def newest_issue(store: Store, pollutant: str) -> list[dict[str, Any]]:
    """The manifests of the newest issue day's published predictions files (none before the first issue)."""
    keys = prediction_keys(store, pollutant)
    if not keys:
        return []
    day = keys[-1].split("/")[-2]
    return [json.loads(store.read_bytes(catalog.predictions_manifest_key(k))) for k in keys if k.split("/")[-2] == day]


def read_predictions(store: Store, pollutant: str, since: str = "", until: str = "9999") -> pd.DataFrame:
    """Every published predictions file of a pollutant issued on days since..until (YYYY-MM-DD)."""
    frames = [pd.read_parquet(io.BytesIO(store.read_bytes(k))) for k in prediction_keys(store, pollutant, since, until)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
