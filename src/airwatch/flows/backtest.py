"""Backtest: evaluate the pipeline on any folder of EPA files, by rolling origin.

The folder goes through the production stages' own code: every file `airwatch ingest` keeps (AirData
daily and hourly files, download-tool exports, AQS sampleData/Data Mart CSV, AirNow daily peak files)
is parsed as the validate stage parses it, then revisions, site coordinates and row rules
(domain.validate.clean), then the site-day rule with hourly rows aggregated by EPA's rules in the C++
core, features and weather (domain.transform.feature_frame), with the training settings and the
staleness cap production uses.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger

from airwatch.domain import validate as rules
from airwatch.domain.archives import DEFAULT_LIMITS, ArchiveLimits
from airwatch.domain.backtest import BacktestConfig, backtest, by_label, metrics
from airwatch.domain.smoke import smoke_regime
from airwatch.domain.transform import FeatureConfig, Features, WeatherInput, feature_columns, feature_frame
from airwatch.domain.weather import (
    ARCHIVED,
    LAGGED,
    NONE,
    OBSERVED,
    ForecastArchive,
    WeatherError,
    columns_for_horizon,
)
from airwatch.errors import InputError, NoDataError
from airwatch.flows.tasks import compute_task, stage_flow
from airwatch.io import files
from airwatch.io.openmeteo import OpenMeteoClient, site_forecasts
from airwatch.settings import Settings, load_settings

NEAR_KM = 25.0


def backtest_config(settings: Settings, **overrides: Any) -> BacktestConfig:
    """A backtest with production's training settings (seed, rounds, recency weights, gates) and staleness cap."""
    t = settings.train
    return BacktestConfig(seed=t.seed, lightgbm_rounds=t.lightgbm_rounds,
                          lightgbm_learning_rate=t.lightgbm_learning_rate, lightgbm_max_rows=t.lightgbm_max_rows,
                          lightgbm_sample_rows=t.lightgbm_sample_rows,
                          quantile_rounds=t.quantile_rounds,
                          quantile_learning_rate=t.quantile_learning_rate, quantile_max_rows=t.quantile_max_rows,
                          quantile_sample_rows=t.quantile_sample_rows,
                          half_life_years=t.recency_half_life_years,
                          min_skill=t.min_skill_vs_persistence, max_overfit_gap=t.max_overfit_gap,
                          max_staleness_days=settings.predict.max_staleness_days,
                          **{k: v for k, v in overrides.items() if v is not None})  # fmt: skip


