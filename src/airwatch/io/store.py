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
        """Remove an object: only an operator's decision about a quarantined file (docs/security.md)."""


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
    """A lock held as create-only objects in the store, so writers on other machines see it too.

    Nothing is ever deleted, so no role needs ``s3:DeleteObject`` for it (docs/security.md). Each
    taking of the lock is a numbered ticket under ``locks/<name>/``: a taker creates the number after
    the newest ticket, create-only, once that ticket is released (of two takers, one creates it and
    the other looks again); the holder releases by rewriting its own ticket as released. A ticket not
    released is taken to belong to a crashed holder, and the next number breaks it, with a log line:
    at once when the ticket names a process of this machine (host and PID namespace) that has ended
    (a run killed before it could release it), and for any holder after ttl seconds. Should that
    holder come back, its release rewrites only its own, older ticket. Tickets are a few bytes per
    taking; an S3 lifecycle rule may expire old ones.
    """

    def __init__(self, store: Store, name: str, *, owner: str, timeout: float = 60.0, ttl: float = 300.0) -> None:
        self.store, self.name, self.owner, self.timeout, self.ttl = store, name, owner, timeout, ttl
        self.ticket: str | None = None

    def __enter__(self) -> StoreLock:
        deadline = time.monotonic() + self.timeout
        while True:
            newest = _newest_ticket(self.store, self.name)
            ticket = _ticket(self.store, newest) if newest else {}
            gone = _gone(ticket, self.ttl)
            if newest is None or "released" in ticket or gone:
                if gone:
                    log.warning("lock %s: ticket %s %s; breaking it", catalog.lock_prefix(self.name), newest, gone)
                number = 0 if newest is None else catalog.lock_ticket_number(newest) + 1
                key = catalog.lock_ticket_key(self.name, number)
                body = {"owner": self.owner, "since": time.time(), "machine": _machine(), "pid": os.getpid()}
                if self.store.write_bytes(key, json.dumps(body).encode(), if_absent=True):
                    self.ticket = key
                    return self
                continue  # another taker created that number first: look again
            if time.monotonic() > deadline:
                raise StoreError(f"could not take lock {catalog.lock_prefix(self.name)} within {self.timeout:.0f}s")
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.ticket is not None:
            body = json.dumps({"owner": self.owner, "released": time.time()}).encode()
            self.store.write_bytes(self.ticket, body)
            self.ticket = None


def _newest_ticket(store: Store, name: str) -> str | None:
    tickets = [k for k in store.list(catalog.lock_prefix(name)) if k.endswith(".json")]
    return tickets[-1] if tickets else None  # numbers are zero-padded: the last sorts highest


def _ticket(store: Store, key: str) -> dict[str, object]:
    try:
        data = json.loads(store.read_bytes(key))
        return data if isinstance(data, dict) else {}
    except (StoreError, ValueError):
        return {}


def _is_free(store: Store, key: str, ttl: float) -> bool:
    ticket = _ticket(store, key)
    return "released" in ticket or _gone(ticket, ttl) is not None


def _gone(ticket: dict[str, object], ttl: float) -> str | None:
    """Why the holder of a ticket not released is gone, or None while it may be alive."""
    since, pid, holder = ticket.get("since"), ticket.get("pid"), ticket.get("owner", "?")
    if "released" in ticket or not isinstance(since, int | float):
        return None  # released, or a ticket that cannot be read (a passing store error): held, look again
    if ticket.get("machine") == _machine() and isinstance(pid, int) and not _running(pid):
        return f"is held by {holder}, whose process {pid} on this machine has ended"
    if time.time() - since > ttl:
        return f"is held by {holder} for {time.time() - since:.0f}s, longer than its {ttl:.0f}s"
    return None


def lock_holder(store: Store, name: str, *, ttl: float = 300.0) -> str | None:
    """Who holds a lock now (its owner string), or None when it is free."""
    newest = _newest_ticket(store, name)
    if newest is None or _is_free(store, newest, ttl):
        return None
    return str(_ticket(store, newest).get("owner", "unknown"))


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
