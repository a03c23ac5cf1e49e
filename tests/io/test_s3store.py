"""S3Store against a real S3 endpoint: moto's server on loopback, over HTTP."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pandas as pd
import pytest

from airwatch.io import datasets
from airwatch.io.s3store import S3Store
from airwatch.io.store import StoreError, StoreLock, lock_holder, open_store
from tests.fakes import iam
from tests.fakes.moto_s3 import moto_server

SECRET = "moto-secret-never-shown"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def s3_env(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The standard AWS variables pointing at moto; the store reads nothing else."""
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return endpoint


@pytest.fixture
def bucket(s3_env: str) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_env).create_bucket(Bucket=name)
    return name


def test_open_store_dispatches_s3(bucket: str) -> None:
    store = open_store(f"s3://{bucket}/store/")
    assert isinstance(store, S3Store)
    assert store.url == f"s3://{bucket}/store"


def test_roundtrip_overwrite_and_delete(bucket: str) -> None:
    store = S3Store(f"s3://{bucket}/root")
    assert not store.exists("a/b.txt")
    assert store.write_bytes("a/b.txt", b"one")
    assert store.exists("a/b.txt")
    assert not store.exists("a")  # a prefix is not an object
    assert store.read_bytes("a/b.txt") == b"one"
    assert store.write_bytes("a/b.txt", b"two")  # a plain write replaces
    assert store.read_bytes("a/b.txt") == b"two"
    store.delete("a/b.txt")
    store.delete("a/b.txt")  # deleting what is gone is no error
    assert not store.exists("a/b.txt")
    with pytest.raises(StoreError, match=r"no object at s3://.*/root/a/b\.txt"):
        store.read_bytes("a/b.txt")


def test_list_is_sorted_and_scoped(bucket: str) -> None:
    store = S3Store(f"s3://{bucket}/root")
    for key in ("p/z.bin", "p/a/2.bin", "p/a/10.bin", "pq/x.bin", "other/y.bin"):
        store.write_bytes(key, key.encode())
    assert store.list("p") == ["p/a/10.bin", "p/a/2.bin", "p/z.bin"]
    assert store.list("p/") == store.list("p")
    assert store.list("p/z.bin") == ["p/z.bin"]
    assert store.list("missing") == []
    assert store.list("") == ["other/y.bin", "p/a/10.bin", "p/a/2.bin", "p/z.bin", "pq/x.bin"]
    # The prefix is the store's root: objects beside it are not listed.
    S3Store(f"s3://{bucket}/root2").write_bytes("p/other.bin", b"x")
    assert "p/other.bin" not in store.list("p")


def test_create_only_never_overwrites(bucket: str) -> None:
    store = S3Store(f"s3://{bucket}/root")
    assert store.write_bytes("m/manifest.json", b"first", if_absent=True)
    assert not store.write_bytes("m/manifest.json", b"second", if_absent=True)
    assert store.read_bytes("m/manifest.json") == b"first"


def test_create_only_is_decided_by_the_server(bucket: str, s3_env: str) -> None:
    """A writer that does not know the key exists (no listing, no HEAD) is still refused."""
    boto3.client("s3", endpoint_url=s3_env).put_object(Bucket=bucket, Key="root/k", Body=b"other tool")
    assert not S3Store(f"s3://{bucket}/root").write_bytes("k", b"mine", if_absent=True)


def test_invalid_keys_are_refused(bucket: str) -> None:
    store = S3Store(f"s3://{bucket}/root")
    for key in ("", "/abs", "a//b", "../up", "a/./b"):
        with pytest.raises(StoreError, match="invalid key"):
            store.write_bytes(key, b"x")


def test_errors_name_the_key_and_hide_credentials(s3_env: str) -> None:
    store = S3Store("s3://no-such-bucket-here/root")
    with pytest.raises(StoreError) as info:
        store.write_bytes("k/v.bin", b"x")
    message = str(info.value)
    assert "s3://no-such-bucket-here/root/k/v.bin" in message
    assert "NoSuchBucket" in message
    assert SECRET not in message


def test_store_lock_on_s3(bucket: str) -> None:
    store = S3Store(f"s3://{bucket}/root")
    with (
        StoreLock(store, "publish", owner="a", timeout=0.2),
        pytest.raises(StoreError, match="could not take lock"),
        StoreLock(store, "publish", owner="b", timeout=0.2),
    ):
        pass
    assert lock_holder(store, "publish") is None


def _payload(writer: int, size: int = 256 * 1024) -> bytes:
    return bytes([writer]) * size


