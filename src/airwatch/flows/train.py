"""Train: score every candidate on a time-ordered split, choose one by the gates, refit it on all the data.

Each candidate is a nested MLflow run (parameters, validation scores, diagnostic plots). The chosen
configuration is then refitted on every usable row up to the newest observation, for each horizon
with its 80% interval, and logged as the training's model: MLflow records both fits, and what select
registers knows the latest data.
"""

from __future__ import annotations

import gc

import pandas as pd
from prefect import get_run_logger

from airwatch import catalog
from airwatch.domain import select as gates
from airwatch.domain.report import DiagnosticFigures, feature_importance
from airwatch.domain.schemas import HORIZONS
from airwatch.domain.train import (
    Forecaster,
    RefitJob,
    Split,
    TrainingReport,
    assemble,
    fit,
    fit_all,
    fit_horizon,
    plan_training,
    refit_columns,
    refit_extent,
    refit_groups,
    refit_jobs,
    score_all,
)
from airwatch.domain.transform import feature_columns
from airwatch.domain.weather import columns_for_horizon
from airwatch.flows.context import Context
from airwatch.flows.runners import SettingsTaskRunner, fit_threads, in_order, side_by_side
from airwatch.flows.tasks import Lent, compute_task, io_task, stage_flow
from airwatch.io import datasets, records
from airwatch.io.datasets import fingerprint, utc_stamp
from airwatch.io.registry import EXAMPLE_ROWS, Registry

SELECTION_HORIZON = 1  # candidates are compared on day+1, as in the backtest
read = io_task(datasets.read, lends=True)
save_report = io_task(records.save_training_report)
log_candidate_runs = io_task(Registry.log_candidates, name="log-candidates")
log_refit_run = io_task(Registry.log_refit, name="log-refit")
log_plots = io_task(Registry.log_plots, name="log-plots")


def _fit_batch(candidates: list[Forecaster], split: Lent[Split], horizon: int) -> list[Forecaster]:
    return [fit(c, split.value, horizon=horizon) for c in candidates]


def _refit_batch(groups: list[list[RefitJob]], frame: Lent[pd.DataFrame]) -> list[list[Forecaster]]:
    return [fit_horizon(g, frame.value) for g in groups]


fit_some = compute_task(_fit_batch, name="fit")
refit_some = compute_task(_refit_batch, name="refit")


def _rounds(model: Forecaster) -> float:
    # What a fit costs, roughly: its boosting rounds (a LightGBM model 500), else 1.
    return float(model.params.get("n_estimators", 1))


