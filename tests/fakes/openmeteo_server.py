"""A local stand-in for Open-Meteo's /v1/forecast, serving real NOAA observations as the "forecast".

Daily values are JFK's GHCN-Daily observations (the months the tests ask for, cut from
shared/data/noaa into tests/fixtures/noaa), converted to Open-Meteo's field names and units; JFK
answers for any point. Faults: 5xx, slow and truncated responses, and Open-Meteo's 400 error body for
bad parameters.
"""

from __future__ import annotations

import json
import time
from collections import deque
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from airwatch.domain.weather import parse_ghcn_dly
from tests.fakes.http import StandInHandler, start, stop

FIXTURES_NOAA = Path(__file__).resolve().parents[1] / "fixtures" / "noaa"
JFK = FIXTURES_NOAA / "ghcnd_dly_jfk_ny" / "USW00094789_KJFK_test_months.dly.gz"


class OpenMeteoServer:
    def __init__(self) -> None:
        frame, _ = parse_ghcn_dly("jfk.dly.gz", JFK.read_bytes())
        self.weather = frame.set_index("day")
        self.faults: deque[str] = deque()
        self.requests: list[str] = []
        server = self

        class Handler(StandInHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                fault = server.faults.popleft() if server.faults else None
                if fault == "slow":
                    time.sleep(2.0)
                if fault in ("500", "502"):
                    self._send(int(fault), b"bad gateway")
                    return
                q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                try:
                    lat, lon = float(q["latitude"]), float(q["longitude"])
                    start, end = np.datetime64(q["start_date"]), np.datetime64(q["end_date"])
                    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                        raise ValueError("Latitude must be in range of -90 to 90°.")
                except (KeyError, ValueError) as exc:
                    self._send(400, json.dumps({"error": True, "reason": str(exc)}).encode())
                    return
                days = np.arange(start, end + 1)
                rows = server.weather.reindex((days - np.datetime64("1970-01-01")).astype(int))

                def col(name: str) -> list[Any]:
                    return [None if v != v else round(float(v), 1) for v in rows[name]]

                body = {
                    "latitude": lat, "longitude": lon, "timezone": "America/New_York",
                    "daily_units": {"temperature_2m_max": "°C", "precipitation_sum": "mm",
                                    "wind_speed_10m_mean": "m/s"},
                    "daily": {"time": [str(d) for d in days], "temperature_2m_max": col("TMAX"),
                              "temperature_2m_min": col("TMIN"), "precipitation_sum": col("PRCP"),
                              "wind_speed_10m_mean": col("AWND"), "wind_direction_10m_dominant": col("WDF2"),
                              "relative_humidity_2m_mean": col("RHAV"), "pressure_msl_mean": col("ASLP")},
                }  # fmt: skip
                self._send(200, json.dumps(body).encode(), truncate=fault == "truncated")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> OpenMeteoServer:
        start(self.httpd)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.httpd)
