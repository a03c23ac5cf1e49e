"""Predict: load the champion by alias, forecast the next day for every fresh site, write predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from prefect import get_run_logger

from airwatch import catalog
from airwatch.domain.predict import (
    OPEN_METEO,
    Lineage,
    issue_day,
    issue_rows,
    prediction_frame,
    prediction_manifest,
    with_target_weather,
)
from airwatch.domain.schemas import HORIZONS
from airwatch.domain.weather import split_weather
from airwatch.errors import NoDataError
from airwatch.flows.context import Context
from airwatch.flows.tasks import io_task, stage_flow
from airwatch.io import datasets, records
from airwatch.io.datasets import fingerprint, utc_stamp
from airwatch.io.openmeteo import OpenMeteoClient, site_forecasts
from airwatch.io.registry import Registry

read = io_task(datasets.read, lends=True)
read_rows_on = io_task(datasets.read_rows_on)
load_champion = io_task(Registry.load_champion, name="load-champion")
save_predictions = io_task(records.save_predictions)


@dataclass(frozen=True)
class PredictSummary:
    pollutant: str
    issue_date: str
    forecast_dates: list[str]
    sites: int
    key: str
    model_version: str
    max_observation_age_days: int
    issued: bool = True  # False: this run found the same forecast issued before and published nothing


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
    issue = pd.Timestamp(rows["date"].iloc[0])
    first, last = ((issue + pd.Timedelta(days=h)).date() for h in (min(HORIZONS), max(HORIZONS)))
    forecasts, reason = site_forecasts(client, rows, stations, radius_km=radius_km, start=first, end=last)
    return with_target_weather(rows, stations, forecasts, reason, horizons=HORIZONS, radius_km=radius_km)


def settings_digest(ctx: Context) -> str:
    """What a forecast depends on beyond its features, champion and code: the predict and weather settings.

    A digest, not the values: a forecast API's URL may carry a customer key.
    """
    return fingerprint("predict-settings", ctx.settings.predict.model_dump(), ctx.settings.weather.model_dump())


def issued_before(ctx: Context, pollutant: str, features: datasets.Manifest) -> PredictSummary | None:
    """The forecast already issued from these features by this champion, code and settings, if any.

    Issuing again would publish the same numbers under a new name. Not when a predict or weather
    setting changed (another staleness limit, a forecast API), nor when that issue used live weather
    forecasts: those change between runs, so a new issue is new information.
    """
    champion = ctx.registry.champion(pollutant)
    if champion is None:
        return None
    same = {
        "features_version": features.version,
        "model_id": champion.model_id,
        "code_version": ctx.code_version("predict"),
        "settings": settings_digest(ctx),
    }
    for m in records.newest_issue(ctx.store, pollutant):
        if all(m.get(k) == v for k, v in same.items()) and OPEN_METEO not in m.get("weather_forecast", {}):
            return PredictSummary(pollutant, m["issue_date"], list(m["forecast_dates"]), int(m["sites"]),
                                  m["predictions"], m["model_version"], int(m["max_observation_age_days"]),
                                  issued=False)  # fmt: skip
    return None


def predict_pollutant(ctx: Context, pollutant: str) -> PredictSummary:
    log = get_run_logger()
    manifest = datasets.latest(ctx.store, catalog.features(pollutant))
    if (done := issued_before(ctx, pollutant, manifest)) is not None:
        log.info("predict: %s already issued from features %s by champion v%s: %s", pollutant, manifest.version,
                 done.model_version, done.key)  # fmt: skip
        return done
    model, champion = load_champion(ctx.registry, pollutant)
    # The issue day from two columns, then only its rows: not the years of the whole feature frame.
    day = issue_day(read(ctx.store, manifest, ["date", "value"]))
    on_day = read_rows_on(ctx.store, manifest, "date", day)
    as_of, rows = issue_rows(on_day, max_staleness_days=ctx.settings.predict.max_staleness_days, on=day)
    if rows.empty:
        raise NoDataError(
            f"predict: no {pollutant} site has an observation within the staleness limit of {as_of.date()}"
        )
    models = model.unwrap_python_model().models
    columns = sorted({c for h in models.horizons for c in models.features(h)})
    source = np.full(len(rows), "none", dtype=object)
    if any(c.startswith("wxf") for c in columns):
        rows, source = target_weather(ctx, manifest, rows)
        if (fallback := source != OPEN_METEO).any():
            log.warning(
                "predict: no weather forecast for %d of %d sites (%s)", fallback.sum(), len(rows), source[fallback][0]
            )
    # The same feature code made these rows; the models say which of their columns they were trained on.
    forecasts = models.predict(rows)
    lineage = Lineage(champion.name, champion.version, champion.model_id, champion.run_id,
                      champion.tags.get("candidate", ""), manifest.version, manifest.inputs.get("observations", ""),
                      ctx.code_version("predict"), utc_stamp())  # fmt: skip
    out = prediction_frame(pollutant, rows, forecasts, source, lineage,
                           ctx.settings.predict.warning_probability(pollutant))  # fmt: skip
    issue = str(as_of.date())
    key = catalog.predictions_key(pollutant, issue, lineage.issued_utc, champion.name, champion.version)
    manifest_out = prediction_manifest(out, lineage) | {"settings": settings_digest(ctx)}
    save_predictions(ctx.store, key, out, manifest_out)
    dates = list(manifest_out["forecast_dates"])  # type: ignore[call-overload]
    log.info("predict: %s %d sites issued %s for %s -> %s", pollutant, len(rows), issue, ", ".join(dates), key)
    return PredictSummary(pollutant, issue, dates, len(rows), key, champion.version,
                          int(out["observation_age_days"].max()))  # fmt: skip


@stage_flow(name="predict", timeout_seconds=3600)
def predict_flow(store: str | None = None, pollutants: list[str] | None = None) -> list[PredictSummary]:
    """Forecast the days after the newest observations (day+1..3) with each pollutant's champion."""
    ctx = Context.build(store)
    return [predict_pollutant(ctx, p) for p in pollutants or datasets.pollutants_with_features(ctx.store)]
