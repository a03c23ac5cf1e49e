"""Client of the EPA AQS Data API v2 (shared/aqs-api.md).

Requests are split as the API requires (one calendar year and at most 5 parameters each), paced
(EPA asks for about 5 s between requests and at most 10 a minute), and retried with exponential
backoff and jitter on 5xx, timeouts, connection errors and damaged bodies, never on 4xx. The response
Header is honoured: "No data matched your selection" is an empty result, "Failed" is an error naming
the request. The key never appears in a log line, an exception or anything stored: request
descriptions and stored payloads are redacted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from airwatch.domain.ingest import AqsRequest, Geography, split_requests
from airwatch.errors import AirWatchError
from airwatch.io.redact import install_log_redaction, redact
from airwatch.io.retry import Pacer, Transient, get_json, with_retries
from airwatch.settings import AqsSettings

log = logging.getLogger(__name__)

NO_DATA = "No data matched your selection"


class AqsError(AirWatchError, RuntimeError):
    """A request failed for good; the message names the (redacted) request."""


class AqsTransientError(AqsError, Transient):
    """A request failed in a way worth retrying."""


@dataclass(frozen=True)
class AqsResponse:
    """A successful answer: the body as received (secrets removed) and its records."""

    request: AqsRequest
    status: str
    body: bytes  # the JSON as received, with email/key in the Header url redacted
    rows: list[dict[str, Any]]


@dataclass
class AqsClient:
    """Synchronous AQS client with pacing and retries."""

    base_url: str
    email: str
    key: str = field(repr=False)
    min_interval: float = 5.0
    max_retries: int = 5
    backoff: float = 2.0
    timeout: float = 120.0

    @classmethod
    def from_settings(cls, aqs: AqsSettings) -> AqsClient:
        return cls(
            base_url=aqs.base_url,
            email=aqs.email or "",
            key=aqs.key.get_secret_value() if aqs.key else "",
            min_interval=aqs.min_interval_seconds,
            max_retries=aqs.max_retries,
            backoff=aqs.backoff_seconds,
            timeout=aqs.timeout_seconds,
        )

    def __post_init__(self) -> None:
        if not self.email or not self.key:
            raise AqsError("AQS email and key are required (AIRWATCH_AQS__EMAIL, AIRWATCH_AQS__KEY)")
        install_log_redaction()
        self._pacer = Pacer(self.min_interval)
        self._http = httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AqsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, request: AqsRequest) -> AqsResponse:
        """One request with retries; raises AqsError naming the request when it cannot succeed."""
        return with_retries(
            lambda: self._fetch_once(request),
            retries=self.max_retries,
            backoff=self.backoff,
            describe=f"AQS {request.describe()}",
            give_up=AqsError,
        )

    def _fetch_once(self, request: AqsRequest) -> AqsResponse:
        self._pacer.wait()
        query = [*request.params, ("email", self.email), ("key", self.key)]
        code, payload = get_json(
            lambda: self._http.get(f"/{request.service}/{request.endpoint}", params=query),
            describe=request.describe(),
            error=AqsError,
        )
        try:
            header = payload["Header"][0]
        except (KeyError, IndexError, TypeError):
            if code >= 400:
                raise AqsError(f"{request.describe()}: HTTP {code}") from None
            raise AqsTransientError("damaged response body (not the API's JSON)") from None
        status = str(header.get("status", ""))
        if code >= 400 or status.lower() == "failed":
            errors = "; ".join(str(e) for e in header.get("error", []) or [])
            raise AqsError(redact(f"{request.describe()}: HTTP {code}, status {status!r}: {errors}"))
        rows = payload.get("Data", payload.get("Body", [])) or []
        if status == NO_DATA:
            rows = []
        if "url" in header:
            header["url"] = redact(str(header["url"]))
        clean = json.dumps(payload, separators=(",", ":")).encode()
        return AqsResponse(request, status, clean, rows)

    def fetch_all(self, requests: list[AqsRequest]) -> Iterator[AqsResponse]:
        for request in requests:
            yield self.fetch(request)

    def list_states(self) -> list[dict[str, Any]]:
        return self.fetch(AqsRequest("list", "states", ())).rows

    def list_counties(self, state: str) -> list[dict[str, Any]]:
        return self.fetch(AqsRequest("list", "countiesByState", (("state", state.zfill(2)),))).rows

    def list_sites(self, state: str, county: str) -> list[dict[str, Any]]:
        return self.fetch(
            AqsRequest("list", "sitesByCounty", (("state", state.zfill(2)), ("county", county.zfill(3))))
        ).rows

    def list_parameters(self, parameter_class: str) -> list[dict[str, Any]]:
        return self.fetch(AqsRequest("list", "parametersByClass", (("pc", parameter_class),))).rows

    def monitors(self, params: list[str], start: date, end: date, geography: Geography) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for r in self.fetch_all(split_requests("monitors", params, start, end, geography)):
            rows.extend(r.rows)
        return rows

    def daily_data(self, params: list[str], start: date, end: date, geography: Geography) -> Iterator[AqsResponse]:
        return self.fetch_all(split_requests("dailyData", params, start, end, geography))

    def sample_data(self, params: list[str], start: date, end: date, geography: Geography) -> Iterator[AqsResponse]:
        return self.fetch_all(split_requests("sampleData", params, start, end, geography))
