"""What every HTTP client shares: retries, pacing, and which failures are worth retrying.

Retries use exponential backoff with jitter; pacing keeps a minimum interval between requests.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from airwatch.io.redact import redact

log = logging.getLogger(__name__)
T = TypeVar("T")


class Transient(RuntimeError):
    """A failure worth retrying: 5xx, a timeout, a broken connection, a damaged body."""


def with_retries(
    call: Callable[[], T],
    *,
    retries: int,
    backoff: float,
    describe: str,
    give_up: Callable[[str], Exception],
) -> T:
    """Call until it succeeds, retrying Transient failures.

    Each retry waits backoff * 2**(attempt - 1) seconds times a random 0.5-1.5; after `retries`
    retries, give_up(message) is raised.
    """
    attempt = 0
    while True:
        try:
            return call()
        except Transient as exc:
            attempt += 1
            if attempt > retries:
                raise give_up(f"{describe}: gave up after {attempt} attempts: {exc}") from None
            delay = backoff * 2 ** (attempt - 1) * (0.5 + random.random())
            log.warning("%s: %s; retry %d in %.1fs", describe, exc, attempt, delay)
            time.sleep(delay)


class Pacer:
    """Keeps at least min_interval seconds between the starts of consecutive requests."""

    def __init__(self, min_interval: float) -> None:
        self.min_interval = min_interval
        self._last = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            pause = self._last + self.min_interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            self._last = time.monotonic()


def get_json(
    send: Callable[[], httpx.Response], *, describe: str, error: Callable[[str], Exception]
) -> tuple[int, Any]:
    """Send one request and parse its JSON body: (status code, payload).

    Timeouts, broken connections, 5xx and a successful response whose body is not JSON (truncated,
    damaged) are Transient; a 4xx without a JSON body is error(...). A 4xx with a JSON body is returned,
    for the caller to read the API's own error message.
    """
    try:
        response = send()
        body = response.content
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        # httpx's messages may carry the URL, credentials included.
        raise Transient(redact(f"{type(exc).__name__}: {exc}")) from None
    if response.status_code >= 500:
        raise Transient(f"HTTP {response.status_code}")
    try:
        return response.status_code, json.loads(body)
    except ValueError:
        if response.status_code >= 400:
            raise error(f"{describe}: HTTP {response.status_code}") from None
        raise Transient("damaged response body (not JSON)") from None
