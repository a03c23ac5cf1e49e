"""Ingest from the AQS Data API: backfills and scheduled increments, resumable, secrets kept out.

Every response is stored as received (gzipped, Header url redacted) under a key made of the request
(no secrets) and the content hash, with its request metadata, before anything parses it. A backfill
keeps a checkpoint of the requests it finished, so an interrupted run resumes where it stopped; a
watermark per (source, parameters, geography) lets an incremental run ask only for new days and for
values revised since the last run (``cbdate``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from rich.progress import Progress

from airwatch.flows.context import RAW_AQS, Context
from airwatch.io.aqs import AqsClient, AqsRequest, Geography, split_requests
from airwatch.io.datasets import fingerprint, publish_manifest


@dataclass(frozen=True)
class AqsIngestSummary:
    requests: int
    fetched: int
    skipped: int
    new_objects: int
    rows: int
    inventory_version: str


def make_client(ctx: Context) -> AqsClient:
    aqs = ctx.settings.aqs
    return AqsClient(
        base_url=aqs.base_url,
        email=aqs.email or "",
        key=aqs.key.get_secret_value() if aqs.key else "",
        min_interval=aqs.min_interval_seconds,
        max_retries=aqs.max_retries,
        backoff=aqs.backoff_seconds,
        timeout=aqs.timeout_seconds,
    )


def _state_get(ctx: Context, key: str) -> dict[str, Any] | None:
    return json.loads(ctx.store.read_bytes(key)) if ctx.store.exists(key) else None


def _state_put(ctx: Context, key: str, data: dict[str, Any]) -> None:
    ctx.store.write_bytes(key, json.dumps(data, indent=2, sort_keys=True).encode())


def request_id(request: AqsRequest) -> str:
    return fingerprint("aqs", request.describe())


@task(cache_policy=NO_CACHE)
def fetch_and_store(ctx: Context, client: AqsClient, request: AqsRequest, slug: str) -> tuple[str, bool, int, str]:
    """Fetch one request and store its payload; returns (raw key, new object, rows, newest last change)."""
    response = client.fetch(request)
    digest = hashlib.sha256(response.body).hexdigest()
    year = dict(request.params)["bdate"][:4]
    key = f"{RAW_AQS}/{request.service}/{slug}/{year}/{request_id(request)}/{digest[:16]}.json.gz"
    new = ctx.store.write_bytes(key, gzip.compress(response.body, mtime=0), if_absent=True)
    changes = [str(r.get("date_of_last_change") or "") for r in response.rows]
    if new:
        meta = {
            "request": request.describe(),  # never carries email or key
            "status": response.status,
            "rows": len(response.rows),
            "sha256": digest,
            "received_utc": datetime.now(UTC).isoformat(),
        }
        ctx.store.write_bytes(key.removesuffix(".json.gz") + ".meta.json", json.dumps(meta, indent=2).encode())
    return key, new, len(response.rows), max(changes, default="")


def publish_inventory(ctx: Context) -> str:
    keys = [k for k in ctx.store.list(f"{RAW_AQS}/") if k.endswith(".json.gz")]
    manifest, _ = publish_manifest(ctx.store, RAW_AQS, fingerprint(keys), keys, len(keys))
    return manifest.version


def watermark_key(params: list[str], geography: Geography, service: str = "dailyData") -> str:
    return f"state/watermarks/aqs/{service}/{'-'.join(sorted(params))}_{geography.slug}.json"


@flow(name="ingest-aqs")
def ingest_aqs_flow(
    ctx: Context,
    params: list[str],
    geography: Geography,
    start: date | None = None,
    end: date | None = None,
    incremental: bool = False,
    refresh: bool = False,
    client: AqsClient | None = None,
    service: str = "dailyData",
) -> AqsIngestSummary:
    """Backfill [start, end] (or, incrementally, what is new or revised since the watermark).

    service: dailyData (daily summaries) or sampleData (hourly values).
    """
    if service not in ("dailyData", "sampleData"):
        raise ValueError(f"service must be dailyData or sampleData, got {service!r}")
    logger = get_run_logger()
    client = client or make_client(ctx)
    wm_key = watermark_key(params, geography, service)
    watermark = _state_get(ctx, wm_key)
    today = datetime.now(UTC).date()
    if incremental:
        if watermark is None:
            raise ValueError(f"no watermark for {params} {geography.slug}: run a backfill with --start/--end first")
        last_end = date.fromisoformat(watermark["end"])
        requests = (
            split_requests(service, params, last_end + timedelta(days=1), end or today, geography)
            if (last_end < (end or today))
            else []
        )
        if watermark.get("last_change"):
            # Revisions of anything already fetched: same years, only values changed since the last run.
            since = (date.fromisoformat(watermark["last_change"]) + timedelta(days=1)).strftime("%Y%m%d")
            requests += split_requests(
                service, params, date.fromisoformat(watermark["start"]), last_end, geography, {"cbdate": since}
            )
        start = date.fromisoformat(watermark["start"])
        end = max(end or today, last_end)
    else:
        if start is None or end is None:
            raise ValueError("a backfill needs --start and --end")
        requests = split_requests(service, params, start, end, geography)

    # An incremental run is its own unit each day; a backfill is identified by what it covers.
    stamp = str(today) if incremental else ""
    run_id = fingerprint("backfill", service, params, geography.slug, str(start), str(end), incremental, stamp)
    checkpoint_key = f"state/backfills/{run_id}.json"
    checkpoint = _state_get(ctx, checkpoint_key) or {"done": {}, "complete": False}
    fetched = skipped = new_objects = rows = 0
    last_change = (watermark or {}).get("last_change", "")
    with Progress(transient=True) as progress:
        bar = progress.add_task("AQS requests", total=len(requests))
        for request in requests:
            rid = request_id(request)
            progress.update(bar, description=f"AQS {request.service} {dict(request.params)['bdate'][:4]}")
            if rid in checkpoint["done"] and not refresh:
                skipped += 1
                progress.advance(bar)
                continue
            key, new, n, changed = fetch_and_store(ctx, client, request, geography.slug)
            fetched += 1
            new_objects += int(new)
            rows += n
            last_change = max(last_change, changed)
            checkpoint["done"][rid] = key
            _state_put(ctx, checkpoint_key, checkpoint)
            progress.advance(bar)
    checkpoint["complete"] = True
    _state_put(ctx, checkpoint_key, checkpoint)
    new_start = min(date.fromisoformat(watermark["start"]), start) if watermark else start
    new_end = max(date.fromisoformat(watermark["end"]), end) if watermark else end
    _state_put(ctx, wm_key, {"start": str(new_start), "end": str(new_end), "last_change": last_change})
    version = publish_inventory(ctx)
    logger.info(
        "ingest-aqs: %d requests (%d fetched, %d already done), %d new objects, %d rows, inventory %s",
        len(requests), fetched, skipped, new_objects, rows, version,
    )  # fmt: skip
    return AqsIngestSummary(len(requests), fetched, skipped, new_objects, rows, version)
