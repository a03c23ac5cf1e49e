"""Monitoring: published forecasts scored against the observations that arrived since.

Each forecast (site, forecast date, horizon) is joined with the day's observed value by the
site-day rule, and the pairs are scored per pollutant and horizon: bias, MAE, RMSE, skill against
persistence and the AQI-category hit rate (C++ kernels). When several forecasts were issued for the
same site, day and horizon (a re-run), the newest issued counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from airwatch import core

PAIR_KEYS = ["pollutant", "site_id", "forecast_date", "horizon_days"]


def forecast_actual_pairs(predictions: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Forecasts with their observed value (actuals: pollutant, site_id, date, value)."""
    if predictions.empty:
        return predictions.assign(observed=pd.Series(dtype=np.float64))
    newest = predictions.sort_values("issued_utc").drop_duplicates(PAIR_KEYS, keep="last")
    observed = actuals.assign(forecast_date=pd.to_datetime(actuals["date"]).dt.strftime("%Y-%m-%d"))
    observed = observed[["pollutant", "site_id", "forecast_date", "value"]].rename(columns={"value": "observed"})
    pairs = newest.astype({"site_id": str}).merge(observed.astype({"site_id": str}), how="left",
                                                  on=["pollutant", "site_id", "forecast_date"])  # fmt: skip
    return pairs.sort_values(PAIR_KEYS).reset_index(drop=True)


@dataclass(frozen=True)
class Verification:
    """The scores of one pollutant and horizon over the forecasts whose day has been observed."""

    pollutant: str
    horizon_days: int
    forecasts: int
    verified: int
    sites: int
    bias: float
    mae: float
    rmse: float
    persistence_rmse: float
    skill_vs_persistence: float
    category_hit_rate: float


def scores(pairs: pd.DataFrame) -> list[Verification]:
    """Verification scores per pollutant and horizon over the pairs that have an observation."""
    out: list[Verification] = []
    for (pollutant, horizon), group in pairs.groupby(["pollutant", "horizon_days"], sort=True):
        seen = group[group["observed"].notna()]
        forecast = seen["forecast"].to_numpy(dtype=np.float64)
        observed = seen["observed"].to_numpy(dtype=np.float64)
        persistence = seen["persistence"].to_numpy(dtype=np.float64)
        summary = core.error_summary(forecast, observed)
        category = core.category_scores(str(pollutant), forecast, observed)
        skill = core.rmse_skill(forecast, persistence, observed) if len(seen) else float("nan")
        out.append(Verification(str(pollutant), int(horizon), len(group), len(seen), int(seen["site_id"].nunique()),
                                summary.bias, summary.mae, summary.rmse,
                                core.error_summary(persistence, observed).rmse, skill, category.hit_rate))  # fmt: skip
    return out
