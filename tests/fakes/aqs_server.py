"""A local server that speaks the EPA AQS Data API v2 (shared/aqs-api.md) and serves real EPA rows.

Its data are real, cut from ../shared into tests/fixtures/epa (tests/fixtures/README.md): AQS API
responses recorded by RAQSAPI (shared/data/epa/aqs_api_json, served as they are) and EPA download-tool
exports (Queens College 2015-2019, Cook County 1999-2001), whose rows are reshaped into dailyData
records with the API's field names. It checks credentials and the API's request rules
(at most 5 parameters, bdate and edate in one calendar year) and can inject faults: HTTP 5xx, slow
responses, malformed JSON, truncated bodies, a Failed Header status, wrong-credential answers.

Used by the tests as a context manager; also runnable: python -m tests.fakes.aqs_server --port 8765.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from tests.fakes.http import StandInHandler, start, stop

FIXTURES_EPA = Path(__file__).resolve().parents[1] / "fixtures" / "epa"
EMAIL = "test@example.org"
KEY = "sentinel-aqs-key-7f3a9c"  # tests search for this string everywhere afterwards

DOWNLOAD_TOOL_FILES = (
    "adviz_queens_college_ny/ozone_daily_2015_2019_queens_college_360810124.csv.gz",
    "adviz_queens_college_ny/pm25_daily_2015_2019_queens_college_360810124.csv.gz",
    *(f"adviz_cook_county_il/ozone_daily_{y}_cook_county_IL_days_1_15.csv.gz" for y in range(1999, 2002)),
    *(f"adviz_cook_county_il/pm25_daily_{y}_cook_county_IL_days_1_15.csv.gz" for y in range(1999, 2002)),
)


def _daily_rows_from_download_tool(path: Path) -> list[dict[str, Any]]:
    """Reshape a download-tool export's real rows into AQS dailyData records."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    value_col = next(c for c in raw.columns if c.startswith("Daily ") and c.endswith("Concentration"))
    site_col = "Site ID" if "Site ID" in raw.columns else "AQS_SITE_ID"
    rows = []
    for r in raw.to_dict("records"):
        site = r[site_col].replace("-", "")
        param = r["AQS_PARAMETER_CODE"]
        ozone = param == "44201"
        value = float(r[value_col])
        month, day, year = r["Date"].split("/")
        lat, lon = (float(v) if v not in ("", ".") else None for v in (r["SITE_LATITUDE"], r["SITE_LONGITUDE"]))
        rows.append(
            {
                "state_code": site[:2],
                "county_code": site[2:5],
                "site_number": site[5:9],
                "parameter_code": param,
                "poc": int(r["POC"]),
                "latitude": lat,
                "longitude": lon,
                "datum": "WGS84",
                "parameter": r["AQS_PARAMETER_DESC"],
                "sample_duration_code": "W" if ozone else "7",
                "sample_duration": "8-HR RUN AVG BEGIN HOUR" if ozone else "24 HOUR",
                "pollutant_standard": "Ozone 8-hour 2015" if ozone else "PM25 24-hour 2012",
                "date_local": f"{year}-{month}-{day}",
                "units_of_measure": "Parts per million" if ozone else "Micrograms/cubic meter (LC)",
                "event_type": "None",
                "observation_count": int(float(r["DAILY_OBS_COUNT"] or 0)),
                "observation_percent": float(r["PERCENT_COMPLETE"] or 0),
                "validity_indicator": "Y",
                "arithmetic_mean": value,
                "first_max_value": value,
                "first_max_hour": 0,
                "aqi": int(float(r["DAILY_AQI_VALUE"])) if r["DAILY_AQI_VALUE"] not in ("", ".") else None,
                "method_code": None,
                "method": None,
                "local_site_name": r.get("Site Name", ""),
                "site_address": None,
                "state": r["STATE"],
                "county": r["COUNTY"],
                "city": None,
                "cbsa_code": r["CBSA_CODE"],
                "cbsa": r["CBSA_NAME"],
                "date_of_last_change": "2020-01-15",
            }
        )
    return rows


