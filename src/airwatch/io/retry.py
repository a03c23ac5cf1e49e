"""Retries with exponential backoff and jitter, and request pacing: shared by every HTTP client."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

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
