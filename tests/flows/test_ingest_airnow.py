"""AirNow ingestion (fresh hourly data) against a local AirNow-compatible server with real values."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from airwatch.catalog import OBSERVATIONS
from airwatch.cli import app
from airwatch.domain.parse import parse_airnow_peak
from airwatch.domain.validate import validate_observations
from airwatch.flows.context import Context
from airwatch.flows.ingest_airnow import ingest_airnow_flow
from airwatch.flows.validate import validate_flow
from airwatch.io import datasets
from airwatch.io.airnow import AirNowError
from airwatch.settings import load_settings
from tests.conftest import FIXTURES

NC = "-79.5,35.5,-78.5,36.5"


@pytest.fixture(scope="module")
def server():
    from tests.fakes.airnow_server import AirNowServer

    with AirNowServer() as srv:
        yield srv


@pytest.fixture
def ctx(tmp_path: Path, server, monkeypatch: pytest.MonkeyPatch) -> Context:
    from tests.fakes.airnow_server import KEY

    server.faults.clear()
    monkeypatch.setenv("AIRWATCH_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("AIRWATCH_AIRNOW__BASE_URL", server.base_url)
    monkeypatch.setenv("AIRWATCH_AIRNOW__KEY", KEY)
    monkeypatch.setenv("AIRWATCH_AIRNOW__MIN_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("AIRWATCH_AIRNOW__BACKOFF_SECONDS", "0.01")
    return Context(load_settings())


@pytest.mark.usefixtures("prefect_harness")
def test_hourly_observations_in_the_normalized_schema(ctx: Context, server, caplog) -> None:
    from tests.fakes.airnow_server import KEY

    caplog.set_level(logging.DEBUG)
    server.faults.extend(["500", "truncated"])
    summary = ingest_airnow_flow(NC, datetime(2019, 8, 1, 0), datetime(2019, 8, 3, 23), ["OZONE", "PM25"])
    assert summary.requests == 3  # one per 24 hours
    result = validate_flow()
    assert result.quarantined == 0
    obs = datasets.read(ctx.store, datasets.latest(ctx.store, OBSERVATIONS))
    assert set(obs["parameter"]) == {44201, 88502}
    ozone = obs[obs["parameter"] == 44201]
    served = server.rows[
        (server.rows["Parameter"] == "OZONE") & server.rows["UTC"].between("2019-08-01", "2019-08-03T23:59")
    ]
    assert len(ozone) == len(served) > 48  # the real record misses some hours (calibrations)
    assert ozone["value"].max() < 0.2  # PPB converted to AQS's ppm
    expected = server.rows[(server.rows["Parameter"] == "OZONE") & (server.rows["UTC"] == "2019-08-01T18:00")]
    # 18:00 UTC is 13:00 local standard time in North Carolina (UTC-5; -78.9 degrees / 15 rounds to -5).
    got = ozone[(ozone["day"] == (np.datetime64("2019-08-01") - np.datetime64("1970-01-01")).astype(int))
                & (ozone["hour"] == 13)]  # fmt: skip
    assert got["value"].iloc[0] == pytest.approx(expected["Value"].iloc[0] / 1000)
    for path in Path(ctx.settings.store).rglob("*"):
        if path.is_file():
            import gzip

            data = path.read_bytes()
            assert KEY.encode() not in (gzip.decompress(data) if path.suffix == ".gz" else data)
    assert KEY not in caplog.text


@pytest.mark.usefixtures("prefect_harness")
def test_wrong_key_fails_clearly_without_retry(ctx: Context, server, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.airnow_server import KEY

    monkeypatch.setenv("AIRWATCH_AIRNOW__KEY", "wrong")
    n = len(server.requests)
    with pytest.raises(AirNowError, match="HTTP 401: Invalid API key") as err:
        ingest_airnow_flow(NC, datetime(2019, 8, 1), datetime(2019, 8, 1, 5))
    assert len(server.requests) == n + 1
    assert "wrong" not in str(err.value) and KEY not in str(err.value)


@pytest.mark.usefixtures("prefect_harness")
def test_cli_airnow(ctx: Context) -> None:
    result = CliRunner().invoke(
        app, ["ingest", "airnow", "--bbox", "-79.5,35.5,-78.5,36.5", "--start", "2019-09-10T00",
              "--end", "2019-09-10T11", "--params", "44201"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 AirNow requests, 1 new raw objects, 11 rows" in result.output  # 12 hours, one missing in the record


def test_airnow_peak_files_are_daily_observations() -> None:
    path = FIXTURES / "epa" / "airnow_daily_peak_2018" / "20180722-peak_every_10th_line.dat.gz"
    frame = parse_airnow_peak(path.name, path.read_bytes())
    result = validate_observations(frame, max_day=40_000)
    assert result.quarantined_share == 0.0
    assert set(result.quarantined["reasons"]) == {"out_of_scope"}  # Canadian and Mexican monitors
    mda8 = result.valid[
        (result.valid["parameter"] == 44201) & (result.valid["sample_duration"] == "8-HR RUN AVG BEGIN HOUR")
    ]
    assert len(mda8) == 117 and (mda8["hour"] == -1).all() and mda8["value"].between(0, 0.2).all()
