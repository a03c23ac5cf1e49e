"""The main job and the scheduled jobs: stages in order, each run as a part of one Prefect flow run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, TypeVar

from prefect import Flow, get_run_logger

from airwatch.domain.schemas import pollutants_to_run
from airwatch.domain.train import TrainingReport
from airwatch.errors import NoDataError
from airwatch.flows.context import Context
from airwatch.flows.ingest import IngestSummary, ingest_flow, ingest_weather_flow
from airwatch.flows.ingest_airnow import ingest_airnow_flow
from airwatch.flows.predict import PredictSummary, predict_flow
from airwatch.flows.runners import SettingsTaskRunner
from airwatch.flows.select import SelectSummary, select_flow
from airwatch.flows.tasks import stage_flow
from airwatch.flows.train import train_flow
from airwatch.flows.transform import TransformSummary, transform_flow
from airwatch.flows.validate import ValidateSummary, validate_flow

T = TypeVar("T")


@dataclass(frozen=True)
class RunSummary:
    store: str
    ingest: IngestSummary
    validate: ValidateSummary
    skipped: list[str]  # pollutants asked for (or known) without observations
    transform: list[TransformSummary]
    train: list[TrainingReport]
    select: list[SelectSummary]
    predict: list[PredictSummary]
    stages: dict[str, tuple[float, float]]  # stage -> (start, end), seconds since the epoch


class _Stages:
    """Runs each stage's flow body inside the run, and when each started and ended.

    The bodies run as parts of the run's own flow run rather than as subflows: a flow run costs Prefect
    about half a second to set up and close, a task a few milliseconds, and each stage is deployed as
    a flow of its own anyway.
    """

    def __init__(self) -> None:
        self.times: dict[str, tuple[float, float]] = {}

    def __call__(self, name: str, stage: Flow[..., T], *args: Any, **kwargs: Any) -> T:
        start = time.time()
        try:
            return stage.fn(*args, **kwargs)
        finally:
            self.times[name] = (start, time.time())


@stage_flow(name="run", task_runner=SettingsTaskRunner(), timeout_seconds=8 * 3600)
def run_flow(
    store: str | None = None,
    input_dir: str | None = None,
    pollutants: list[str] | None = None,
    force_train: bool = False,
) -> RunSummary:
    """Ingest, validate, transform, train, select, predict.

    Ingest takes the files, AirNow's last hours when a key and a box are set (AIRWATCH_AIRNOW__KEY,
    __BBOX), and the weather stations when weather is on. pollutants: those to forecast; default: every
    pollutant the input has observations of.
    """
    ctx, log, stage = Context.build(store), get_run_logger(), _Stages()
    url = ctx.settings.store
    ingested = stage("ingest", ingest_flow, url, input_dir)
    airnow = ctx.settings.airnow
    if airnow.key and airnow.bbox:  # the freshest days, which AQS publishes months later
        stage("ingest-airnow", ingest_airnow_flow, airnow.bbox, hours=airnow.hours, store=url)
    if ctx.settings.weather.mode != "none":
        stage("ingest-weather", ingest_weather_flow, url)
    validated = stage("validate", validate_flow, url)
    run, skipped = pollutants_to_run(pollutants, validated.pollutants)
    for p in skipped:
        log.warning("run: no valid %s observations in the input; %s skipped", p, p)
    if not run:
        raise NoDataError("no pollutant to forecast: the input has no valid PM2.5 or ozone observation")
    transformed = stage("transform", transform_flow, url, run)
    trained = stage("train", train_flow, url, run, force=force_train)
    selected = stage("select", select_flow, url, run)
    predicted = stage("predict", predict_flow, url, run)
    return RunSummary(url, ingested, validated, skipped, transformed, trained, selected, predicted, stage.times)


@stage_flow(name="forecast", task_runner=SettingsTaskRunner(), timeout_seconds=2 * 3600)
def forecast_flow(store: str | None = None, pollutants: list[str] | None = None) -> list[PredictSummary]:
    """The daily forecast after an ingest: validate, transform, then predict with the current champions."""
    url, stage = Context.build(store).settings.store, _Stages()
    validated = stage("validate", validate_flow, url)
    run, _ = pollutants_to_run(pollutants, validated.pollutants)
    stage("transform", transform_flow, url, run)
    return stage("predict", predict_flow, url, run)


@stage_flow(name="retrain", task_runner=SettingsTaskRunner(), timeout_seconds=8 * 3600)
def retrain_flow(
    store: str | None = None, pollutants: list[str] | None = None, force: bool = False
) -> list[SelectSummary]:
    """The weekly training: validate, transform, train, then select (a champion only if it earns it)."""
    url, stage = Context.build(store).settings.store, _Stages()
    validated = stage("validate", validate_flow, url)
    run, _ = pollutants_to_run(pollutants, validated.pollutants)
    stage("transform", transform_flow, url, run)
    stage("train", train_flow, url, run, force=force)
    return stage("select", select_flow, url, run)
