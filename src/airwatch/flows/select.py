"""Select: gate the newest training's candidates, register the winner, promote it if it earns it.

A winner is promoted only when it beats the champion re-scored on the same window; every decision is
logged in the store and on the model version.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from airwatch.domain.schemas import POLLUTANTS
from airwatch.domain.select import GateOutcome, champion_gate, fold_spread_gate, select
from airwatch.domain.train import PERSISTENCE, CandidateResult, score, time_split
from airwatch.flows.context import Context, features_dataset
from airwatch.flows.train import latest_report
from airwatch.io import datasets
from airwatch.io.datasets import utc_stamp
from airwatch.io.registry import CHALLENGER, PREVIOUS, RegisteredVersion
from airwatch.io.store import StoreLock


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
    decision: str = ""


def _rescore(ctx: Context, version: RegisteredVersion | None, report: dict[str, Any]) -> float | None:
    """The RMSE of a registered model on this training's validation window, or None if it cannot run."""
    if version is None:
        return None
    manifest = datasets.find_version(ctx.store, features_dataset(report["pollutant"]), report["features_version"])
    if manifest is None:
        return None
    frame = datasets.read(ctx.store, manifest)
    split = time_split(frame, horizon=report["horizon"], validation_days=ctx.settings.train.validation_days)
    try:
        model = ctx.registry.load_version(version).unwrap_python_model()
        predicted = np.asarray(model.candidate.predict(split.validation), dtype=np.float64)
    except (KeyError, ValueError, AttributeError) as exc:  # trained on other features: not comparable
        get_run_logger().warning("select: champion v%s cannot be scored on this window: %s", version.version, exc)
        return None
    observed = split.validation[f"target_{report['horizon']}"].to_numpy(dtype=np.float64)
    return float(score(predicted, observed, split.validation["last_value"].to_numpy())["rmse"])


def promote(ctx: Context, pollutant: str, report: dict[str, Any]) -> SelectSummary:
    """Gate the newest training's candidates, register the winner, and move the aliases.

    Runs under a store lock per pollutant, so two promotions racing each other are serialized: the
    second compares itself with whatever the first left as champion, and the better model stays.
    """
    logger = get_run_logger()
    results = [CandidateResult(c["name"], c["train"], c["validation"]) for c in report["candidates"]]
    selection = select(results, min_skill=ctx.settings.train.min_skill_vs_persistence,
                       max_gap=ctx.settings.train.max_overfit_gap)  # fmt: skip
    outcomes = list(selection.outcomes)
    chosen = next(c for c in report["candidates"] if c["name"] == selection.selected.name)
    spread = fold_spread_gate(chosen.get("fold_skills", []), max_spread=ctx.settings.train.max_fold_spread)
    outcomes.append(spread)
    if not spread.passed and chosen["name"] != PERSISTENCE:
        logger.info("select: %s %s fails the fold-spread gate: %s", pollutant, chosen["name"], spread.reasons[0])
        chosen = next(c for c in report["candidates"] if c["name"] == PERSISTENCE)
    for o in outcomes:
        logger.info("select: %s %s: %s", pollutant, o.name, "; ".join(o.reasons))
    persistence = next(c for c in report["candidates"] if c["name"] == PERSISTENCE)
    registry = ctx.registry
    owner = f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    with StoreLock(ctx.store, f"promotion-{pollutant}", owner=owner):
        champion = registry.champion(pollutant)
        if (
            champion
            and champion.tags.get("training_id") == report["training_id"]
            and champion.run_id == chosen["run_id"]
        ):
            logger.info("select: %s champion v%s is already this training's choice", pollutant, champion.version)
            return _summary(pollutant, chosen, persistence, report, champion, False, "already champion", outcomes)
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
        champion_rmse = _rescore(ctx, champion, report)
        decision = champion_gate(chosen["validation"]["rmse"], champion_rmse,
                                 margin=ctx.settings.train.min_improvement_vs_champion)  # fmt: skip
        if decision.promote:
            registry.set_champion(version)
            if champion is not None:
                registry.set_alias(champion, PREVIOUS)
        else:
            registry.set_alias(version, CHALLENGER)
        record = {
            "pollutant": pollutant,
            "at_utc": datetime.now(UTC).isoformat(),
            "by": owner,
            "decision": "promoted" if decision.promote else "not promoted",
            "reason": decision.reason,
            "model": version.name,
            "candidate_version": version.version,
            "candidate": chosen["name"],
            "candidate_rmse": chosen["validation"]["rmse"],
            "previous_champion_version": champion.version if champion else None,
            "previous_champion_rmse_same_window": champion_rmse,
            "training_id": report["training_id"],
            "features_version": report["features_version"],
            "gates": [{"name": o.name, "passed": o.passed, "reasons": list(o.reasons)} for o in outcomes],
        }
        # Append-only: one object per decision, never rewritten.
        key = f"models/{pollutant}/promotions/{utc_stamp()}_{version.name}-v{version.version}.json"
        ctx.store.write_bytes(key, json.dumps(record, indent=2, default=str).encode(), if_absent=True)
        registry.tag_version(version, {"promotion_decision": record["decision"], "promotion_reason": decision.reason,
                                       "promotion_at": record["at_utc"], "promotion_by": owner})  # fmt: skip
        logger.info("select: %s v%s %s: %s", pollutant, version.version, record["decision"], decision.reason)
        current = version if decision.promote else (champion or version)
        return _summary(pollutant, chosen, persistence, report, current, True, record["decision"], outcomes)


def _summary(pollutant, chosen, persistence, report, version, newly, decision, outcomes) -> SelectSummary:  # type: ignore[no-untyped-def]
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
        outcomes=tuple(outcomes),
        decision=decision,
    )


@task(cache_policy=NO_CACHE)
def select_pollutant(ctx: Context, pollutant: str) -> SelectSummary:
    report = latest_report(ctx, pollutant)
    if report is None:
        raise LookupError(f"select: no training report for {pollutant}; run 'airwatch train' first")
    return promote(ctx, pollutant, report)


@flow(name="select")
def select_flow(ctx: Context, pollutants: list[str] | None = None) -> list[SelectSummary]:
    """Gate, register and promote the best candidate of each pollutant."""
    return [select_pollutant(ctx, p) for p in (pollutants or list(POLLUTANTS))]
