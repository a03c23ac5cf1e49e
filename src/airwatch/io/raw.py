"""The raw areas of the store: payloads kept as received, with their metadata, and the inventories over them.

A payload's key is content-addressed (files) or request-scoped with the content hash (API responses),
so storing it again is a no-op and a revised payload is kept beside the old one. An inventory is the
list of every payload of an area so far, published like a dataset: the store accumulates raw data like
a lake, and the validate stage reads the newest inventories.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airwatch import catalog, faults
from airwatch.domain.schemas import PayloadKind
from airwatch.io import datasets
from airwatch.io.datasets import fingerprint
from airwatch.io.store import Store, StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    key: str
    new: bool


@dataclass(frozen=True)
class Inventory:
    """The published list of an area's payloads."""

    area: str
    version: str
    files: int
    published: bool


def store_file(store: Store, area: str, name: str, data: bytes, source: str) -> Stored:
    """Keep one file as received under a content-addressed key, with where it came from."""
    digest = hashlib.sha256(data).hexdigest()
    key = catalog.raw_file_key(area, digest, name)
    new = store.write_bytes(key, data, if_absent=True)
    faults.checkpoint("ingest.payload")
    if new or _meta_missing(store, key):
        _write_meta(store, key, {"source": source, "bytes": len(data), "sha256": digest})
    return Stored(key, new)


def store_paths(store: Store, area: str, paths: Iterable[Path]) -> list[Stored]:
    return [store_file(store, area, p.name, p.read_bytes(), str(p)) for p in paths]


def store_response(store: Store, key_for_digest: Callable[[str], str], body: bytes, meta: dict[str, Any]) -> Stored:
    """Keep an API response body gzipped under a request-scoped key (key_for_digest(sha256) -> key)."""
    digest = hashlib.sha256(body).hexdigest()
    key = key_for_digest(digest)
    new = store.write_bytes(key, gzip.compress(body, mtime=0), if_absent=True)
    if new or _meta_missing(store, key):
        _write_meta(store, key, {**meta, "sha256": digest})
    return Stored(key, new)


def _meta_missing(store: Store, key: str) -> bool:
    """A payload kept by a run that stopped before writing its metadata: the metadata is written now."""
    if store.exists(catalog.meta_key(key)):
        return False
    log.warning("ingest: %s has no metadata (a run stopped after keeping it); writing it now", key)
    return True


def _write_meta(store: Store, key: str, meta: dict[str, Any]) -> None:
    meta = {**meta, "received_utc": datetime.now(UTC).isoformat()}
    store.write_bytes(catalog.meta_key(key), json.dumps(meta, indent=2).encode(), if_absent=True)


def payload_keys(store: Store, area: str) -> list[str]:
    return [k for k in store.list(f"{area}/") if catalog.is_payload(k)]


def publish_inventory(store: Store, area: str, origin: str = "") -> Inventory:
    """Publish the list of every payload in an area (a no-op when it is unchanged)."""
    keys = payload_keys(store, area)
    manifest, published = datasets.publish_manifest(
        store, area, fingerprint(keys), keys, len(keys), inputs={"from": origin} if origin else None
    )
    return Inventory(area, manifest.version, len(keys), published)


def latest_inventories(store: Store, areas: Iterable[str] = catalog.OBSERVATION_SOURCES) -> list[datasets.Manifest]:
    """The newest inventory of each area that has one."""
    found = []
    for area in areas:
        try:
            found.append(datasets.latest(store, area))
        except StoreError:
            continue
    return found


def read_payloads(store: Store, keys: Iterable[str]) -> Iterator[tuple[PayloadKind, str, bytes]]:
    """(kind, key, bytes) of each payload, read one at a time."""
    for key in keys:
        yield catalog.payload_kind(key), key, store.read_bytes(key)


def delete_payload(store: Store, key: str) -> None:
    """Remove a payload and its metadata (an operator's decision about a quarantined file)."""
    store.delete(key)
    store.delete(catalog.meta_key(key))
