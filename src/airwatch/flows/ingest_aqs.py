"""Ingest from the AQS Data API: backfills and scheduled increments, resumable, secrets kept out.

Every response is kept as received (gzipped, the Header's url redacted) before anything parses it. A
backfill checkpoints the requests it finished, so an interrupted run resumes where it stopped; a
watermark per (service, parameters, geography) lets an incremental run ask only for new days and for
values revised since the last run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial

from prefect import get_run_logger

from airwatch import catalog
from airwatch.domain.ingest import AqsRequest, Geography, next_watermark, parse_params, plan_aqs
from airwatch.flows.context import Context
from airwatch.flows.tasks import io_task, stage_flow
from airwatch.io import raw, records
from airwatch.io.aqs import AqsClient
from airwatch.io.datasets import fingerprint


@dataclass(frozen=True)
class AqsIngestSummary:
    requests: int
    fetched: int
    skipped: int
    new_objects: int
    rows: int
    inventory_version: str


@io_task
def fetch_and_store(ctx: Context, client: AqsClient, request: AqsRequest, geography: str) -> tuple[str, bool, int, str]:
    """One request kept raw: (key, new object, rows, newest date_of_last_change)."""
    response = client.fetch(request)
    rid = fingerprint("aqs", request.describe())
    key_for = partial(catalog.aqs_payload_key, request.service, geography, request.year, rid)
    meta = {"request": request.describe(), "status": response.status, "rows": len(response.rows)}  # no secrets
    stored = raw.store_response(ctx.store, key_for, response.body, meta)
    changes = [str(r.get("date_of_last_change") or "") for r in response.rows]
    return stored.key, stored.new, len(response.rows), max(changes, default="")


@stage_flow(name="ingest-aqs", timeout_seconds=6 * 3600)
def ingest_aqs_flow(
    params: list[str],
    state: str | None = None,
    county: str | None = None,
    site: str | None = None,
    cbsa: str | None = None,
    bbox: str | None = None,
    start: date | None = None,
    end: date | None = None,
    incremental: bool = False,
    refresh: bool = False,
    service: str = "dailyData",
    store: str | None = None,
) -> AqsIngestSummary:
    """Backfill [start, end], or, incrementally, what is new or revised since the watermark.

    service: dailyData (daily summaries) or sampleData (hourly values).
    """
    ctx, log = Context.build(store), get_run_logger()
    geography = Geography.from_options(state=state, county=county, site=site, cbsa=cbsa, bbox=bbox)
    codes = parse_params(params)
    wm_key = catalog.watermark_key(service, codes, geography.slug)
    watermark = records.read_json(ctx.store, wm_key)
    today = datetime.now(UTC).date()
    plan = plan_aqs(service, codes, geography, start=start, end=end, incremental=incremental,
                    watermark=watermark, today=today)  # fmt: skip
    # An incremental run is its own unit each day; a backfill is identified by what it covers.
    run_id = fingerprint("backfill", service, codes, geography.slug, str(plan.start), str(plan.end), incremental,
                         str(today) if incremental else "")  # fmt: skip
    checkpoint_key = catalog.backfill_key(run_id)
    checkpoint = records.read_json(ctx.store, checkpoint_key) or {"done": {}, "complete": False}
    client = AqsClient.from_settings(ctx.settings.aqs)
    fetched = new_objects = rows = 0
    last_change = (watermark or {}).get("last_change", "")
    for request in plan.requests:
        rid = fingerprint("aqs", request.describe())
        if rid in checkpoint["done"] and not refresh:
            continue
        key, new, n, changed = fetch_and_store(ctx, client, request, geography.slug)
        log.info("ingest-aqs: %s %s: %d rows", request.service, request.year, n)
        fetched, new_objects, rows = fetched + 1, new_objects + new, rows + n
        last_change = max(last_change, changed)
        checkpoint["done"][rid] = key
        records.write_json(ctx.store, checkpoint_key, checkpoint)
    records.write_json(ctx.store, checkpoint_key, {**checkpoint, "complete": True})
    records.write_json(ctx.store, wm_key, next_watermark(watermark, plan, last_change))
    inventory = raw.publish_inventory(ctx.store, catalog.RAW_AQS)
    skipped = len(plan.requests) - fetched
    log.info("ingest-aqs: %d requests (%d fetched, %d already done), %d new objects, %d rows, inventory %s",
             len(plan.requests), fetched, skipped, new_objects, rows, inventory.version)  # fmt: skip
    return AqsIngestSummary(len(plan.requests), fetched, skipped, new_objects, rows, inventory.version)
