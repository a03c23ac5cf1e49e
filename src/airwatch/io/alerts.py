"""The monitor's alerts: delivered to the Slack-compatible webhook, recorded in the store either way.

The webhook URL is a secret (Slack's carry their token in the path), so it is sent with urllib, which
logs nothing, and no message or error here ever includes it.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from airwatch import catalog
from airwatch.domain.alerts import Incident, Message
from airwatch.io.datasets import utc_stamp
from airwatch.io.records import read_json, write_json
from airwatch.io.store import Store

log = logging.getLogger(__name__)


def post(url: str, text: str, *, retries: int = 2, timeout: float = 10.0) -> str | None:
    """POST {"text": text}; None when delivered, else why not (without the URL)."""
    if not url.startswith(("https://", "http://")):
        return "the webhook URL must start with https:// or http://"
    body = json.dumps({"text": text}).encode()
    problem = "not attempted"
    for attempt in range(retries + 1):
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (checked above)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked above)
                if 200 <= response.status < 300:
                    return None
                problem = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:
                return problem  # the receiver refused it; retrying the same body will not help
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            problem = f"{type(reason).__name__}"
        if attempt < retries:
            time.sleep(0.5 * 2**attempt)
    return problem


def deliver(store: Store, pollutant: str, messages: list[Message], url: str | None) -> list[Message]:
    """Send each message (when a webhook is set) and record it; returns those delivered."""
    delivered = []
    for m in messages:
        problem = post(url, m.render()) if url else "no webhook configured (AIRWATCH_ALERTS__WEBHOOK_URL)"
        record = {
            "pollutant": pollutant,
            "key": m.key,
            "kind": m.kind,
            "severity": m.severity,
            "event": m.event,
            "text": m.render(),
            "evidence": m.evidence,
            "delivered": problem is None,
            "problem": problem,
        }
        write_json(store, catalog.alert_key(pollutant, utc_stamp(), m.kind), record, if_absent=True)
        if problem is None:
            delivered.append(m)
        elif url:
            log.warning("alert %s not delivered (%s); it is sent again on the next run", m.key, problem)
    return delivered


def load_incidents(store: Store, pollutant: str) -> dict[str, Incident]:
    data = read_json(store, catalog.incidents_key(pollutant)) or {}
    return {k: Incident(**v) for k, v in data.get("incidents", {}).items()}


def save_incidents(store: Store, pollutant: str, incidents: dict[str, Incident], now: datetime) -> None:
    body = {"updated_utc": now.isoformat(), "incidents": {k: v.to_dict() for k, v in sorted(incidents.items())}}
    write_json(store, catalog.incidents_key(pollutant), body)


def alerts(store: Store, pollutant: str, newest: int = 50) -> list[dict[str, Any]]:
    """The newest recorded alert messages of a pollutant, newest first."""
    keys = sorted(store.list(catalog.alerts_prefix(pollutant)))[-newest:]
    return [json.loads(store.read_bytes(k)) | {"at_utc": k.rsplit("/", 1)[-1].split("_", 1)[0]} for k in reversed(keys)]
