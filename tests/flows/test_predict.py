"""Predict: a forecast is issued once per features, champion, code and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from airwatch.flows.predict import predict_flow
from airwatch.io import records
from airwatch.io.store import LocalStore

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_a_forecast_is_issued_once_for_the_same_inputs(trained_pm25: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(trained_pm25)
    issued = records.prediction_keys(store, "pm25")
    assert len(issued) == 1
    (again,) = predict_flow(pollutants=["pm25"])
    assert not again.issued and again.key == issued[0]
    assert records.prediction_keys(store, "pm25") == issued  # nothing new published

    # Another staleness limit can forecast other sites: a new issue, beside the first.
    monkeypatch.setenv("AIRWATCH_PREDICT__MAX_STALENESS_DAYS", "30")
    (changed,) = predict_flow(pollutants=["pm25"])
    assert changed.issued and changed.key != issued[0]
    assert records.prediction_keys(store, "pm25") == sorted([*issued, changed.key])


def test_each_forecast_row_warns_of_aqi_over_100_by_the_adopted_probability(
    trained_pm25: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    store = LocalStore(trained_pm25)
    (first,) = predict_flow(pollutants=["pm25"])
    frame = pd.read_parquet(trained_pm25 / first.key)
    assert (frame["aqi_warning"] == (frame["p_aqi_over_100"] >= 0.20)).all()  # PM2.5's adopted probability
    # Another probability is another issue (the settings are part of what a forecast was issued from).
    monkeypatch.setenv("AIRWATCH_PREDICT__WARNING_PROBABILITY_PM25", "0")
    (changed,) = predict_flow(pollutants=["pm25"])
    assert changed.issued and changed.key not in {first.key}
    assert pd.read_parquet(trained_pm25 / changed.key)["aqi_warning"].all()
    assert changed.key in records.prediction_keys(store, "pm25")
