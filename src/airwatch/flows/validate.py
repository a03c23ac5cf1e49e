"""Validate: parse raw files, check every row, quarantine the bad ones, publish the observations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.domain.parse import parse_daily_file
from airwatch.domain.validate import enforce_threshold, validate_observations
from airwatch.flows.context import OBSERVATIONS, RAW_INVENTORY, Context
from airwatch.io import datasets
from airwatch.io.datasets import fingerprint, to_parquet_bytes


@dataclass(frozen=True)
class ValidateSummary:
    version: str
    rows: int
    valid: int
    quarantined: int
    reasons: dict[str, int]
    published: bool


@task(cache_policy=NO_CACHE)
def parse_raw(ctx: Context, keys: list[str]) -> pd.DataFrame:
    """Normalized observations of every raw file of the inventory."""
    frames = [parse_daily_file(k, ctx.store.read_bytes(k), raw_key=k) for k in keys]
    return pd.concat(frames, ignore_index=True)


@flow(name="validate")
def validate_flow(ctx: Context) -> ValidateSummary:
    """Validate the newest raw inventory into processed/observations (skipped when already done)."""
    logger = get_run_logger()
    inventory = datasets.latest(ctx.store, RAW_INVENTORY)
    version = fingerprint("observations", inventory.version, ctx.code_version)
    existing = datasets.find_version(ctx.store, OBSERVATIONS, version)
    if existing is not None:
        logger.info("validate: observations %s already published, nothing to do", version)
        e = existing.extra
        return ValidateSummary(version, e["rows"], existing.rows, e["quarantined"], e["reasons"], False)

    observations = parse_raw(ctx, inventory.parts)
    today = (np.datetime64(datetime.now(UTC).date(), "D") - np.datetime64("1970-01-01", "D")).astype(int)
    result = validate_observations(observations, max_day=int(today))
    reasons = result.reason_counts()
    if not result.quarantined.empty:
        # Quarantine is written before the threshold check, so a failed run can be inspected.
        ctx.store.write_bytes(f"quarantine/validate/{version}/rows.parquet", to_parquet_bytes(result.quarantined))
        ctx.store.write_bytes(f"quarantine/validate/{version}/reasons.json", json.dumps(reasons, indent=2).encode())
    enforce_threshold(result, ctx.settings.validate.max_quarantine_share, source=f"raw inventory {inventory.version}")
    _, published = datasets.publish(
        ctx.store,
        OBSERVATIONS,
        version,
        result.valid,
        inputs={"raw_inventory": inventory.version},
        extra={"rows": len(observations), "quarantined": len(result.quarantined), "reasons": reasons},
    )
    logger.info(
        "validate: %d rows, %d valid, %d quarantined %s",
        len(observations),
        len(result.valid),
        len(result.quarantined),
        reasons,
    )
    return ValidateSummary(version, len(observations), len(result.valid), len(result.quarantined), reasons, published)
