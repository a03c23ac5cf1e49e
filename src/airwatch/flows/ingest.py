"""Ingest files: EPA files (a folder or AirData URLs) and NOAA station files into the raw areas, as received."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import get_run_logger

from airwatch import catalog
from airwatch.flows.context import Context
from airwatch.flows.tasks import io_task, stage_flow
from airwatch.io import files, raw
from airwatch.io.airdata import download, file_name

store_paths = io_task(raw.store_paths)
publish_inventory = io_task(raw.publish_inventory)


@io_task
def store_urls(ctx: Context, urls: list[str]) -> list[raw.Stored]:
    # download() retries transient failures itself, with backoff; the task retries the store writes.
    return [raw.store_file(ctx.store, catalog.RAW_FILES, file_name(u), download(u), u) for u in urls]


@dataclass(frozen=True)
class IngestSummary:
    inventory_version: str
    files: int
    new_files: int
    published: bool


@stage_flow(name="ingest", timeout_seconds=3600)
def ingest_flow(store: str | None = None, input_dir: str | None = None, urls: list[str] | None = None) -> IngestSummary:
    """Keep EPA files as received: every file below input_dir (default: the bundled sample), or AirData URLs."""
    ctx = Context.build(store)
    if urls:
        origin, stored = ", ".join(urls), store_urls(ctx, urls)
    else:
        folder = files.input_folder(input_dir or ctx.settings.input_dir)
        origin, stored = str(folder), store_paths(ctx.store, catalog.RAW_FILES, files.find_daily_files(folder))
    return _summary("ingest", publish_inventory(ctx.store, catalog.RAW_FILES, origin), stored, origin)


@stage_flow(name="ingest-weather", timeout_seconds=3600)
def ingest_weather_flow(store: str | None = None, input_dir: str | None = None) -> IngestSummary:
    """Keep NOAA station files (GHCN-Daily .dly, daily-summaries CSV) as received; default: the bundled ones."""
    ctx = Context.build(store)
    folder = files.weather_folder(input_dir or ctx.settings.weather.stations_dir)
    stored = store_paths(ctx.store, catalog.RAW_WEATHER, files.find_weather_files(folder))
    return _summary("ingest-weather", publish_inventory(ctx.store, catalog.RAW_WEATHER, str(folder)), stored, folder)


def _summary(stage: str, inventory: raw.Inventory, stored: list[raw.Stored], origin: object) -> IngestSummary:
    new = sum(s.new for s in stored)
    get_run_logger().info("%s: %d files from %s (%d new), inventory %s", stage, inventory.files, origin, new,
                          inventory.version)  # fmt: skip
    return IngestSummary(inventory.version, inventory.files, new, inventory.published)
