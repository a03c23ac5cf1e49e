"""Flows the Prefect prototypes deploy from this folder (a local source) to a `process` work pool."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run


@flow(name="proto-daily", log_prints=True)
def daily(marker_dir: str, sleep: float = 0.0) -> str:
    """Write what the run saw (job env, scheduled time) to marker_dir/<run id>.json."""
    time.sleep(sleep)
    seen = {
        "greeting": os.environ.get("PROTO_GREETING"),
        "scheduled_start_time": str(flow_run.scheduled_start_time),
        "run_id": flow_run.id,
    }
    Path(marker_dir).mkdir(parents=True, exist_ok=True)
    (Path(marker_dir) / f"{flow_run.id}.json").write_text(json.dumps(seen))
    get_run_logger().info("saw %s", seen)
    return str(seen["greeting"])


@flow(name="proto-fails", retries=1, retry_delay_seconds=1)
def fails() -> None:
    """Fails on every attempt: one retry, then a final Failed state."""
    raise RuntimeError("this flow always fails")
