"""A local server that speaks AirNow's ``/aq/data/`` (shared/airnow-api.md) and serves real hourly data.

Rows are the real AirNow-Tech hourly values of Burdens Creek, NC (AQS 37-063-0099; the UTC days
2019-08-01..03 and 2019-09-10 of shared/data/epa/airnowtech_hourly_burdens_creek_nc_2019, cut into
tests/fixtures/epa), reshaped into the API's JSON records; coordinates from EPA's site list. It checks
the key (401 with a WebServiceError body otherwise) and can inject 5xx and truncated-body faults.
"""

from __future__ import annotations

import json
from collections import deque
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from tests.fakes.http import StandInHandler, start, stop

FIXTURES_EPA = Path(__file__).resolve().parents[1] / "fixtures" / "epa"
KEY = "sentinel-airnow-key-5d21e0"
PARAMETER = {"O3": "OZONE", "PM2.5": "PM2.5", "NO2": "NO2", "CO": "CO", "PM10": "PM10"}
LAT, LON = 35.88931, -78.87466  # airdata_site_metadata/aqs_sites.csv, site 37-063-0099


def load_rows() -> pd.DataFrame:
    folder = FIXTURES_EPA / "airnowtech_hourly_burdens_creek_nc_2019"
    frames = [pd.read_csv(p, dtype=str) for p in sorted(folder.glob("*.csv.gz"))]
    raw = pd.concat(frames, ignore_index=True)
    raw["Param"] = raw["Param"].str.replace("-88101", "", regex=False).str.replace("-85101", "", regex=False)
    raw = raw[raw["Param"].isin(PARAMETER)]
    utc = pd.to_datetime(raw["Date (UTC)"] + " " + raw["Time (UTC)"], format="%m/%d/%Y %H:%M")
    rows = pd.DataFrame(
        {
            "Latitude": LAT,
            "Longitude": LON,
            "UTC": utc.dt.strftime("%Y-%m-%dT%H:%M"),
            "Parameter": raw["Param"].map(PARAMETER),
            "Unit": raw["Unit"],
            "Value": pd.to_numeric(raw["Value"], errors="coerce").fillna(-999.0),
            "RawConcentration": pd.to_numeric(raw["Value"], errors="coerce").fillna(-999.0),
            "AQI": -999,
            "Category": -999,
            "SiteName": raw["Site"],
            "AgencyName": "North Carolina Dept. of Environmental Quality",
            "FullAQSCode": raw["Site AQS"],
            "IntlAQSCode": "840" + raw["Site AQS"],
        }
    )
    # The two source files overlap on two days (none of them kept in the fixture); AirNow returns one
    # record per site, parameter and hour.
    return rows.drop_duplicates(["FullAQSCode", "Parameter", "UTC"]).reset_index(drop=True)


class AirNowServer:
    def __init__(self) -> None:
        self.rows = load_rows()
        self.faults: deque[str] = deque()
        self.requests: list[str] = []
        server = self

        class Handler(StandInHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                q = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
                server.requests.append(self.path)
                fault = server.faults.popleft() if server.faults else None
                if fault in ("500", "503"):
                    self._send(int(fault), b"Service Unavailable")
                    return
                if q.get("api_key") != KEY:
                    self._send(401, json.dumps({"WebServiceError": [{"Message": "Invalid API key"}]}).encode())
                    return
                if parts.path.rstrip("/") != "/aq/data":
                    self._send(404, json.dumps({"WebServiceError": [{"Message": "Not found"}]}).encode())
                    return
                min_lon, min_lat, max_lon, max_lat = (float(v) for v in q["bbox"].split(","))
                start, end = q["startdate"], q["enddate"]
                params = {p.upper().replace("PM25", "PM2.5") for p in q.get("parameters", "").split(",") if p}
                r = server.rows
                sel = (
                    r["Latitude"].between(min_lat, max_lat)
                    & r["Longitude"].between(min_lon, max_lon)
                    & (r["UTC"].str[:13] >= start)
                    & (r["UTC"].str[:13] <= end)
                    & (r["Parameter"].isin(params) if params else True)
                )
                body = json.dumps(r.loc[sel].to_dict("records")).encode()
                self._send(200, body, truncate=fault == "truncated")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> AirNowServer:
        start(self.httpd)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.httpd)
