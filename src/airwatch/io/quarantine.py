"""Quarantined files: whole payloads no stage could read, kept in raw/ and set aside until an operator acts.

Each is a small record under ``quarantine/files/``. Later runs skip a held payload (one log line, not
another failure) until it is released, when the next run tries it again (say, after an upgrade that
reads its layout), or deleted, when the payload itself leaves the store. Rows that break a rule are
quarantined per validate version instead (``quarantine/validate/<version>/``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from airwatch import catalog
from airwatch.domain.validate import Cleaned, Rejected
from airwatch.io import raw
from airwatch.io.datasets import to_parquet_bytes
from airwatch.io.store import Store, StoreError


@dataclass(frozen=True)
class HeldFile:
    key: str
    reason: str
    stage: str
    at_utc: str
    code_version: str


def held(store: Store) -> dict[str, HeldFile]:
    """Every held payload by raw key."""
    records = [json.loads(store.read_bytes(k)) for k in store.list(catalog.QUARANTINED_FILES) if k.endswith(".json")]
    return {r["key"]: HeldFile(**r) for r in records}


def hold(store: Store, rejected: list[Rejected], *, stage: str, code_version: str) -> list[HeldFile]:
    at = datetime.now(UTC).isoformat(timespec="seconds")
    records = [HeldFile(r.key, r.reason, stage, at, code_version) for r in rejected]
    for record in records:
        body = json.dumps(asdict(record), indent=2).encode()
        store.write_bytes(catalog.quarantined_file_key(record.key), body, if_absent=True)
    return records


def _find(store: Store, key: str) -> HeldFile:
    found = held(store)
    if key not in found:
        names = ", ".join(sorted(found)) or "none"
        raise StoreError(f"{key} is not a quarantined file (quarantined: {names})")
    return found[key]


def release(store: Store, key: str) -> HeldFile:
    """Take a payload out of quarantine: the next validate run reads it again."""
    record = _find(store, key)
    store.delete(catalog.quarantined_file_key(key))
    return record


def delete(store: Store, key: str) -> HeldFile:
    """Remove a quarantined payload from the store for good, and from its area's inventory."""
    record = _find(store, key)
    raw.delete_payload(store, key)
    store.delete(catalog.quarantined_file_key(key))
    area = next((a for a in (*catalog.OBSERVATION_SOURCES, catalog.RAW_WEATHER) if key.startswith(f"{a}/")), None)
    if area is not None:
        raw.publish_inventory(store, area, f"after deleting {key}")
    return record


def save_rows(store: Store, version: str, cleaned: Cleaned) -> None:
    """Rows a validate run set aside: quarantined with their reasons, and revisions superseded by newer ones.

    Written before the quarantine threshold is checked, so a failed run can be inspected.
    """
    if not cleaned.superseded.empty:
        # Older revisions stay traceable: each names the raw object that replaced it.
        store.write_bytes(catalog.superseded_key(version), to_parquet_bytes(cleaned.superseded, plain_text=True))
    if not cleaned.result.quarantined.empty:
        quarantined = to_parquet_bytes(cleaned.result.quarantined, plain_text=True)
        store.write_bytes(catalog.quarantined_rows_key(version), quarantined)
        reasons = json.dumps(cleaned.result.reason_counts(), indent=2).encode()
        store.write_bytes(catalog.quarantine_reasons_key(version), reasons)
