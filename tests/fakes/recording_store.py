"""A store that records every operation made through it, for judging which S3 rights a stage needs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from airwatch.io.store import LocalStore, Store


@dataclass(frozen=True)
class Op:
    kind: str  # read, write, create (a create-only write), exists, list, delete: the Store interface's
    key: str  # the key, or the prefix of a list


@dataclass
class Recorder:
    """Operations by label (the stage running), in the order they were made; shared by the stores it opens."""

    label: str = ""
    ops: dict[str, list[Op]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, key: str) -> None:
        assert self.label, "a store operation outside any labelled stage"
        with self._lock:  # tasks run in threads
            self.ops.setdefault(self.label, []).append(Op(kind, key))


class RecordingStore(Store):
    """A LocalStore whose every operation is recorded under the recorder's current label."""

    def __init__(self, inner: LocalStore, recorder: Recorder) -> None:
        self.inner, self.recorder, self.url = inner, recorder, inner.url

    def exists(self, key: str) -> bool:
        self.recorder.add("exists", key)
        return self.inner.exists(key)

    def read_bytes(self, key: str) -> bytes:
        self.recorder.add("read", key)
        return self.inner.read_bytes(key)

    def write_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        self.recorder.add("create" if if_absent else "write", key)
        return self.inner.write_bytes(key, data, if_absent=if_absent)

    def list(self, prefix: str) -> list[str]:
        self.recorder.add("list", prefix)
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self.recorder.add("delete", key)
        self.inner.delete(key)
