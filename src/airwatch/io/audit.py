"""The audit log: one record in the store for every change to what AirWatch serves, appended, never rewritten.

Four events: ``publish`` (a dataset version, a raw inventory or a predictions file made visible),
``promotion`` (a promotion decision), ``alias_move`` (registry aliases set) and
``deployment_change`` (``airwatch deploy``). Each is one JSON object at
``audit/<YYYY-MM-DD>/<utc-stamp>_<event>_<id>.json``, written create-only: a key that exists is never
written again, so a record, once there, stays as it was. Every role may add records and none may
read, change or delete them (deploy/iam/); docs/security.md says how to read the log.

A record says what changed, when (UTC), in which run (the Prefect flow run, or else this process's
own run id) and by whom: the OS user and host, the MLflow user, the AWS role or profile named in
the environment. Never a secret: no password, key, token or URL with credentials is read here.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from airwatch import catalog
from airwatch.io.store import Store, StoreError

Event = Literal["publish", "promotion", "alias_move", "deployment_change"]
EVENTS: tuple[Event, ...] = ("publish", "promotion", "alias_move", "deployment_change")
# What "run" says outside a Prefect flow run (a command such as `airwatch deploy`): one id per process.
PROCESS_RUN_ID = uuid.uuid4().hex
_ATTEMPTS = 5


def identity() -> dict[str, str]:
    """Who acts, from names only: the credentials themselves are never read."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = str(os.getuid())
    who = {"user": f"{user}@{socket.gethostname()}"}
    names = {
        "mlflow_user": os.environ.get("AIRWATCH_MLFLOW_USERNAME") or os.environ.get("MLFLOW_TRACKING_USERNAME"),
        "aws_role": os.environ.get("AWS_ROLE_ARN"),  # web identity (EKS, CI): the role assumed
        "aws_profile": os.environ.get("AWS_PROFILE"),
    }
    return who | {k: v for k, v in names.items() if v}


def run() -> dict[str, str]:
    """The Prefect flow run this process is in, or else the process's own run id."""
    # Only a process that imported Prefect can be in a flow run; others need not pay for the import.
    if "prefect" in sys.modules:
        from prefect.runtime import flow_run

        if flow_run.id:
            return {"flow_run_id": str(flow_run.id), "flow_run_name": str(flow_run.name),
                    "flow": str(flow_run.flow_name)}  # fmt: skip
    return {"process_run_id": PROCESS_RUN_ID, "pid": str(os.getpid())}


def record(store: Store, event: Event, what: dict[str, Any], *, now: datetime | None = None) -> str:
    """Append one record; its key. Of an existing key, nothing is overwritten: the record takes another id."""
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    when = (now or datetime.now(UTC)).astimezone(UTC)
    body = {"event": event, "what": what, "when_utc": when.isoformat(timespec="microseconds"), "run": run(),
            "identity": identity()}  # fmt: skip
    data = json.dumps(body, indent=2, sort_keys=True, default=str).encode()
    stamp = when.strftime("%Y%m%dT%H%M%S.%fZ")
    for _ in range(_ATTEMPTS):
        key = catalog.audit_key(when.date().isoformat(), stamp, event, new_id())
        if store.write_bytes(key, data, if_absent=True):
            return key
    raise StoreError(f"could not append an audit record under {catalog.AUDIT}: {_ATTEMPTS} keys taken")


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def records(store: Store, day: str = "") -> list[dict[str, Any]]:
    """The records of one day (YYYY-MM-DD), or all, oldest first; for an auditor's read-only role."""
    keys = store.list(catalog.audit_prefix(day))
    return [json.loads(store.read_bytes(k)) | {"key": k} for k in keys if k.endswith(".json")]
