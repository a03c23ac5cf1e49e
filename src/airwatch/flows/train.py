"""Train: fit every candidate on a time-ordered split, log each as a nested MLflow run with its model."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from rich.progress import Progress

from airwatch.domain.report import diagnostic_figures, feature_importance
from airwatch.domain.schemas import POLLUTANTS
from airwatch.domain.train import fit_and_score, make_candidates, time_split, validation_fold_skills
from airwatch.domain.transform import feature_columns
from airwatch.domain.weather import columns_for_horizon
from airwatch.flows.context import Context, features_dataset, training_prefix
from airwatch.io import datasets
from airwatch.io.datasets import fingerprint, utc_stamp

HORIZON = 1


def latest_report(ctx: Context, pollutant: str) -> dict[str, Any] | None:
    keys = [k for k in ctx.store.list(training_prefix(pollutant)) if k.endswith(".json")]
    return json.loads(ctx.store.read_bytes(keys[-1])) if keys else None


@task(cache_policy=NO_CACHE)
def train_pollutant(ctx: Context, pollutant: str, force: bool = False) -> dict[str, Any]:
    """Train the candidates for one pollutant; reuse the last report when nothing changed."""
    logger = get_run_logger()
    manifest = datasets.latest(ctx.store, features_dataset(pollutant))
    train_settings = ctx.settings.train.model_dump()
    training_id = fingerprint("train", manifest.version, train_settings, ctx.code_version, HORIZON)
    previous = latest_report(ctx, pollutant)
    if previous and previous["training_id"] == training_id and not force:
        logger.info("train: %s already trained on features %s (%s)", pollutant, manifest.version, training_id)
        return previous

    frame = datasets.read(ctx.store, manifest)
    features = columns_for_horizon(feature_columns(frame), HORIZON)
    split = time_split(frame, horizon=HORIZON, validation_days=ctx.settings.train.validation_days)
    ts = ctx.settings.train
    candidates = make_candidates(
        features, seed=ts.seed, lightgbm_rounds=ts.lightgbm_rounds, half_life_years=ts.recency_half_life_years
    )
    registry = ctx.registry
    stamp = utc_stamp()
    common = {
        "pollutant": pollutant,
        "features_version": manifest.version,
        "observations_version": str(manifest.inputs.get("observations", "")),
        "code_version": ctx.code_version,
        "training_id": training_id,
    }
    report: dict[str, Any] = {
        **common,
        "horizon": HORIZON,
        "created_utc": stamp,
        "features": features,
        "sites": int(frame["site_id"].nunique()),
        "train_rows": len(split.train),
        "validation_rows": len(split.validation),
        "validation_start": str(split.validation_start.date()),
        "validation_end": str(split.validation_end.date()),
        "candidates": [],
    }
    with registry.start_run(pollutant, f"train-{stamp}", tags=common) as parent:
        registry.log_params({**train_settings, "horizon": HORIZON, "features": ",".join(features), **common})
        with Progress(transient=True) as progress:
            bar = progress.add_task(f"training {pollutant}", total=len(candidates))
            for candidate in candidates:
                progress.update(bar, description=f"training {pollutant}: {candidate.name}")
                result = fit_and_score(candidate, split, horizon=HORIZON)
                fold_skills = validation_fold_skills(candidate, split, horizon=HORIZON)
                with registry.start_run(
                    pollutant, candidate.name, nested=True, tags={**common, "candidate": candidate.name}
                ) as run:
                    registry.log_params({**candidate.params, "candidate": candidate.name, **common})
                    registry.log_metrics(
                        {f"train_{k}": v for k, v in result.train.items()}
                        | {f"val_{k}": v for k, v in result.validation.items()}
                        | {"overfit_gap": result.overfit_gap}
                    )
                    model_uri = registry.log_model(candidate, features, split.validation)
                    registry.log_figures(
                        diagnostic_figures(
                            pollutant,
                            split.validation["date"],
                            np.asarray(candidate.predict(split.validation), dtype=np.float64),
                            split.validation[f"target_{HORIZON}"].to_numpy(dtype=np.float64),
                            feature_importance(candidate),
                        )
                    )
                report["candidates"].append(
                    {
                        "name": candidate.name,
                        "params": candidate.params,
                        "train": result.train,
                        "validation": result.validation,
                        "overfit_gap": result.overfit_gap,
                        "fold_skills": fold_skills,
                        "run_id": run.info.run_id,
                        "model_uri": model_uri,
                    }
                )
                logger.info(
                    "train: %s %s validation RMSE %.4g (skill vs persistence %.1f%%)",
                    pollutant,
                    candidate.name,
                    result.validation["rmse"],
                    100 * result.validation["skill_vs_persistence"],
                )
                progress.advance(bar)
        report["parent_run_id"] = parent.info.run_id
        registry.log_dict(report, "training_report.json")
    ctx.store.write_bytes(
        f"{training_prefix(pollutant)}{stamp}_{training_id}.json",
        json.dumps(report, indent=2).encode(),
        if_absent=True,
    )
    return report


@flow(name="train")
def train_flow(ctx: Context, pollutants: list[str] | None = None, force: bool = False) -> list[dict[str, Any]]:
    """Train the candidates of each pollutant on its newest feature frame."""
    return [train_pollutant(ctx, p, force) for p in (pollutants or list(POLLUTANTS))]
