"""What the report and the dashboard show, read from the store and the registry (domain/dashboard.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from airwatch import catalog
from airwatch.domain.dashboard import (
    ALERT_COLUMNS,
    CONTINGENCY_COLUMNS,
    DRIFT_COLUMNS,
    FORECAST_COLUMNS,
    PAIR_COLUMNS,
    RUN_COLUMNS,
    SCORE_COLUMNS,
    Lineage,
    ReportData,
)
from airwatch.io import alerts as delivery
from airwatch.io import datasets, records
from airwatch.io.registry import Registry
from airwatch.io.store import Store, StoreError

log = logging.getLogger(__name__)

# How far back the report looks: enough for a month of verification with its season context, small
# enough that 1,500 sites stay a page that opens quickly.
PAIR_DAYS = 60
NEWEST_RUNS = 20
NEWEST_ALERTS = 30


def collect_report(store: Store, registry: Registry | None, pollutants: list[str] | None = None) -> ReportData:
    """The newest forecasts, verification, drift, lineage, runs and alerts of each pollutant.

    A part that is missing (nothing issued yet, no monitor run, no registry) leaves its table empty and
    says why in notes; the report is never refused for what it cannot show.
    """
    notes: list[str] = []
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in ("forecasts", "pairs", "scores", "contingency", "drift")}
    lineage: list[Lineage] = []
    alert_rows: list[dict[str, Any]] = []
    names = pollutants or datasets.pollutants_with_features(store)
    if not names:
        notes.append("no pollutant has features in this store yet: run `airwatch run` first")
    for p in names:
        forecasts = _newest_issue(store, p)
        if forecasts.empty:
            notes.append(f"{p}: no forecast published yet")
        parts["forecasts"].append(forecasts)
        monitored = _monitoring(store, p)
        if monitored is None:
            notes.append(f"{p}: not monitored yet (airwatch monitor)")
        else:
            pairs, daily, scores, drift, drift_note = monitored
            parts["pairs"].append(pairs)
            parts["scores"].append(daily)
            parts["contingency"].append(scores)
            parts["drift"].append(drift)
            if drift_note:
                notes.append(f"{p}: drift not evaluated: {drift_note}")
        if registry is not None:
            found = _lineage(store, registry, p)
            if found is None:
                notes.append(f"{p}: no champion in the registry")
            else:
                lineage.append(found)
        alert_rows += delivery.alerts(store, p, NEWEST_ALERTS)
    if registry is None:
        notes.append("no model registry configured: lineage and runs are not shown")
    alerts = pd.DataFrame(
        [
            {
                "at_utc": a["at_utc"],
                "kind": a.get("kind", ""),
                "severity": a.get("severity", ""),
                "state": a.get("event", ""),
                "text": a.get("text", ""),
                "evidence": a.get("evidence", ""),
            }
            for a in alert_rows
        ],
        columns=list(ALERT_COLUMNS),
    )
    return ReportData(
        generated_utc=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        store=store.url,
        forecasts=_concat(parts["forecasts"], FORECAST_COLUMNS),
        pairs=_concat(parts["pairs"], PAIR_COLUMNS),
        scores_over_time=_concat(parts["scores"], SCORE_COLUMNS),
        contingency=_concat(parts["contingency"], CONTINGENCY_COLUMNS),
        drift=_concat(parts["drift"], DRIFT_COLUMNS),
        lineage=lineage,
        runs=_runs(registry, names) if registry is not None else pd.DataFrame(columns=list(RUN_COLUMNS)),
        alerts=alerts.sort_values("at_utc", ascending=False).head(NEWEST_ALERTS).reset_index(drop=True),
        notes=notes,
    )


def _concat(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat([f.reindex(columns=list(columns)) for f in frames], ignore_index=True)


def _newest_issue(store: Store, pollutant: str) -> pd.DataFrame:
    """The newest published issue: its newest run, when a day was issued twice."""
    keys = records.prediction_keys(store, pollutant)
    if not keys:
        return pd.DataFrame(columns=list(FORECAST_COLUMNS))
    day = keys[-1].split("/")[-2]
    issue = records.read_predictions(store, pollutant, day, day)
    return issue[issue["issued_utc"] == issue["issued_utc"].max()].reset_index(drop=True)


def _latest(store: Store, table: str, pollutant: str) -> tuple[datasets.Manifest, pd.DataFrame] | None:
    try:
        manifest = datasets.latest(store, catalog.monitoring(table, pollutant))
    except StoreError:
        return None
    return manifest, datasets.read(store, manifest)


def _monitoring(
    store: Store, pollutant: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, str] | None:
    """The newest monitor run's pairs (last PAIR_DAYS), daily scores, contingency and drift."""
    found = {t: _latest(store, t, pollutant) for t in ("pairs", "daily", "scores", "drift")}
    if found["scores"] is None:
        return None
    pairs = found["pairs"][1] if found["pairs"] else pd.DataFrame(columns=list(PAIR_COLUMNS))
    if len(pairs):
        pairs = pairs[pairs["observed"].notna()]
        newest = pd.to_datetime(pairs["forecast_date"]).max()
        pairs = pairs[pd.to_datetime(pairs["forecast_date"]) > newest - pd.Timedelta(days=PAIR_DAYS)]
    daily = found["daily"][1] if found["daily"] else pd.DataFrame()
    daily = daily.rename(columns={"n": "verified"})
    scores = found["scores"][1]
    pooled = scores[(scores["window"] == "30d") & (scores["scope"] == "all")]
    drift_manifest, drift = found["drift"] if found["drift"] else (None, pd.DataFrame())
    drift = drift.assign(pollutant=pollutant) if len(drift) else drift
    note = str(drift_manifest.extra.get("note", "")) if drift_manifest is not None else "no drift run"
    return pairs, daily, pooled, drift, note


def _lineage(store: Store, registry: Registry, pollutant: str) -> Lineage | None:
    champion = registry.champion(pollutant)
    if champion is None:
        return None
    tags = champion.tags
    promotions = sorted(records.promotions(store, pollutant), key=lambda r: str(r.get("at_utc", "")), reverse=True)
    return Lineage(
        pollutant=pollutant,
        model_name=champion.name,
        model_version=champion.version,
        model_id=champion.model_id,
        candidate=tags.get("candidate", ""),
        features_version=tags.get("features_version", ""),
        observations_version=tags.get("observations_version", ""),
        code_version=tags.get("code_version", ""),
        refit_through=tags.get("refit_through", ""),
        promotions=[
            {
                k: r.get(k)
                for k in ("at_utc", "decision", "reason", "model", "candidate_version", "candidate", "candidate_rmse")
            }
            for r in promotions[:20]
        ],
    )


def _runs(registry: Registry, pollutants: list[str]) -> pd.DataFrame:
    """The newest top-level MLflow runs of the pipeline (train, refit, monitor, replay), newest first."""
    try:
        rows = registry.recent_runs(pollutants, NEWEST_RUNS)
    except Exception as exc:  # the report still shows the rest when the tracking server is down
        log.warning("report: runs not read from MLflow (%s)", type(exc).__name__)
        return pd.DataFrame(columns=list(RUN_COLUMNS))
    return pd.DataFrame(rows, columns=list(RUN_COLUMNS))
