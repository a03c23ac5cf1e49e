"""Download of EPA AirData bulk files (``daily_88101_2019.zip`` and the like) by URL, with retries."""

from __future__ import annotations

import logging
import random
import time
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)


class DownloadError(RuntimeError):
    """A file could not be downloaded; the message names the URL."""


def file_name(url: str) -> str:
    name = PurePosixPath(urlsplit(url).path).name
    if not name:
        raise DownloadError(f"{url}: the URL does not end in a file name")
    return name


def download(url: str, *, retries: int = 4, backoff: float = 2.0, timeout: float = 300.0) -> bytes:
    """The body of url; retried with exponential backoff and jitter on 5xx, timeouts and broken connections."""
    attempt = 0
    while True:
        try:
            with httpx.Client(timeout=timeout, follow_redirects=True) as client:
                response = client.get(url)
            if response.status_code < 500:
                if response.status_code >= 400:
                    raise DownloadError(f"{url}: HTTP {response.status_code}")
                return response.content
            problem = f"HTTP {response.status_code}"
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            problem = type(exc).__name__
        attempt += 1
        if attempt > retries:
            raise DownloadError(f"{url}: gave up after {attempt} attempts ({problem})")
        delay = backoff * 2 ** (attempt - 1) * (0.5 + random.random())
        log.warning("download %s: %s; retry %d in %.1fs", url, problem, attempt, delay)
        time.sleep(delay)
