"""Transform: one daily value per site and pollutant, laid on a calendar, with the feature block.

The site-day rule (documented in docs/data.md): among the valid rows of a site and day, prefer the
pollutant's parameters in order (PM2.5: 88101 FRM/FEM before 88502), then the sample duration that
defines the daily statistic (24-hour, or 8-hour running for ozone) over block averages and 1-hour
rows, then the lowest POC. Features come from the C++ kernel and use only values on or before the
issue day; the target of horizon h is the value h days after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from airwatch import _core
from airwatch.domain.schemas import POLLUTANTS

_DURATION_RANK = {"": 0, "24 HOUR": 0, "8-HR RUN AVG BEGIN HOUR": 0, "24-HR BLK AVG": 1}


@dataclass(frozen=True)
class FeatureConfig:
    """Which features the kernel computes; part of the dataset version."""

    lags: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    mean_windows: tuple[int, ...] = (3, 7, 14, 30)
    std_windows: tuple[int, ...] = (7,)
    max_windows: tuple[int, ...] = (7,)
    calendar: bool = True
    horizons: tuple[int, ...] = (1,)
    site_columns: tuple[str, ...] = field(default=("latitude", "longitude"))


def site_daily_values(observations: pd.DataFrame, pollutant: str) -> pd.DataFrame:
    """One row per (site, day) for a pollutant by the site-day rule."""
    spec = POLLUTANTS[pollutant]
    daily = observations["hour"] < 0  # hourly rows are aggregated to days first (EPA rules, issue 4)
    rows = observations[daily & observations["parameter"].isin(spec.parameters)].copy()
    if rows.empty:
        return rows
    rank = {p: i for i, p in enumerate(spec.parameters)}
    rows["_param_rank"] = rows["parameter"].map(rank)
    rows["_duration_rank"] = rows["sample_duration"].astype(str).map(_DURATION_RANK).fillna(2)
    rows = rows.sort_values(["site_id", "day", "_param_rank", "_duration_rank", "poc"], kind="stable")
    chosen = rows.drop_duplicates(["site_id", "day"], keep="first")
    return chosen.drop(columns=["_param_rank", "_duration_rank"]).reset_index(drop=True)


def site_table(daily: pd.DataFrame) -> pd.DataFrame:
    """Site metadata: the newest known coordinates and name of each site."""
    ordered = daily.sort_values(["site_id", "day"])
    meta = ordered.groupby("site_id", sort=True).agg(
        latitude=("latitude", "last"), longitude=("longitude", "last"), site_name=("site_name", "last")
    )
    return meta.reset_index()


def build_features(daily: pd.DataFrame, config: FeatureConfig | None = None) -> pd.DataFrame:
    """The feature frame: one row per site and issue day with features and horizon targets."""
    config = config or FeatureConfig()
    sites = site_table(daily)
    site_index = {s: i for i, s in enumerate(sites["site_id"])}
    codes = daily["site_id"].map(site_index).to_numpy(dtype=np.int32)
    order = np.lexsort((daily["day"].to_numpy(), codes))
    site = np.ascontiguousarray(codes[order])
    day = np.ascontiguousarray(daily["day"].to_numpy(dtype=np.int32)[order])
    value = np.ascontiguousarray(daily["value"].to_numpy(dtype=np.float64)[order])
    g_site, g_day, g_value = _core.daily_grid(site, day, value)
    names, matrix = _core.compute_features(
        g_site,
        g_day,
        g_value,
        list(config.lags),
        list(config.mean_windows),
        list(config.std_windows),
        list(config.max_windows),
        config.calendar,
    )
    frame = pd.DataFrame(matrix, columns=names, copy=False)
    frame.insert(0, "site_id", sites["site_id"].to_numpy()[g_site])
    frame.insert(1, "day", g_day)
    frame.insert(2, "date", (np.datetime64("1970-01-01", "D") + g_day.astype("timedelta64[D]")).astype("datetime64[s]"))
    frame.insert(3, "value", g_value)
    for column in config.site_columns:
        frame[column] = sites[column].to_numpy()[g_site]
    for h in config.horizons:
        frame[f"target_{h}"] = _shift_within_site(g_site, g_value, h)
    return frame


def _shift_within_site(site: np.ndarray, value: np.ndarray, h: int) -> np.ndarray:
    """Value h rows ahead when that row is the same site (the grid is gap-free, so h days ahead)."""
    out = np.full(value.shape, np.nan)
    if h < len(value):
        same = site[h:] == site[:-h]
        out[:-h] = np.where(same, value[h:], np.nan)
    return out


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The model inputs of a feature frame (everything but keys, the raw value and targets)."""
    skip = {"site_id", "day", "date", "value"}
    return [c for c in frame.columns if c not in skip and not c.startswith("target_")]
