"""The backtest end to end on real EPA files, and its guarantees about time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from airwatch.cli import app
from airwatch.domain.backtest import fold_split, fold_windows
from airwatch.flows.backtest import backtest_config
from airwatch.settings import load_settings
from tests.conftest import FIXTURES

QUEENS = FIXTURES / "epa" / "adviz_queens_college_ny"  # 2015-2019


def test_folds_and_training_never_reach_past_the_issue_day() -> None:
    dates = pd.date_range("2019-01-01", "2019-12-31")
    frame = pd.DataFrame({"date": dates, "target_2": np.arange(len(dates), dtype=float), "last_value": 1.0})
    windows = fold_windows(pd.Timestamp("2019-12-31"), backtest_config(load_settings(), folds=3, fold_days=30))
    assert windows[0][0] == pd.Timestamp("2019-10-03") and windows[-1][1] == pd.Timestamp("2019-12-31")
    for start, end in windows:
        train, test = fold_split(frame, 2, start, end)
        last_target_in_training = train["date"].max() + pd.Timedelta(days=2)
        first_issue_day = test["date"].min()
        assert last_target_in_training <= first_issue_day  # no training observation after any issue day
    assert fold_windows(
        pd.Timestamp("2019-12-31"), backtest_config(load_settings(), folds=2, test_start=pd.Timestamp("2019-07-01"))
    )[0][0] == pd.Timestamp("2019-07-01")


@pytest.mark.usefixtures("prefect_harness")
def test_backtest_command_on_real_files(tmp_path: Path) -> None:
    folder = tmp_path / "in" / "nested"
    folder.mkdir(parents=True)
    for name in (
        "ozone_daily_2015_2019_queens_college_360810124.csv.gz",
        "pm25_daily_2015_2019_queens_college_360810124.csv.gz",
    ):
        shutil.copy(QUEENS / name, folder)
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(
        app, ["backtest", "--input", str(tmp_path / "in"), "--pollutant", "ozone", "--test-start", "2019-06-01",
              "--folds", "2", "--output", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["pollutant"] == "ozone" and data["model"] in {
        "ridge",
        "lightgbm",
        "blend",
        "persistence",
        "climatology",
    }
    assert set(data["horizons"]) == {"1", "2", "3"}
    for m in data["horizons"].values():
        for key in ("rmse", "mae", "persistence_rmse", "skill_vs_persistence", "climatology_rmse",
                    "skill_vs_climatology", "category_hit_rate", "n_sites", "n_forecasts"):  # fmt: skip
            assert key in m
        assert m["n_forecasts"] > 100
    assert data["folds"][0]["start"] == "2019-06-01"
    assert data["selection"]["window"][1] < "2019-06-01"  # chosen before the scored period
    assert data["horizons"]["1"]["skill_vs_persistence"] > 0.05
    for m in [*data["horizons"].values(), *(g for h in data["by_sampling"].values() for g in h.values())]:
        assert m["skill_vs_persistence_ci90_low"] <= m["skill_vs_persistence"] <= m["skill_vs_persistence_ci90_high"]
        assert {"aqi100_pod", "aqi100_far", "aqi100_csi"} <= set(m)
    assert set(data["by_sampling"]["1"]) == {"daily"}  # Queens College measures ozone every day
    assert "CSI" in result.output and "daily samplers" in result.output


JFK = FIXTURES / "noaa" / "ghcnd_dly_jfk_ny"


@pytest.mark.usefixtures("prefect_harness")
def test_weather_modes_are_labelled_and_archived_forecasts_come_from_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.openmeteo_server import OpenMeteoServer

    # Four backtests (three modes, one run twice): few boosting rounds. Skill is not under test here,
    # only that archived forecasts score as the observations they were made from.
    monkeypatch.setenv("AIRWATCH_TRAIN__LIGHTGBM_ROUNDS", "40")
    monkeypatch.setenv("AIRWATCH_TRAIN__QUANTILE_ROUNDS", "20")
    (tmp_path / "in").mkdir()
    shutil.copy(QUEENS / "ozone_daily_2015_2019_queens_college_360810124.csv.gz", tmp_path / "in")
    common = ["backtest", "--input", str(tmp_path / "in"), "--pollutant", "ozone", "--test-start", "2019-05-01",
              "--folds", "2", "--weather", str(JFK)]  # fmt: skip
    both = tmp_path / "both.json"
    result = CliRunner().invoke(app, [*common, "--output", str(both)])
    assert result.exit_code == 0, result.output
    data = json.loads(both.read_text())
    assert data["weather"] == "lagged" and set(data["modes"]) == {"lagged", "observed-as-forecast"}
    assert "weather lagged" in result.output and "weather observed-as-forecast" in result.output

    archived = tmp_path / "archived.json"
    with OpenMeteoServer() as server:
        result = CliRunner().invoke(app, [*common, "--weather-mode", "archived-forecast", "--forecast-url",
                                          server.base_url, "--output", str(archived)])  # fmt: skip
        asked = list(server.requests)
    assert result.exit_code == 0, result.output
    got = json.loads(archived.read_text())
    assert got["weather"] == "archived-forecast" and "weather archived-forecast" in result.output
    # One request per matched station (JFK) and year, 2015 to 2020 (the horizons after the last day).
    assert len(asked) == 6 and all("latitude=40.6390&longitude=-73.7640" in a for a in asked)
    # The stand-in serves JFK's observations as its "forecasts", so archived-forecast must score like
    # observed-as-forecast (values rounded to 0.1 as Open-Meteo sends them).
    observed = data["modes"]["observed-as-forecast"]["horizons"]["1"]["skill_vs_persistence"]
    assert got["horizons"]["1"]["skill_vs_persistence"] == pytest.approx(observed, abs=0.02)

    result = CliRunner().invoke(app, [*common, "--weather-mode", "archived-forecast", "--output", str(archived)])
    assert result.exit_code == 1 and "--forecast-url" in result.output


DENVER = FIXTURES / "epa" / "aqs_hourly_ozone_no2_denver_2021_2022"  # two sites, hourly ozone, May-Sep 2021
NWS = FIXTURES / "noaa" / "nws_forecasts_2021_2022"  # the NWS archive's Denver and Colorado Springs rows


@pytest.mark.usefixtures("prefect_harness")
def test_archived_nws_forecasts_run_beside_lagged_and_observed_weather(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--weather <NWS archive> --weather-mode archived-forecast: three modes scored on the same days, side by side."""
    monkeypatch.setenv("AIRWATCH_TRAIN__LIGHTGBM_ROUNDS", "40")  # skill is not under test here
    monkeypatch.setenv("AIRWATCH_TRAIN__QUANTILE_ROUNDS", "20")
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(
        app, ["backtest", "--input", str(DENVER), "--pollutant", "ozone", "--test-start", "2021-08-01",
              "--test-end", "2021-09-30", "--folds", "2", "--weather", str(NWS), "--weather-mode",
              "archived-forecast", "--output", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["weather"] == "archived-forecast"
    assert list(data["modes"]) == ["lagged", "archived-forecast", "observed-as-forecast"]
    assert data["weather_input"]["source"] == "NWS forecast archive"
    assert data["weather_input"]["sites_with_station"] == 2
    counts = {m: [r["horizons"][h]["n_forecasts"] for h in ("1", "2", "3")] for m, r in data["modes"].items()}
    assert len({tuple(c) for c in counts.values()}) == 1  # every mode scored on the same forecasts
    assert "weather modes side by side" in result.output and "archived-forecast" in result.output


def test_archived_frame_has_the_forecasts_and_the_observed_frame_the_observations() -> None:
    from airwatch.flows.backtest import backtest_frames

    modes = ("lagged", "archived-forecast", "observed-as-forecast")
    frames, _, _ = backtest_frames(str(DENVER), "ozone", (1, 2, 3), str(NWS), modes)
    assert frames["lagged"] is frames["observed-as-forecast"] and frames["archived-forecast"] is not frames["lagged"]
    archived, observed = frames["archived-forecast"], frames["lagged"]
    assert archived["wxf1_tmax"].notna().sum() > 200 and archived["wxf3_tmax"].isna().all()  # no 3-day lead
    both = archived["wxf1_tmax"].notna() & observed["wxf1_tmax"].notna()
    assert (archived.loc[both, "wxf1_tmax"] != observed.loc[both, "wxf1_tmax"]).mean() > 0.5  # forecasts miss
    assert (archived["wx_tmax"].fillna(-99) == observed["wx_tmax"].fillna(-99)).all()  # issue day: observed in both


def test_station_files_beside_an_archive_are_the_observed_weather(tmp_path: Path) -> None:
    """../shared/data/noaa holds the NWS archive in a sub-folder beside the station files: read as the
    archive (2021-2022 only), the whole folder gave Queens no weather at all."""
    import shutil

    from airwatch.flows.backtest import backtest_frames

    noaa = tmp_path / "noaa"
    for folder in (JFK, NWS):
        shutil.copytree(folder, noaa / folder.name)
    modes = ("lagged", "observed-as-forecast")
    frames, info, _ = backtest_frames(str(QUEENS), "ozone", (1, 2, 3), str(noaa), modes)
    alone, _, _ = backtest_frames(str(QUEENS), "ozone", (1, 2, 3), str(JFK), modes)
    assert info["weather_input"]["source"] == "station files" and info["weather_input"]["sites_with_station"] == 1
    assert frames["lagged"]["wxf1_tmax"].notna().sum() > 30
    pd.testing.assert_frame_equal(frames["lagged"], alone["lagged"])
    # The archive is still the source of archived forecasts (its own cities: none near Queens).
    frames, _, _ = backtest_frames(str(QUEENS), "ozone", (1, 2, 3), str(noaa), ("lagged", "archived-forecast"))
    archived = frames["archived-forecast"]
    assert frames["lagged"]["wx_tmax"].notna().any() and archived["wx_tmax"].isna().all()


PEAK = FIXTURES / "epa" / "airnow_daily_peak_2018" / "queens_college"


def test_backtest_reads_airnow_peak_files_as_validate_does(tmp_path: Path) -> None:
    """AirNow daily peak files are read (as ingest and validate read them), no longer skipped."""
    from airwatch.flows.backtest import load_observations

    shutil.copy(QUEENS / "ozone_daily_2015_2019_queens_college_360810124.csv.gz", tmp_path)
    shutil.copytree(PEAK, tmp_path / "peak")
    observations, info, skipped = load_observations(tmp_path, None)
    assert skipped == [] and info["files"] == 1 + len(list(PEAK.glob("*-peak.dat.gz")))
    airnow = observations[observations["data_source"] == "AirNow"]
    assert len(airnow) and set(airnow["parameter"]) >= {44201}


@pytest.mark.shared
def test_backtest_aggregates_hourly_sample_data_by_epa_rules() -> None:
    """The Denver sampleData CSV (hourly ozone) becomes MDA8 site-days through the transform stage's code."""
    from airwatch.flows.backtest import backtest_frame
    from tests.conftest import SHARED_EPA

    frame, info, skipped = backtest_frame(str(SHARED_EPA / "aqs_hourly_ozone_no2_denver_2021_2022"), "ozone",
                                          (1,), None, ("none",))  # fmt: skip
    assert skipped == [] and info["files"] == 2
    assert frame["site_id"].nunique() >= 10 and info["value_sources"] == {"AQS": info["site_days"]}
    values = frame["value"].dropna()
    assert values.min() >= 0.0 and values.max() < 0.2  # ppm: daily maximum 8-hour averages, not hourly ppb