def _thread_race(url: str, key: str) -> dict[int, bool]:
    stores = {w: S3Store(url) for w in (1, 2)}  # two writers, two S3 clients
    barrier = threading.Barrier(2)
    results: dict[int, bool] = {}

    def publish(writer: int) -> None:
        barrier.wait()
        results[writer] = stores[writer].write_bytes(key, _payload(writer), if_absent=True)

    threads = [threading.Thread(target=publish, args=(w,)) for w in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_threads_publish_one_key_exactly_one_wins(bucket: str) -> None:
    url = f"s3://{bucket}/root"
    for n in range(4):
        key = f"race/{n}/manifest.json"
        results = _thread_race(url, key)
        assert sorted(results.values()) == [False, True], results
        winner = next(w for w, won in results.items() if won)
        assert S3Store(url).read_bytes(key) == _payload(winner)


def _race_writer(url: str, key: str, writer: int, start: Any, out: Any) -> None:
    store = S3Store(url)
    start.wait()
    out.put((writer, store.write_bytes(key, _payload(writer), if_absent=True)))


def test_two_processes_publish_one_key_exactly_one_wins(bucket: str) -> None:
    ctx = multiprocessing.get_context("spawn")  # no event loop or connection pool inherited
    url, key = f"s3://{bucket}/root", "race/proc/manifest.json"
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_race_writer, args=(url, key, w, start, out)) for w in (1, 2)]
    for p in procs:
        p.start()
    start.set()
    results = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(results.values()) == [False, True], results
    winner = next(w for w, won in results.items() if won)
    # Readers see one whole object, the winner's, never a mix or a part.
    assert S3Store(url).read_bytes(key) == _payload(winner)


def test_two_runs_publishing_one_dataset_version_on_s3_one_wins(bucket: str) -> None:
    """The dataset level: parts are run-scoped, the create-only claim picks the publisher, readers see it whole."""
    url = f"s3://{bucket}/store"
    start = threading.Barrier(2)
    results: dict[int, tuple[datasets.Manifest, bool]] = {}

    def publish(i: int) -> None:
        store = S3Store(url)
        start.wait()
        results[i] = datasets.publish(store, "processed/demo", "v1", pd.DataFrame({"x": [i] * 5000}))

    threads = [threading.Thread(target=publish, args=(i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(written for _, written in results.values()) == [False, True]
    assert results[1][0] == results[2][0]  # the run that lost was handed the winner's manifest
    store = S3Store(url)
    assert len(store.list("processed/demo/_manifests/")) == 1
    winner = next(i for i, (_, written) in results.items() if written)
    frame = datasets.read(store, datasets.latest(store, "processed/demo"))
    assert len(frame) == 5000 and (frame["x"] == winner).all()


@pytest.mark.parametrize("root", ["root", ""])
def test_each_operation_sends_the_requests_the_iam_simulation_assumes(bucket: str, root: str) -> None:
    """tests/flows/test_least_privilege.py judges store operations by fakes.iam.store_requests: here
    are the S3 requests S3Store really sends for each, with the key or prefix they name. In particular
    exists() and list() never HEAD, which a role whose listing is limited by s3:prefix is refused."""
    store = S3Store(f"s3://{bucket}/{root}" if root else f"s3://{bucket}")
    sent: list[iam.Request] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append(iam.s3_request(model.name, bucket, key=params.get("Key"), prefix=params.get("Prefix"),
                                   if_none_match=params.get("IfNoneMatch")))  # fmt: skip

    store._fs.connect()
    store._fs.s3.meta.events.register("before-parameter-build.s3", record)
    store.write_bytes("p/kept.json", b"x")
    calls = [
        ("write", "p/a.json", lambda: store.write_bytes("p/a.json", b"x")),
        ("create", "p/b.json", lambda: store.write_bytes("p/b.json", b"x", if_absent=True)),
        ("create", "p/b.json", lambda: store.write_bytes("p/b.json", b"y", if_absent=True)),  # refused by S3
        ("exists", "p/a.json", lambda: store.exists("p/a.json")),
        ("exists", "p/missing.json", lambda: store.exists("p/missing.json")),
        ("list", "p/", lambda: store.list("p/")),
        ("list", "empty/", lambda: store.list("empty/")),
        ("list", "p/kept.json", lambda: store.list("p/kept.json")),
        ("read", "p/a.json", lambda: store.read_bytes("p/a.json")),
        ("delete", "p/a.json", lambda: store.delete("p/a.json")),
    ]
    for op, key, call in calls:
        sent.clear()
        call()
        assert sent == iam.store_requests(op, key, bucket, root), (op, key)
