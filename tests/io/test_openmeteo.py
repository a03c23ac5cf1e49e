"""The Open-Meteo client against its local stand-in (real NOAA values), faults included."""

from __future__ import annotations

from datetime import date

import pytest

from airwatch.io.openmeteo import OpenMeteoClient, OpenMeteoError


@pytest.fixture(scope="module")
def server():
    from tests.fakes.openmeteo_server import OpenMeteoServer

    with OpenMeteoServer() as srv:
        yield srv


def client(server, **kw) -> OpenMeteoClient:
    return OpenMeteoClient(base_url=server.base_url, historical_base_url=server.base_url, backoff=0.01,
                           min_interval=0, timeout=1.0, **kw)  # fmt: skip


def test_daily_forecast_in_station_units(server) -> None:
    frame = client(server).daily(40.74, -73.82, date(2019, 7, 1), date(2019, 7, 3), archived=True)
    assert len(frame) == 3 and list(frame.columns) == ["TMAX", "TMIN", "PRCP", "AWND", "WDF2", "RHAV", "ASLP", "day"]
    for element in ("TMAX", "RHAV", "ASLP"):  # relative humidity in %, sea-level pressure in hPa
        expected = server.weather.loc[(date(2019, 7, 1) - date(1970, 1, 1)).days, element]
        assert frame[element].iloc[0] == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("fault", ["500", "slow", "truncated"])
def test_transient_faults_are_retried(server, fault: str) -> None:
    server.faults.extend([fault])
    frame = client(server).daily(40.74, -73.82, date(2019, 7, 1), date(2019, 7, 1))
    assert len(frame) == 1 and not server.faults


def test_bad_request_is_an_error_with_the_reason(server) -> None:
    n = len(server.requests)
    with pytest.raises(OpenMeteoError, match="HTTP 400: Latitude must be in range"):
        client(server).daily(95.0, 0.0, date(2019, 7, 1), date(2019, 7, 1))
    assert len(server.requests) == n + 1  # not retried


def test_gives_up_after_retries(server) -> None:
    server.faults.extend(["500"] * 3)
    with pytest.raises(OpenMeteoError, match="gave up after 3 attempts"):
        client(server, max_retries=2).daily(40.74, -73.82, date(2019, 7, 1), date(2019, 7, 1))
    server.faults.clear()
