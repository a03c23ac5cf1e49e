"""Validate: parse raw files, check every row, quarantine the bad ones, publish the observations."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.domain.parse import (
    parse_airnow_data,
    parse_airnow_peak,
    parse_aqs_daily,
    parse_aqs_sample,
    parse_daily_file,
)
from airwatch.domain.sites import fill_coordinates
from airwatch.domain.validate import enforce_threshold, resolve_revisions, validate_observations
from airwatch.flows.context import OBSERVATIONS, RAW_AIRNOW, RAW_SOURCES, Context
from airwatch.io import datasets
from airwatch.io.datasets import fingerprint, to_parquet_bytes
from airwatch.io.files import load_site_list
from airwatch.io.store import StoreError


@dataclass(frozen=True)
class ValidateSummary:
    version: str
    rows: int
    valid: int
    quarantined: int
    superseded: int
    reasons: dict[str, int]
    published: bool


def parse_raw_object(key: str, data: bytes) -> pd.DataFrame:
    """Normalized observations of one raw object, by its kind (API JSON, AirNow peak file or EPA CSV)."""
    if key.startswith(f"{RAW_AIRNOW}/"):
        return parse_airnow_data(json.loads(gzip.decompress(data)), raw_key=key)
    if key.endswith(".json.gz") and "/sampleData/" in key:
        return parse_aqs_sample(json.loads(gzip.decompress(data)).get("Data") or [], raw_key=key)
    if key.endswith(".json.gz"):
        return parse_aqs_daily(json.loads(gzip.decompress(data)).get("Data") or [], raw_key=key)
    if "-peak" in key.rsplit("/", 1)[-1]:
        return parse_airnow_peak(key, data, raw_key=key)
    return parse_daily_file(key, data, raw_key=key)


@task(cache_policy=NO_CACHE)
def parse_raw(ctx: Context, keys: list[str]) -> pd.DataFrame:
    """Normalized observations of every raw object of the inventories."""
    frames = [parse_raw_object(k, ctx.store.read_bytes(k)) for k in keys]
    return pd.concat(frames, ignore_index=True)


def latest_inventories(ctx: Context) -> list[datasets.Manifest]:
    found = []
    for source in RAW_SOURCES:
        try:
            found.append(datasets.latest(ctx.store, source))
        except StoreError:
            continue
    if not found:
        raise StoreError(f"no raw inventory in {ctx.store.url}; run 'airwatch ingest' first")
    return found


@flow(name="validate")
def validate_flow(ctx: Context) -> ValidateSummary:
    """Validate the newest raw inventory into processed/observations (skipped when already done)."""
    logger = get_run_logger()
    inventories = latest_inventories(ctx)
    versions = {m.dataset: m.version for m in inventories}
    site_list = load_site_list(ctx.settings.validate.site_list)
    version = fingerprint("observations", versions, site_list.sha256, ctx.code_version)
    existing = datasets.find_version(ctx.store, OBSERVATIONS, version)
    if existing is not None:
        logger.info("validate: observations %s already published, nothing to do", version)
        e = existing.extra
        return ValidateSummary(
            version, e["rows"], existing.rows, e["quarantined"], e.get("superseded", 0), e["reasons"], False
        )

    parsed = parse_raw(ctx, [k for m in inventories for k in m.parts])
    revisions = resolve_revisions(parsed)
    observations, located = fill_coordinates(revisions.current, site_list.sites)
    if located:
        logger.info("validate: coordinates of %d sites taken from the site list %s: %s", len(located),
                    site_list.source, ", ".join(located))  # fmt: skip
    if not revisions.superseded.empty:
        # Older revisions stay traceable: each names the raw object that replaced it.
        ctx.store.write_bytes(f"processed/superseded/{version}/rows.parquet", to_parquet_bytes(revisions.superseded))
    today = (np.datetime64(datetime.now(UTC).date(), "D") - np.datetime64("1970-01-01", "D")).astype(int)
    result = validate_observations(observations, max_day=int(today))
    reasons = result.reason_counts()
    if not result.quarantined.empty:
        # Quarantine is written before the threshold check, so a failed run can be inspected.
        ctx.store.write_bytes(f"quarantine/validate/{version}/rows.parquet", to_parquet_bytes(result.quarantined))
        ctx.store.write_bytes(f"quarantine/validate/{version}/reasons.json", json.dumps(reasons, indent=2).encode())
    enforce_threshold(result, ctx.settings.validate.max_quarantine_share, source=f"raw inventories {versions}")
    _, published = datasets.publish(
        ctx.store,
        OBSERVATIONS,
        version,
        result.valid,
        inputs={"raw_inventories": versions, "site_list": site_list.sha256},
        extra={
            "coordinates_from_site_list": located,
            "rows": len(observations),
            "quarantined": len(result.quarantined),
            "superseded": len(revisions.superseded),
            "reasons": reasons,
        },
    )
    logger.info(
        "validate: %d rows, %d valid, %d quarantined %s",
        len(observations),
        len(result.valid),
        len(result.quarantined),
        reasons,
    )
    return ValidateSummary(
        version,
        len(observations),
        len(result.valid),
        len(result.quarantined),
        len(revisions.superseded),
        reasons,
        published,
    )
