"""Predict: choose the rows to forecast from, and turn forecasts into AQI and categories."""

from __future__ import annotations

import numpy as np
import pandas as pd

from airwatch import core


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
