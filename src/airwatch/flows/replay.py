"""Replay: issue the forecasts of the last days of the data as the daily schedule would have, then verify them.

For the embedded default (a sample of history, no daily schedule behind it) this is how there is a
month of verified forecasts to look at. The champion's configuration is fitted again on what was
known on the first replayed day (rows up to it, no target observed after it), so no forecast of the
month learned from the days it forecasts; the weekly retraining is not replayed, so later days use a
model a few weeks older than the schedule's would be. Each day is then issued from its own feature
rows, which were made from the observations up to that day; revisions made since are not undone.
Target-day weather is the issue day's observed weather (no forecast archive for past days).

Replayed predictions are published like any others, under their issue day, with model version
"replay" and the replay model's MLflow id; a replay of the same features and champion is done once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from prefect import get_run_logger

from airwatch import catalog
from airwatch.domain.predict import Lineage, issue_rows, prediction_frame, prediction_manifest, with_target_weather
from airwatch.domain.schemas import HORIZONS
from airwatch.domain.train import assemble, fit_horizon, jobs_like, known_on, refit_extent, refit_groups
from airwatch.flows.context import Context
from airwatch.flows.monitor import MonitorSummary, monitor_flow
from airwatch.flows.runners import SettingsTaskRunner, fit_threads
from airwatch.flows.tasks import compute_task, io_task, stage_flow
from airwatch.io import datasets, records
from airwatch.io.datasets import fingerprint, utc_stamp

REPLAY_VERSION = "replay"
read = io_task(datasets.read, lends=True)
refit_horizon = compute_task(fit_horizon, name="refit")
save_predictions = io_task(records.save_predictions)


@dataclass(frozen=True)
class ReplaySummary:
    pollutant: str
    replay_id: str
    first_issue: str
    last_issue: str
    issues: int
    trained_through: str
    model_id: str
    predictions: list[str]
    skipped: bool  # done before, with the same features and champion


@dataclass(frozen=True)
class ReplayResult:
    replays: list[ReplaySummary]
    monitor: list[MonitorSummary]


def replay_pollutant(ctx: Context, pollutant: str, days: int) -> ReplaySummary:
    log = get_run_logger()
    manifest = datasets.latest(ctx.store, catalog.features(pollutant))
    model, champion = ctx.registry.load_champion(pollutant)
    replay_id = fingerprint("replay", manifest.version, champion.model_id, days, ctx.code_version("replay"))
    done = records.read_json(ctx.store, catalog.replay_key(pollutant, replay_id))
    if done is not None:
        log.info("replay: %s already replayed (%s): %d issues", pollutant, replay_id, done["issues"])
        return ReplaySummary(**{**done, "skipped": True})
    frame = read(ctx.store, manifest)
    observed = pd.to_datetime(frame.loc[frame["value"].notna(), "date"])
    end = observed.max()
    issue_days = pd.date_range(end - pd.Timedelta(days=days), end - pd.Timedelta(days=1), freq="D")
    first = issue_days[0]

    # The champion's configuration, fitted on what was known on the first replayed day.
    champion_models = model.unwrap_python_model().models
    known = known_on(frame, first)
    groups = refit_groups(jobs_like(champion_models, threads=fit_threads(len(known))), apart=False)
    models = assemble(champion_models.candidate, groups, [refit_horizon(g, known) for g in groups])
    rows_used, through = refit_extent(known, min(HORIZONS))
    tags = {
        "pollutant": pollutant,
        "features_version": manifest.version,
        "replay_id": replay_id,
        "replay_of": champion.model_id,
        "code_version": ctx.code_version("replay"),
    }
    with ctx.registry.start_run(pollutant, f"replay {first.date()}..{issue_days[-1].date()}", tags=tags):
        run_id, model_uri = ctx.registry.log_refit(
            pollutant, models, known, tags, {"rows": rows_used, "through": through}
        )
    model_id = model_uri.removeprefix("models:/")

    keys = []
    staleness = ctx.settings.predict.max_staleness_days
    for day in issue_days:
        _, rows = issue_rows(frame, max_staleness_days=staleness, on=day)
        if rows.empty:
            continue
        rows, source = with_target_weather(
            rows, pd.DataFrame(), None, "a replay has no archived forecast", horizons=HORIZONS, radius_km=0.0
        )
        lineage = Lineage(
            champion.name,
            REPLAY_VERSION,
            model_id,
            run_id,
            models.candidate,
            manifest.version,
            str(manifest.inputs.get("observations", "")),
            ctx.code_version("replay"),
            utc_stamp(),
        )
        out = prediction_frame(pollutant, rows, models.predict(rows), np.asarray(source), lineage,
                               ctx.settings.predict.warning_probability(pollutant))  # fmt: skip
        issue = str(day.date())
        key = catalog.predictions_key(pollutant, issue, lineage.issued_utc, champion.name, REPLAY_VERSION)
        extra: dict[str, Any] = {"replay_id": replay_id, "trained_through": through}
        save_predictions(ctx.store, key, out, {**prediction_manifest(out, lineage), **extra})
        keys.append(key)
    summary = ReplaySummary(
        pollutant,
        replay_id,
        str(first.date()),
        str(issue_days[-1].date()),
        len(keys),
        through,
        model_id,
        keys,
        skipped=False,
    )
    record = {k: v for k, v in summary.__dict__.items() if k != "skipped"}
    records.write_json(ctx.store, catalog.replay_key(pollutant, replay_id), record, if_absent=True)
    log.info(
        "replay: %s %d issues %s..%s with %s fitted through %s",
        pollutant,
        len(keys),
        summary.first_issue,
        summary.last_issue,
        models.candidate,
        through,
    )
    return summary


@stage_flow(name="replay", task_runner=SettingsTaskRunner(), timeout_seconds=4 * 3600)
def replay_flow(store: str | None = None, pollutants: list[str] | None = None, days: int = 30) -> ReplayResult:
    """Issue the last `days` days' forecasts as the daily schedule would have, then monitor them."""
    ctx = Context.build(store)
    wanted = pollutants or datasets.pollutants_with_features(ctx.store)
    replays = [replay_pollutant(ctx, p, days) for p in wanted]
    # Scored as of the day after each pollutant's newest observation: the replay's "today".
    return ReplayResult(replays, monitor_flow.fn(ctx.settings.store, wanted, days, as_of="data"))
