"""Predict: choose the rows to forecast from, and turn forecasts into AQI and categories."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
from scipy.special import ndtr

from airwatch import core
from airwatch.domain.schemas import POLLUTANTS
from airwatch.domain.weather import forecast_columns, persistence_columns


def issue_day(features: pd.DataFrame) -> pd.Timestamp:
    """The newest day with any observation: what a forecast is issued from (the date and value columns suffice)."""
    observed = features.loc[features["value"].notna(), "date"]
    if observed.empty:
        raise ValueError("no observation to forecast from")
    return pd.Timestamp(observed.max())


def issue_rows(
    features: pd.DataFrame, *, max_staleness_days: int, on: pd.Timestamp | None = None
) -> tuple[pd.Timestamp, pd.DataFrame]:
    """The issue day (default: the newest day with any observation) and each fresh-enough site's row on it.

    A feature row of day D is made from observations up to D only, so the rows of an earlier day are
    what a forecast issued that day saw (a replay), revisions since aside.
    """
    as_of = issue_day(features) if on is None else pd.Timestamp(on)
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
INTERVAL = 0.8  # the published interval: the 10% and 90% quantiles


def usg_threshold(pollutant: str) -> float:
    """The lowest concentration whose AQI is above 100 (Unhealthy for Sensitive Groups).

    By the core's breakpoints and truncation: 35.5 ug/m3 for PM2.5, 0.071 ppm for ozone.
    """
    step = 0.001 if pollutant == "ozone" else 0.1
    grid = np.round(np.arange(4000) * step, 6)
    return float(grid[np.argmax(core.aqi(pollutant, grid) > 100)])


def exceedance_probability(point: np.ndarray, lower: np.ndarray, upper: np.ndarray, threshold: float) -> np.ndarray:
    """P(value >= threshold) from the predictive distribution through the median and the 80% interval.

    The distribution is a split normal: the point forecast is its median, and each side's spread is
    set so that the interval's ends are its 10% and 90% quantiles. It is continuous at the median and
    takes each side's skew from the quantile models.
    """
    z = NormalDist().inv_cdf(0.5 + INTERVAL / 2)
    distance = threshold - np.asarray(point, dtype=np.float64)
    scale = np.where(distance >= 0, (upper - point) / z, (point - lower) / z)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 1.0 - ndtr(distance / scale)
    # No spread on that side: the value is the point forecast.
    return np.where(scale > 0, p, (point >= threshold).astype(np.float64))


def with_target_weather(
    rows: pd.DataFrame,
    stations: pd.DataFrame,
    forecasts: pd.DataFrame | None,
    reason: str,
    *,
    horizons: tuple[int, ...],
    radius_km: float,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with each horizon's target-day weather from the forecasts, or, failing that, the issue day's.

    Returns the rows and, per row, where its target-day weather came from: a missing forecast is never
    silent, the source says why it fell back (reason, or the forecast had no temperature there).
    """
    out = rows.copy()
    have = np.ones(len(rows), dtype=bool)
    for h in horizons:
        fallback = persistence_columns(rows, horizon=h)
        got = None
        if forecasts is not None:
            got = forecast_columns(rows, stations, forecasts, horizon=h, radius_km=radius_km)
        ok = np.isfinite(got[f"wxf{h}_tmax"]) if got is not None else np.zeros(len(rows), dtype=bool)
        for name, values in fallback.items():
            out[name] = np.where(ok, got[name], values) if got is not None else values
        have &= ok
    if forecasts is not None and not have.all():
        reason = reason or "the forecast API returned no temperature for some stations and days"
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
    forecasts: pd.DataFrame,
    weather_source: np.ndarray,
    lineage: Lineage,
    warning_probability: float | None = None,
) -> pd.DataFrame:
    """The published forecasts: a row per site and horizon.

    Each has the 80% interval, the AQI and category of the point forecast, the probability that the
    day's AQI exceeds 100, the AQI > 100 warning (that probability at least warning_probability; without
    one, the point forecast's AQI above 100), how old the site's newest observation is, and the lineage.

    forecasts: from ForecastSet.predict (row, horizon, forecast, lower, upper).
    """
    site = rows.iloc[forecasts["row"].to_numpy()].reset_index(drop=True)
    point = forecasts["forecast"].to_numpy(dtype=np.float64)
    lower = forecasts["lower"].to_numpy(dtype=np.float64)
    upper = forecasts["upper"].to_numpy(dtype=np.float64)
    aqi, category = aqi_columns(pollutant, point)
    issue = pd.Timestamp(rows["date"].iloc[0])
    horizon = forecasts["horizon"].to_numpy()
    return pd.DataFrame(
        {
            "site_id": site["site_id"].astype(str),
            "latitude": site["latitude"],
            "longitude": site["longitude"],
            "pollutant": pollutant,
            "units": POLLUTANTS[pollutant].units,
            "issue_date": issue.date().isoformat(),
            "forecast_date": [(issue + pd.Timedelta(days=int(h))).date().isoformat() for h in horizon],
            "horizon_days": horizon.astype(np.int32),
            "forecast": point,
            "lower": lower,
            "upper": upper,
            "aqi": aqi,
            "aqi_category": category,
            "p_aqi_over_100": (p_over := exceedance_probability(point, lower, upper, usg_threshold(pollutant))),
            "aqi_warning": p_over >= warning_probability if warning_probability is not None else aqi > 100,
            "persistence": site["last_value"],
            "observation_age_days": site["days_since_obs"].astype(np.int32),
            "weather_forecast": weather_source[forecasts["row"].to_numpy()],
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
        "horizons": sorted(int(h) for h in frame["horizon_days"].unique()),
        "interval": INTERVAL,
        "weather_forecast": {str(k): int(v) for k, v in frame["weather_forecast"].value_counts().items()},
        "max_observation_age_days": int(frame["observation_age_days"].max()),
        "warnings": int(frame["aqi_warning"].sum()),
        **asdict(lineage),
    }
