"""Backtest: evaluate the pipeline on any folder of EPA daily files, by rolling origin."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger

from airwatch.domain.backtest import BacktestConfig, BacktestResult, backtest, metrics
from airwatch.domain.parse import ParseError
from airwatch.domain.sites import fill_coordinates, is_site_list
from airwatch.domain.transform import (
    AUXILIARY,
    FeatureConfig,
    auxiliary_daily,
    build_features,
    feature_columns,
    site_daily_values,
)
from airwatch.domain.validate import validate_observations
from airwatch.domain.weather import (
    ARCHIVED,
    LAGGED,
    NONE,
    OBSERVED,
    RADIUS_KM,
    columns_for_horizon,
    match_stations,
    with_weather,
)
from airwatch.flows.ingest import find_daily_files
from airwatch.io.files import load_site_list, load_weather_folder, parse_daily_path
from airwatch.io.openmeteo import OpenMeteoClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Folder:
    """Valid observations of a folder of EPA daily files, and what was read, skipped and completed."""

    observations: pd.DataFrame
    used: list[str]
    skipped: list[str]
    site_list: str  # where the coordinates of sites whose files carry none came from
    located: list[str]  # the sites that got their coordinates from it


def load_folder(folder: Path, site_list: str | None = None) -> Folder:
    """Valid normalized observations of every EPA daily file below folder.

    Sites whose files carry no coordinates take them from site_list, else from an AirData site list
    (aqs_sites.csv) inside the folder, else from the bundled one.
    """
    frames, used, skipped = [], [], []
    for path in find_daily_files(folder):
        if "-peak" in path.name:
            # Preliminary real-time values: a backtest scores against validated (AQS/AirData) data only.
            skipped.append(f"{path.relative_to(folder)}: AirNow daily peak file (preliminary, not AQS-validated)")
            continue
        try:
            frames.append(parse_daily_path(path, raw_key=str(path.relative_to(folder))))
            used.append(str(path.relative_to(folder)))
        except ParseError as exc:
            skipped.append(f"{path.relative_to(folder)}: {exc}")
    if not frames:
        raise FileNotFoundError(f"no EPA daily file of a known layout under {folder}")
    if site_list is None:
        site_list = next((str(p) for p in sorted(folder.rglob("*")) if is_site_list(p.name)), None)
    sites = load_site_list(site_list)
    observations, located = fill_coordinates(pd.concat(frames, ignore_index=True), sites.sites)
    today = (np.datetime64(datetime.now(UTC).date(), "D") - np.datetime64("1970-01-01", "D")).astype(int)
    valid = validate_observations(observations, max_day=int(today)).valid
    return Folder(valid, used, skipped, sites.source, located)


def archived_forecasts(frame: pd.DataFrame, stations: pd.DataFrame, forecast_url: str) -> pd.DataFrame:
    """Archived forecasts (Open-Meteo historical-forecast API) at the stations matched to the frame's sites.

    They cover the frame's days and the three days after them.
    """
    sites = frame.groupby("site_id", observed=True)[["latitude", "longitude"]].last().reset_index()
    idx, _ = match_stations(sites, stations, radius_km=RADIUS_KM)
    matched = stations.iloc[sorted(set(idx[idx >= 0].tolist()))]
    epoch = date(1970, 1, 1)
    first = epoch + timedelta(days=int(frame["day"].min()))
    last = epoch + timedelta(days=int(frame["day"].max()) + 3)
    client = OpenMeteoClient(base_url=forecast_url, historical_base_url=forecast_url)
    return client.station_forecasts(matched, first, last, archived=True)


def feature_chooser(frame: pd.DataFrame, mode: str):  # type: ignore[no-untyped-def]
    columns = feature_columns(frame)
    if mode == NONE:
        return lambda _h: [c for c in columns if not c.startswith("wx")]
    if mode == LAGGED:
        return lambda _h: [c for c in columns if not c.startswith("wxf")]
    return lambda h: columns_for_horizon(columns, h)


def backtest_frame(
    folder: str,
    pollutant: str,
    horizons: tuple[int, ...],
    weather_dir: str | None,
    weather_modes: tuple[str, ...],
    forecast_url: str | None = None,
    site_list: str | None = None,
) -> tuple[pd.DataFrame, dict[str, object], list[str]]:
    """The feature frame a backtest runs on, a description of its input, and the skipped files.

    The frame comes from the production feature code, plus weather columns when asked.
    """
    loaded = load_folder(Path(folder), site_list)
    observations, used, skipped = loaded.observations, loaded.used, loaded.skipped
    daily = site_daily_values(observations, pollutant)
    if daily.empty:
        raise ValueError(f"no valid {pollutant} observations under {folder}")
    auxiliary = {a.name: auxiliary_daily(observations, a) for a in AUXILIARY if a.name != pollutant}
    auxiliary = {k: v for k, v in auxiliary.items() if not v.empty}
    frame = build_features(daily, replace(FeatureConfig(), horizons=horizons), auxiliary)
    info: dict[str, object] = {
        "input": str(folder),
        "files": len(used),
        "skipped_files": len(skipped),
        "site_days": len(daily),
        "auxiliary": sorted(auxiliary),
        "site_list": {"source": loaded.site_list, "sites_located": loaded.located},
    }
    if weather_dir and any(m != NONE for m in weather_modes):
        weather, stations, counts = load_weather_folder(Path(weather_dir))
        forecasts = None
        if ARCHIVED in weather_modes:
            if OBSERVED in weather_modes:
                raise ValueError("archived-forecast and observed-as-forecast fill the same columns; run them apart")
            if not forecast_url:
                raise ValueError("archived-forecast needs a forecast API URL (--forecast-url)")
            forecasts = archived_forecasts(frame, stations, forecast_url)
            info["archived_forecasts"] = {"url": forecast_url, "station_days": len(forecasts)}
        widest = next((m for m in (OBSERVED, ARCHIVED) if m in weather_modes), LAGGED)
        frame = with_weather(frame, weather, stations, mode=widest, horizons=horizons, forecasts=forecasts)
        matched = frame.groupby("site_id")["wx_station_km"].first()
        info["weather_input"] = {"dir": str(weather_dir), **counts, "stations": len(stations),
                                 "sites_with_station": int(matched.notna().sum()), "sites": len(matched)}  # fmt: skip
    return frame, info, skipped


@flow(name="backtest")
def backtest_flow(
    folder: str,
    pollutant: str,
    config: BacktestConfig,
    weather_dir: str | None = None,
    weather_modes: tuple[str, ...] = (NONE,),
    forecast_url: str | None = None,
    site_list: str | None = None,
) -> tuple[dict[str, BacktestResult], dict[str, object]]:
    """Load, transform with the production feature code, and backtest one pollutant per weather mode."""
    logger = get_run_logger()
    frame, info, skipped = backtest_frame(
        folder, pollutant, config.horizons, weather_dir, weather_modes, forecast_url, site_list
    )
    for s in skipped:
        logger.warning("backtest: skipped %s", s)
    located = info["site_list"]["sites_located"]  # type: ignore[index]
    if located:
        logger.info("backtest: coordinates of %d sites from the site list %s", len(located), info["site_list"])
    if "weather_input" in info:
        logger.info("backtest: weather %s", info["weather_input"])
    logger.info("backtest: %s, %d sites, %d site-days from %d files", pollutant, frame["site_id"].nunique(),
                info["site_days"], info["files"])  # fmt: skip
    results = {}
    near: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for mode in weather_modes:
        logger.info("backtest: weather mode %s", mode)
        results[mode] = backtest(
            frame, pollutant, config, progress=logger.info, features_for=feature_chooser(frame, mode)
        )
        if "wx_station_km" in frame:
            # The same scores for the sites that have a weather station (within the 50 km matching
            # radius) and for those with one within 25 km.
            km = frame.groupby("site_id")["wx_station_km"].first()
            for label, limit in (("sites_with_station", RADIUS_KM), ("sites_with_station_within_25km", 25.0)):
                close = set(km[km <= limit].index.astype(str))
                near.setdefault(label, {})[mode] = {
                    str(h): metrics(pollutant, r.predictions[r.predictions["site_id"].astype(str).isin(close)])
                    for h, r in results[mode].horizons.items()
                    if r.predictions["site_id"].astype(str).isin(close).any()
                }
    info.update(near)
    return results, info
