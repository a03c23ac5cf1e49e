"""Train: fit every candidate on a time-ordered split and log each as a nested MLflow run with its model."""

from __future__ import annotations

from prefect import flow, get_run_logger

from airwatch import catalog
from airwatch.domain.report import diagnostic_figures, feature_importance
from airwatch.domain.train import TrainingReport, evaluate, plan_training
from airwatch.domain.transform import feature_columns
from airwatch.domain.weather import columns_for_horizon
from airwatch.flows.context import Context
from airwatch.flows.runners import SettingsTaskRunner, parallel_threads
from airwatch.flows.tasks import compute_task, io_task
from airwatch.io import datasets, records
from airwatch.io.datasets import fingerprint, utc_stamp
from airwatch.io.registry import Registry

HORIZON = 1
read = io_task(datasets.read)
fit = compute_task(evaluate, name="fit")
save_report = io_task(records.save_training_report)
log_candidate_run = io_task(Registry.log_candidate, name="log-candidate")


def train_pollutant(ctx: Context, pollutant: str, force: bool) -> TrainingReport:
    """Train the candidates for one pollutant; the last report when nothing changed."""
    log, ts = get_run_logger(), ctx.settings.train
    manifest = datasets.latest(ctx.store, catalog.features(pollutant))
    training_id = fingerprint("train", manifest.version, ts.model_dump(), ctx.code_version("train"), HORIZON)
    previous = records.latest_training_report(ctx.store, pollutant)
    if previous and previous.training_id == training_id and not force:
        log.info("train: %s already trained on features %s (%s)", pollutant, manifest.version, training_id)
        return previous
    frame = read(ctx.store, manifest)
    features = columns_for_horizon(feature_columns(frame), HORIZON)
    plan = plan_training(frame, features, horizon=HORIZON, validation_days=ts.validation_days, seed=ts.seed,
                         lightgbm_rounds=ts.lightgbm_rounds, half_life_years=ts.recency_half_life_years,
                         threads=parallel_threads(ctx.settings.runner))  # fmt: skip
    split = plan.split
    common = {"pollutant": pollutant, "features_version": manifest.version, "training_id": training_id,
              "observations_version": str(manifest.inputs.get("observations", "")),
              "code_version": ctx.code_version("train")}  # fmt: skip
    candidates = []
    # The candidates are fitted side by side (the settings' task runner); they come back fitted, in order.
    fitted = [f.result() for f in [fit.submit(c, split, horizon=HORIZON) for c in plan.candidates]]
    with ctx.registry.start_run(pollutant, f"train-{utc_stamp()}", tags=common) as parent:
        ctx.registry.log_params({**ts.model_dump(), "horizon": HORIZON, "features": ",".join(features), **common})
        for result in fitted:
            candidate = result.result.candidate
            figures = diagnostic_figures(pollutant, split.validation["date"], result.validation_forecast,
                                         split.validation[f"target_{HORIZON}"].to_numpy(dtype=float),
                                         feature_importance(candidate))  # fmt: skip
            run_id, model_uri = log_candidate_run(ctx.registry, pollutant, candidate, result, features,
                                                  split.validation, figures, common)  # fmt: skip
            candidates.append(result.report(candidate.params, run_id, model_uri))
            r = result.result
            log.info("train: %s %s validation RMSE %.4g (skill vs persistence %.1f%%)", pollutant, r.name,
                     r.validation["rmse"], 100 * r.validation["skill_vs_persistence"])  # fmt: skip
        report = TrainingReport(**common, horizon=HORIZON, created_utc=utc_stamp(), features=features,
                                sites=int(frame["site_id"].nunique()), train_rows=len(split.train),
                                validation_rows=len(split.validation),
                                validation_start=str(split.validation_start.date()),
                                validation_end=str(split.validation_end.date()), candidates=candidates,
                                parent_run_id=parent.info.run_id)  # fmt: skip
        ctx.registry.log_dict(report.model_dump(), "training_report.json")
    save_report(ctx.store, report)
    return report


@flow(name="train", task_runner=SettingsTaskRunner(), timeout_seconds=6 * 3600)
def train_flow(
    store: str | None = None, pollutants: list[str] | None = None, force: bool = False
) -> list[TrainingReport]:
    """Train the candidates of each pollutant (default: each with features) on its newest feature frame."""
    ctx = Context.build(store)
    return [train_pollutant(ctx, p, force) for p in pollutants or datasets.pollutants_with_features(ctx.store)]
