"""Predict: load the champion by alias, forecast the next day for every fresh site, write predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.domain.predict import aqi_columns, issue_rows
from airwatch.domain.schemas import POLLUTANTS
from airwatch.domain.weather import forecast_columns, match_stations, persistence_columns
from airwatch.flows.context import WEATHER, Context, features_dataset
from airwatch.flows.transform import split_weather
from airwatch.io import datasets
from airwatch.io.datasets import to_parquet_bytes, utc_stamp
from airwatch.io.openmeteo import OpenMeteoClient, OpenMeteoError

HORIZON = 1


@dataclass(frozen=True)
class PredictSummary:
    pollutant: str
    forecast_date: str
    sites: int
    key: str
    model_version: str


def predictions_key(pollutant: str, forecast_date: str, issued: str, model_name: str, version: str) -> str:
    return f"predictions/{pollutant}/{forecast_date}/predictions_{issued}_{model_name}-v{version}.parquet"


def add_forecast_weather(
    ctx: Context, features_manifest: datasets.Manifest, rows: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with the target day's weather from the forecast API, or, failing that, the issue day's.

    Returns the rows and, per row, where its target-day weather came from. A missing forecast is never
    silent: the source column says so and a warning gives the reason.
    """
    logger = get_run_logger()
    ws = ctx.settings.weather
    weather_info = features_manifest.extra.get("weather") or {}
    weather = datasets.find_version(ctx.store, WEATHER, str(weather_info.get("version", "")))
    if weather is None:
        raise ValueError(f"predict: features {features_manifest.version} name no published weather dataset; "
                         "run transform with weather on")  # fmt: skip
    stations = split_weather(datasets.read(ctx.store, weather))[1]
    radius_km = float(weather_info.get("radius_km", ws.radius_km))  # the match the features were built with
    fallback = persistence_columns(rows, horizon=HORIZON)
    got: dict[str, np.ndarray] | None = None
    reason = ""
    if not ws.forecast_url:
        reason = "no forecast API configured (AIRWATCH_WEATHER__FORECAST_URL)"
    else:
        client = OpenMeteoClient(
            base_url=ws.forecast_url, max_retries=ws.max_retries, backoff=ws.backoff_seconds,
            timeout=ws.timeout_seconds, min_interval=ws.min_interval_seconds,
        )  # fmt: skip
        idx, _ = match_stations(rows, stations, radius_km=radius_km)
        target = (pd.Timestamp(rows["date"].iloc[0]) + pd.Timedelta(days=HORIZON)).date()
        try:
            matched = stations.iloc[sorted(set(idx[idx >= 0].tolist()))]
            if len(matched):
                forecasts = client.station_forecasts(matched, target, target)
                got = forecast_columns(rows, stations, forecasts, horizon=HORIZON, radius_km=radius_km)
            else:
                reason = f"no weather station within {radius_km:g} km of any site"
        except OpenMeteoError as exc:
            reason = f"forecast API failed: {exc}"
    have = np.isfinite(got[f"wxf{HORIZON}_tmax"]) if got is not None else np.zeros(len(rows), dtype=bool)
    if got is not None and not have.all():
        reason = reason or "the forecast API returned no temperature for some stations"
    source = np.where(have, "open-meteo", f"issue-day observed weather ({reason})")
    out = rows.copy()
    for name, values in fallback.items():
        out[name] = np.where(have, got[name], values) if got is not None else values
    if not have.all():
        logger.warning(
            "predict: no weather forecast for %d of %d sites (%s); their target-day weather is the issue day's "
            "observed weather",
            int((~have).sum()),
            len(rows),
            reason,
        )
    return out, source


@task(cache_policy=NO_CACHE)
def predict_pollutant(ctx: Context, pollutant: str) -> PredictSummary:
    logger = get_run_logger()
    model, champion = ctx.registry.load_champion(pollutant)
    manifest = datasets.latest(ctx.store, features_dataset(pollutant))
    features = datasets.read(ctx.store, manifest)
    as_of, rows = issue_rows(features, max_staleness_days=ctx.settings.predict.max_staleness_days)
    if rows.empty:
        raise ValueError(
            f"predict: no {pollutant} site has an observation within the staleness limit of {as_of.date()}"
        )
    columns = model.unwrap_python_model().features
    weather_source = np.full(len(rows), "none", dtype=object)
    if any(c.startswith(f"wxf{HORIZON}_") for c in columns):
        rows, weather_source = add_forecast_weather(ctx, manifest, rows)
    # The same feature code made these rows; the model says which of its columns it was trained on.
    inputs = rows[["site_id", "date", *columns]].copy()
    inputs["date"] = inputs["date"].astype("datetime64[ns]")
    forecast = np.asarray(model.predict(inputs), dtype=np.float64)
    aqi, category = aqi_columns(pollutant, forecast)
    issued = utc_stamp()
    forecast_date = (as_of + pd.Timedelta(days=HORIZON)).date().isoformat()
    out = pd.DataFrame(
        {
            "site_id": rows["site_id"],
            "latitude": rows["latitude"],
            "longitude": rows["longitude"],
            "pollutant": pollutant,
            "units": POLLUTANTS[pollutant].units,
            "issue_date": as_of.date().isoformat(),
            "forecast_date": forecast_date,
            "horizon_days": HORIZON,
            "forecast": forecast,
            "persistence": rows["last_value"],
            "weather_forecast": weather_source,
            "aqi": aqi,
            "aqi_category": category,
            "model_name": champion.name,
            "model_version": champion.version,
            "model_run_id": champion.run_id,
            "candidate": champion.tags.get("candidate", ""),
            "features_version": manifest.version,
            "code_version": ctx.code_version,
            "issued_utc": issued,
        }
    )
    key = predictions_key(pollutant, forecast_date, issued, champion.name, champion.version)
    ctx.store.write_bytes(key, to_parquet_bytes(out), if_absent=True)
    logger.info("predict: %s %d sites for %s -> %s", pollutant, len(out), forecast_date, key)
    return PredictSummary(pollutant, forecast_date, len(out), key, champion.version)


@flow(name="predict")
def predict_flow(ctx: Context, pollutants: list[str] | None = None) -> list[PredictSummary]:
    """Forecast the day after the newest observations with each pollutant's champion."""
    return [predict_pollutant(ctx, p) for p in (pollutants or list(POLLUTANTS))]
