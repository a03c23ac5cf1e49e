"""Predict: choose the rows to forecast from, and turn forecasts into AQI and categories."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from airwatch import core
from airwatch.domain.schemas import POLLUTANTS
from airwatch.domain.weather import forecast_columns, persistence_columns


def issue_rows(features: pd.DataFrame, *, max_staleness_days: int) -> tuple[pd.Timestamp, pd.DataFrame]:
    """The issue day (the newest day with any observation) and each fresh-enough site's row on it."""
    observed = features[features["value"].notna()]
    if observed.empty:
        raise ValueError("no observation to forecast from")
    as_of = pd.Timestamp(observed["date"].max())
    rows = features[(pd.to_datetime(features["date"]) == as_of)]
    rows = rows[rows["days_since_obs"].notna() & (rows["days_since_obs"] <= max_staleness_days)]
    return as_of, rows.reset_index(drop=True)


def aqi_columns(pollutant: str, forecast: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """AQI (C++ kernel, EPA truncation and breakpoints) and category name of each forecast."""
    aqi = core.aqi(pollutant, forecast)
    categories = core.aqi_category(aqi)
    names = core.category_names()
    return aqi, [names[c] if c >= 0 else "Missing" for c in categories]


OPEN_METEO = "open-meteo"


def with_target_weather(
    rows: pd.DataFrame,
    stations: pd.DataFrame,
    forecasts: pd.DataFrame | None,
    reason: str,
    *,
    horizon: int,
    radius_km: float,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with the target day's weather from the forecasts, or, failing that, the issue day's.

    Returns the rows and, per row, where its target-day weather came from: a missing forecast is never
    silent, the source says why it fell back (reason, or the forecast had no temperature there).
    """
    fallback = persistence_columns(rows, horizon=horizon)
    got = None
    if forecasts is not None:
        got = forecast_columns(rows, stations, forecasts, horizon=horizon, radius_km=radius_km)
    have = np.isfinite(got[f"wxf{horizon}_tmax"]) if got is not None else np.zeros(len(rows), dtype=bool)
    if got is not None and not have.all():
        reason = reason or "the forecast API returned no temperature for some stations"
    out = rows.copy()
    for name, values in fallback.items():
        out[name] = np.where(have, got[name], values) if got is not None else values
    return out, np.where(have, OPEN_METEO, f"issue-day observed weather ({reason})")


@dataclass(frozen=True)
class Lineage:
    """What every published forecast row traces back to."""

    model_name: str
    model_version: str
    model_id: str
    model_run_id: str
    candidate: str
    features_version: str
    observations_version: str
    code_version: str
    issued_utc: str


def prediction_frame(
    pollutant: str,
    rows: pd.DataFrame,
    forecast: np.ndarray,
    weather_source: np.ndarray,
    lineage: Lineage,
    *,
    horizon: int,
) -> pd.DataFrame:
    """The published forecasts: one row per site with the AQI, its category and the lineage."""
    aqi, category = aqi_columns(pollutant, forecast)
    issue = pd.Timestamp(rows["date"].iloc[0])
    return pd.DataFrame(
        {
            "site_id": rows["site_id"],
            "latitude": rows["latitude"],
            "longitude": rows["longitude"],
            "pollutant": pollutant,
            "units": POLLUTANTS[pollutant].units,
            "issue_date": issue.date().isoformat(),
            "forecast_date": (issue + pd.Timedelta(days=horizon)).date().isoformat(),
            "horizon_days": horizon,
            "forecast": forecast,
            "persistence": rows["last_value"],
            "weather_forecast": weather_source,
            "aqi": aqi,
            "aqi_category": category,
            **asdict(lineage),
        }
    )


def prediction_manifest(frame: pd.DataFrame, lineage: Lineage) -> dict[str, object]:
    """What a predictions file holds and where it came from (written beside it)."""
    return {
        "rows": len(frame),
        "sites": int(frame["site_id"].nunique()),
        "pollutant": str(frame["pollutant"].iloc[0]),
        "issue_date": str(frame["issue_date"].iloc[0]),
        "forecast_dates": sorted(frame["forecast_date"].astype(str).unique()),
        "weather_forecast": {str(k): int(v) for k, v in frame["weather_forecast"].value_counts().items()},
        **asdict(lineage),
    }
