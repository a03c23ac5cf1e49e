"""The store on S3 (or an S3-compatible server), through s3fs.

``AIRWATCH_STORE=s3://bucket/prefix`` runs the same code as a local folder. The endpoint comes from
``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` (unset: AWS itself); credentials and region from the
standard AWS chain (environment, shared config files, instance role), never from AirWatch's settings.

Publishing relies on one S3 guarantee: a PUT with ``If-None-Match: *`` creates the object only if no
object has that key, atomically on the server, so of two writers publishing the same manifest exactly
one succeeds and the other gets ``412 Precondition Failed``. s3fs sends that header for
``pipe_file(..., mode="create")``.

Each operation makes the S3 requests the roles' policies (deploy/iam/, docs/security.md) allow, and
no other: ``read_bytes`` a GetObject (with s3fs's HeadObject, the same permission), ``write_bytes``
a PutObject, ``list`` and ``exists`` one ListObjectsV2 with the key or prefix as its ``Prefix``,
``delete`` a DeleteObject. ``exists`` and ``list`` never send a HeadObject: for a missing key S3
answers 404 only to a caller with ``s3:ListBucket`` on the whole bucket, and a role whose listing is
limited to its prefixes (``s3:prefix``) would get 403 instead of "absent".
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import s3fs
from aiobotocore.session import AioSession
from botocore.loaders import Loader, create_loader

from airwatch.io.store import Store, StoreError

# Retries and timeouts, set here rather than left to the libraries' defaults, which stack: botocore
# retries each request (legacy mode: 5 attempts), and s3fs retries botocore's whole call (5 times) on
# throttling and broken connections, a read timeout twice over (two retry loops around a read), so a
# lasting fault took 25 attempts on a write, and a hung read up to 125 read timeouts, before a run
# heard of it. botocore's "standard" mode retries what is worth retrying (500/502/503/504, SlowDown
# and the other throttling codes, connection errors, read timeouts) with jittered exponential
# backoff, 3 attempts in all; s3fs keeps one retry of its own, for what only it sees: a body cut
# short while it reads it (IncompleteRead, aiohttp's payload errors). So a write is tried at most 6
# times, a read 6 (12 on read timeouts). AWS_MAX_ATTEMPTS (the AWS SDKs' standard variable: attempts
# in all, the first included) changes botocore's 3.
_ATTEMPTS = 3
_S3FS_ATTEMPTS = 2
# Seconds: to open a connection, and of silence on an open one (per read, not the whole transfer: a
# large part that keeps arriving never times out).
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0

# S3 answers 409 ConditionalRequestConflict while another conditional write of the same key is in
# flight; AWS says to retry, and the retry then gets 412 if the other writer won.
_CONFLICT_RETRIES = 5


def _error_code(exc: BaseException) -> str | None:
    """The S3 error code behind an exception s3fs translated from a botocore ClientError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
            return str(code) if code is not None else None
        current = current.__cause__ or current.__context__
    return None


def _describe(exc: BaseException) -> str:
    # The error code (or the exception's type) says what went wrong; botocore's message text can
    # quote request details, so it stays out of StoreError messages.
    return _error_code(exc) or type(exc).__name__


@functools.cache
def _descriptions() -> Loader:
    """The reader of botocore's service and endpoint descriptions, one per process.

    Each botocore session parses them from JSON again for its first client (50-180 ms a store here; 4 s
    of a test run that opens stores by the dozen). They are the installed botocore's files: nothing in
    them depends on the store, its endpoint or its credentials.
    """
    return create_loader(AioSession().get_config_variable("data_path"))


def _session() -> AioSession:
    """A new session, reading credentials and settings from the environment as s3fs's own does.

    Its service descriptions are the process's, read once.
    """
    session = AioSession()
    session.register_component("data_loader", _descriptions())
    return session


