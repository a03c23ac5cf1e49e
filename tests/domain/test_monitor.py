"""Verification (airwatch.domain.monitor) against hand computations on small fixtures."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from airwatch.domain.monitor import (
    daily_scores,
    forecast_actual_pairs,
    season_start,
    verification,
    windows,
    with_climatology,
)
from airwatch.domain.parse import parse_airnow_peak, parse_daily_file
from airwatch.domain.sites import epa_region
from airwatch.domain.transform import site_daily_values
from tests.conftest import FIXTURES

AS_OF = date(2012, 12, 31)  # scores forecast dates up to 2012-12-30


def pairs_fixture() -> pd.DataFrame:
    """Six day+1 forecasts of two Illinois sites (Region 5) and one Queens site (Region 2), PM2.5."""
    rows = [  # site, forecast date, forecast, lower, upper, observed, persistence, climatology
        ("170310076", "2012-12-28", 10.0, 8.0, 14.0, 12.0, 8.0, 11.0),
        ("170310076", "2012-12-29", 40.0, 35.0, 55.0, 50.0, 30.0, 20.0),
        ("170310076", "2012-12-30", 30.0, 20.0, 35.0, 40.0, 45.0, np.nan),
        ("170314201", "2012-12-29", 60.0, 50.0, 70.0, 20.0, 30.0, 25.0),
        ("170314201", "2012-11-15", 5.0, 4.0, 6.0, 5.0, 7.0, 6.0),  # autumn: in neither window
        ("360810124", "2012-12-30", 8.0, 6.0, 9.0, 9.5, 9.0, 10.0),
    ]
    frame = pd.DataFrame(rows, columns=["site_id", "forecast_date", "forecast", "lower", "upper", "observed",
                                        "persistence", "climatology"])  # fmt: skip
    return frame.assign(pollutant="pm25", horizon_days=1)


def expected(rows: pd.DataFrame) -> dict[str, float]:
    """The scores computed by hand (numpy, no AirWatch code)."""
    f, o, p = rows["forecast"].to_numpy(), rows["observed"].to_numpy(), rows["persistence"].to_numpy()
    c = rows["climatology"].to_numpy()
    e = f - o
    has_c = ~np.isnan(c)
    return {
        "n": len(rows),
        "bias": e.mean(),
        "mae": np.abs(e).mean(),
        "rmse": np.sqrt((e**2).mean()),
        "corr": np.corrcoef(f, o)[0, 1] if len(rows) > 1 else np.nan,
        "skill_vs_persistence": 1 - np.sqrt((e**2).sum() / ((p - o) ** 2).sum()),
        "skill_vs_climatology": 1 - np.sqrt((e[has_c] ** 2).sum() / ((c[has_c] - o[has_c]) ** 2).sum()),
        "interval_coverage": ((rows["lower"] <= o) & (o <= rows["upper"])).mean(),
    }


def test_scores_match_a_hand_computation_for_every_scope() -> None:
    scores, confusion = verification(pairs_fixture(), AS_OF)
    last30 = pairs_fixture()[pairs_fixture()["forecast_date"] >= "2012-12-01"]
    row = scores[(scores["window"] == "30d") & (scores["scope"] == "all")].iloc[0]
    assert (row["window_start"], row["window_end"]) == ("2012-12-01", "2012-12-30")
    for name, value in expected(last30).items():
        assert row[name] == pytest.approx(value, rel=1e-12), name
    assert row["sites"] == 3
    # Categories (PM2.5 AQI 2024): forecast/observed Moderate/Moderate, USG/USG, Moderate/USG,
    # Unhealthy/Moderate, Good/Moderate -> 2 of 5 equal, 4 of 5 within one; at AQI > 100, one hit, one
    # miss, one false alarm, two correct negatives.
    assert row["category_hit_rate"] == pytest.approx(2 / 5) and row["within_one_category"] == pytest.approx(4 / 5)
    assert (row["hits"], row["misses"], row["false_alarms"], row["correct_negatives"]) == (1, 1, 1, 2)
    assert row["pod"] == pytest.approx(0.5) and row["far"] == pytest.approx(0.5)
    assert row["csi"] == pytest.approx(1 / 3) and row["frequency_bias"] == pytest.approx(1.0)
    a, b, c, d = 1, 1, 1, 2
    assert row["hss"] == pytest.approx(2 * (a * d - b * c) / ((a + c) * (c + d) + (a + b) * (b + d)))
    matrix = confusion[(confusion["window"] == "30d")].set_index(["forecast_category", "observed_category"])["pairs"]
    assert matrix.to_dict() == {(1, 1): 1, (2, 2): 1, (1, 2): 1, (3, 1): 1, (0, 1): 1}

    regions = scores[(scores["window"] == "30d") & (scores["scope"] == "region")].set_index("subject")
    assert list(regions.index) == ["Region 2", "Region 5"]
    illinois = last30[last30["site_id"].str.startswith("17")]
    for name, value in expected(illinois).items():
        assert regions.loc["Region 5", name] == pytest.approx(value, rel=1e-12), name
    site = scores[(scores["window"] == "30d") & (scores["subject"] == "360810124")].iloc[0]
    assert site["n"] == 1 and site["rmse"] == pytest.approx(1.5) and np.isnan(site["corr"])


def test_the_season_to_date_reaches_back_to_december_first_and_the_window_to_thirty_days() -> None:
    assert season_start(date(2012, 12, 30)) == date(2012, 12, 1)
    assert season_start(date(2013, 2, 28)) == date(2012, 12, 1)
    assert season_start(date(2013, 3, 1)) == date(2013, 3, 1)
    assert season_start(date(2013, 8, 31)) == date(2013, 6, 1)
    assert [(w.start, w.end) for w in windows(date(2013, 1, 15))] == [
        (date(2012, 12, 16), date(2013, 1, 14)),
        (date(2012, 12, 1), date(2013, 1, 14)),
    ]
    # On 2013-01-29 the last 30 days hold the two forecasts of December 30; the winter all five.
    scores, _ = verification(pairs_fixture(), date(2013, 1, 29))
    counts = scores[scores["scope"] == "all"].set_index("window")["n"]
    assert counts.to_dict() == {"30d": 2, "season": 5}


def test_the_newest_issue_counts_and_unobserved_days_wait() -> None:
    predictions = pd.DataFrame({
        "pollutant": "pm25", "site_id": "170310076", "horizon_days": 1,
        "forecast_date": ["2012-12-30", "2012-12-30", "2012-12-31"],
        "issued_utc": ["20130101T000000.000000Z", "20130102T000000.000000Z", "20130102T000000.000000Z"],
        "forecast": [10.0, 12.0, 14.0],
    })  # fmt: skip
    actuals = pd.DataFrame({"site_id": ["170310076"], "date": pd.to_datetime(["2012-12-30"]), "value": [11.0]})
    pairs = forecast_actual_pairs(predictions, actuals)
    assert pairs["forecast"].tolist() == [12.0, 14.0]  # the re-issued forecast replaced the first
    assert pairs["observed"].tolist()[0] == 11.0 and np.isnan(pairs["observed"].tolist()[1])


def test_climatology_uses_only_the_years_before_the_forecast() -> None:
    actuals = pd.DataFrame({
        "site_id": "a",
        "date": pd.to_datetime(["2010-12-01", "2010-12-02", "2011-12-05", "2012-12-01", "2012-11-01"]),
        "value": [1.0, 3.0, 5.0, 7.0, 100.0],
    })  # fmt: skip
    pairs = pd.DataFrame({"pollutant": "pm25", "site_id": "a", "horizon_days": 1,
                          "forecast_date": ["2010-12-03", "2011-12-09", "2012-12-03", "2013-12-03"]})  # fmt: skip
    clim = with_climatology(pairs, actuals).set_index("forecast_date")["climatology"]
    assert np.isnan(clim["2010-12-03"])  # no earlier December
    assert clim["2011-12-09"] == 2.0 and clim["2012-12-03"] == 3.0  # mean of 1, 3 (and 5)
    assert clim["2013-12-03"] == 4.0  # 2012's December counts from 2013 on; November never does


def test_an_aqs_revision_of_an_actual_changes_the_scores() -> None:
    """Real data of Queens College (36-081-0124): AirNow's preliminary PM2.5 of 2018-07-20, then AQS's.

    The site-day rule takes AQS's value over AirNow's, so the same forecast scores differently.
    """
    peak = FIXTURES / "epa" / "airnow_daily_peak_2018" / "queens_college" / "20180720-peak.dat.gz"
    export = FIXTURES / "epa" / "adviz_queens_college_ny" / "pm25_daily_2015_2019_queens_college_360810124.csv.gz"
    airnow = parse_airnow_peak(peak.name, peak.read_bytes())
    aqs = parse_daily_file(export.name, export.read_bytes())
    aqs = aqs[pd.to_datetime(aqs["date"]) == pd.Timestamp("2018-07-20")]
    preliminary = site_daily_values(airnow, "pm25")
    revised = site_daily_values(pd.concat([airnow, aqs], ignore_index=True), "pm25")
    site = "360810124"
    old = preliminary.loc[preliminary["site_id"] == site, "value"].item()
    new = revised.loc[revised["site_id"] == site, "value"].item()
    assert old != new and revised.loc[revised["site_id"] == site, "data_source"].astype(str).item() == "AQS"
    forecast = 12.5
    predictions = pd.DataFrame({"pollutant": "pm25", "site_id": site, "forecast_date": "2018-07-20",
                                "horizon_days": 1, "issued_utc": "x", "forecast": forecast, "lower": forecast - 2,
                                "upper": forecast + 2, "persistence": 9.0,
                                "climatology": np.nan}, index=[0])  # fmt: skip
    day = date(2018, 7, 21)
    before = verification(forecast_actual_pairs(predictions, preliminary), day)[0].iloc[0]
    after = verification(forecast_actual_pairs(predictions, revised), day)[0].iloc[0]
    assert before["bias"] == pytest.approx(forecast - old) and after["bias"] == pytest.approx(forecast - new)
    assert before["rmse"] != after["rmse"]


def test_daily_scores_are_per_forecast_date() -> None:
    daily = daily_scores(pairs_fixture())
    row = daily[daily["forecast_date"] == "2012-12-29"].iloc[0]
    assert row["n"] == 2 and row["rmse"] == pytest.approx(np.sqrt((100 + 1600) / 2))


def test_epa_regions() -> None:
    assert epa_region("170310076") == "Region 5" and epa_region("360810124") == "Region 2"
    assert epa_region("060371103") == "Region 9" and epa_region("800020001") == "other"
