"""Download of EPA AirData bulk files (``daily_88101_2019.zip`` and the like) by URL, with retries."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlsplit

import httpx

from airwatch.errors import AirWatchError
from airwatch.io.retry import Transient, with_retries


class DownloadError(AirWatchError, RuntimeError):
    """A file could not be downloaded; the message names the URL."""


def file_name(url: str) -> str:
    name = PurePosixPath(urlsplit(url).path).name
    if not name:
        raise DownloadError(f"{url}: the URL does not end in a file name")
    return name


def download(url: str, *, retries: int = 4, backoff: float = 2.0, timeout: float = 300.0) -> bytes:
    """The body of url; retried with exponential backoff and jitter on 5xx, timeouts and broken connections."""

    def once() -> bytes:
        try:
            with httpx.Client(timeout=timeout, follow_redirects=True) as client:
                response = client.get(url)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise Transient(type(exc).__name__) from None
        if response.status_code >= 500:
            raise Transient(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise DownloadError(f"{url}: HTTP {response.status_code}")
        return response.content

    return with_retries(once, retries=retries, backoff=backoff, describe=f"download {url}", give_up=DownloadError)
