"""Monitor: score the published forecasts against the observations that arrived since."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

import pandas as pd
from prefect import flow, get_run_logger

from airwatch import catalog
from airwatch.domain.monitor import Verification, forecast_actual_pairs, scores
from airwatch.domain.transform import site_daily_values
from airwatch.flows.context import Context, scheduled_time
from airwatch.flows.tasks import io_task
from airwatch.io import datasets, records

read_predictions = io_task(records.read_predictions)
read = io_task(datasets.read)


@dataclass(frozen=True)
class MonitorSummary:
    key: str
    scores: list[Verification]


@flow(name="monitor", timeout_seconds=1800)
def monitor_flow(store: str | None = None, pollutants: list[str] | None = None, days: int = 30) -> MonitorSummary:
    """Verify the forecasts for the last `days` days (by forecast date) with the newest observations."""
    ctx, log = Context.build(store), get_run_logger()
    today = scheduled_time().date()
    since = str(today - timedelta(days=days))
    observations = read(ctx.store, datasets.latest(ctx.store, catalog.OBSERVATIONS))
    pairs = []
    for pollutant in pollutants or datasets.pollutants_with_features(ctx.store):
        predictions = read_predictions(ctx.store, pollutant, since)
        actuals = site_daily_values(observations, pollutant).assign(pollutant=pollutant)
        pairs.append(forecast_actual_pairs(predictions, actuals))
    joined = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame()
    result = scores(joined) if len(joined) else []
    key = catalog.monitoring_key("verification", str(today), f"report_{datasets.utc_stamp()}.json")
    records.write_json(ctx.store, key, {"since": since, "scores": [asdict(s) for s in result]}, if_absent=True)
    for s in result:
        log.info(
            "monitor: %s day+%d: %d of %d forecasts verified, RMSE %.4g, skill %.1f%% vs persistence",
            s.pollutant,
            s.horizon_days,
            s.verified,
            s.forecasts,
            s.rmse,
            100 * s.skill_vs_persistence,
        )
    return MonitorSummary(key, result)