def load_observations(
    folder: Path, site_list: str | None, limits: ArchiveLimits = DEFAULT_LIMITS
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Valid observations of every file below folder, what was read, and what was skipped and why.

    The files are those `airwatch ingest` keeps (files.find_daily_files), parsed by the validate stage's
    own function (rules.parse_payloads), so the backtest loads exactly what production loads.
    """
    # Streamed, not listed: each file is memory-mapped only while it is parsed.
    parsed, rejected = rules.parse_payloads(files.read_folder(folder), limits)
    skipped = [f"{r.key}: {r.reason}" for r in rejected]
    if parsed.empty:
        raise NoDataError(f"no EPA daily file of a known layout under {folder}")
    sites = files.load_site_list(site_list or files.find_site_list(folder), limits)
    files_read = int(parsed["raw_key"].nunique())
    cleaned = rules.clean(parsed, sites.sites, max_day=rules.day_number(datetime.now(UTC).date()), consume=True)
    info = {
        "input": str(folder),
        "files": files_read,
        "skipped_files": len(rejected),
        "site_list": {"source": sites.source, "sites_located": cleaned.located},
    }
    return rules.as_published(cleaned.result.valid), info, skipped  # as the validate stage publishes it


def backtest_frames(
    folder: str, pollutant: str, horizons: tuple[int, ...], weather_dir: str | None, modes: tuple[str, ...],
    forecast_url: str | None = None, site_list: str | None = None, settings: Settings | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any], list[str]]:  # fmt: skip
    """The feature frame of each weather mode (production code), a description of the input, the skipped files.

    Modes share a frame where they can: none, lagged and observed-as-forecast read one (each model takes
    its mode's columns, feature_chooser); archived-forecast fills the target-day columns from the
    forecasts, so it has its own. The weather folder holds station files, or an NWS forecast archive
    (its observed highs and lows are the observed weather, its forecasts the archived ones).
    """
    settings = settings or load_settings()
    limits = settings.archives.limits()
    observations, info, skipped = load_observations(files.input_folder(folder), site_list, limits)
    observed_input = archived_input = None
    if weather_dir and any(m != NONE for m in modes):
        archive = files.load_forecast_archive(Path(weather_dir), limits)
        table, stations, counts = observed_weather(Path(weather_dir), archive, limits)
        radius = settings.weather.radius_km
        info["weather_input"] = {"dir": str(weather_dir), **counts, "stations": len(stations)}
        if LAGGED in modes or OBSERVED in modes:
            observed_input = WeatherInput(table, stations, OBSERVED if OBSERVED in modes else LAGGED, radius)
        if ARCHIVED in modes and archive is not None:
            # An archive's forecasts go with its own observed highs and lows and its cities (one set of
            # station ids), whatever station files sit beside it.
            archived_input = WeatherInput(archive.observed, archive.stations, ARCHIVED, radius, archive.forecasts)
        elif ARCHIVED in modes:
            forecasts = archived_forecasts(observations, stations, forecast_url, settings)
            archived_input = WeatherInput(table, stations, ARCHIVED, radius, forecasts)
    config = replace(FeatureConfig(), horizons=horizons)
    built: dict[str | None, Features] = {}
    frames = {}
    for mode in modes:
        weather = {ARCHIVED: archived_input, NONE: observed_input or archived_input}.get(mode, observed_input)
        key = weather.mode if weather is not None else None
        if key not in built:
            built[key] = feature_frame(observations, pollutant, config, weather)
        frames[mode] = built[key].frame
    features = next(iter(built.values()))
    # AirNow's preliminary values (daily peak files, AirNow API) are scored too, and counted apart.
    info.update(site_days=features.site_days, auxiliary=features.auxiliary, value_sources=features.sources())
    if "weather_input" in info:
        frame = next(f for f in frames.values() if "wx_station_km" in f)
        matched = frame.groupby("site_id")["wx_station_km"].first()
        info["weather_input"].update(sites_with_station=int(matched.notna().sum()), sites=len(matched))
    return frames, info, skipped


def observed_weather(
    folder: Path, archive: ForecastArchive | None, limits: ArchiveLimits
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The observed weather of a weather folder: its station files, else the NWS archive's observed highs and lows.

    A folder can hold both (../shared/data/noaa holds the archive in a sub-folder beside the GHCN
    station files): the stations' daily records are the observed weather, and the archive only gives
    the archived forecasts. Read as the archive, the whole folder had no weather before 2021.
    """
    try:
        table, stations, counts = files.load_weather_folder(folder, limits)
    except (InputError, WeatherError):  # no station file: the folder of an archive alone
        if archive is None:
            raise
    else:
        if len(stations) or archive is None:
            return table, stations, {"source": "station files", **counts}
    assert archive is not None
    return archive.observed, archive.stations, {"source": "NWS forecast archive", **archive.counts}


def backtest_frame(
    folder: str, pollutant: str, horizons: tuple[int, ...], weather_dir: str | None, modes: tuple[str, ...],
    forecast_url: str | None = None, site_list: str | None = None, settings: Settings | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:  # fmt: skip
    """The feature frame of the widest of the modes (observed-as-forecast or archived-forecast, else lagged)."""
    frames, info, skipped = backtest_frames(folder, pollutant, horizons, weather_dir, modes, forecast_url, site_list,
                                            settings)  # fmt: skip
    widest = next((m for m in (OBSERVED, ARCHIVED, LAGGED) if m in frames), modes[0])
    return frames[widest], info, skipped


def archived_forecasts(
    observations: pd.DataFrame, stations: pd.DataFrame, url: str | None, settings: Settings
) -> pd.DataFrame:
    """Archived forecasts (Open-Meteo's historical-forecast API) at the stations matched to the sites."""
    if not url:
        raise InputError("archived-forecast needs a forecast API URL (--forecast-url)")
    sites = observations.groupby("site_id", observed=True)[["latitude", "longitude"]].last().reset_index()
    epoch = date(1970, 1, 1)
    first = epoch + timedelta(days=int(observations["day"].min()))
    last = epoch + timedelta(days=int(observations["day"].max()) + 3)
    client = OpenMeteoClient.from_settings(settings.weather, url)
    radius = settings.weather.radius_km
    forecasts, reason = site_forecasts(client, sites, stations, radius_km=radius, start=first, end=last, archived=True)
    if forecasts is None:
        raise NoDataError(f"archived forecasts: {reason}")
    return forecasts


def feature_chooser(frame: pd.DataFrame, mode: str) -> Any:
    """The columns a model of horizon h may use under a weather mode."""
    columns = feature_columns(frame)
    if mode == NONE:
        return lambda _h: [c for c in columns if not c.startswith("wx")]
    if mode == LAGGED:
        return lambda _h: [c for c in columns if not c.startswith("wxf")]
    return lambda h: columns_for_horizon(columns, h)


run_backtest = compute_task(backtest, name="backtest-mode")


@stage_flow(name="backtest")
def backtest_flow(
    input: str,
    pollutant: str,
    test_start: date | None = None,
    test_end: date | None = None,
    folds: int = 3,
    fold_days: int = 91,
    seed: int | None = None,
    weather: str | None = None,
    weather_mode: str | None = None,
    forecast_url: str | None = None,
    sites: str | None = None,
    smoke_flags: str | None = None,
) -> dict[str, Any]:
    """Backtest one pollutant on a folder of EPA files, per weather mode; the metrics as JSON.

    weather_mode: none, lagged, observed-as-forecast or archived-forecast (then run beside lagged and
    observed-as-forecast); with a weather folder and no mode, both lagged and observed-as-forecast. The
    weather folder holds NOAA station files, or the NWS forecast archive (archived forecasts from it).
    smoke_flags: a file of HMS smoke flags per site and day (domain.smoke): the scores again by the smoke
    over the site on the target day.
    """
    log, settings = get_run_logger(), load_settings()
    # Archived forecasts are shown beside the lagged and observed-as-forecast runs of the same folder, so
    # what real forecasts reach is read between its floor (no forecast) and its ceiling (a perfect one).
    modes = ((LAGGED, ARCHIVED, OBSERVED) if weather_mode == ARCHIVED else (weather_mode,) if weather_mode
             else (LAGGED, OBSERVED) if weather else (NONE,))  # fmt: skip
    start = pd.Timestamp(test_start) if test_start else None
    end = pd.Timestamp(test_end) if test_end else None
    config = backtest_config(settings, folds=folds, fold_days=fold_days, seed=seed, test_start=start, test_end=end,
                             warning_probability=settings.predict.warning_probability(pollutant))  # fmt: skip
    frames, info, skipped = backtest_frames(input, pollutant, config.horizons, weather, modes, forecast_url, sites,
                                            settings)  # fmt: skip
    for s in skipped:
        log.warning("backtest: skipped %s", s)
    first = next(iter(frames.values()))
    log.info("backtest: %s, %d sites, %d site-days from %d files", pollutant, first["site_id"].nunique(),
             info["site_days"], info["files"])  # fmt: skip
    results = {m: run_backtest(frames[m], pollutant, config, log.info, feature_chooser(frames[m], m)) for m in modes}
    main = weather_mode or (LAGGED if LAGGED in results else modes[0])
    data = results[main].to_json({**info, "weather": main})
    data["modes"] = {m: {"model": r.model, "horizons": r.to_json()["horizons"]} for m, r in results.items()}
    scores = {"seed": config.seed, "resamples": config.bootstrap_resamples, "block_days": config.bootstrap_block_days}
    if smoke_flags:
        flags = files.load_smoke_flags(smoke_flags)
        data["smoke_flags"] = {"source": smoke_flags, "site_days": len(flags)}
        data["by_smoke"] = {str(h): by_label(pollutant, r.predictions, smoke_regime(r.predictions, flags), scores)
                            for h, r in results[main].horizons.items()}  # fmt: skip
    if "weather_input" in info:
        # The same scores at the sites that have a weather station (within the matching radius), and
        # within NEAR_KM of one.
        km = next(f for f in frames.values() if "wx_station_km" in f).groupby("site_id")["wx_station_km"].first()
        for label, limit in (("sites_with_station", settings.weather.radius_km), ("sites_with_station_within_25km",
                                                                                  NEAR_KM)):  # fmt: skip
            close = set(km[km <= limit].index.astype(str))
            data[label] = {m: {str(h): metrics(pollutant, p, **scores) for h, r in res.horizons.items()
                               if len(p := r.predictions[r.predictions["site_id"].astype(str).isin(close)])}
                           for m, res in results.items()}  # fmt: skip
    return data
