"""Ingest fresh hourly observations from the AirNow API (AQS lags by months)."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.flows.context import RAW_AIRNOW, Context
from airwatch.io.airnow import AirNowClient, AirNowResponse
from airwatch.io.datasets import fingerprint, publish_manifest


@dataclass(frozen=True)
class AirNowIngestSummary:
    requests: int
    new_objects: int
    rows: int
    inventory_version: str


def make_client(ctx: Context) -> AirNowClient:
    a = ctx.settings.airnow
    return AirNowClient(
        base_url=a.base_url,
        key=a.key.get_secret_value() if a.key else "",
        min_interval=a.min_interval_seconds,
        max_retries=a.max_retries,
        backoff=a.backoff_seconds,
    )


@task(cache_policy=NO_CACHE)
def store_response(ctx: Context, response: AirNowResponse, slug: str) -> bool:
    digest = hashlib.sha256(response.body).hexdigest()
    rid = fingerprint("airnow", response.description)
    key = f"{RAW_AIRNOW}/{slug}/{rid}/{digest[:16]}.json.gz"
    new = ctx.store.write_bytes(key, gzip.compress(response.body, mtime=0), if_absent=True)
    if new:
        meta = {
            "request": response.description,  # the key is a separate query parameter, never part of this
            "rows": len(response.rows),
            "sha256": digest,
            "received_utc": datetime.now(UTC).isoformat(),
        }
        ctx.store.write_bytes(key.removesuffix(".json.gz") + ".meta.json", json.dumps(meta, indent=2).encode())
    return new


@flow(name="ingest-airnow")
def ingest_airnow_flow(
    ctx: Context,
    bbox: tuple[float, float, float, float],
    start: datetime,
    end: datetime,
    parameters: list[str] | None = None,
    client: AirNowClient | None = None,
) -> AirNowIngestSummary:
    """Fetch hourly observations in a bounding box for [start, end] (UTC hours) and store them raw."""
    logger = get_run_logger()
    client = client or make_client(ctx)
    responses = client.observations(bbox, start, end, parameters or ["OZONE", "PM25"])
    slug = "bbox-" + "_".join(f"{v:g}" for v in bbox)
    new = sum(store_response(ctx, r, slug) for r in responses)
    keys = [k for k in ctx.store.list(f"{RAW_AIRNOW}/") if k.endswith(".json.gz")]
    manifest, _ = publish_manifest(ctx.store, RAW_AIRNOW, fingerprint(keys), keys, len(keys))
    rows = sum(len(r.rows) for r in responses)
    logger.info("ingest-airnow: %d requests, %d new objects, %d rows", len(responses), new, rows)
    return AirNowIngestSummary(len(responses), new, rows, manifest.version)
