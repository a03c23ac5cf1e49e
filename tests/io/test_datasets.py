"""Datasets as Parquet: text written from categoricals, and read back as columns or categoricals."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airwatch.io import datasets
from airwatch.io.store import LocalStore


def _observations(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    # Categories in order of first appearance, as the parsers make them: not sorted.
    sites = pd.Categorical(rng.choice(["36-081-0124", "17-031-0001", "06-037-1103"], n),
                           categories=["36-081-0124", "17-031-0001", "06-037-1103"])  # fmt: skip
    names = pd.Categorical(rng.choice(["Queens College", "Cook", None], n))
    return pd.DataFrame(
        {"site_id": sites, "value": rng.random(n), "site_name": names, "day": np.arange(n, dtype=np.int32)}
    )


def _plain_parquet(frame: pd.DataFrame, row_group: int) -> bytes:
    # What publishing wrote before: the text made plain in pandas, then one write.
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    table = pa.Table.from_pandas(frame.astype(dict.fromkeys(text, "str")), preserve_index=False)
    sink = io.BytesIO()
    dictionary = [f.name for f in table.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
    pq.write_table(table, sink, compression="zstd", use_dictionary=dictionary, row_group_size=row_group)
    return sink.getvalue()


@pytest.mark.parametrize("numbers", [False, True])
def test_categoricals_are_written_as_text_a_row_group_at_a_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, numbers: bool
) -> None:
    monkeypatch.setattr(datasets, "ROW_GROUP", 1000)
    frame = _observations(2500)  # three row groups, the last one short
    if numbers:  # a categorical of numbers: the frame is made text in Arrow first
        frame["count"] = pd.Categorical(np.arange(2500) % 4)
    body = datasets.to_parquet_bytes(frame, plain_text=True)
    file = pq.ParquetFile(io.BytesIO(body))
    assert file.metadata.num_row_groups == 3
    # Text to any Parquet reader (no Arrow schema recording a categorical), what the frame made text
    # gives to pandas and to the package's reader, as the frame made text and written whole did.
    text = [file.schema_arrow.field(c).type for c in ("site_id", "site_name", "count") if c in frame]
    assert all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in text)
    before = _plain_parquet(frame, 1000)
    back = pd.read_parquet(io.BytesIO(body))
    pd.testing.assert_frame_equal(back, pd.read_parquet(io.BytesIO(before)))
    assert back["site_id"].dtype == "str" and back["site_id"].tolist() == frame["site_id"].astype(str).tolist()
    assert back["site_name"].isna().sum() == frame["site_name"].isna().sum() > 0
    if numbers:
        assert back["count"].tolist() == frame["count"].astype(str).tolist()
    stores = [_stored(tmp_path / name, b) for name, b in (("now", body), ("before", before))]
    for categorical in (False, True):
        ours, theirs = (datasets.read(store, datasets.latest(store, "d"), categorical=categorical) for store in stores)
        pd.testing.assert_frame_equal(ours, theirs)
    # Without plain_text a categorical stays categorical, as before.
    assert isinstance(pd.read_parquet(io.BytesIO(datasets.to_parquet_bytes(frame)))["site_id"].dtype,
                      pd.CategoricalDtype)  # fmt: skip


def _stored(folder: Path, body: bytes) -> LocalStore:
    """A store with one published dataset, "d", of one part: these bytes."""
    store = LocalStore(folder)
    store.write_bytes("d/part.parquet", body)
    datasets.publish_manifest(store, "d", "v1", ["d/part.parquet"], pq.ParquetFile(io.BytesIO(body)).metadata.num_rows)
    return store


def test_a_reader_gets_the_columns_it_asks_for_with_text_as_sorted_categoricals(tmp_path) -> None:
    store = LocalStore(tmp_path)
    frame = _observations(300)
    manifest, _ = datasets.publish(store, "processed/demo", "v1", frame, plain_text=True)

    everything = datasets.read(store, manifest)
    assert list(everything.columns) == list(frame.columns) and everything["site_id"].dtype == "str"

    subset = datasets.read(store, manifest, ["day", "site_id", "site_name"], categorical=True)
    assert list(subset.columns) == ["day", "site_id", "site_name"]
    site = subset["site_id"]
    assert isinstance(site.dtype, pd.CategoricalDtype) and list(site.cat.categories) == sorted(site.cat.categories)
    assert site.astype(str).tolist() == everything["site_id"].tolist()
    assert subset["site_name"].isna().tolist() == everything["site_name"].isna().tolist()
    # Sorting and grouping by the categorical order the rows as the text does.
    by_category = subset.sort_values(["site_id", "day"], kind="stable")["day"].tolist()
    assert by_category == everything.sort_values(["site_id", "day"], kind="stable")["day"].tolist()


def test_the_transform_columns_read_as_categoricals_give_the_same_features(tmp_path, sample_observations) -> None:
    # The transform stage reads the published observations so (only its columns, text as categoricals):
    # each pollutant's feature frame must equal the one made from every column as plain text.
    from airwatch.domain.parse import concat_observations
    from airwatch.domain.transform import OBSERVATION_COLUMNS, FeatureConfig, feature_frame
    from airwatch.domain.validate import clean

    parsed = concat_observations([sample_observations])  # text as categoricals, as validate has it
    valid = clean(parsed, pd.DataFrame(columns=["site_id", "latitude", "longitude"]), max_day=20_000).result.valid
    store = LocalStore(tmp_path)
    manifest, _ = datasets.publish(store, "processed/observations", "v1", valid, plain_text=True)
    plain = datasets.read(store, manifest)
    narrow = datasets.read(store, manifest, OBSERVATION_COLUMNS, categorical=True)
    assert narrow.memory_usage(deep=True).sum() < plain.memory_usage(deep=True).sum() / 3
    for pollutant in ("pm25", "ozone"):
        a, b = feature_frame(plain, pollutant, FeatureConfig()), feature_frame(narrow, pollutant, FeatureConfig())
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert a.sources() == b.sources() and a.auxiliary == b.auxiliary


def test_the_rows_of_one_day_are_those_a_whole_read_gives_filtered(tmp_path) -> None:
    # What predict reads: one issue day of a feature frame of years, batch by batch (here 3 batches).
    store = LocalStore(tmp_path)
    n = 150_000
    sites, days = np.repeat(np.arange(n // 100).astype(str), 100), np.tile(np.arange(100), n // 100)
    sources = pd.Categorical(np.where(np.arange(n) % 3, "AQS", "AirNow"))
    frame = pd.DataFrame({"site_id": sites, "day": days, "value_source": sources})
    frame["date"] = (np.datetime64("2019-01-01") + frame["day"].to_numpy().astype("timedelta64[D]")).astype(
        "datetime64[ms]"
    )
    manifest, _ = datasets.publish(store, "processed/features/pm25", "v1", frame)
    day = pd.Timestamp("2019-04-10")
    whole = datasets.read(store, manifest)
    expected = whole[whole["date"] == day].reset_index(drop=True)
    got = datasets.read_rows_on(store, manifest, "date", day)
    assert len(got) == n // 100
    pd.testing.assert_frame_equal(got, expected)
    assert datasets.read_rows_on(store, manifest, "date", pd.Timestamp("2030-01-01")).empty


def test_a_frame_longer_than_a_row_group_is_written_as_parts_side_by_side_and_read_as_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(datasets, "ROW_GROUP", 1000)
    store = LocalStore(tmp_path)
    frame = _observations(2501)
    manifest, _ = datasets.publish(store, "processed/demo", "v1", frame, plain_text=True)
    assert len(manifest.parts) == datasets.WRITERS == 2 and manifest.rows == 2501
    files = [pq.ParquetFile(io.BytesIO(store.read_bytes(p))) for p in manifest.parts]
    assert [f.metadata.num_rows for f in files] == [1250, 1251]
    assert [f.metadata.num_row_groups for f in files] == [5, 6]  # quarter-size groups: fewer rows converted at once
    text = frame.astype({"site_id": "str", "site_name": "str"})
    text["site_name"] = text["site_name"].where(frame["site_name"].notna())
    pd.testing.assert_frame_equal(datasets.read(store, manifest), text, check_dtype=False)
    categorical = datasets.read(store, manifest, ["site_id", "day"], categorical=True)
    assert categorical["site_id"].astype(str).tolist() == text["site_id"].tolist()
    one_day = datasets.read_rows_on(store, manifest, "day", 1800)
    assert one_day["value"].tolist() == [frame["value"].iloc[1800]]
    small, _ = datasets.publish(store, "processed/demo", "v2", frame.head(1000), plain_text=True)
    assert len(small.parts) == 1  # a row group's rows or fewer: one part, as before
