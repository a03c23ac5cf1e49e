"""Weather in production: station files ingested and transformed, and the predict stage taking the
target day's weather from the forecast API (its local stand-in), or saying why it falls back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from airwatch.catalog import RAW_WEATHER, WEATHER
from airwatch.flows.context import Context
from airwatch.flows.ingest import ingest_flow, ingest_weather_flow
from airwatch.flows.predict import predict_flow
from airwatch.flows.select import select_flow
from airwatch.flows.train import train_flow
from airwatch.flows.transform import transform_flow
from airwatch.flows.validate import validate_flow
from airwatch.io import datasets
from airwatch.settings import load_settings

pytestmark = pytest.mark.usefixtures("prefect_harness")


@contextmanager
def context(store: Path, **weather: object) -> Iterator[Context]:
    """Settings in the environment, where flows read them (as a deployment's worker does)."""
    env = {"STORE": store, "TRAIN__VALIDATION_DAYS": 180, "TRAIN__LIGHTGBM_ROUNDS": 30, "TRAIN__QUANTILE_ROUNDS": 20,
           "WEATHER__MODE": "forecast", "WEATHER__BACKOFF_SECONDS": 0.01, "WEATHER__MIN_INTERVAL_SECONDS": 0,
           **{f"WEATHER__{k.upper()}": v for k, v in weather.items()}}  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(f"AIRWATCH_{name}", str(value))
        yield Context(load_settings())


@pytest.fixture(scope="module")
def server():
    from tests.fakes.openmeteo_server import OpenMeteoServer

    with OpenMeteoServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("wx") / "store"
    folder = root.parent / "input"
    folder.mkdir()
    for year in (1999, 2000, 2001):
        name = f"ozone_daily_{year}_cook_county_IL.csv.gz"
        (folder / name).write_bytes((sample_dir / name).read_bytes())
    with context(root):
        ingest_flow(input_dir=str(folder))
        ingest_weather_flow()  # the bundled O'Hare station file
        validate_flow()
        transform_flow(pollutants=["ozone"])
        train_flow(pollutants=["ozone"])
        select_flow(pollutants=["ozone"])
    return root


def predictions(store: Path, **weather: object) -> pd.DataFrame:
    with context(store, **weather):
        (summary,) = predict_flow(pollutants=["ozone"])
    return pd.read_parquet(store / summary.key)


def test_weather_is_ingested_raw_and_processed_with_the_target_day_columns(store: Path) -> None:
    ctx = Context(load_settings(store=str(store)))
    keys = sorted(k.rsplit("/", 1)[-1] for k in datasets.latest(ctx.store, RAW_WEATHER).parts)
    assert keys == ["USW00094846.dly.gz", "USW00094960_KMIC_1997_2019.dly.gz"]
    weather = datasets.read(ctx.store, datasets.latest(ctx.store, WEATHER))
    assert set(weather["station_id"]) == {"USW00094846", "USW00094960"}
    assert weather.loc[weather["station_id"] == "USW00094846", "TMAX"].notna().sum() > 20000
    features = datasets.read(ctx.store, datasets.latest(ctx.store, "processed/features/ozone"))
    # Training rows see the target day's observed weather (perfect prog); its day is issue day + 1.
    row = features[features["wxf1_tmax"].notna()].iloc[100]
    nxt = weather[(weather["day"] == row["day"] + 1)]
    assert row["wxf1_tmax"] == pytest.approx(float(nxt[nxt["station_id"] == "USW00094846"]["TMAX"].iloc[0]))
    # Upstream weather: the issue day's at Minneapolis, 575 km north-west of the Chicago sites.
    row = features[features["wxup_tmax"].notna()].iloc[100]
    same_day = weather[(weather["day"] == row["day"]) & (weather["station_id"] == "USW00094960")]
    assert row["wxup_tmax"] == pytest.approx(float(same_day["TMAX"].iloc[0]))
    assert row["wxup_dtmax"] == pytest.approx(row["wxup_tmax"] - row["wx_tmax"])
    # A second ingest of the same station files adds nothing.
    assert ingest_weather_flow(str(store)).new_files == 0


def test_predict_uses_the_forecast_api_when_configured(store: Path, server) -> None:
    before = len(server.requests)
    got = predictions(store, forecast_url=server.base_url)
    assert (got["weather_forecast"] == "open-meteo").all()
    asked = server.requests[before:]
    # One request per matched station (O'Hare), for the forecast day only.
    assert len(asked) == 1 and "latitude=41.9950" in asked[0]
    assert f"start_date={got['forecast_date'].iloc[0]}" in asked[0]


def test_predict_without_a_forecast_api_falls_back_and_says_so(store: Path) -> None:
    got = predictions(store)
    assert got["weather_forecast"].str.startswith("issue-day observed weather (no forecast API configured").all()
    assert got["forecast"].notna().all()


def test_predict_falls_back_when_the_forecast_api_fails(store: Path, server) -> None:
    server.faults.extend(["500"] * 3)
    got = predictions(store, forecast_url=server.base_url, max_retries=2)
    server.faults.clear()
    assert got["weather_forecast"].str.contains("forecast API failed").all()
    assert got["forecast"].notna().all()
