"""Monitor: verify the published forecasts on the actuals that arrived, watch drift, alert, start retraining.

Per pollutant: the forecasts issued over the scored windows are joined with the newest observations
and scored (domain.monitor); the inputs of the latest issues are compared with the champion's
training rows of the same calendar weeks (domain.drift); sites gone quiet are listed; the findings
open and clear incidents, whose messages go to the webhook (domain.alerts, io.alerts); drift or
degraded skill starts the training flow, at most once per cool-down. The tables are datasets under
monitoring/, versioned by their inputs: a re-run on the same predictions and observations writes
nothing, and a revised observation makes a new version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from prefect import get_run_logger

from airwatch import catalog
from airwatch.domain import alerts as rules
from airwatch.domain.drift import DriftReport, DriftThresholds, feature_drift, monitored_features
from airwatch.domain.monitor import daily_scores, forecast_actual_pairs, season_start, verification, with_climatology
from airwatch.domain.schemas import HORIZONS
from airwatch.domain.transform import site_daily_values
from airwatch.flows.context import Context, scheduled_time
from airwatch.flows.tasks import io_task, stage_flow
from airwatch.io import alerts as delivery
from airwatch.io import datasets, deployments, records
from airwatch.io.datasets import Manifest, fingerprint, utc_stamp

RETRAIN_DEPLOYMENT = "retrain/train-weekly"
read = io_task(datasets.read, lends=True)
read_predictions = io_task(records.read_predictions)
publish = io_task(datasets.publish)


@dataclass(frozen=True)
class MonitorSummary:
    pollutant: str
    as_of: str  # scores cover forecast dates before this day
    version: str  # of the monitoring tables
    written: bool  # False: the same inputs were monitored before
    verified: int  # verified forecasts in the last window_days
    scores: list[dict[str, Any]]  # all sites, last window_days, per horizon
    drifted: list[str]
    drift_note: str  # why drift was not evaluated, if it was not
    stale_sites: int
    open_incidents: list[str]
    messages: list[str] = field(default_factory=list)  # sent (or recorded, without a webhook) by this run
    retraining: str = ""  # what the monitor started, if anything


def resolve_as_of(as_of: str | None, actuals: pd.DataFrame) -> date:
    """The monitor's day: a date, "data" (the day after the newest observation), or None (the scheduled day)."""
    if as_of == "data":
        if actuals.empty:
            return scheduled_time().date()
        return (pd.Timestamp(actuals["date"].max()) + pd.Timedelta(days=1)).date()
    return date.fromisoformat(as_of) if as_of else scheduled_time().date()


@stage_flow(name="monitor", timeout_seconds=1800)
def monitor_flow(
    store: str | None = None, pollutants: list[str] | None = None, days: int | None = None, as_of: str | None = None
) -> list[MonitorSummary]:
    """Verify forecasts, check drift, alert and start retraining, for each pollutant with features.

    days: the scoring window (default AIRWATCH_MONITOR__WINDOW_DAYS). as_of: score forecast dates
    before this day (YYYY-MM-DD); "data": the day after each pollutant's newest observation (a replay
    of history); default: the scheduled day.
    """
    ctx = Context.build(store)
    observations = datasets.latest(ctx.store, catalog.OBSERVATIONS)
    frame = read(ctx.store, observations)
    return [
        monitor_pollutant(ctx, p, observations, site_daily_values(frame, p), days=days, as_of=as_of)
        for p in pollutants or datasets.pollutants_with_features(ctx.store)
    ]


