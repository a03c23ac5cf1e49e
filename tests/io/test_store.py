from __future__ import annotations

import pandas as pd
import pytest

from airwatch.io import datasets
from airwatch.io.store import LocalStore, StoreError, open_store


def test_local_store_roundtrip_and_create_only(tmp_path) -> None:
    store = open_store(str(tmp_path))
    assert isinstance(store, LocalStore)
    assert store.write_bytes("a/b.txt", b"one")
    assert not store.write_bytes("a/b.txt", b"two", if_absent=True)
    assert store.read_bytes("a/b.txt") == b"one"
    assert store.list("a") == ["a/b.txt"]
    with pytest.raises(StoreError, match="no object"):
        store.read_bytes("missing")
    with pytest.raises(StoreError, match="escapes"):
        store.write_bytes("../outside", b"x")


def test_publish_is_idempotent_and_readers_follow_newest(tmp_path) -> None:
    store = LocalStore(tmp_path)
    frame = pd.DataFrame({"x": [1, 2, 3]})
    _, written = datasets.publish(store, "processed/demo", "v1", frame)
    assert written
    _, written_again = datasets.publish(store, "processed/demo", "v1", frame)
    assert not written_again
    assert len(store.list("processed/demo")) == 2  # one part, one manifest
    pd.testing.assert_frame_equal(datasets.read(store, datasets.latest(store, "processed/demo")), frame)
    with pytest.raises(StoreError, match="no published version"):
        datasets.latest(store, "processed/other")


def test_unpublished_parts_stay_invisible(tmp_path) -> None:
    """A crash after writing parts but before the manifest leaves the previous version in force."""
    store = LocalStore(tmp_path)
    datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [1]}))
    store.write_bytes("processed/demo/v2/part-0000.parquet", datasets.to_parquet_bytes(pd.DataFrame({"x": [9]})))
    assert datasets.latest(store, "processed/demo").version == "v1"
