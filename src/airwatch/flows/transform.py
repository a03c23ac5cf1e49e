"""Transform: daily value per site and pollutant, and the feature frame, published per pollutant."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.domain.schemas import POLLUTANTS
from airwatch.domain.transform import AUXILIARY, FeatureConfig, auxiliary_daily, build_features, site_daily_values
from airwatch.flows.context import OBSERVATIONS, Context, features_dataset
from airwatch.io import datasets
from airwatch.io.datasets import fingerprint


@dataclass(frozen=True)
class TransformSummary:
    pollutant: str
    version: str
    rows: int
    sites: int
    published: bool


@task(cache_policy=NO_CACHE)
def transform_pollutant(ctx: Context, pollutant: str) -> TransformSummary:
    observations_manifest = datasets.latest(ctx.store, OBSERVATIONS)
    config = FeatureConfig()
    version = fingerprint("features", pollutant, observations_manifest.version, asdict(config), ctx.code_version)
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
    sites = int(frame["site_id"].nunique())
    manifest, published = datasets.publish(
        ctx.store,
        features_dataset(pollutant),
        version,
        frame,
        inputs={"observations": observations_manifest.version},
        extra={"sites": sites, "feature_config": asdict(config), "auxiliary": sorted(auxiliary)},
    )
    return TransformSummary(pollutant, manifest.version, manifest.rows, sites, published)


@flow(name="transform")
def transform_flow(ctx: Context, pollutants: list[str] | None = None) -> list[TransformSummary]:
    """Build the feature frame of each pollutant from the newest observations."""
    logger = get_run_logger()
    summaries = [transform_pollutant(ctx, p) for p in (pollutants or list(POLLUTANTS))]
    for s in summaries:
        logger.info("transform: %s features %s, %d rows, %d sites", s.pollutant, s.version, s.rows, s.sites)
    return summaries
