"""Select: gate the newest training's candidates, register the winner, promote it if it beats the champion.

The champion is re-scored on the same window under a lock held in the store, so two promotions racing
each other are serialized and the better model stays; every decision is logged in the store and on
the model version.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from prefect import get_run_logger

from airwatch import catalog, faults
from airwatch.domain import select as gates
from airwatch.domain.train import PERSISTENCE, TrainingReport, fit, like, score_fitted, time_split
from airwatch.errors import NoDataError
from airwatch.flows.context import Context
from airwatch.flows.tasks import io_task, stage_flow
from airwatch.io import audit, datasets, records
from airwatch.io.registry import RegisteredVersion
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
    outcomes: tuple[gates.GateOutcome, ...]
    decision: str = ""


@io_task
def champion_score(ctx: Context, champion: RegisteredVersion, report: TrainingReport) -> float | None:
    """The validation RMSE of the champion's configuration on this training's window, or None.

    A configuration this training has among its candidates is read from the report. Any other (an
    older code or parameters) is refitted from the champion's files on this training's rows.
    """
    configuration = champion.tags.get("configuration", "")
    same = [c for c in report.candidates if gates.configuration(c.name, c.params) == configuration]
    if same:
        return same[0].validation["rmse"]
    manifest = datasets.find_version(ctx.store, catalog.features(report.pollutant), report.features_version)
    if manifest is None:
        return None
    split = time_split(datasets.read(ctx.store, manifest), horizon=report.horizon,
                       validation_days=ctx.settings.train.validation_days, consume=True)  # fmt: skip
    try:
        point = ctx.registry.load_version(champion).unwrap_python_model().models.point
        refitted = fit(like(point, horizon=report.horizon), split, horizon=report.horizon)
        return score_fitted(refitted, split, horizon=report.horizon).result.validation["rmse"]
    except (KeyError, ValueError, AttributeError) as exc:  # its inputs are not in these features
        get_run_logger().warning("select: champion v%s cannot be scored on this window: %s", champion.version, exc)
        return None


def promote(ctx: Context, report: TrainingReport) -> SelectSummary:
    """Gate, register the refitted model and, under the pollutant's promotion lock, move the aliases.

    The steps are ordered so that a run killed between any two is finished by the next run, and not
    done twice: the version is registered once per training (found again by its run and model), the
    decision is recorded once per version (found again in the promotion log) before the version's
    tags and the aliases, which are set from the record and can be set again.
    """
    log, ts, registry, pollutant = get_run_logger(), ctx.settings.train, ctx.registry, report.pollutant
    choice = gates.choose(report.candidates, min_skill=ts.min_skill_vs_persistence, max_gap=ts.max_overfit_gap,
                          max_spread=ts.max_fold_spread)  # fmt: skip
    for o in choice.outcomes:
        log.info("select: %s %s: %s", pollutant, o.name, "; ".join(o.reasons))
    owner = f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    with StoreLock(ctx.store, f"promotion-{pollutant}", owner=owner):
        champion = registry.champion(pollutant)
        if champion and gates.already_champion(champion.tags, report):
            log.info("select: %s champion v%s is already this training's model", pollutant, champion.version)
            return _summary(report, choice, champion, False, "already champion")
        version = registry.registered_from(pollutant, report.model_run_id, report.model_uri)
        if version is None:
            version = registry.register(
                pollutant, report.model_uri, report.model_run_id, gates.version_tags(report, choice)
            )
            faults.checkpoint("select.registered")
        else:
            log.warning("select: %s v%s is this training's model, registered by a run that stopped before its "
                        "promotion was done; not registered again", pollutant, version.version)  # fmt: skip
        record = records.promotion_of(ctx.store, pollutant, version.name, version.version)
        if record is not None and record["previous_champion_version"] == (champion.version if champion else None):
            log.warning("select: %s v%s was decided on by a run that stopped before setting its tags and aliases "
                        "(%s); setting them now", pollutant, version.version, record["decision"])  # fmt: skip
        else:
            champion_rmse = champion_score(ctx, champion, report) if champion else None
            decision = gates.promotion(choice, champion.tags.get("configuration") if champion else None,
                                       champion_rmse, margin=ts.min_improvement_vs_champion)  # fmt: skip
            record = gates.promotion_record(
                report, choice, decision, model=version.name, version=version.version, champion_rmse=champion_rmse,
                champion_version=champion.version if champion else None, at_utc=datetime.now(UTC).isoformat(),
                by=owner,
            )  # fmt: skip
            records.append_promotion(ctx.store, record)
            faults.checkpoint("select.recorded")
        promoted = record["decision"] == "promoted"
        registry.tag_version(version, gates.decision_tags(record))
        moved = registry.move_aliases(version, champion, promote=promoted)
        was = champion.version if champion else None
        audit.record(ctx.store, "alias_move", {"model": version.name, "aliases": moved, "champion_before": was})
        log.info("select: %s v%s %s: %s", pollutant, version.version, record["decision"], record["reason"])
        current = version if promoted else (champion or version)
        return _summary(report, choice, current, True, record["decision"])


def _summary(report: TrainingReport, choice: gates.Choice, version: RegisteredVersion, newly: bool,
             decision: str) -> SelectSummary:  # fmt: skip
    c, persistence = choice.candidate, report.candidate(PERSISTENCE)
    return SelectSummary(report.pollutant, c.name, version.name, version.version, newly, c.validation["rmse"],
                         persistence.validation["rmse"], c.validation["skill_vs_persistence"], report.sites,
                         choice.outcomes, decision)  # fmt: skip


@stage_flow(name="select", timeout_seconds=3600)
def select_flow(store: str | None = None, pollutants: list[str] | None = None) -> list[SelectSummary]:
    """Gate, register and promote the best candidate of each pollutant's newest training."""
    ctx = Context.build(store)
    summaries = []
    for pollutant in pollutants or datasets.pollutants_with_features(ctx.store):
        report = records.latest_training_report(ctx.store, pollutant)
        if report is None:
            raise NoDataError(f"select: no training report for {pollutant}; run 'airwatch train' first")
        summaries.append(promote(ctx, report))
    return summaries
