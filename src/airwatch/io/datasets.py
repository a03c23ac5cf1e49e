"""Datasets in the store: immutable, version-scoped Parquet parts published by a manifest.

A dataset is named by its path in the store (``processed/observations``). A writer puts every part
under ``<dataset>/<version>/<run>/``, then claims the version with a create-only object holding the
manifest, then publishes ``<dataset>/_manifests/<created-utc>_<version>.json``. Readers follow the
newest manifest, so a crash mid-write never exposes a partial dataset; of two runs publishing the
same version, exactly one wins the claim; a version that already has a manifest is not written again
(the version is a fingerprint of the inputs and the code).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from airwatch import catalog, faults, memory
from airwatch.domain.schemas import POLLUTANTS
from airwatch.io import audit
from airwatch.io.store import Store, StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Manifest:
    """What a published dataset version holds and where it came from."""

    dataset: str
    version: str
    created_utc: str
    parts: list[str]
    rows: int
    inputs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return catalog.manifest_key(self.dataset, self.created_utc, self.version)


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-serializable inputs, used as a dataset version."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def utc_stamp(now: datetime | None = None) -> str:
    """A sortable UTC timestamp for names, to the microsecond: 20261126T041500.123456Z.

    Names sort by it (the newest manifest, training report, predictions file), so two written within
    one second must still sort in the order they were made.
    """
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")


def find_version(store: Store, dataset: str, version: str) -> Manifest | None:
    """The manifest of a published version, if any.

    A version claimed by a run that stopped before writing its manifest is published here, from the
    claim: the claim is written after every part, so what it lists is complete.
    """
    for key in store.list(catalog.manifest_prefix(dataset)):
        if key.endswith(f"_{version}.json"):
            return _load(store, key)
    claim = catalog.claim_key(dataset, version)
    if store.exists(claim):
        body = store.read_bytes(claim)
        manifest = Manifest(**json.loads(body))
        try:
            published = store.write_bytes(manifest.key, body, if_absent=True)
        except StoreError:
            # A stage that only reads this dataset may not write it (deploy/iam/): it still gets the
            # complete version, and the stage that makes the dataset publishes it on its next run.
            published = False
        if published:
            log.warning("%s %s: claimed by a run that stopped before its manifest; published now from the claim",
                        dataset, version)  # fmt: skip
            _audit(store, manifest, recovered_from_claim=True)
        return manifest
    return None


def latest(store: Store, dataset: str) -> Manifest:
    """The newest published version of a dataset."""
    keys = [k for k in store.list(catalog.manifest_prefix(dataset)) if k.endswith(".json")]
    if not keys:
        raise StoreError(f"dataset {dataset!r} has no published version in {store.url}; run the stage that makes it")
    return _load(store, keys[-1])


def _load(store: Store, key: str) -> Manifest:
    return Manifest(**json.loads(store.read_bytes(key)))


ROW_GROUP = 1024 * 1024  # Arrow's default longest row group, so writing a group at a time gives the same file
READERS = 2  # columns read side by side (read): the machine's two cores
# A frame of more rows than a row group is written as WRITERS parts side by side: Arrow encodes and
# compresses a file's columns on one thread, and the national feature frame (1.4 M rows) took 0.83-0.89 s
# as one part against 0.52-0.58 s as two. Each part is converted a quarter-size row group at a time, so
# that the two convert half the rows one did at once: with half-size groups the transform stage peaked
# 72 MB higher (1,415 MB), with quarter-size ones 28-66 MB (1,372-1,413 MB; docs/core.md), under the
# training's peak or close to it. Read back, the parts are one frame, in order.
WRITERS = 2


def to_parquet_bytes(frame: pd.DataFrame, *, plain_text: bool = False, row_group: int | None = None) -> bytes:
    """A frame as Parquet.

    plain_text: categorical columns of text are stored as text: read back, the frame is that of the
    same frame made text (`.astype("str")`), column for column. Their codes and categories go to
    Parquet's dictionary pages as they are, with pandas' record of the text frame and no Arrow schema
    (which would record them as categorical). Made text first, in pandas (a new object per row) or
    in Arrow (each row's string, then hashed again into Parquet's dictionary), a national validate's
    2 M observations took 0.9-3.0 s to write against 0.6 s, and transient memory grew with the rows.
    Categoricals of other values are made text first.
    """
    # A row group at a time (ROW_GROUP rows unless row_group says), from pandas too: Arrow's copy of a
    # frame of millions of rows (its float columns with their NaNs as nulls) is hundreds of MB.
    row_group = row_group or ROW_GROUP
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)] if plain_text else []
    as_text = schema
    if text:
        as_text = pa.Table.from_pandas(frame.iloc[:0].astype(dict.fromkeys(text, "str")), preserve_index=False).schema
    coded = all(_is_text(schema.field(c).type.value_type) for c in text)
    written, metadata = (schema if coded else as_text), as_text.metadata
    sink = io.BytesIO()
    # Dictionary pages only where the data are categorical: on float columns they cost time, not bytes.
    dictionary = [f.name for f in written if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
    with pq.ParquetWriter(sink, written.with_metadata(metadata), compression="zstd", use_dictionary=dictionary,
                          store_schema=not (text and coded)) as writer:  # fmt: skip
        for start in range(0, max(len(frame), 1), row_group):
            group = pa.Table.from_pandas(frame.iloc[start : start + row_group], schema=schema, preserve_index=False)
            writer.write_table((group if coded else group.cast(written)).replace_schema_metadata(metadata))
            del group
    return sink.getvalue()


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def publish(
    store: Store,
    dataset: str,
    version: str,
    frame: pd.DataFrame,
    *,
    inputs: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    plain_text: bool = False,
) -> tuple[Manifest, bool]:
    """Write a version and publish its manifest. Returns (manifest, written); an existing version wins.

    plain_text: categorical columns are stored as text (to_parquet_bytes).
    """
    existing = find_version(store, dataset, version)
    if existing is not None:
        return existing, False
    _note_unpublished_runs(store, dataset, version)
    run = uuid.uuid4().hex[:12]
    count = WRITERS if len(frame) > ROW_GROUP else 1
    bounds = [len(frame) * i // count for i in range(count + 1)]

    def write(i: int) -> str:
        part = catalog.part_key(dataset, version, run, i)
        rows = frame.iloc[bounds[i] : bounds[i + 1]] if count > 1 else frame
        group = ROW_GROUP // (2 * count) if count > 1 else None
        store.write_bytes(part, to_parquet_bytes(rows, plain_text=plain_text, row_group=group))
        return part

    if count == 1:
        parts = [write(0)]
    else:
        with ThreadPoolExecutor(count, thread_name_prefix="write-part") as pool:
            parts = list(pool.map(write, range(count)))
    faults.checkpoint("publish.part")
    return publish_manifest(store, dataset, version, parts, len(frame), inputs=inputs, extra=extra)


def _note_unpublished_runs(store: Store, dataset: str, version: str) -> None:
    """Say so when earlier runs left parts of this version that no manifest lists.

    They are a run that stopped before claiming the version, or one still writing: they are never
    read, and never deleted here, since a writer that is alive would then claim parts that are gone.
    """
    runs = {k.split("/")[-2] for k in store.list(f"{dataset}/{version}/")}
    if runs:
        log.warning("%s %s: ignoring the parts of %d earlier run(s) that did not publish it (%s)", dataset, version,
                    len(runs), ", ".join(sorted(runs)))  # fmt: skip


def publish_manifest(
    store: Store,
    dataset: str,
    version: str,
    parts: list[str],
    rows: int,
    *,
    inputs: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[Manifest, bool]:
    """Publish a manifest over objects already written. Returns (manifest, written).

    Of two runs publishing the same version at once, the one whose claim is created first publishes;
    the other gets that manifest back and written=False, and its parts are never read.
    """
    existing = find_version(store, dataset, version)
    if existing is not None:
        return existing, False
    manifest = Manifest(dataset, version, utc_stamp(), parts, rows, inputs or {}, extra or {})
    body = json.dumps(asdict(manifest), indent=2).encode()
    if not store.write_bytes(catalog.claim_key(dataset, version), body, if_absent=True):
        winner = find_version(store, dataset, version)
        assert winner is not None, "a claimed version always has a manifest or its claim"
        return winner, False
    faults.checkpoint("publish.claim")
    # Recorded between the claim and the manifest: a version is never visible without its record. If
    # the record cannot be written, the run fails before publishing, and its retry (or a reader)
    # publishes the claimed version with a record of its own.
    _audit(store, manifest)
    store.write_bytes(manifest.key, body, if_absent=True)
    return manifest, True


def _audit(store: Store, manifest: Manifest, **extra: Any) -> None:
    what = {"dataset": manifest.dataset, "version": manifest.version, "rows": manifest.rows,
            "manifest": manifest.key, "inputs": manifest.inputs, **extra}  # fmt: skip
    audit.record(store, "publish", what)


def read(
    store: Store, manifest: Manifest, columns: Sequence[str] | None = None, *, categorical: bool = False
) -> pd.DataFrame:
    """All parts of a published version as one frame.

    columns: only these (default: all). categorical: text columns as pandas categoricals with sorted
    categories, so that sorting and grouping by them order rows as the plain text would; a text
    repeated on every row (site id, site name, sample duration) then costs a small code per row.

    The frame is built a column at a time: converting a whole Arrow table held it and the frame side
    by side (a national feature frame of 0.66 GB read at a 1.3-1.6 GB peak; a column at a time 0.92 GB),
    and each column is its own block, so nothing is consolidated into one more copy. Two columns are
    decoded at once, each by a thread with readers of its own over the parts' bytes: Arrow decodes one
    column on one thread, and the national feature frame read in 0.33-0.40 s instead of 0.54-1.68 s
    (docs/core.md, "... a frame read two columns at a time").
    """
    bodies = [store.read_bytes(p) for p in manifest.parts]
    files = [_open_part(body, categorical) for body in bodies]
    names = list(columns) if columns is not None else _union(f.schema_arrow.names for f in files)
    own = threading.local()

    def column(name: str) -> pd.Series:
        if not hasattr(own, "files"):
            own.files = [_open_part(body, categorical) for body in bodies]
        parts = own.files
        tables = [f.read(columns=[name], use_threads=False) if name in f.schema_arrow.names else _nulls(name, f)
                  for f in parts]  # fmt: skip
        table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
        del tables
        # The parts' dictionaries become one categorical.
        return table.to_pandas(self_destruct=True)[name]

    with ThreadPoolExecutor(READERS, thread_name_prefix="read-column") as pool:
        data = dict(zip(names, pool.map(column, names), strict=True))
    frame = pd.DataFrame(data, copy=False) if names else pd.DataFrame(index=pd.RangeIndex(_rows(files)))
    del data
    release_memory()  # what the Arrow columns held
    return _sorted_categories(frame) if categorical else frame


def _open_part(body: bytes, categorical: bool) -> pq.ParquetFile:
    # Arrow's own reader over the bytes: a Python file object would copy every page through the interpreter.
    text = [f.name for f in pq.read_schema(pa.BufferReader(body)) if _is_text(f.type)] if categorical else None
    return pq.ParquetFile(pa.BufferReader(body), read_dictionary=text)


def _union(names: Iterable[list[str]]) -> list[str]:
    return list(dict.fromkeys(name for part in names for name in part))


def _nulls(name: str, part: pq.ParquetFile) -> pa.Table:
    # A column a part does not have: missing values on its rows (as concat_tables' promotion would give).
    return pa.table({name: pa.nulls(part.metadata.num_rows)})


def _rows(files: list[pq.ParquetFile]) -> int:
    return sum(f.metadata.num_rows for f in files)


def release_memory() -> None:
    """Hand the memory of dropped frames and tables back to the system.

    A frame read from Parquet lives in Arrow's memory pool (pyarrow builds pandas' blocks there), and
    the pool keeps what is freed for its next allocations instead of returning it: a stage that drops
    a GB frame would hold those pages to its end (national training: 0.7 GB). glibc's malloc does the
    same with what threads free in their own arenas (the parse tasks' text and vectors, pandas'
    sorting and grouping in a task's thread): 0.3 GB of 0.9 GB after parsing 4 M observations.
    """
    memory.release()


def read_rows_on(store: Store, manifest: Manifest, column: str, value: Any) -> pd.DataFrame:
    """The rows whose column equals value, every column, in order; as read() would give them filtered.

    Read a batch at a time: the predict stage wants one day of a feature frame that holds years.
    """
    tables = []
    for key in manifest.parts:
        source = pq.ParquetFile(pa.BufferReader(store.read_bytes(key)))
        wanted = pa.scalar(value, type=source.schema_arrow.field(column).type)
        kept = [b.filter(pc.equal(b.column(column), wanted)) for b in source.iter_batches(batch_size=65_536)]
        tables.append(pa.Table.from_batches(kept, schema=source.schema_arrow))
    table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    return table.to_pandas()


def _sorted_categories(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            # Parquet's dictionaries keep the order of first appearance; pandas orders a categorical by it.
            frame[column] = frame[column].cat.reorder_categories(sorted(frame[column].cat.categories))
    return frame


def pollutants_with_features(store: Store) -> list[str]:
    """The pollutants that have a published feature frame (what train, select and predict work on)."""
    return [p for p in POLLUTANTS if store.list(catalog.manifest_prefix(catalog.features(p)))]
