"""Predict: load the champion by alias, forecast the next day for every fresh site, write predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.domain.predict import aqi_columns, issue_rows
from airwatch.domain.schemas import POLLUTANTS
from airwatch.flows.context import Context, features_dataset
from airwatch.io import datasets
from airwatch.io.datasets import to_parquet_bytes, utc_stamp

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
    # The same feature code made these rows; the model says which of its columns it was trained on.
    inputs = rows[["site_id", "date", *model.unwrap_python_model().features]].copy()
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
