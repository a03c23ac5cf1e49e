"""Transform: daily value per site and pollutant, and the feature frame, published per pollutant."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.domain.schemas import POLLUTANTS
from airwatch.domain.transform import AUXILIARY, FeatureConfig, auxiliary_daily, build_features, site_daily_values
from airwatch.domain.weather import LAGGED, NONE, OBSERVED, with_weather
from airwatch.flows.context import OBSERVATIONS, RAW_WEATHER, WEATHER, Context, features_dataset
from airwatch.io import datasets
from airwatch.io.datasets import fingerprint
from airwatch.io.files import combine_weather
from airwatch.io.store import StoreError


@dataclass(frozen=True)
class TransformSummary:
    pollutant: str
    version: str
    rows: int
    sites: int
    published: bool


# Production forecasts one day ahead; the target day's weather columns are those of day+1.
WEATHER_HORIZONS = (1,)
FEATURE_MODE = {"none": NONE, "lagged": LAGGED, "forecast": OBSERVED}


@task(cache_policy=NO_CACHE)
def transform_weather(ctx: Context) -> datasets.Manifest:
    """Parse every ingested station file into one daily weather table with station coordinates."""
    try:
        inventory = datasets.latest(ctx.store, RAW_WEATHER)
    except StoreError:
        raise StoreError(
            f"weather mode is {ctx.settings.weather.mode!r} but no weather station files are ingested in "
            f"{ctx.store.url}; run `airwatch ingest --source weather` or set AIRWATCH_WEATHER__MODE=none"
        ) from None
    version = fingerprint("weather", inventory.version, ctx.code_version)
    existing = datasets.find_version(ctx.store, WEATHER, version)
    if existing is not None:
        return existing
    weather, stations, counts = combine_weather(
        (key.rsplit("/", 1)[-1], ctx.store.read_bytes(key)) for key in inventory.parts
    )
    frame = weather.merge(stations[["station_id", "latitude", "longitude"]], on="station_id", how="inner")
    manifest, _ = datasets.publish(
        ctx.store, WEATHER, version, frame, inputs={"raw_weather": inventory.version},
        extra={**counts, "stations": sorted(stations["station_id"])},
    )  # fmt: skip
    get_run_logger().info("transform: weather %s, %d station-days, %d usable stations (%s)", manifest.version,
                          len(frame), len(stations), counts)  # fmt: skip
    return manifest


def split_weather(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The weather dataset as daily weather and the station table."""
    stations = frame.drop_duplicates("station_id")[["station_id", "latitude", "longitude"]].reset_index(drop=True)
    return frame.drop(columns=["latitude", "longitude"]), stations


@task(cache_policy=NO_CACHE)
def transform_pollutant(ctx: Context, pollutant: str, weather: datasets.Manifest | None = None) -> TransformSummary:
    observations_manifest = datasets.latest(ctx.store, OBSERVATIONS)
    config = FeatureConfig()
    ws = ctx.settings.weather
    weather_key = {"mode": ws.mode, "radius_km": ws.radius_km, "version": weather.version} if weather else None
    version = fingerprint(
        "features", pollutant, observations_manifest.version, asdict(config), weather_key, ctx.code_version
    )
    existing = datasets.find_version(ctx.store, features_dataset(pollutant), version)
    if existing is not None:
        return TransformSummary(pollutant, version, existing.rows, int(existing.extra["sites"]), False)
    observations = datasets.read(ctx.store, observations_manifest)
    daily = site_daily_values(observations, pollutant)
    if daily.empty:
        raise ValueError(f"transform: no valid {pollutant} observations in {observations_manifest.version}")
    auxiliary = {}
    for series in AUXILIARY:
        if series.name == pollutant:
            continue
        aux = auxiliary_daily(observations, series)
        if not aux.empty:
            auxiliary[series.name] = aux
    frame = build_features(daily, config, auxiliary)
    if weather is not None:
        table, stations = split_weather(datasets.read(ctx.store, weather))
        frame = with_weather(frame, table, stations, mode=FEATURE_MODE[ws.mode], horizons=WEATHER_HORIZONS,
                             radius_km=ws.radius_km)  # fmt: skip
    sites = int(frame["site_id"].nunique())
    manifest, published = datasets.publish(
        ctx.store,
        features_dataset(pollutant),
        version,
        frame,
        inputs={"observations": observations_manifest.version, **({"weather": weather.version} if weather else {})},
        extra={
            "sites": sites,
            "feature_config": asdict(config),
            "auxiliary": sorted(auxiliary),
            "weather": weather_key,
        },
    )
    return TransformSummary(pollutant, manifest.version, manifest.rows, sites, published)


@flow(name="transform")
def transform_flow(ctx: Context, pollutants: list[str] | None = None) -> list[TransformSummary]:
    """Build the feature frame of each pollutant from the newest observations."""
    logger = get_run_logger()
    weather = transform_weather(ctx) if ctx.settings.weather.mode != "none" else None
    summaries = [transform_pollutant(ctx, p, weather) for p in (pollutants or list(POLLUTANTS))]
    for s in summaries:
        logger.info("transform: %s features %s, %d rows, %d sites", s.pollutant, s.version, s.rows, s.sites)
    return summaries
