"""The main job: every stage in order, as one Prefect flow with a subflow per stage."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow

from airwatch.flows.context import Context
from airwatch.flows.ingest import IngestSummary, ingest_flow, ingest_weather_flow
from airwatch.flows.predict import PredictSummary, predict_flow
from airwatch.flows.select import SelectSummary, select_flow
from airwatch.flows.train import train_flow
from airwatch.flows.transform import TransformSummary, transform_flow
from airwatch.flows.validate import ValidateSummary, validate_flow


@dataclass(frozen=True)
class RunSummary:
    ingest: IngestSummary
    validate: ValidateSummary
    transform: list[TransformSummary]
    select: list[SelectSummary]
    predict: list[PredictSummary]


@flow(name="run")
def run_flow(ctx: Context, input_dir: str | None = None, force_train: bool = False) -> RunSummary:
    """Ingest (and weather stations, when weather is on) -> validate -> transform -> train -> select -> predict."""
    ingested = ingest_flow(ctx, input_dir)
    if ctx.settings.weather.mode != "none":
        ingest_weather_flow(ctx)
    validated = validate_flow(ctx)
    transformed = transform_flow(ctx)
    train_flow(ctx, force=force_train)
    selected = select_flow(ctx)
    predicted = predict_flow(ctx)
    return RunSummary(ingested, validated, transformed, selected, predicted)