def train_pollutant(ctx: Context, pollutant: str, force: bool) -> TrainingReport:
    """Train one pollutant; the last report when nothing changed."""
    log, ts, h = get_run_logger(), ctx.settings.train, SELECTION_HORIZON
    manifest = datasets.latest(ctx.store, catalog.features(pollutant))
    # Whether figures are drawn changes no model: a training is the same one either way.
    training_id = fingerprint("train", manifest.version, ts.model_dump(exclude={"diagnostic_figures"}),
                              ctx.code_version("train"), HORIZONS)  # fmt: skip
    previous = records.latest_training_report(ctx.store, pollutant)
    if previous and previous.training_id == training_id and not force:
        log.info("train: %s already trained on features %s (%s)", pollutant, manifest.version, training_id)
        return previous
    frame = read(ctx.store, manifest)
    columns, sites, frame_columns = feature_columns(frame), int(frame["site_id"].nunique()), list(frame.columns)
    refit_rows, through = refit_extent(frame, h)
    # Many rows: a LightGBM fit gets every core (the candidates' batch beside it, persistence,
    # climatology and ridge, takes seconds) and the refit's horizons run one after another, each
    # binning its rows once. Few rows: one thread a fit, and the refit's groups side by side.
    # Measured: national folder, train 318 s one after another vs 360 s side by side; bundled
    # sample, 33 s side by side vs 41 s one after another (docs/core.md). On 2026-12-06 (before that
    # day's bag rules, one run each) the national training with its refit side by side was faster
    # (63.5 vs 68.9 s) but peaked 178 MB higher (1,428 MB), which takes the national run's process
    # tree past its 1.5 GB target: kept one after another.
    threads = fit_threads(len(frame))
    workers = ctx.settings.runner.workers
    plan = plan_training(frame, columns_for_horizon(columns, h), horizon=h, validation_days=ts.validation_days,
                         seed=ts.seed, lightgbm_rounds=ts.lightgbm_rounds,
                         lightgbm_learning_rate=ts.lightgbm_learning_rate, lightgbm_max_rows=ts.lightgbm_max_rows,
                         lightgbm_sample_rows=ts.lightgbm_sample_rows, half_life_years=ts.recency_half_life_years,
                         threads=threads, consume=True)  # fmt: skip
    # Selection works on the split's copies of the rows, taken out of the frame a column at a time, and
    # the refit reads the frame again: the frame and the split are never held at once (each a GB at
    # national scale).
    del frame
    datasets.release_memory()
    split = plan.split
    # The candidates are fitted side by side (the settings' task runner); the blend reuses their fits.
    alone = [c for c in plan.candidates if c.name != "blend"]
    batches = side_by_side(alone, workers, cost=_rounds)
    lent = Lent(split)
    futures = [fit_some.submit(b, lent, horizon=h) for b in batches]
    fitted = fit_all(plan.candidates, in_order(alone, batches, [f.result() for f in futures]))
    lent.release()
    common = {"pollutant": pollutant, "features_version": manifest.version, "training_id": training_id,
              "observations_version": str(manifest.inputs.get("observations", "")),
              "code_version": ctx.code_version("train")}  # fmt: skip
    candidates = []
    with ctx.registry.start_run(pollutant, f"train-{utc_stamp()}", tags=common) as parent:
        ctx.registry.log_params({**ts.model_dump(), "horizons": str(HORIZONS), "features": ",".join(plan.features),
                                 **common})  # fmt: skip
        # The candidates' figures are drawn once the refit is done: matplotlib, once it has drawn, holds
        # about 44 MB, which would stand under the refit's peak (docs/core.md).
        truth = ((split.validation["date"].copy(), split.validation[f"target_{h}"].to_numpy(dtype=float))
                 if ts.diagnostic_figures else None)  # fmt: skip
        scored = list(zip(fitted, score_all(fitted, split, horizon=h), strict=True))
        run_ids = log_candidate_runs(ctx.registry, pollutant, scored, common)
        for (candidate, result), run_id in zip(scored, run_ids, strict=True):
            candidates.append(result.report(candidate.params, run_id))
            r = result.result
            log.info("train: %s %s validation RMSE %.4g (skill vs persistence %.1f%%)", pollutant, r.name,
                     r.validation["rmse"], 100 * r.validation["skill_vs_persistence"])  # fmt: skip
        choice = gates.choose(candidates, min_skill=ts.min_skill_vs_persistence, max_gap=ts.max_overfit_gap,
                              max_spread=ts.max_fold_spread)  # fmt: skip
        chosen = next(c for c in fitted if c.name == choice.candidate.name)
        # The training side is done with (the refit reads its rows from the frame, a horizon at a time).
        # Of the validation rows only their count and the model's input example (five rows, copied off
        # the frame) outlive the selection: the frame itself was held through the refit's peak.
        validation_rows, train_rows = len(split.validation), len(split.train)
        example = split.validation.head(EXAMPLE_ROWS).copy()
        window, features = (split.validation_start, split.validation_end), plan.features
        del plan, split, futures
        # The split's frames sit in reference cycles (pandas' own, Prefect's records of the fit runs):
        # without a collection they lived on under the refit's read, whose Arrow buffers cannot reuse
        # what they free (1,000 sites: 1.1 GB of the ozone refit's 3.8 GB peak; docs/reliability.md).
        gc.collect()
        datasets.release_memory()
        # Each group's models learn from the same rows, binned once (fit_horizon).
        jobs = refit_jobs(chosen, lambda k: columns_for_horizon(columns, k), horizons=HORIZONS, seed=ts.seed,
                          quantile_rounds=ts.quantile_rounds, quantile_learning_rate=ts.quantile_learning_rate,
                          half_life_years=ts.recency_half_life_years,
                          threads=threads, quantile_max_rows=ts.quantile_max_rows,
                          quantile_sample_rows=ts.quantile_sample_rows,
                          sample_rows=ts.lightgbm_sample_rows)  # fmt: skip
        groups = refit_groups(jobs, apart=threads == 1)
        parts = side_by_side(groups, workers if threads == 1 else 1, cost=lambda g: sum(_rounds(j.model) for j in g))
        frame = read(ctx.store, manifest, refit_columns(chosen, frame_columns))
        lent = Lent(frame)
        refitted = [f.result() for f in [refit_some.submit(b, lent) for b in parts]]
        lent.release()
        del frame
        datasets.release_memory()
        models = assemble(chosen.name, groups, in_order(groups, parts, refitted))
        model_run, model_uri = log_refit_run(ctx.registry, pollutant, models, example, common,
                                             {"rows": refit_rows, "through": through})  # fmt: skip
        log.info("train: %s %s chosen, refitted on %d rows through %s for days +%s", pollutant, chosen.name,
                 refit_rows, through, ", +".join(str(k) for k in HORIZONS))  # fmt: skip
        if truth is not None:
            figures = DiagnosticFigures(pollutant, *truth)
            log_plots(ctx.registry, {run_id: figures.render(result.validation_forecast, feature_importance(candidate))
                                     for (candidate, result), run_id in zip(scored, run_ids, strict=True)})  # fmt: skip
            del figures, truth
        report = TrainingReport(**common, horizon=h, created_utc=utc_stamp(), features=features,
                                sites=sites, train_rows=train_rows,
                                validation_rows=validation_rows, validation_start=str(window[0].date()),
                                validation_end=str(window[1].date()), candidates=candidates,
                                chosen=chosen.name, horizons=list(HORIZONS), refit_rows=refit_rows,
                                refit_through=through, model_uri=model_uri, model_run_id=model_run,
                                parent_run_id=parent.info.run_id)  # fmt: skip
        ctx.registry.log_dict(report.model_dump(), "training_report.json")
    save_report(ctx.store, report)
    return report


@stage_flow(name="train", task_runner=SettingsTaskRunner(), timeout_seconds=6 * 3600)
def train_flow(
    store: str | None = None, pollutants: list[str] | None = None, force: bool = False
) -> list[TrainingReport]:
    """Train the candidates of each pollutant (default: each with features) on its newest feature frame."""
    ctx = Context.build(store)
    return [train_pollutant(ctx, p, force) for p in pollutants or datasets.pollutants_with_features(ctx.store)]