def monitor_pollutant(
    ctx: Context, pollutant: str, observations: Manifest, actuals: pd.DataFrame, *, days: int | None, as_of: str | None
) -> MonitorSummary:
    log, ms = get_run_logger(), ctx.settings.monitor
    window = days or ms.window_days
    day = resolve_as_of(as_of, actuals)
    first_scored = min(day - timedelta(days=window), season_start(day - timedelta(days=1)))
    keys = records.prediction_keys(ctx.store, pollutant, str(first_scored - timedelta(days=max(HORIZONS))), str(day))
    predictions = read_predictions(ctx.store, pollutant, str(first_scored - timedelta(days=max(HORIZONS))), str(day))
    pairs = forecast_actual_pairs(predictions, actuals)
    if len(pairs):
        pairs = with_climatology(pairs[pd.to_datetime(pairs["forecast_date"]).dt.date < day], actuals)
    scores, confusion = verification(pairs, day, window)
    daily = daily_scores(pairs)
    features = datasets.latest(ctx.store, catalog.features(pollutant))
    champion = ctx.registry.champion(pollutant)
    version = fingerprint(
        "monitor",
        pollutant,
        str(day),
        window,
        keys,
        observations.version,
        features.version,
        champion.model_id if champion else None,
        ms.model_dump(),
        ctx.code_version("monitor"),
    )
    inputs = {
        "observations": observations.version,
        "features": features.version,
        "predictions": len(keys),
        "champion": champion.model_id if champion else None,
    }
    extra = {"as_of": str(day), "window_days": window, "season_start": str(season_start(day - timedelta(days=1)))}
    tables = {"pairs": pairs, "scores": scores, "daily": daily, "confusion": confusion}
    published = {
        t: publish(ctx.store, catalog.monitoring(t, pollutant), version, f, inputs=inputs, extra=extra)
        for t, f in tables.items()
    }
    written = published["scores"][1]

    drift, drift_note = _drift(ctx, pollutant, champion, features, day)
    drift_frame = drift.frame() if drift is not None else pd.DataFrame()
    drift_manifest, _ = publish(
        ctx.store,
        catalog.monitoring("drift", pollutant),
        version,
        drift_frame,
        inputs=inputs,
        extra={**extra, "note": drift_note},
    )
    quiet = rules.stale_sites(actuals, pd.Timestamp(day), stale_days=ms.stale_days)
    stale_manifest, _ = publish(
        ctx.store, catalog.monitoring("stale", pollutant), version, quiet, inputs=inputs, extra=extra
    )
    reporting = _reporting_sites(actuals, day)

    # Findings, and the key prefixes this run could judge (the others keep their incidents as they are).
    scores_key, daily_key = published["scores"][0].key, published["daily"][0].key
    findings: list[rules.Finding] = []
    evaluated = [f"coverage:{pollutant}:", f"stale:{pollutant}"]
    if drift is not None:
        evaluated.append(f"drift:{pollutant}")
        over = [(f.feature, f.psi, f.ks) for f in drift.features if f.drifted]
        findings += [f for f in [rules.drift_finding(pollutant, over, drift_manifest.key)] if f]
    skill, judged = rules.skill_finding(
        pollutant, daily, days=ms.skill_days, min_skill=ms.min_skill, min_pairs=ms.skill_min_pairs, evidence=daily_key
    )
    if judged:
        evaluated.append(f"skill:{pollutant}")
        findings += [skill] if skill else []
    findings += rules.coverage_findings(
        pollutant, scores, band=ms.coverage_band, min_pairs=ms.coverage_min_pairs, evidence=scores_key
    )
    findings += [f for f in [rules.stale_finding(pollutant, quiet, reporting, stale_manifest.key)] if f]
    newest_issue = keys[-1] if keys else None
    if newest_issue is not None:
        evaluated.append(f"health:{pollutant}:")
        issue = predictions[predictions["issue_date"] == newest_issue.split("/")[-2]]
        issue = issue[issue["issued_utc"] == issue["issued_utc"].max()]
        findings += rules.health_findings(pollutant, issue, newest_issue, threshold=ms.health_aqi)

    now = datetime.now(UTC)
    incidents = delivery.load_incidents(ctx.store, pollutant)
    messages, incidents = rules.reconcile(
        findings, evaluated, incidents, now, renotify_hours=ms.renotify_hours, throttle_hours=ms.throttle_hours
    )
    url = ctx.settings.alerts.webhook_url
    delivered = delivery.deliver(ctx.store, pollutant, messages, url.get_secret_value() if url else None)
    incidents = rules.sent(incidents, delivered if url else messages, now)
    delivery.save_incidents(ctx.store, pollutant, incidents, now)
    for m in messages:
        log.warning("monitor: %s", m.render())

    retraining = ""
    causes = [f for f in findings if f.retrain]
    if causes and ms.retrain:
        retraining = _retrain(ctx, pollutant, causes, now)
    summary = MonitorSummary(
        pollutant,
        str(day),
        version,
        written,
        int(pairs["observed"].notna().sum()) if len(pairs) else 0,
        _headline(scores, pollutant),
        drift.drifted if drift else [],
        drift_note,
        len(quiet),
        sorted(k for k, v in incidents.items() if v.state == "open"),
        [m.render() for m in messages],
        retraining,
    )
    if written:
        _log_to_mlflow(ctx, pollutant, summary, scores, drift_frame)
    for s in summary.scores:
        log.info(
            "monitor: %s day+%d over %s..%s: %d verified, RMSE %.4g, skill %+.1f%% vs persistence, coverage %.0f%%",
            pollutant,
            s["horizon_days"],
            s["window_start"],
            s["window_end"],
            s["n"],
            s["rmse"],
            100 * s["skill_vs_persistence"],
            100 * s["interval_coverage"],
        )
    return summary


