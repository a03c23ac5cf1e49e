"""The freshest data: AQS history with newer AirNow days forecasts from the AirNow day, and AQS's value
replaces AirNow's when it arrives.

Real data of one site, Queens College (36-081-0124): its download-tool export from AQS (PM2.5, 88101
POCs 1 and 4) and AirNow's daily peak files of 2018-07-20..22, whose PM2.5-24hr values are AirNow's
preliminary ones for the days the AQS export also has.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from airwatch import catalog
from airwatch.flows.ingest import ingest_flow
from airwatch.flows.predict import predict_flow
from airwatch.flows.select import select_flow
from airwatch.flows.train import train_flow
from airwatch.flows.transform import transform_flow
from airwatch.flows.validate import validate_flow
from airwatch.io import datasets
from airwatch.io.store import LocalStore
from tests.conftest import FIXTURES

pytestmark = pytest.mark.usefixtures("prefect_harness")
QUEENS = FIXTURES / "epa" / "adviz_queens_college_ny" / "pm25_daily_2015_2019_queens_college_360810124.csv.gz"
PEAKS = sorted((FIXTURES / "epa" / "airnow_daily_peak_2018" / "queens_college").glob("*-peak.dat.gz"))
AIRNOW_DAYS = ("07/20/2018", "07/21/2018", "07/22/2018")


def export(folder: Path, name: str, keep) -> None:  # type: ignore[no-untyped-def]
    """The Queens AQS export cut to some of its days (the header kept)."""
    header, *rows = gzip.decompress(QUEENS.read_bytes()).decode().splitlines(keepends=True)
    (folder / name).write_bytes(gzip.compress("".join([header, *(r for r in rows if keep(r[1:11]))]).encode()))


def daily(store: Path) -> pd.DataFrame:
    s = LocalStore(store)
    frame = datasets.read(s, datasets.latest(s, catalog.features("pm25")))
    return frame[frame["value"].notna()].set_index("date")[["value", "value_source"]]


def test_airnow_days_are_forecast_from_and_aqs_replaces_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, folder = tmp_path / "store", tmp_path / "input"
    folder.mkdir()
    for name, value in (("STORE", store), ("WEATHER__MODE", "none"), ("TRAIN__VALIDATION_DAYS", 60),
                        ("TRAIN__LIGHTGBM_ROUNDS", 30), ("TRAIN__QUANTILE_ROUNDS", 20)):  # fmt: skip
        monkeypatch.setenv(f"AIRWATCH_{name}", str(value))
    # AQS history through 2018-07-19, and AirNow's next three days.
    export(folder, "history.csv.gz", lambda day: pd.Timestamp(day) <= pd.Timestamp("2018-07-19"))
    for peak in PEAKS:
        (folder / peak.name).write_bytes(peak.read_bytes())
    ingest_flow(input_dir=str(folder))
    validate_flow()
    transform_flow(pollutants=["pm25"])
    before = daily(store)
    assert str(before.index.max().date()) == "2018-07-22"
    assert (before.loc["2018-07-20":, "value_source"] == "AirNow").all()
    assert before.loc["2018-07-20", "value"] == 5.7  # AirNow's preliminary value
    train_flow(pollutants=["pm25"])
    select_flow(pollutants=["pm25"])
    (predicted,) = predict_flow(pollutants=["pm25"])
    assert predicted.issue_date == "2018-07-22"  # the newest day is AirNow's
    assert predicted.forecast_dates == ["2018-07-23", "2018-07-24", "2018-07-25"]

    # AQS publishes those days: its value (POC 1, 6.2) replaces AirNow's (5.7), which stays in the history.
    export(folder, "later.csv.gz", lambda day: day in AIRNOW_DAYS)
    ingest_flow(input_dir=str(folder))
    validate_flow()
    transform_flow(pollutants=["pm25"])
    after = daily(store)
    assert (after.loc["2018-07-20":, "value_source"] == "AQS").all()
    assert after.loc["2018-07-20", "value"] == 6.2 and after.loc["2018-07-21", "value"] == 4.4
    assert after.loc[:"2018-07-19", "value"].equals(before.loc[:"2018-07-19", "value"])
    s = LocalStore(store)
    observations = datasets.read(s, datasets.latest(s, catalog.OBSERVATIONS))
    kept = observations[(observations["data_source"] == "AirNow") & (observations["parameter"] == 88502)]
    assert sorted(kept["value"].round(1)) == [2.7, 4.4, 5.7]  # AirNow's values are kept
