"""Predict: load the champion by alias, forecast the next day for every fresh site, write predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger

from airwatch import catalog
from airwatch.domain.predict import (
    OPEN_METEO,
    Lineage,
    issue_rows,
    prediction_frame,
    prediction_manifest,
    with_target_weather,
)
from airwatch.domain.weather import split_weather
from airwatch.errors import NoDataError
from airwatch.flows.context import Context
from airwatch.flows.tasks import io_task
from airwatch.io import datasets, records
from airwatch.io.datasets import utc_stamp
from airwatch.io.openmeteo import OpenMeteoClient, site_forecasts
from airwatch.io.registry import Registry

HORIZON = 1
read = io_task(datasets.read)
load_champion = io_task(Registry.load_champion, name="load-champion")
save_predictions = io_task(records.save_predictions)


@dataclass(frozen=True)
class PredictSummary:
    pollutant: str
    forecast_date: str
    sites: int
    key: str
    model_version: str


@io_task
def target_weather(ctx: Context, features: datasets.Manifest, rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with the target day's weather from the forecast API, or the issue day's, saying why."""
    info = features.extra.get("weather") or {}
    weather = datasets.find_version(ctx.store, catalog.WEATHER, str(info.get("version", "")))
    if weather is None:
        raise NoDataError(f"predict: features {features.version} name no published weather dataset")
    stations = split_weather(datasets.read(ctx.store, weather))[1]
    radius_km = float(info["radius_km"])  # the station match the features were built with
    ws = ctx.settings.weather
    client = OpenMeteoClient.from_settings(ws, ws.forecast_url) if ws.forecast_url else None
    day = (pd.Timestamp(rows["date"].iloc[0]) + pd.Timedelta(days=HORIZON)).date()
    forecasts, reason = site_forecasts(client, rows, stations, radius_km=radius_km, start=day, end=day)
    return with_target_weather(rows, stations, forecasts, reason, horizon=HORIZON, radius_km=radius_km)


def predict_pollutant(ctx: Context, pollutant: str) -> PredictSummary:
    log = get_run_logger()
    model, champion = load_champion(ctx.registry, pollutant)
    manifest = datasets.latest(ctx.store, catalog.features(pollutant))
    as_of, rows = issue_rows(read(ctx.store, manifest), max_staleness_days=ctx.settings.predict.max_staleness_days)
    if rows.empty:
        raise NoDataError(
            f"predict: no {pollutant} site has an observation within the staleness limit of {as_of.date()}"
        )
    columns = model.unwrap_python_model().features
    source = np.full(len(rows), "none", dtype=object)
    if any(c.startswith(f"wxf{HORIZON}_") for c in columns):
        rows, source = target_weather(ctx, manifest, rows)
        if (fallback := source != OPEN_METEO).any():
            log.warning(
                "predict: no weather forecast for %d of %d sites (%s)", fallback.sum(), len(rows), source[fallback][0]
            )
    # The same feature code made these rows; the model says which of its columns it was trained on.
    inputs = rows[["site_id", "date", *columns]].astype({"date": "datetime64[ns]"})
    forecast = np.asarray(model.predict(inputs), dtype=np.float64)
    lineage = Lineage(champion.name, champion.version, champion.model_id, champion.run_id,
                      champion.tags.get("candidate", ""), manifest.version, manifest.inputs.get("observations", ""),
                      ctx.code_version("predict"), utc_stamp())  # fmt: skip
    out = prediction_frame(pollutant, rows, forecast, source, lineage, horizon=HORIZON)
    forecast_date = str(out["forecast_date"].iloc[0])
    key = catalog.predictions_key(pollutant, forecast_date, lineage.issued_utc, champion.name, champion.version)
    save_predictions(ctx.store, key, out, prediction_manifest(out, lineage))
    log.info("predict: %s %d sites for %s -> %s", pollutant, len(out), forecast_date, key)
    return PredictSummary(pollutant, forecast_date, len(out), key, champion.version)


@flow(name="predict", timeout_seconds=3600)
def predict_flow(store: str | None = None, pollutants: list[str] | None = None) -> list[PredictSummary]:
    """Forecast the day after the newest observations with each pollutant's champion."""
    ctx = Context.build(store)
    return [predict_pollutant(ctx, p) for p in pollutants or datasets.pollutants_with_features(ctx.store)]
