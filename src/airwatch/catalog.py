"""The store's layout: every key and dataset name AirWatch reads or writes is defined here, and only here.

The same layout under a local folder or ``s3://bucket/prefix``::

    raw/<source>/...                                   payloads as received, never rewritten
    raw/<source>/_manifests/<utc>_<version>.json       the inventory of a source: every payload so far
    processed/<dataset>/<version>/<run>/part-0000.parquet  a dataset version's data, written by one run
    processed/<dataset>/_claims/<version>.json         create-only: the run that publishes the version
    processed/<dataset>/_manifests/<utc>_<version>.json  published last; readers follow the newest
    processed/superseded/<version>/rows.parquet        older revisions of observations, traceable
    quarantine/validate/<version>/rows.parquet         rows that broke a rule, with reasons
    quarantine/files/<id>.json                         whole payloads that could not be read, with the reason
    models/<pollutant>/training/<utc>_<training-id>.json        training reports
    models/<pollutant>/promotions/<utc>_<model>-v<version>.json  promotion decisions (append-only)
    predictions/<pollutant>/<issue-date>/predictions_<issued-utc>_<model>-v<version>.parquet  day+1..3
    predictions/<pollutant>/<issue-date>/predictions_<issued-utc>_<model>-v<version>.json  its manifest
    monitoring/<table>/<pollutant>/...                 verification (pairs, scores, daily, confusion), drift,
                                                       stale sites: datasets, versioned like processed/
    monitoring/alerts/<pollutant>/<utc>_<kind>.json    every alert message, with whether it was delivered
    monitoring/retrains/<pollutant>/<utc>.json         every retraining the monitor started, and why
    monitoring/replays/<pollutant>/<replay-id>.json    what a replay issued (skipped when run again)
    state/incidents/<pollutant>.json                   the monitor's open and resolved incidents
    state/retrain/<pollutant>.json                     when the monitor last started a retraining
    state/watermarks/..., state/backfills/...          where incremental ingests and backfills stand
    locks/<name>/<number>.json                         a lock's tickets: create-only, released by rewriting
    audit/<YYYY-MM-DD>/<utc>_<event>_<id>.json         the audit log: publishes, promotions, alias moves and
                                                       deployment changes, create-only (io/audit.py)
    mlflow/                                            MLflow's SQLite file and artifacts (embedded default)
"""

from __future__ import annotations

import hashlib

from airwatch.domain.schemas import PayloadKind

# Raw areas, one per kind of source. A payload's key inside its area is content-addressed or
# request-scoped, so storing the same payload twice is a no-op.
RAW_FILES = "raw/epa-daily"  # EPA files as downloaded: AirData, download-tool exports, AirNow peak files
RAW_AQS = "raw/aqs"  # AQS Data API responses
RAW_AIRNOW = "raw/airnow"  # AirNow API responses
RAW_WEATHER = "raw/weather"  # NOAA station files
OBSERVATION_SOURCES = (RAW_FILES, RAW_AQS, RAW_AIRNOW)

OBSERVATIONS = "processed/observations"
WEATHER = "processed/weather"
MLFLOW_DIR = "mlflow"
META_SUFFIX = ".meta.json"
_MANIFESTS = "_manifests"
_CLAIMS = "_claims"


def features(pollutant: str) -> str:
    return f"processed/features/{pollutant}"


def manifest_prefix(dataset: str) -> str:
    return f"{dataset}/{_MANIFESTS}/"


def manifest_key(dataset: str, created_utc: str, version: str) -> str:
    return f"{manifest_prefix(dataset)}{created_utc}_{version}.json"


def part_key(dataset: str, version: str, run: str, index: int = 0) -> str:
    """A part written by one run: two runs writing the same version never touch each other's parts."""
    return f"{dataset}/{version}/{run}/part-{index:04d}.parquet"


def claim_key(dataset: str, version: str) -> str:
    """The create-only object that decides which run publishes a version (it holds the manifest)."""
    return f"{dataset}/{_CLAIMS}/{version}.json"


def is_payload(key: str) -> bool:
    """Whether a key under a raw area is a payload (not its metadata or its inventory's manifests)."""
    return not key.endswith(META_SUFFIX) and f"/{_MANIFESTS}/" not in key and f"/{_CLAIMS}/" not in key


def meta_key(key: str) -> str:
    return key + META_SUFFIX


def raw_file_key(area: str, sha256: str, name: str) -> str:
    return f"{area}/{sha256[:2]}/{sha256}/{name}"


def aqs_payload_key(service: str, geography: str, year: str, request_id: str, sha256: str) -> str:
    return f"{RAW_AQS}/{service}/{geography}/{year}/{request_id}/{sha256[:16]}.json.gz"