def _recorded(kind: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for f in sorted(glob.glob(str(FIXTURES_EPA / "aqs_api_json" / "*" / "aqs" / kind / "*.json.gz"))):
        rows.extend(json.loads(gzip.decompress(Path(f).read_bytes()))["Data"])
    return rows


def _list_payloads() -> dict[str, dict[str, Any]]:
    out = {}
    for f in glob.glob(str(FIXTURES_EPA / "aqs_api_json" / "listfunctions" / "aqs" / "list" / "*.json.gz")):
        out[Path(f).name.split("-")[0]] = json.loads(gzip.decompress(Path(f).read_bytes()))
    return out


@dataclass
class Fault:
    """One injected fault, consumed by the next matching request."""

    kind: str  # "500", "503", "slow", "malformed", "truncated", "failed", "nodata"
    seconds: float = 0.0
    service: str | None = None  # only requests to this service (e.g. "dailyData")


@dataclass
class ServerState:
    daily: pd.DataFrame
    sample: pd.DataFrame
    lists: dict[str, dict[str, Any]]
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[str] = field(default_factory=list)
    revisions: dict[tuple[str, str, str, str], tuple[float, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The rows each distinct query selects, as the API's records: tests repeat their requests (re-runs,
    # retries, backfills resumed), and selecting and converting the rows again was most of the server's time.
    selected: dict[tuple[str, ...], list[dict[str, Any]]] = field(default_factory=dict)


def load_state() -> ServerState:
    daily_rows = _recorded("dailyData")
    for rel in DOWNLOAD_TOOL_FILES:
        daily_rows.extend(_daily_rows_from_download_tool(FIXTURES_EPA / rel))
    daily = pd.DataFrame(daily_rows)
    sample = pd.DataFrame(_recorded("sampleData"))
    for frame in (daily, sample):
        frame["_date"] = frame["date_local"].str.replace("-", "", regex=False)
        frame["_site"] = frame["state_code"] + frame["county_code"] + frame["site_number"]
    return ServerState(daily, sample, _list_payloads())


def _header(status: str, url: str, rows: int | None = None, error: list[str] | None = None) -> list[dict[str, Any]]:
    h: dict[str, Any] = {"status": status, "request_time": "2026-11-26T00:00:00-05:00", "url": url}
    if rows is not None:
        h["rows"] = rows
    if error:
        h["error"] = error
    return [h]


class Handler(StandInHandler):
    state: ServerState

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path.strip("/").split("/")
        # Echo the request like the real API does: email and key included.
        url = f"https://aqs.epa.gov/data/api/{'/'.join(path)}?{parts.query}"
        with self.state.lock:
            self.state.requests.append(self.path)
            service = path[0] if path else ""
            fault = None
            if self.state.faults and self.state.faults[0].service in (None, service):
                fault = self.state.faults.popleft()
        if fault and fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault and fault.kind in ("500", "502", "503"):
            self._send(int(fault.kind), b"<html>Service Unavailable</html>")
            return
        if q.get("email") != EMAIL or q.get("key") != KEY:
            body = {"Header": _header("Failed", url, error=["invalid authentication credentials"]), "Data": []}
            self._send(401, json.dumps(body).encode())
            return
        if len(path) != 2:
            self._send(
                404, json.dumps({"Header": _header("Failed", url, error=["unknown service"]), "Data": []}).encode()
            )
            return
        service, endpoint = path
        try:
            data = self._query(service, endpoint, q)
        except ValueError as exc:
            self._send(400, json.dumps({"Header": _header("Failed", url, error=[str(exc)]), "Data": []}).encode())
            return
        if fault and fault.kind == "failed":
            payload = {"Header": _header("Failed", url, error=["An internal error occurred"]), "Data": []}
        elif (fault and fault.kind == "nodata") or not data:
            payload = {"Header": _header("No data matched your selection", url, rows=0), "Data": []}
        else:
            payload = {"Header": _header("Success", url, rows=len(data)), "Data": data}
        body = json.dumps(payload).encode()
        if fault and fault.kind == "malformed":
            body = body[:-3] + b"}}"
        self._send(200, body, truncate=bool(fault and fault.kind == "truncated"))

    def _query(self, service: str, endpoint: str, q: dict[str, str]) -> list[dict[str, Any]]:
        if service == "list":
            name = endpoint
            payload = self.state.lists.get(name)
            if payload is None:
                raise ValueError(f"unknown list {name}")
            return list(payload["Data"])
        if service not in ("dailyData", "sampleData", "monitors"):
            raise ValueError(f"service {service} is not served here")
        for required in ("param", "bdate", "edate"):
            if not q.get(required):
                raise ValueError(f"value is missing or the value is empty: {required}")
        params = q["param"].split(",")
        if len(params) > 5:
            raise ValueError("param: no more than 5 parameter codes per request")
        if service != "monitors" and q["bdate"][:4] != q["edate"][:4]:
            raise ValueError("bdate and edate must be in the same year")
        query = (service, endpoint, *(f"{k}={v}" for k, v in sorted(q.items()) if k not in ("email", "key", "cbdate")))
        if (selected := self.state.selected.get(query)) is None:
            selected = self.state.selected[query] = self._select(service, endpoint, q, params)
        rows = list(selected)
        if self.state.revisions:
            for i, r in enumerate(rows):
                key = (r["state_code"] + r["county_code"] + r["site_number"], r["parameter_code"], str(r["poc"]),
                       r["date_local"])  # fmt: skip
                if (revision := self.state.revisions.get(key)) is not None:
                    value, changed = revision
                    rows[i] = {**r, "arithmetic_mean": value, "first_max_value": value, "date_of_last_change": changed}
        if q.get("cbdate"):
            rows = [r for r in rows if r["date_of_last_change"].replace("-", "") >= q["cbdate"]]
        return rows

    def _select(self, service: str, endpoint: str, q: dict[str, str], params: list[str]) -> list[dict[str, Any]]:
        frame = self.state.sample if service == "sampleData" else self.state.daily
        sel = frame["parameter_code"].isin(params) & frame["_date"].between(q["bdate"], q["edate"])
        if endpoint in ("bySite", "byCounty", "byState"):
            sel &= frame["state_code"] == q.get("state")
            if endpoint in ("bySite", "byCounty"):
                sel &= frame["county_code"] == q.get("county")
            if endpoint == "bySite":
                sel &= frame["site_number"] == q.get("site")
        elif endpoint == "byCBSA":
            sel &= frame["cbsa_code"] == q.get("cbsa")
        elif endpoint == "byBox":
            lat, lon = frame["latitude"].astype(float), frame["longitude"].astype(float)
            sel &= lat.between(float(q["minlat"]), float(q["maxlat"])) & lon.between(
                float(q["minlon"]), float(q["maxlon"])
            )
        else:
            raise ValueError(f"unknown filter {endpoint}")
        rows = frame.loc[sel].drop(columns=["_date", "_site"]).to_dict("records")
        return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows]


class AqsServer:
    """The server on a free loopback port, in a background thread."""

    def __init__(self, state: ServerState | None = None) -> None:
        self.state = state or load_state()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> AqsServer:
        start(self.httpd)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.httpd)

    def inject(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def revise(self, site: str, param: str, poc: int, date: str, value: float, changed: str) -> None:
        """Make the server report a revised value (a newer date of last change) from now on."""
        with self.state.lock:
            self.state.revisions[(site, param, str(poc), date)] = (value, changed)


def main() -> None:
    parser = argparse.ArgumentParser(description="Local AQS Data API server with real EPA data")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    state = load_state()
    handler = type("BoundHandler", (Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print(f"AQS stand-in on http://127.0.0.1:{args.port} (email {EMAIL}, key {KEY})")
    httpd.serve_forever()


if __name__ == "__main__":
    main()
