"""S3 failing under the store: errors, resets and stalls injected between the client and moto's server.

The requests go over HTTP to tests.fakes.fault_proxy, which forwards them to a real moto S3 server or
answers them with the fault: what a throttled, failing or hanging S3 looks like to botocore. Transient
faults must be retried to the same result; persistent ones must end in one error that names the
operation and the key, with the previous dataset version still whole and nothing partial visible.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import boto3
import pandas as pd
import pytest

from airwatch import catalog
from airwatch.io import datasets
from airwatch.io.s3store import S3Store
from airwatch.io.store import StoreError
from tests.fakes.fault_proxy import FaultProxy, fault_proxy
from tests.fakes.moto_s3 import moto_server

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def proxy(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """The store's endpoint is the proxy; the bucket is made on moto directly."""
    with fault_proxy(endpoint) as p:
        for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_MAX_ATTEMPTS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL", p.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield p


@pytest.fixture
def bucket(endpoint: str, proxy: FaultProxy) -> str:
    name = f"faults-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return name


def _frame(n: int, seed: int) -> pd.DataFrame:
    sites = [f"17-031-{i:04d}" for i in range(n)]
    return pd.DataFrame({"site_id": sites, "value": [float(seed + i) for i in range(n)]})


def test_transient_errors_resets_and_throttling_are_retried(bucket: str, proxy: FaultProxy) -> None:
    store = S3Store(f"s3://{bucket}/root")
    path = f"/{bucket}/root/a/"
    proxy.add("status", method="PUT", path_prefix=path, count=1, status=503)  # SlowDown
    proxy.add("status", method="PUT", path_prefix=path, count=1, status=500)  # InternalError
    proxy.add("reset", method="PUT", path_prefix=path, count=1)
    assert store.write_bytes("a/one.bin", b"payload one")
    proxy.add("status", method="GET", path_prefix=path, count=1, status=503)
    proxy.add("reset", method="GET", path_prefix=path, count=1)
    assert store.read_bytes("a/one.bin") == b"payload one"
    proxy.add("status", method="GET", path_prefix=f"/{bucket}?", count=1, status=500)  # ListObjectsV2
    assert store.list("a/") == ["a/one.bin"]
    puts = [s.fault for s in proxy.requests("PUT", path)]
    assert puts == ["status", "status", "reset", ""], puts  # three faults, then the fourth attempt went through
    assert [s.fault for s in proxy.requests("GET", path)][-1] == ""


def test_a_stall_past_the_read_timeout_is_retried(bucket: str, proxy: FaultProxy) -> None:
    store = S3Store(f"s3://{bucket}/root", read_timeout=1.0)
    store.write_bytes("slow.bin", b"arrives late")
    proxy.add("stall", method="GET", path_prefix=f"/{bucket}/root/slow.bin", count=1, seconds=3.0)
    started = time.monotonic()
    assert store.read_bytes("slow.bin") == b"arrives late"
    took = time.monotonic() - started
    gets = proxy.requests("GET", f"/{bucket}/root/slow.bin")
    assert [s.fault for s in gets] == ["stall", ""] and 1.0 <= took < 3.0, (gets, took)


def test_a_lost_answer_to_a_create_only_write_publishes_the_version_once(bucket: str, proxy: FaultProxy) -> None:
    """The claim's PUT is done by S3 but its answer is lost: the retry gets 412 from the claim just made.

    The run must not take its own claim for another run's, publish nothing, or publish twice: the
    version is published once, from the claim, with this run's rows.
    """
    store = S3Store(f"s3://{bucket}/root")
    name = "processed/things"
    proxy.add("reset-after", method="PUT", path_prefix=f"/{bucket}/root/{catalog.claim_key(name, 'v1')}", count=1)
    frame = _frame(50, 1)
    manifest, _ = datasets.publish(store, name, "v1", frame)
    assert [s.fault for s in proxy.requests("PUT", f"/{bucket}/root/{name}/_claims/")] == ["reset-after", ""]
    manifests = store.list(catalog.manifest_prefix(name))
    assert manifests == [manifest.key]
    pd.testing.assert_frame_equal(datasets.read(store, datasets.latest(store, name)), frame)


def test_persistent_write_faults_fail_once_naming_the_key_and_leave_the_previous_version(
    bucket: str, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # each attempt's backoff is what makes this test slow
    store = S3Store(f"s3://{bucket}/root")
    name = "processed/things"
    before = _frame(40, 0)
    datasets.publish(store, name, "v1", before)
    for action in ("status", "reset"):
        proxy.clear()
        proxy.add(action, method="PUT", path_prefix=f"/{bucket}/root/{name}/", status=503)
        with pytest.raises(StoreError) as failed:
            datasets.publish(store, name, "v2", _frame(60, 1))
        message = str(failed.value)
        assert message.startswith(f"could not write s3://{bucket}/root/{name}/v2/"), message
        assert message.endswith(": SlowDown" if action == "status" else "Error"), message
        puts = proxy.requests("PUT")
        # botocore's 2 attempts, and s3fs's one retry of botocore's call for throttling and broken
        # connections: 4, then the error; no other object was written after the part failed.
        assert len(puts) == 4 and {s.path.split("?")[0] for s in puts} == {puts[0].path.split("?")[0]}, puts
        # Readers still see v1, whole; v2 has no claim and no manifest.
        latest = datasets.latest(store, name)
        assert latest.version == "v1"
        pd.testing.assert_frame_equal(datasets.read(store, latest), before)
        assert datasets.find_version(store, name, "v2") is None
        assert not store.exists(catalog.claim_key(name, "v2"))


def test_a_persistent_fault_on_the_manifest_leaves_only_the_claim(
    bucket: str, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parts and the claim are written, the manifest is refused: readers see the previous version.

    The claim is complete by construction (written after every part): the next publish of the version
    (another run, or a reader's find_version) publishes it from there.
    """
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    store = S3Store(f"s3://{bucket}/root")
    name = "processed/things"
    datasets.publish(store, name, "v1", _frame(40, 0))
    proxy.add("status", method="PUT", path_prefix=f"/{bucket}/root/{name}/_manifests/", status=500)
    after = _frame(60, 1)
    with pytest.raises(StoreError, match=rf"could not write s3://{bucket}/root/{name}/_manifests/\S+_v2.json"):
        datasets.publish(store, name, "v2", after)
    assert datasets.latest(store, name).version == "v1"
    proxy.clear()
    manifest, _ = datasets.publish(store, name, "v2", _frame(70, 2))  # the retry: v2 is what the claim holds
    assert datasets.latest(store, name) == manifest
    pd.testing.assert_frame_equal(datasets.read(store, manifest), after)


def test_a_persistent_stall_ends_in_a_timeout_error_naming_the_key(
    bucket: str, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    store = S3Store(f"s3://{bucket}/root", read_timeout=0.5)
    store.write_bytes("hung.bin", b"never read")
    proxy.add("stall", method="GET", path_prefix=f"/{bucket}/root/hung.bin", seconds=2.0)
    started = time.monotonic()
    with pytest.raises(StoreError, match=rf"^could not read s3://{bucket}/root/hung.bin: ReadTimeoutError$"):
        store.read_bytes("hung.bin")
    took = time.monotonic() - started
    # botocore's 2 attempts, each of s3fs's two wrappers of a read once more: 8 read timeouts.
    assert len(proxy.requests("GET", f"/{bucket}/root/hung.bin")) == 8 and took < 15, took