def _reporting_sites(actuals: pd.DataFrame, day: date) -> int:
    when = pd.to_datetime(actuals["date"])
    recent = actuals[(when >= pd.Timestamp(day) - pd.Timedelta(days=60)) & (when < pd.Timestamp(day))]
    return int(recent["site_id"].nunique())


def _headline(scores: pd.DataFrame, pollutant: str) -> list[dict[str, Any]]:
    rows = scores[(scores["pollutant"] == pollutant) & (scores["window"] == "30d") & (scores["scope"] == "all")]
    keep = [
        "horizon_days",
        "window_start",
        "window_end",
        "n",
        "bias",
        "mae",
        "rmse",
        "corr",
        "skill_vs_persistence",
        "skill_vs_climatology",
        "category_hit_rate",
        "within_one_category",
        "interval_coverage",
        "hits",
        "misses",
        "false_alarms",
        "pod",
        "far",
        "csi",
        "hss",
    ]
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows[keep].to_dict("records")]


def _drift(
    ctx: Context, pollutant: str, champion: Any, features: Manifest, day: date
) -> tuple[DriftReport | None, str]:
    """The latest issues' inputs against the champion's training rows of the same weeks; or why not."""
    ms = ctx.settings.monitor
    if champion is None:
        return None, "no champion to compare with"
    report = records.training_report(ctx.store, pollutant, champion.tags.get("training_id", ""))
    reference_manifest = datasets.find_version(
        ctx.store, catalog.features(pollutant), champion.tags.get("features_version", "")
    )
    if report is None or reference_manifest is None:
        return None, "the champion's training report or feature version is not in this store"
    current_frame = read(ctx.store, features)
    reference = current_frame if reference_manifest.version == features.version else read(ctx.store, reference_manifest)
    dates = pd.to_datetime(current_frame["date"])
    observed = current_frame["value"].notna() & (dates < pd.Timestamp(day))
    if not observed.any():
        return None, "no observation before the monitor's day"
    issue = dates[observed].max()
    staleness = ctx.settings.predict.max_staleness_days
    batch = current_frame[
        (dates > issue - pd.Timedelta(days=ms.drift_batch_days))
        & (dates <= issue)
        & (current_frame["days_since_obs"] <= staleness)
    ]
    through = pd.Timestamp(champion.tags.get("refit_through") or report.refit_through)
    ref_dates = pd.to_datetime(reference["date"])
    # The batch's own days never count as their reference, even when the champion was trained on them.
    reference = reference[(ref_dates < through) & (ref_dates < batch["date"].min())]
    names = monitored_features(report.features)
    drift = feature_drift(
        reference,
        batch,
        names,
        margin_weeks=ms.drift_margin_weeks,
        thresholds=DriftThresholds(psi=ms.drift_psi, ks=ms.drift_ks),
        min_values=ms.drift_min_values,
    )
    evaluated = sum(f.evaluated for f in drift.features)
    note = "" if evaluated else f"no feature had {ms.drift_min_values} values on both sides ({len(batch)} batch rows)"
    return (drift if evaluated else None), note