def airnow_payload_key(area: str, request_id: str, sha256: str) -> str:
    return f"{RAW_AIRNOW}/{area}/{request_id}/{sha256[:16]}.json.gz"


def payload_kind(key: str) -> PayloadKind:
    if key.startswith(f"{RAW_AIRNOW}/"):
        return PayloadKind.AIRNOW
    if key.startswith(f"{RAW_AQS}/sampleData/"):
        return PayloadKind.AQS_SAMPLE
    if key.startswith(f"{RAW_AQS}/"):
        return PayloadKind.AQS_DAILY
    return PayloadKind.FILE


def superseded_key(version: str) -> str:
    return f"processed/superseded/{version}/rows.parquet"


def quarantined_rows_key(version: str) -> str:
    return f"quarantine/validate/{version}/rows.parquet"


def quarantine_reasons_key(version: str) -> str:
    return f"quarantine/validate/{version}/reasons.json"


QUARANTINED_FILES = "quarantine/files/"


def quarantined_file_key(raw_key: str) -> str:
    return f"{QUARANTINED_FILES}{hashlib.sha256(raw_key.encode()).hexdigest()[:24]}.json"


def training_prefix(pollutant: str) -> str:
    return f"models/{pollutant}/training/"


def training_report_key(pollutant: str, stamp: str, training_id: str) -> str:
    return f"{training_prefix(pollutant)}{stamp}_{training_id}.json"


def promotions_prefix(pollutant: str) -> str:
    return f"models/{pollutant}/promotions/"


def promotion_key(pollutant: str, stamp: str, model_name: str, version: str) -> str:
    return f"{promotions_prefix(pollutant)}{stamp}_{model_name}-v{version}.json"


def predictions_prefix(pollutant: str) -> str:
    return f"predictions/{pollutant}/"


def predictions_key(pollutant: str, issue_date: str, issued: str, model_name: str, version: str) -> str:
    """One issue's forecasts (day+1..3 of every site), under the day they were issued from."""
    return f"{predictions_prefix(pollutant)}{issue_date}/predictions_{issued}_{model_name}-v{version}.parquet"


def predictions_manifest_key(predictions_key: str) -> str:
    """What a predictions file holds and where it came from, beside it."""
    return predictions_key.removesuffix(".parquet") + ".json"


MONITORING_TABLES = ("pairs", "scores", "daily", "confusion", "drift", "stale")


def monitoring(table: str, pollutant: str) -> str:
    """A monitoring dataset: verification pairs and scores, drift, stale sites, per pollutant."""
    assert table in MONITORING_TABLES, table
    return f"monitoring/{table}/{pollutant}"


def alerts_prefix(pollutant: str) -> str:
    return f"monitoring/alerts/{pollutant}/"


def alert_key(pollutant: str, stamp: str, kind: str) -> str:
    return f"{alerts_prefix(pollutant)}{stamp}_{kind}.json"


def retrains_prefix(pollutant: str) -> str:
    return f"monitoring/retrains/{pollutant}/"


def retrain_record_key(pollutant: str, stamp: str) -> str:
    return f"{retrains_prefix(pollutant)}{stamp}.json"


def replay_key(pollutant: str, replay_id: str) -> str:
    return f"monitoring/replays/{pollutant}/{replay_id}.json"


def incidents_key(pollutant: str) -> str:
    return f"state/incidents/{pollutant}.json"


def retrain_state_key(pollutant: str) -> str:
    return f"state/retrain/{pollutant}.json"


def watermark_key(service: str, params: list[str], geography: str) -> str:
    return f"state/watermarks/aqs/{service}/{'-'.join(sorted(params))}_{geography}.json"


def backfill_key(run_id: str) -> str:
    return f"state/backfills/{run_id}.json"


def lock_prefix(name: str) -> str:
    return f"locks/{name}/"


def lock_ticket_key(name: str, number: int) -> str:
    """One taking of a lock (io.store.StoreLock): numbered, zero-padded so that keys sort by number."""
    return f"{lock_prefix(name)}{number:012d}.json"


def lock_ticket_number(key: str) -> int:
    return int(key.rsplit("/", 1)[-1].removesuffix(".json"))


AUDIT = "audit/"


def audit_prefix(day: str = "") -> str:
    """Every audit record, or one UTC day's (YYYY-MM-DD)."""
    return f"{AUDIT}{day}/" if day else AUDIT


def audit_key(day: str, stamp: str, event: str, record_id: str) -> str:
    return f"{audit_prefix(day)}{stamp}_{event}_{record_id}.json"
