from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from airwatch import catalog
from airwatch.io import datasets
from airwatch.io.store import LocalStore, StoreError, StoreLock, lock_holder, open_store


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


def test_a_lock_left_by_a_killed_process_is_broken_by_the_next_taker(tmp_path, caplog) -> None:
    """A run killed while holding a lock (no release, no atexit): the next run takes it at once, and says so."""
    script = (
        "import os, signal, sys\n"
        "from airwatch.io.store import LocalStore, StoreLock\n"
        "StoreLock(LocalStore(sys.argv[1]), 'promotion-pm25', owner='killed').__enter__()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path)], timeout=120)
    store = LocalStore(tmp_path)
    (ticket,) = store.list("locks/promotion-pm25/")
    assert killed.returncode == -signal.SIGKILL and json.loads(store.read_bytes(ticket))["owner"] == "killed"
    start = time.monotonic()
    taker = StoreLock(store, "promotion-pm25", owner="next", timeout=30)
    with caplog.at_level(logging.WARNING, "airwatch.io.store"), taker:
        assert lock_holder(store, "promotion-pm25") == "next"
    assert time.monotonic() - start < 5 and lock_holder(store, "promotion-pm25") is None
    assert "held by killed, whose process" in caplog.text and "on this machine has ended; breaking it" in caplog.text


def test_a_live_holder_keeps_its_lock_and_a_silent_one_elsewhere_loses_it_after_the_ttl(tmp_path, caplog) -> None:
    store = LocalStore(tmp_path)
    with StoreLock(store, "demo", owner="alive"), pytest.raises(StoreError, match="could not take lock"):
        StoreLock(store, "demo", owner="waiter", timeout=0.3).__enter__()
    # A holder on another machine cannot be asked whether it runs: only its age counts.
    elsewhere = {"owner": "far", "machine": "other-host/pid:[1]", "pid": 1}
    ticket = catalog.lock_ticket_key("demo", 1)
    store.write_bytes(ticket, json.dumps({**elsewhere, "since": time.time()}).encode())
    with pytest.raises(StoreError, match="could not take lock"):
        StoreLock(store, "demo", owner="waiter", timeout=0.3, ttl=60).__enter__()
    store.write_bytes(ticket, json.dumps({**elsewhere, "since": time.time() - 120}).encode())
    with caplog.at_level(logging.WARNING, "airwatch.io.store"), StoreLock(store, "demo", owner="waiter", ttl=60):
        assert lock_holder(store, "demo", ttl=60) == "waiter"
    assert "held by far for 120s, longer than its 60s; breaking it" in caplog.text


def test_store_lock_serializes_holders_and_deletes_nothing(tmp_path) -> None:
    store = LocalStore(tmp_path)
    inside, overlaps, deleted = [0], [], []
    store.delete = lambda key: deleted.append(key)  # type: ignore[method-assign]

    def hold(owner: str) -> None:
        for _ in range(5):
            with StoreLock(store, "promotion-pm25", owner=owner, timeout=30):
                inside[0] += 1
                overlaps.append(inside[0])
                time.sleep(0.002)
                inside[0] -= 1

    threads = [threading.Thread(target=hold, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1] * 15  # never two holders at once
    assert deleted == []
    assert len(store.list("locks/promotion-pm25/")) == 15  # one ticket per taking
    assert lock_holder(store, "promotion-pm25") is None


def test_store_lock_waits_for_a_holder_then_breaks_a_stale_ticket(tmp_path) -> None:
    store = LocalStore(tmp_path)
    crashed = StoreLock(store, "p", owner="crashed", ttl=0.3)
    crashed.__enter__()  # never released, as by a process that died
    assert lock_holder(store, "p", ttl=0.3) == "crashed"
    with pytest.raises(StoreError, match="could not take lock"), StoreLock(store, "p", owner="b", timeout=0.1, ttl=0.3):
        pass
    time.sleep(0.35)
    with StoreLock(store, "p", owner="c", ttl=0.3) as taken:
        assert lock_holder(store, "p", ttl=0.3) == "c"
        crashed.__exit__(None, None, None)  # the crashed holder comes back: it releases its own ticket only
        assert lock_holder(store, "p", ttl=0.3) == "c"
    assert taken.ticket is None and lock_holder(store, "p") is None


def test_a_reader_that_may_not_write_still_gets_a_claimed_version(tmp_path) -> None:
    """select or predict finding a claim without its manifest: they may not publish it, yet they read it."""
    store = LocalStore(tmp_path)
    manifest, _ = datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [1]}))
    store.delete(manifest.key)

    def refuse(key: str, data: bytes, *, if_absent: bool = False) -> bool:
        raise StoreError(f"could not write {key}: AccessDenied")

    store.write_bytes = refuse  # type: ignore[method-assign]
    assert datasets.find_version(store, "processed/demo", "v1") == manifest
    assert not store.exists(manifest.key)