def _retrain(ctx: Context, pollutant: str, causes: list[rules.Finding], now: datetime) -> str:
    """Start the training flow for a pollutant, unless one was started within the cool-down."""
    log, ms = get_run_logger(), ctx.settings.monitor
    state = records.read_json(ctx.store, catalog.retrain_state_key(pollutant)) or {}
    if not rules.cooled_down(state.get("started_utc"), now, ms.retrain_cooldown_hours):
        log.info(
            "monitor: %s retraining not started: one started at %s, within the %g-hour cool-down",
            pollutant,
            state.get("started_utc"),
            ms.retrain_cooldown_hours,
        )
        return ""
    reason = "; ".join(c.key for c in causes)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    records.write_json(ctx.store, catalog.retrain_state_key(pollutant), {"started_utc": stamp, "reason": reason})
    record: dict[str, Any] = {
        "pollutant": pollutant,
        "started_utc": stamp,
        "reason": reason,
        "evidence": [c.evidence for c in causes],
    }
    if deployments.deployed(RETRAIN_DEPLOYMENT):
        run_id = deployments.trigger(RETRAIN_DEPLOYMENT, now.date(), {"pollutants": [pollutant]}, key=pollutant)
        record |= {"how": "deployment", "deployment": RETRAIN_DEPLOYMENT, "flow_run_id": run_id}
        started = f"deployment {RETRAIN_DEPLOYMENT} run {run_id}"
    else:  # no server with AirWatch's deployments (the embedded default): run it here
        from airwatch.flows.pipeline import retrain_flow

        selected = retrain_flow(ctx.settings.store, [pollutant])
        record |= {"how": "inline", "outcome": [s.__dict__ for s in selected]}
        started = "the retrain flow (inline)"
    records.write_json(ctx.store, catalog.retrain_record_key(pollutant, utc_stamp()), record, if_absent=True)
    log.warning("monitor: %s retraining started (%s): %s", pollutant, reason, started)
    return started


def _log_to_mlflow(
    ctx: Context, pollutant: str, summary: MonitorSummary, scores: pd.DataFrame, drift: pd.DataFrame
) -> None:
    """One run per monitored version in the pollutant's experiment: headline scores and the drift table."""
    metrics: dict[str, float] = {}
    for s in summary.scores:
        h = s["horizon_days"]
        for name in ("rmse", "bias", "skill_vs_persistence", "interval_coverage", "pod", "far", "csi"):
            if pd.notna(s[name]):
                metrics[f"d{h}_{name}"] = float(s[name])
    if len(drift):
        evaluated = drift[drift["evaluated"]]
        metrics["drifted_features"] = float(evaluated["drifted"].sum())
        metrics |= {f"psi_{r.feature}": float(r.psi) for r in evaluated.itertuples()}
    metrics["stale_sites"] = float(summary.stale_sites)
    tags = {"stage": "monitor", "as_of": summary.as_of, "monitoring_version": summary.version}
    with ctx.registry.start_run(pollutant, f"monitor {summary.as_of}", tags=tags):
        ctx.registry.log_metrics(metrics)
        ctx.registry.log_dict(
            {"scores": summary.scores, "drift": drift.to_dict("records"), "drift_note": summary.drift_note},
            "monitor.json",
        )
