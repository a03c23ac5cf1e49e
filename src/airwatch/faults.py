"""Fault injection: named checkpoints where a test can have the process killed, as a crash would.

Production code calls :func:`checkpoint` at the points where a crash leaves the store half-written
(a payload without its metadata, parts without their claim, a claim without its manifest, a model
registered but not decided on, a predictions file without its manifest). With
``AIRWATCH_FAULT_KILL_AT=<name>`` the process sends itself SIGKILL at the first pass through that
checkpoint, with ``<name>:<n>`` at the n-th: no cleanup runs, no ``finally``, no ``atexit``, as when
the machine or the OOM killer stops a run. Unset (always, outside tests), a checkpoint is a dict
lookup: the variable is read once.
"""

from __future__ import annotations

import os
import signal
import threading
from functools import cache

ENV = "AIRWATCH_FAULT_KILL_AT"

# The checkpoints production code passes, in the order a run meets them (docs/production-notes.md).
CHECKPOINTS = (
    "ingest.payload",  # raw.store_file: a payload written, its metadata not yet
    "publish.part",  # datasets.publish: a version's part written, the version not claimed
    "publish.claim",  # datasets.publish_manifest: the version claimed, its manifest not written
    "select.registered",  # select.promote: the model version registered, no decision recorded
    "select.recorded",  # select.promote: the decision recorded, the version's tags and aliases not set
    "predict.file",  # records.save_predictions: the predictions file written, its manifest not
)

_hits: dict[str, int] = {}
_lock = threading.Lock()


@cache
def _target() -> tuple[str, int] | None:
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    name, colon, nth = value.partition(":")
    if name not in CHECKPOINTS:
        raise ValueError(f"{ENV}={value!r}: unknown checkpoint {name!r}; known: {', '.join(CHECKPOINTS)}")
    if colon and not (nth.isdigit() and int(nth) >= 1):
        raise ValueError(f"{ENV}={value!r}: expected <checkpoint> or <checkpoint>:<n> with n >= 1")
    return name, int(nth or 1)


def checkpoint(name: str) -> None:
    """Kill this process (SIGKILL) here when AIRWATCH_FAULT_KILL_AT names this checkpoint and pass."""
    target = _target()
    if target is None or target[0] != name:
        return
    with _lock:  # checkpoints are passed from task threads side by side
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] == target[1]:
            os.kill(os.getpid(), signal.SIGKILL)
