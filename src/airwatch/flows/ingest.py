"""Ingest: copy EPA daily files into the store's raw area, byte for byte, and publish an inventory."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.flows.context import RAW_INVENTORY, Context
from airwatch.io.datasets import fingerprint, publish_manifest

DAILY_PATTERNS = ("*.csv", "*.csv.gz")


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
    files = sorted({p for pattern in DAILY_PATTERNS for p in folder.rglob(pattern)})
    if not files:
        raise FileNotFoundError(f"no EPA daily files (*.csv, *.csv.gz) under {folder}")
    return files


@task(cache_policy=NO_CACHE)
def store_raw_file(ctx: Context, path: Path) -> tuple[str, bool]:
    """Store one file as received under a content-addressed key; returns (key, newly written)."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    key = f"{RAW_INVENTORY}/{digest[:2]}/{digest}/{path.name}"
    written = ctx.store.write_bytes(key, data, if_absent=True)
    if written:
        meta = {
            "source": str(path),
            "bytes": len(data),
            "sha256": digest,
            "received_utc": datetime.now(UTC).isoformat(),
        }
        ctx.store.write_bytes(key + ".meta.json", json.dumps(meta, indent=2).encode(), if_absent=True)
    return key, written


@flow(name="ingest")
def ingest_flow(ctx: Context, input_dir: str | None = None) -> IngestSummary:
    """Copy every daily file of the input folder (default: the bundled sample) into raw/."""
    logger = get_run_logger()
    folder = Path(input_dir or ctx.settings.input_dir or bundled_sample_dir())
    files = find_daily_files(folder)
    results = [store_raw_file(ctx, p) for p in files]
    keys = sorted(k for k, _ in results)
    new = sum(1 for _, w in results if w)
    version = fingerprint(keys)
    manifest, published = publish_manifest(
        ctx.store, RAW_INVENTORY, version, keys, len(keys), inputs={"folder": str(folder)}
    )
    logger.info("ingest: %d files from %s (%d new), inventory %s", len(keys), folder, new, manifest.version)
    return IngestSummary(manifest.version, len(keys), new, published)
