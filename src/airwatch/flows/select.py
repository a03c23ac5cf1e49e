"""Select: apply the gates to the newest training, register the winner and make it the champion."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.domain.schemas import POLLUTANTS
from airwatch.domain.select import GateOutcome, select
from airwatch.domain.train import PERSISTENCE, CandidateResult
from airwatch.flows.context import Context
from airwatch.flows.train import latest_report


@dataclass(frozen=True)
class SelectSummary:
    pollutant: str
    selected: str
    model_name: str
    model_version: str
    newly_registered: bool
    validation_rmse: float
    persistence_rmse: float
    skill_vs_persistence: float
    sites: int
    outcomes: tuple[GateOutcome, ...]


@task(cache_policy=NO_CACHE)
def select_pollutant(ctx: Context, pollutant: str) -> SelectSummary:
    logger = get_run_logger()
    report = latest_report(ctx, pollutant)
    if report is None:
        raise LookupError(f"select: no training report for {pollutant}; run 'airwatch train' first")
    results = [CandidateResult(c["name"], c["train"], c["validation"]) for c in report["candidates"]]
    selection = select(
        results,
        min_skill=ctx.settings.train.min_skill_vs_persistence,
        max_gap=ctx.settings.train.max_overfit_gap,
    )
    for o in selection.outcomes:
        logger.info("select: %s %s: %s", pollutant, o.name, "; ".join(o.reasons))
    chosen = next(c for c in report["candidates"] if c["name"] == selection.selected.name)
    persistence = next(c for c in report["candidates"] if c["name"] == PERSISTENCE)

    registry = ctx.registry
    champion = registry.champion(pollutant)
    newly = False
    if champion and champion.tags.get("training_id") == report["training_id"] and champion.run_id == chosen["run_id"]:
        version = champion
        logger.info("select: %s champion v%s is already this training's choice", pollutant, version.version)
    else:
        tags = {
            "pollutant": pollutant,
            "candidate": chosen["name"],
            "training_id": report["training_id"],
            "features_version": report["features_version"],
            "code_version": report["code_version"],
            "val_rmse": f"{chosen['validation']['rmse']:.6g}",
            "val_skill_vs_persistence": f"{chosen['validation']['skill_vs_persistence']:.4f}",
        }
        version = registry.register(pollutant, chosen["model_uri"], tags)
        registry.set_champion(version)
        newly = True
        logger.info("select: %s registered %s v%s as champion", pollutant, version.name, version.version)
    return SelectSummary(
        pollutant=pollutant,
        selected=chosen["name"],
        model_name=version.name,
        model_version=version.version,
        newly_registered=newly,
        validation_rmse=chosen["validation"]["rmse"],
        persistence_rmse=persistence["validation"]["rmse"],
        skill_vs_persistence=chosen["validation"]["skill_vs_persistence"],
        sites=int(report["sites"]),
        outcomes=selection.outcomes,
    )


@flow(name="select")
def select_flow(ctx: Context, pollutants: list[str] | None = None) -> list[SelectSummary]:
    """Gate, register and promote the best candidate of each pollutant."""
    return [select_pollutant(ctx, p) for p in (pollutants or list(POLLUTANTS))]