class S3Store(Store):
    """A bucket and key prefix on S3; keys are ``/``-separated paths under the prefix."""

    def __init__(
        self,
        url: str,
        *,
        fs: Any | None = None,
        read_timeout: float = READ_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        if not url.startswith("s3://"):
            raise StoreError(f"not an S3 URL: {url}")
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise StoreError(f"no bucket in store URL {url}")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self._root = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        self._fs = fs if fs is not None else self._filesystem(read_timeout, connect_timeout)

    @staticmethod
    def _filesystem(read_timeout: float, connect_timeout: float) -> s3fs.S3FileSystem:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        client_kwargs: dict[str, Any] = {"endpoint_url": endpoint} if endpoint else {}
        try:
            attempts = int(os.environ.get("AWS_MAX_ATTEMPTS") or _ATTEMPTS)
        except ValueError:
            given = os.environ["AWS_MAX_ATTEMPTS"]
            raise StoreError(f"AWS_MAX_ATTEMPTS must be a whole number of attempts, not {given!r}") from None
        config = {"connect_timeout": connect_timeout, "read_timeout": read_timeout,
                  "retries": {"mode": "standard", "total_max_attempts": max(1, attempts)}}  # fmt: skip
        # No listings cache: list() and exists() must see other writers' objects at once. No shared
        # instance: the environment (endpoint, credentials) is read when the store is opened.
        fs = s3fs.S3FileSystem(client_kwargs=client_kwargs, config_kwargs=config, use_listings_cache=False,
                               skip_instance_cache=True, session=_session())  # fmt: skip
        fs.retries = _S3FS_ATTEMPTS  # a class attribute of s3fs's, not a constructor argument
        return fs

    def _path(self, key: str) -> str:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in {"", ".", ".."} for p in parts):
            raise StoreError(f"invalid key {key!r} for the store {self.url}")
        return f"{self._root}/{key}"

    def _key(self, path: str) -> str:
        return path.removeprefix(self._root + "/")

    def _find(self, stem: str) -> list[str]:
        """Every object whose key starts with <prefix>/<stem>: one ListObjectsV2 with that Prefix.

        Asked from the bucket with the whole key prefix, s3fs's find lists and nothing else; asked
        from a folder, it HEADs the folder's path when the listing is empty, which a role limited by
        s3:prefix is refused (see the module docstring).
        """
        wanted = f"{self.prefix}/{stem}" if self.prefix else stem
        # Zero-byte "folder" markers some tools create end in "/": they are no objects of ours.
        return [p for p in self._fs.find(self.bucket, prefix=wanted) if not p.endswith("/")]

    def exists(self, key: str) -> bool:
        path = self._path(key)
        try:
            return path in self._find(key)
        except Exception as exc:
            raise StoreError(f"could not check {self.url}/{key}: {_describe(exc)}") from None

    def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return bytes(self._fs.cat_file(path))
        except FileNotFoundError:
            raise StoreError(f"no object at {self.url}/{key}") from None
        except Exception as exc:
            raise StoreError(f"could not read {self.url}/{key}: {_describe(exc)}") from None

    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        # One PUT (or one completed multipart upload) is atomic on S3: readers see all or nothing.
        path = self._path(key)
        mode = "create" if if_absent else "overwrite"
        for attempt in range(_CONFLICT_RETRIES + 1):
            try:
                self._fs.pipe_file(path, data, mode=mode)
                return True
            except FileExistsError:
                return False
            except Exception as exc:
                code = _error_code(exc)
                if if_absent and code in {"PreconditionFailed", "412"}:
                    return False
                if if_absent and code == "ConditionalRequestConflict" and attempt < _CONFLICT_RETRIES:
                    time.sleep(0.05 * 2**attempt)
                    continue
                raise StoreError(f"could not write {self.url}/{key}: {_describe(exc)}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def list(self, prefix: str) -> list[str]:
        stem = prefix.lstrip("/")
        name = stem.rstrip("/")
        if name:
            self._path(name)  # refuses an invalid prefix as it refuses an invalid key
        try:
            paths = self._find(stem)
        except FileNotFoundError:
            return []
        except Exception as exc:
            raise StoreError(f"could not list {self.url}/{prefix}: {_describe(exc)}") from None
        # A prefix without its "/" ("p") is listed as such, so the answer also holds "pq/...": keep
        # the key it names and the keys below it, as a folder would.
        keys = (self._key(p) for p in paths)
        return sorted(k for k in keys if not name or k == name or k.startswith(name + "/"))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            self._fs.rm_file(path)
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise StoreError(f"could not delete {self.url}/{key}: {_describe(exc)}") from None
