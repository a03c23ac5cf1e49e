"""Ingest decisions, free of I/O: which AQS requests a backfill or an increment makes, and the watermark after.

The AQS Data API takes one calendar year and at most 5 parameters per request (shared/aqs-api.md).
An incremental run asks for the days after the watermark and, for the days already fetched, only the
values EPA changed since the last run (``cbdate``), so revisions arrive without refetching history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from airwatch.errors import AirWatchError

MAX_PARAMS_PER_REQUEST = 5
SERVICES = ("dailyData", "sampleData")
# AirNow's parameter names for the AQS codes a user gives (the CLI and flows take AQS codes).
AIRNOW_NAMES = {"88101": "PM25", "88502": "PM25", "44201": "OZONE"}


class IngestRequestError(AirWatchError, ValueError):
    """The request's options are incomplete or contradictory; the message says which."""


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

    @classmethod
    def from_options(
        cls,
        *,
        state: str | None = None,
        county: str | None = None,
        site: str | None = None,
        cbsa: str | None = None,
        bbox: str | None = None,
    ) -> Geography:
        """The geography the command-line options name: a box, a CBSA, or a state with county and site."""
        if bbox:
            lon0, lat0, lon1, lat1 = parse_bbox(bbox)
            return cls.box(lat0, lat1, lon0, lon1)
        if cbsa:
            return cls.cbsa(cbsa)
        if state and county and site:
            return cls.site(state, county, site)
        if state and county:
            return cls.county(state, county)
        if state and not (county or site):
            return cls.state(state)
        raise IngestRequestError("AQS needs --state (with --county, and --site), --cbsa or --bbox")

    @property
    def slug(self) -> str:
        return self.endpoint + "-" + "-".join(v for _, v in self.params)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """The box (min lon, min lat, max lon, max lat) of "lon0,lat0,lon1,lat1"."""
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise IngestRequestError(f"--bbox needs min lon,min lat,max lon,max lat, got {text!r}")
    return box[0], box[1], box[2], box[3]


def parse_params(text: str | list[str]) -> list[str]:
    """AQS parameter codes from "88101,44201" or a list; at least one, digits only."""
    items = text.split(",") if isinstance(text, str) else text
    params = [p.strip() for p in items if p.strip()]
    if not params or not all(p.isdigit() and len(p) == 5 for p in params):
        raise IngestRequestError(f"--params needs 5-digit AQS parameter codes (e.g. 88101,44201), got {text!r}")
    return params


@dataclass(frozen=True)
class AqsRequest:
    """One API call, before credentials are added."""

    service: str
    endpoint: str
    params: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return f"{self.service}/{self.endpoint}?" + "&".join(f"{k}={v}" for k, v in self.params)

    @property
    def year(self) -> str:
        return dict(self.params).get("bdate", "")[:4]


def split_requests(
    service: str, params: list[str], start: date, end: date, geography: Geography, extra: dict[str, str] | None = None
) -> list[AqsRequest]:
    """The API calls for a date range: one per calendar year and group of at most 5 parameters."""
    if end < start:
        raise IngestRequestError(f"end {end} is before start {start}")
    if not params:
        raise IngestRequestError("at least one parameter code is required")
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


@dataclass(frozen=True)
class AqsPlan:
    """The requests of one AQS ingest and the span of days the watermark covers after it."""

    requests: list[AqsRequest]
    start: date
    end: date


def plan_aqs(
    service: str,
    params: list[str],
    geography: Geography,
    *,
    start: date | None,
    end: date | None,
    incremental: bool,
    watermark: dict[str, Any] | None,
    today: date,
) -> AqsPlan:
    """A backfill of [start, end], or, incrementally, the new days and the values revised since the watermark."""
    if service not in SERVICES:
        raise IngestRequestError(f"service must be one of {', '.join(SERVICES)}, got {service!r}")
    if not incremental:
        if start is None or end is None:
            raise IngestRequestError("a backfill needs --start and --end")
        return AqsPlan(split_requests(service, params, start, end, geography), start, end)
    if watermark is None:
        raise IngestRequestError(f"no watermark for {params} {geography.slug}: run a backfill with --start/--end first")
    last_end = date.fromisoformat(watermark["end"])
    until = end or today
    requests = []
    if last_end < until:
        requests = split_requests(service, params, last_end + timedelta(days=1), until, geography)
    if watermark.get("last_change"):
        # Revisions of anything already fetched: same years, only values changed since the last run.
        since = (date.fromisoformat(watermark["last_change"]) + timedelta(days=1)).strftime("%Y%m%d")
        first = date.fromisoformat(watermark["start"])
        requests += split_requests(service, params, first, last_end, geography, {"cbdate": since})
    return AqsPlan(requests, date.fromisoformat(watermark["start"]), max(until, last_end))


def next_watermark(watermark: dict[str, Any] | None, plan: AqsPlan, last_change: str) -> dict[str, str]:
    """The watermark after a plan ran: the union of the days covered, and the newest change seen."""
    start = min(date.fromisoformat(watermark["start"]), plan.start) if watermark else plan.start
    end = max(date.fromisoformat(watermark["end"]), plan.end) if watermark else plan.end
    return {"start": str(start), "end": str(end), "last_change": last_change}


def airnow_parameters(params: list[str]) -> list[str]:
    """AirNow parameter names for AQS codes (names are passed through, upper-cased)."""
    return sorted({AIRNOW_NAMES.get(p, p.upper()) for p in params})


def hour_window(start: datetime | None, end: datetime | None, hours: int, now: datetime) -> tuple[datetime, datetime]:
    """UTC hours start..end; without them, the `hours` whole hours up to now (a scheduled run's time)."""
    if start is not None and end is not None:
        if end < start:
            raise IngestRequestError(f"end {end} is before start {start}")
        return start, end
    if start is not None or end is not None:
        raise IngestRequestError("give both --start and --end, or neither (the last hours up to now)")
    last = now.replace(minute=0, second=0, microsecond=0, tzinfo=None) - timedelta(hours=1)
    return last - timedelta(hours=hours - 1), last
