"""What the monitoring report and the dashboard show: one record, built from the store, rendered as HTML.

Every table is a pandas frame with the columns listed; a frame may be empty (nothing verified yet), and
the renderer says so instead of drawing an empty chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# forecasts: the newest issue of each pollutant, one row per site and horizon.
FORECAST_COLUMNS = ("pollutant", "site_id", "latitude", "longitude", "issue_date", "forecast_date", "horizon_days",
                    "forecast", "lower", "upper", "aqi", "aqi_category", "p_aqi_over_100", "units")  # fmt: skip
# pairs: every verified forecast (a published forecast whose day has been observed).
PAIR_COLUMNS = ("pollutant", "site_id", "issue_date", "forecast_date", "horizon_days", "forecast", "lower", "upper",
                "observed", "persistence")  # fmt: skip
# scores_over_time: verification scores per pollutant, horizon and day (each day's forecasts verified).
SCORE_COLUMNS = ("pollutant", "horizon_days", "forecast_date", "verified", "rmse", "mae", "bias",
                 "skill_vs_persistence", "interval_coverage")  # fmt: skip
# contingency: at AQI > 100, per pollutant and horizon, over the report's window.
CONTINGENCY_COLUMNS = ("pollutant", "horizon_days", "hits", "misses", "false_alarms", "correct_negatives", "pod",
                       "far", "csi")  # fmt: skip
# drift: per pollutant and feature, the newest monitor run's season-aware drift.
DRIFT_COLUMNS = ("pollutant", "feature", "psi", "ks", "wasserstein", "drifted", "evaluated", "reason")
# runs: the newest runs of the pipeline's stages; alerts: the newest alerts sent.
RUN_COLUMNS = ("flow", "started_utc", "ended_utc", "state", "message")
ALERT_COLUMNS = ("at_utc", "kind", "severity", "state", "text", "evidence")


@dataclass(frozen=True)
class Lineage:
    """The champion of one pollutant and where it came from."""

    pollutant: str
    model_name: str
    model_version: str
    model_id: str
    candidate: str
    features_version: str
    observations_version: str
    code_version: str
    refit_through: str
    promotions: list[dict[str, Any]]  # the promotion log, newest first


@dataclass(frozen=True)
class ReportData:
    generated_utc: str
    store: str
    forecasts: pd.DataFrame
    pairs: pd.DataFrame
    scores_over_time: pd.DataFrame
    contingency: pd.DataFrame
    drift: pd.DataFrame
    lineage: list[Lineage]
    runs: pd.DataFrame
    alerts: pd.DataFrame
    notes: list[str] = field(default_factory=list)  # what could not be shown, and why
