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

from airwatch.io.redact import install_log_redaction, redact
from airwatch.io.retry import Pacer, Transient, get_json, with_retries

log = logging.getLogger(__name__)

MAX_PARAMS_PER_REQUEST = 5
NO_DATA = "No data matched your selection"


class AqsError(RuntimeError):
    """A request failed for good; the message names the (redacted) request."""


class AqsTransientError(AqsError, Transient):
    """A request failed in a way worth retrying."""


@dataclass(frozen=True)
class Geography:
    """Which monitors a request covers: one of the API's filters and its parameters."""

    endpoint: str  # bySite, byCounty, byState, byCBSA, byBox
    params: tuple[tuple[str, str], ...]

    @classmethod
    def site(cls, state: str, county: str, site: str) -> Geography:
        return cls("bySite", (("state", state.zfill(2)), ("county", county.zfill(3)), ("site", site.zfill(4))))

    @classmethod
    def county(cls, state: str, county: str) -> Geography:
        return cls("byCounty", (("state", state.zfill(2)), ("county", county.zfill(3))))

    @classmethod
    def state(cls, state: str) -> Geography:
        return cls("byState", (("state", state.zfill(2)),))

    @classmethod
    def cbsa(cls, cbsa: str) -> Geography:
        return cls("byCBSA", (("cbsa", cbsa.zfill(5)),))

    @classmethod
    def box(cls, minlat: float, maxlat: float, minlon: float, maxlon: float) -> Geography:
        return cls(
            "byBox",
            (("minlat", str(minlat)), ("maxlat", str(maxlat)), ("minlon", str(minlon)), ("maxlon", str(maxlon))),
        )

    @property
    def slug(self) -> str:
        return self.endpoint + "-" + "-".join(v for _, v in self.params)


@dataclass(frozen=True)
class AqsRequest:
    """One API call, before credentials are added."""

    service: str
    endpoint: str
    params: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return f"{self.service}/{self.endpoint}?" + "&".join(f"{k}={v}" for k, v in self.params)


@dataclass(frozen=True)
class AqsResponse:
    """A successful answer: the body as received (secrets removed) and its records."""

    request: AqsRequest
    status: str
    body: bytes  # the JSON as received, with email/key in the Header url redacted
    rows: list[dict[str, Any]]


def split_requests(
    service: str, params: list[str], start: date, end: date, geography: Geography, extra: dict[str, str] | None = None
) -> list[AqsRequest]:
    """The API calls for a date range: one per calendar year and group of at most 5 parameters."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if not params:
        raise ValueError("at least one parameter code is required")
    groups = [params[i : i + MAX_PARAMS_PER_REQUEST] for i in range(0, len(params), MAX_PARAMS_PER_REQUEST)]
    requests = []
    for group in groups:
        for year in range(start.year, end.year + 1):
            b = max(start, date(year, 1, 1))
            e = min(end, date(year, 12, 31))
            query = (
                ("param", ",".join(group)),
                ("bdate", b.strftime("%Y%m%d")),
                ("edate", e.strftime("%Y%m%d")),
                *geography.params,
                *sorted((extra or {}).items()),
            )
            requests.append(AqsRequest(service, geography.endpoint, query))
    return requests


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
