"""The store: one small key/value interface over a local folder or S3, chosen by URL.

Keys are ``/``-separated paths relative to the store root (``raw/bundled/...``). Writes are atomic:
a reader sees a whole object or none. ``write_bytes(..., if_absent=True)`` is create-only, which is how
manifests are published exactly once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path

from airwatch import catalog
from airwatch.errors import AirWatchError

log = logging.getLogger(__name__)


class StoreError(AirWatchError, RuntimeError):
    """A store operation failed; the message names the key."""


class Store(ABC):
    """Object storage addressed by keys."""

    url: str

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object exists at key."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; StoreError when absent."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        """Write atomically. With if_absent, do nothing (and return False) when the key exists."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under prefix, sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object (used for locks only: data and manifests are never deleted)."""


class LocalStore(Store):
    """A folder on the local filesystem."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents and path != self.root:
            raise StoreError(f"key {key!r} escapes the store root {self.root}")
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"no object at {self.url}/{key}") from None

    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if if_absent and path.exists():
            return False
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="-" + path.name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if if_absent:
                # link() fails if the target exists: create-only even against a concurrent writer.
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    return False
            else:
                os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return True

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if base.is_file():
            return [prefix]
        if not base.exists():
            return []
        keys = [
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        ]
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class StoreLock:
    """A lock held as a create-only object in the store, so writers on other machines see it too.

    The lock says who holds it: owner, since when, and the process and machine. A waiter breaks it,
    with a log line, when its holder is known to be gone: a process of this machine that has ended
    (a run killed before it could release the lock), or any holder after ttl seconds.
    """

    def __init__(self, store: Store, name: str, *, owner: str, timeout: float = 60.0, ttl: float = 300.0) -> None:
        self.store, self.key, self.owner, self.timeout, self.ttl = store, catalog.lock_key(name), owner, timeout, ttl

    def __enter__(self) -> StoreLock:
        deadline = time.monotonic() + self.timeout
        while True:
            body = {"owner": self.owner, "since": time.time(), "machine": _machine(), "pid": os.getpid()}
            if self.store.write_bytes(self.key, json.dumps(body).encode(), if_absent=True):
                return self
            try:
                held = self.store.read_bytes(self.key)
            except StoreError:
                continue  # released since
            if reason := self._stale(held):
                log.warning("lock %s %s; breaking it", self.key, reason)
                self._break(held)
                continue
            if time.monotonic() > deadline:
                raise StoreError(f"could not take lock {self.key} within {self.timeout:.0f}s")
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self.store.delete(self.key)

    def _stale(self, held: bytes) -> str | None:
        """Why the lock's holder is gone, or None while it may be alive."""
        try:
            info = json.loads(held)
            since = float(info["since"])
        except (ValueError, KeyError, TypeError):
            return None
        holder, pid = info.get("owner", "?"), info.get("pid")
        if info.get("machine") == _machine() and isinstance(pid, int) and not _running(pid):
            return f"is held by {holder}, whose process {pid} on this machine has ended"
        if time.time() - since > self.ttl:
            return f"is held by {holder} for {time.time() - since:.0f}s, longer than its {self.ttl:.0f}s"
        return None

    def _break(self, held: bytes) -> None:
        """Remove the lock judged stale, unless another waiter has broken it and taken it since."""
        try:
            if self.store.read_bytes(self.key) == held:
                self.store.delete(self.key)
        except StoreError:
            pass


def _machine() -> str:
    """The host and PID namespace of this process: a pid names the same process only where both match."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}/{namespace}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def open_store(url: str) -> Store:
    """The store for a URL: ``s3://bucket/prefix`` gives an S3Store, a path or ``file://`` URL a LocalStore."""
    if url.startswith("s3://"):
        # Imported here: s3fs/aiobotocore load only when a store is on S3.
        from airwatch.io.s3store import S3Store

        return S3Store(url)
    return LocalStore(url.removeprefix("file://"))
