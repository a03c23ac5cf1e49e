from __future__ import annotations

import threading

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
    assert len(store.list("processed/demo")) == 3  # one part, the claim, one manifest
    pd.testing.assert_frame_equal(datasets.read(store, datasets.latest(store, "processed/demo")), frame)
    with pytest.raises(StoreError, match="no published version"):
        datasets.latest(store, "processed/other")


def test_unpublished_parts_stay_invisible(tmp_path) -> None:
    """A crash after writing parts but before the manifest leaves the previous version in force."""
    store = LocalStore(tmp_path)
    datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [1]}))
    store.write_bytes("processed/demo/v2/part-0000.parquet", datasets.to_parquet_bytes(pd.DataFrame({"x": [9]})))
    assert datasets.latest(store, "processed/demo").version == "v1"


def test_of_two_runs_publishing_one_version_one_wins_and_readers_see_its_parts(tmp_path) -> None:
    store = LocalStore(tmp_path)
    barrier = threading.Barrier(2)
    results: dict[int, tuple[datasets.Manifest, bool]] = {}

    def publish(i: int) -> None:
        barrier.wait()
        results[i] = datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [i] * 1000}))

    threads = [threading.Thread(target=publish, args=(i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(written for _, written in results.values()) == [False, True]
    manifests = [k for k in store.list("processed/demo/_manifests/")]
    assert len(manifests) == 1
    winner = next(i for i, (_, written) in results.items() if written)
    assert results[1][0] == results[2][0]  # the loser gets the winner's manifest back
    read = datasets.read(store, datasets.latest(store, "processed/demo"))
    assert (read["x"] == winner).all() and len(read) == 1000


def test_a_claim_without_its_manifest_is_published_by_the_next_run(tmp_path) -> None:
    """A run that stopped between its claim and its manifest: the next run completes the publication."""
    store = LocalStore(tmp_path)
    manifest, _ = datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [1]}))
    store.delete(manifest.key)  # as if the run had died after the claim
    with pytest.raises(StoreError, match="no published version"):
        datasets.latest(store, "processed/demo")  # readers see nothing of it
    again, written = datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [2]}))
    assert not written and again == manifest
    assert datasets.read(store, datasets.latest(store, "processed/demo"))["x"].tolist() == [1]
