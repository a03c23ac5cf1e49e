"""Client of the EPA AirNow API (shared/airnow-api.md): hourly observations by monitor, for fresh data.

``GET /aq/data/`` by bounding box and UTC hour range, split into chunks (large responses fail), paced,
retried with backoff and jitter on 5xx, timeouts and damaged bodies, never on 4xx. The key (``API_KEY``)
is redacted from every message and never stored. AirNow's daily "peak" files (no key) are read by
:func:`airwatch.domain.parse.parse_airnow_peak`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from airwatch.errors import AirWatchError
from airwatch.io.redact import install_log_redaction, redact
from airwatch.io.retry import Pacer, get_json, with_retries
from airwatch.settings import AirNowSettings

log = logging.getLogger(__name__)


class AirNowError(AirWatchError, RuntimeError):
    """A request failed for good; the message names the (redacted) request."""


@dataclass(frozen=True)
class AirNowResponse:
    description: str
    body: bytes
    rows: list[dict[str, Any]]


@dataclass
class AirNowClient:
    base_url: str
    key: str = field(repr=False)
    min_interval: float = 1.0
    max_retries: int = 4
    backoff: float = 2.0
    timeout: float = 120.0
    chunk_hours: int = 24

    @classmethod
    def from_settings(cls, airnow: AirNowSettings) -> AirNowClient:
        return cls(
            base_url=airnow.base_url,
            key=airnow.key.get_secret_value() if airnow.key else "",
            min_interval=airnow.min_interval_seconds,
            max_retries=airnow.max_retries,
            backoff=airnow.backoff_seconds,
        )

    def __post_init__(self) -> None:
        if not self.key:
            raise AirNowError("an AirNow API key is required (AIRWATCH_AIRNOW__KEY)")
        install_log_redaction()
        self._pacer = Pacer(self.min_interval)
        self._http = httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout)

    def close(self) -> None:
        self._http.close()

    def observations(
        self, bbox: tuple[float, float, float, float], start: datetime, end: datetime, parameters: list[str]
    ) -> list[AirNowResponse]:
        """Hourly observations in bbox (min lon, min lat, max lon, max lat) for UTC hours start..end."""
        responses = []
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + timedelta(hours=self.chunk_hours - 1))
            query = {
                "BBOX": ",".join(str(v) for v in bbox),
                "startDate": chunk_start.strftime("%Y-%m-%dT%H"),
                "endDate": chunk_end.strftime("%Y-%m-%dT%H"),
                "parameters": ",".join(parameters),
                "dataType": "B",
                "format": "application/json",
                "verbose": "1",
                "monitorType": "0",
                "includerawconcentrations": "1",
            }
            responses.append(self._fetch(query))
            chunk_start = chunk_end + timedelta(hours=1)
        return responses

    def _fetch(self, query: dict[str, str]) -> AirNowResponse:
        description = "aq/data?" + "&".join(f"{k}={v}" for k, v in query.items())
        return with_retries(
            lambda: self._fetch_once(query, description),
            retries=self.max_retries,
            backoff=self.backoff,
            describe=f"AirNow {description}",
            give_up=AirNowError,
        )

    def _fetch_once(self, query: dict[str, str], description: str) -> AirNowResponse:
        self._pacer.wait()
        code, payload = get_json(
            lambda: self._http.get("/aq/data/", params={**query, "API_KEY": self.key}),
            describe=description,
            error=AirNowError,
        )
        if isinstance(payload, dict) and "WebServiceError" in payload:
            messages = "; ".join(str(e.get("Message", "")) for e in payload["WebServiceError"])
            if code >= 400:
                raise AirNowError(redact(f"{description}: HTTP {code}: {messages}"))
            return AirNowResponse(description, b"[]", [])  # the 2026 services answer "no data" this way
        if code >= 400 or not isinstance(payload, list):
            raise AirNowError(f"{description}: HTTP {code}, unexpected body")
        return AirNowResponse(description, json.dumps(payload, separators=(",", ":")).encode(), payload)
