"""Ingest: copy EPA files into the store's raw area, byte for byte, and publish an inventory.

Files come from a folder or, for AirData bulk files, from URLs; the inventory lists every file ingested
so far.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.domain.sites import is_site_list
from airwatch.flows.context import RAW_INVENTORY, RAW_WEATHER, Context
from airwatch.io.airdata import download, file_name
from airwatch.io.datasets import fingerprint, publish_manifest
from airwatch.io.files import is_weather_file

DAILY_PATTERNS = ("*.csv", "*.csv.gz", "*.zip", "*-peak.dat", "*-peak.dat.gz", "*-peak_v2.dat.gz")


@dataclass(frozen=True)
class IngestSummary:
    inventory_version: str
    files: int
    new_files: int
    published: bool


def bundled_sample_dir() -> Path:
    return Path(str(resources.files("airwatch") / "sample_data"))


def find_daily_files(folder: Path) -> list[Path]:
    """EPA daily CSV files below a folder, recursively, in a stable order."""
    if not folder.is_dir():
        raise FileNotFoundError(f"input folder {folder} does not exist")
    # The site list (aqs_sites.csv) comes with AirData's bulk files but is reference data, not observations.
    files = sorted({p for pattern in DAILY_PATTERNS for p in folder.rglob(pattern) if not is_site_list(p.name)})
    if not files:
        raise FileNotFoundError(f"no EPA files (*.csv, *.csv.gz, *.zip) under {folder}")
    return files


def store_raw(ctx: Context, name: str, data: bytes, source: str, area: str = RAW_INVENTORY) -> tuple[str, bool]:
    """Store one file as received under a content-addressed key; returns (key, newly written)."""
    digest = hashlib.sha256(data).hexdigest()
    key = f"{area}/{digest[:2]}/{digest}/{name}"
    written = ctx.store.write_bytes(key, data, if_absent=True)
    if written:
        meta = {
            "source": source,
            "bytes": len(data),
            "sha256": digest,
            "received_utc": datetime.now(UTC).isoformat(),
        }
        ctx.store.write_bytes(key + ".meta.json", json.dumps(meta, indent=2).encode(), if_absent=True)
    return key, written


@task(cache_policy=NO_CACHE)
def store_raw_file(ctx: Context, path: Path, area: str = RAW_INVENTORY) -> tuple[str, bool]:
    return store_raw(ctx, path.name, path.read_bytes(), str(path), area)


@task(cache_policy=NO_CACHE, retries=0)
def store_raw_url(ctx: Context, url: str) -> tuple[str, bool]:
    # Retries live in download() (backoff with jitter, 5xx and timeouts only), not in Prefect.
    return store_raw(ctx, file_name(url), download(url), url)


@flow(name="ingest")
def ingest_flow(ctx: Context, input_dir: str | None = None, urls: list[str] | None = None) -> IngestSummary:
    """Store EPA files as received, then publish the inventory.

    The files are every file of the input folder (default: the bundled sample), or the AirData bulk
    files at the given URLs.
    """
    logger = get_run_logger()
    if urls:
        folder = None
        results = [store_raw_url(ctx, u) for u in urls]
    else:
        folder = Path(input_dir or ctx.settings.input_dir or bundled_sample_dir())
        results = [store_raw_file(ctx, p) for p in find_daily_files(folder)]
    origin = str(folder) if folder else ", ".join(urls or [])
    summary = publish_inventory(ctx, RAW_INVENTORY, results, origin)
    logger.info("ingest: %d files from %s (%d new), inventory %s", summary.files, origin, summary.new_files,
                summary.inventory_version)  # fmt: skip
    return summary


def publish_inventory(ctx: Context, area: str, results: list[tuple[str, bool]], origin: str) -> IngestSummary:
    # The inventory is everything ingested so far into an area: the store accumulates data like a
    # lake, and a content-addressed key makes a re-ingested file a no-op.
    keys = sorted(k for k in ctx.store.list(f"{area}/") if not k.endswith(".meta.json") and "/_manifests/" not in k)
    new = sum(1 for _, w in results if w)
    manifest, published = publish_manifest(ctx.store, area, fingerprint(keys), keys, len(keys), inputs={"from": origin})
    return IngestSummary(manifest.version, len(keys), new, published)


def bundled_weather_dir() -> Path:
    return Path(str(resources.files("airwatch") / "sample_weather"))


@flow(name="ingest-weather")
def ingest_weather_flow(ctx: Context, stations_dir: str | None = None) -> IngestSummary:
    """Store NOAA station files (GHCN-Daily .dly, daily-summaries CSV) as received; publish their inventory."""
    logger = get_run_logger()
    folder = Path(stations_dir or ctx.settings.weather.stations_dir or bundled_weather_dir())
    if not folder.is_dir():
        raise FileNotFoundError(f"weather stations folder {folder} does not exist")
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and is_weather_file(p.name))
    if not paths:
        raise FileNotFoundError(f"no NOAA daily station file (.dly or daily-summaries CSV) under {folder}")
    results = [store_raw_file(ctx, p, RAW_WEATHER) for p in paths]
    summary = publish_inventory(ctx, RAW_WEATHER, results, str(folder))
    logger.info("ingest-weather: %d station files from %s (%d new), inventory %s", summary.files, folder,
                summary.new_files, summary.inventory_version)  # fmt: skip
    return summary
