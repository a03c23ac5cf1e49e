"""Ingest fresh hourly observations from the AirNow API (AQS lags by months)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from prefect import get_run_logger

from airwatch import catalog
from airwatch.domain.ingest import airnow_parameters, hour_window, parse_bbox
from airwatch.flows.context import Context, scheduled_time
from airwatch.flows.tasks import io_task, stage_flow
from airwatch.io import raw
from airwatch.io.airnow import AirNowClient
from airwatch.io.datasets import fingerprint


@dataclass(frozen=True)
class AirNowIngestSummary:
    requests: int
    new_objects: int
    rows: int
    inventory_version: str


@io_task
def fetch_and_store(ctx: Context, bbox: tuple[float, float, float, float], start: datetime, end: datetime,
                    parameters: list[str]) -> tuple[int, int, int]:  # fmt: skip
    """Every hourly chunk kept raw: (requests, new objects, rows)."""
    client = AirNowClient.from_settings(ctx.settings.airnow)
    responses = client.observations(bbox, start, end, parameters)
    area = "bbox-" + "_".join(f"{v:g}" for v in bbox)
    new = 0
    for r in responses:
        # The description is the query without the key, which is a separate parameter.
        key_for = partial(catalog.airnow_payload_key, area, fingerprint("airnow", r.description))
        new += raw.store_response(ctx.store, key_for, r.body, {"request": r.description, "rows": len(r.rows)}).new
    return len(responses), new, sum(len(r.rows) for r in responses)


@stage_flow(name="ingest-airnow", timeout_seconds=3600)
def ingest_airnow_flow(
    bbox: str,
    start: datetime | None = None,
    end: datetime | None = None,
    params: list[str] | None = None,
    hours: int = 48,
    store: str | None = None,
) -> AirNowIngestSummary:
    """Hourly observations in a box (min lon,min lat,max lon,max lat) for UTC hours start..end, kept raw.

    Without start and end (a daily schedule): the `hours` hours up to the run's scheduled time.
    """
    ctx = Context.build(store)
    names = airnow_parameters(params or ["88101", "44201"])
    start, end = hour_window(start, end, hours, scheduled_time())
    requests, new, rows = fetch_and_store(ctx, parse_bbox(bbox), start, end, names)
    inventory = raw.publish_inventory(ctx.store, catalog.RAW_AIRNOW)
    get_run_logger().info("ingest-airnow: %d requests, %d new objects, %d rows", requests, new, rows)
    return AirNowIngestSummary(requests, new, rows, inventory.version)
