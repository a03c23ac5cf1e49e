"""Transform: the daily weather of every station, and per pollutant the feature frame, both published."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd
from prefect import get_run_logger

from airwatch import catalog
from airwatch.domain.schemas import pollutants_to_run
from airwatch.domain.transform import OBSERVATION_COLUMNS, FeatureConfig, Features, WeatherInput, feature_frame
from airwatch.domain.weather import SETTING_MODES, combine_weather, split_weather, weather_dataset
from airwatch.errors import NoDataError
from airwatch.flows.context import Context
from airwatch.flows.tasks import Lent, compute_task, io_task, stage_flow
from airwatch.io import datasets, files
from airwatch.io.datasets import fingerprint
from airwatch.io.store import StoreError


@dataclass(frozen=True)
class TransformSummary:
    pollutant: str
    version: str
    rows: int
    sites: int
    published: bool


@io_task
def transform_weather(ctx: Context) -> datasets.Manifest:
    """Every ingested station file parsed into one daily weather table with station coordinates."""
    try:
        inventory = datasets.latest(ctx.store, catalog.RAW_WEATHER)
    except StoreError:
        raise NoDataError(
            f"weather mode is {ctx.settings.weather.mode!r} but no station files are ingested in {ctx.store.url}; "
            "run `airwatch ingest weather` or set AIRWATCH_WEATHER__MODE=none"
        ) from None
    version = fingerprint("weather", inventory.version, ctx.code_version("weather"))
    if existing := datasets.find_version(ctx.store, catalog.WEATHER, version):
        return existing
    payloads = ((key.rsplit("/", 1)[-1], ctx.store.read_bytes(key)) for key in inventory.parts)
    weather, stations, counts = combine_weather(payloads, files.known_stations(), ctx.settings.archives.limits())
    manifest, _ = datasets.publish(ctx.store, catalog.WEATHER, version, weather_dataset(weather, stations),
                                   inputs={"raw_weather": inventory.version},
                                   extra={**counts, "stations": sorted(stations["station_id"])})  # fmt: skip
    return manifest


read = io_task(datasets.read, lends=True)
publish = io_task(datasets.publish)


def _features(
    observed: Lent[pd.DataFrame], pollutant: str, config: FeatureConfig, weather: WeatherInput | None
) -> Lent[Features]:
    # The observations are handed over (Lent, taken): feature_frame frees them once the daily values
    # are made, and Prefect's records of the task run hold neither them nor the features.
    return Lent(feature_frame(observed.take(), pollutant, config, weather))


features_of = compute_task(_features, name="features")


def transform_pollutant(ctx: Context, pollutant: str, weather: datasets.Manifest | None) -> TransformSummary:
    observations = datasets.latest(ctx.store, catalog.OBSERVATIONS)
    config, ws = FeatureConfig(), ctx.settings.weather
    wx = {"mode": ws.mode, "radius_km": ws.radius_km, "version": weather.version} if weather else None
    version = fingerprint("features", pollutant, observations.version, asdict(config), wx,
                          ctx.code_version("transform"))  # fmt: skip
    if existing := datasets.find_version(ctx.store, catalog.features(pollutant), version):
        return TransformSummary(pollutant, version, existing.rows, int(existing.extra["sites"]), False)
    weather_input = None
    if weather is not None:
        table, stations = split_weather(read(ctx.store, weather))
        weather_input = WeatherInput(table, stations, SETTING_MODES[ws.mode], ws.radius_km)
    observed = Lent(read(ctx.store, observations, OBSERVATION_COLUMNS, categorical=True))
    features = features_of(observed, pollutant, config, weather_input).take()
    sites = int(features.frame["site_id"].nunique())
    manifest, published = publish(
        ctx.store, catalog.features(pollutant), version, features.frame,
        inputs={"observations": observations.version, **({"weather": weather.version} if weather else {})},
        extra={"sites": sites, "feature_config": asdict(config), "auxiliary": features.auxiliary, "weather": wx,
               "value_sources": features.sources()},
    )  # fmt: skip
    return TransformSummary(pollutant, manifest.version, manifest.rows, sites, published)


@stage_flow(name="transform", timeout_seconds=3600)
def transform_flow(store: str | None = None, pollutants: list[str] | None = None) -> list[TransformSummary]:
    """Build the feature frame of each pollutant (default: those observed) from the newest observations."""
    ctx, log = Context.build(store), get_run_logger()
    present = datasets.latest(ctx.store, catalog.OBSERVATIONS).extra.get("pollutants", {})
    run, skipped = pollutants_to_run(pollutants, present)
    for p in skipped:
        log.warning("transform: no valid %s observations; %s skipped", p, p)
    weather = transform_weather(ctx) if ctx.settings.weather.mode != "none" else None
    summaries = [transform_pollutant(ctx, p, weather) for p in run]
    for s in summaries:
        log.info("transform: %s features %s, %d rows, %d sites", s.pollutant, s.version, s.rows, s.sites)
    return summaries
