"""A ReportData made up from random numbers (GENERATED, not real data), of any number of sites.

Shaped like what io.monitoring.collect_report returns: the newest issue of each pollutant for every
site and horizon, 60 days of verified pairs, daily scores, the contingency table, drift, lineage, runs
and alerts. The report's size and rendering are tested on it without a store.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from airwatch import core
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

ISSUE = date(2024, 7, 1)
UNITS = {"pm25": "ug/m3", "ozone": "ppm"}
SCALE = {"pm25": 9.0, "ozone": 0.045}  # a typical summer level of each


def generated_report(
    sites: int = 30,
    days: int = 60,
    seed: int = 7,
    pollutants: tuple[str, ...] = ("pm25", "ozone"),
    site_prefix: str = "",
) -> ReportData:
    rng = np.random.default_rng(seed)
    ids = [f"{site_prefix}{i:09d}" for i in range(sites)]
    # Inside the lower 48 states' box, so every site lands on the albers-usa map.
    lat = rng.uniform(30.0, 47.0, sites)
    lon = rng.uniform(-120.0, -75.0, sites)
    forecasts, pairs, scores, contingency, drift, lineage = [], [], [], [], [], []
    for p in pollutants:
        level = SCALE[p] * rng.lognormal(0.0, 0.5, sites)
        for h in (1, 2, 3):
            point = level * rng.lognormal(0.0, 0.3, sites)
            if p == "pm25":
                point[: max(1, sites // 50)] *= 8  # a few sites in the upper categories
            lower, upper = point * 0.7, point * 1.4
            aqi = core.aqi(p, point)
            names = core.category_names()
            forecasts.append(
                pd.DataFrame(
                    {
                        "pollutant": p,
                        "site_id": ids,
                        "latitude": lat,
                        "longitude": lon,
                        "issue_date": ISSUE.isoformat(),
                        "forecast_date": (ISSUE + timedelta(days=h)).isoformat(),
                        "horizon_days": h,
                        "forecast": point,
                        "lower": lower,
                        "upper": upper,
                        "aqi": aqi,
                        "aqi_category": [names[c] if c >= 0 else "Missing" for c in core.aqi_category(aqi)],
                        "p_aqi_over_100": np.clip(point / (SCALE[p] * 8), 0, 1),
                        "units": UNITS[p],
                    }
                )
            )
        day_list = [ISSUE - timedelta(days=d) for d in range(days, 0, -1)]
        observed = level[:, None] * rng.lognormal(0.0, 0.35, (sites, days))
        for h in (1, 2, 3):
            noise = rng.lognormal(0.0, 0.2 + 0.05 * h, (sites, days))
            fc = observed * noise
            pairs.append(
                pd.DataFrame(
                    {
                        "pollutant": p,
                        "site_id": np.repeat(ids, days),
                        "issue_date": [(d - timedelta(days=h)).isoformat() for d in day_list] * sites,
                        "forecast_date": [d.isoformat() for d in day_list] * sites,
                        "horizon_days": h,
                        "forecast": fc.ravel(),
                        "lower": (fc * 0.7).ravel(),
                        "upper": (fc * 1.4).ravel(),
                        "observed": observed.ravel(),
                        "persistence": np.roll(observed, h, axis=1).ravel(),
                    }
                )
            )
            err = fc - observed
            rmse = np.sqrt((err**2).mean(axis=0))
            scores.append(
                pd.DataFrame(
                    {
                        "pollutant": p,
                        "horizon_days": h,
                        "forecast_date": [d.isoformat() for d in day_list],
                        "verified": sites,
                        "rmse": rmse,
                        "mae": np.abs(err).mean(axis=0),
                        "bias": err.mean(axis=0),
                        "skill_vs_persistence": 1 - rmse / (rmse * rng.uniform(1.0, 1.4, days)),
                        "interval_coverage": rng.uniform(0.6, 0.9, days),
                    }
                )
            )
            hits, misses, fa, cn = (int(x) for x in rng.integers(0, 40, 4))
            contingency.append(
                {
                    "pollutant": p,
                    "horizon_days": h,
                    "hits": hits,
                    "misses": misses,
                    "false_alarms": fa,
                    "correct_negatives": cn * 100,
                    "pod": hits / (hits + misses) if hits + misses else float("nan"),
                    "far": fa / (hits + fa) if hits + fa else float("nan"),
                    "csi": hits / (hits + misses + fa) if hits + misses + fa else float("nan"),
                }
            )
        for i, feature in enumerate(("mean_7", "lag_1", "days_since_obs", "tmax")):
            drift.append(
                {
                    "pollutant": p,
                    "feature": feature,
                    "psi": 0.3 if i == 0 else 0.02,
                    "ks": 0.2,
                    "wasserstein": 0.1,
                    "drifted": i == 0,
                    "evaluated": True,
                    "reason": "",
                }
            )
        lineage.append(
            Lineage(
                pollutant=p,
                model_name=f"airwatch-{p}",
                model_version="3",
                model_id="m-0123456789abcdef",
                candidate="lightgbm",
                features_version="20240630T0600Z-abc",
                observations_version="20240630T0500Z",
                code_version="git:1234567",
                refit_through=(ISSUE - timedelta(days=1)).isoformat(),
                promotions=[
                    {
                        "at_utc": "2024-06-30T06:10:00Z",
                        "decision": "promoted",
                        "reason": "beats champion",
                        "model": f"airwatch-{p}",
                        "candidate_version": "3",
                        "candidate": "lightgbm",
                        "candidate_rmse": 2.5,
                    }
                ],
            )
        )
    runs = pd.DataFrame(
        [
            {
                "flow": f"{p}: {name}",
                "started_utc": "2024-07-01 06:00:00",
                "ended_utc": "2024-07-01 06:05:00",
                "state": "FINISHED",
                "message": "",
            }
            for p in pollutants
            for name in ("train", "monitor")
        ],
        columns=list(RUN_COLUMNS),
    )
    alerts = pd.DataFrame(
        [
            {
                "at_utc": "2024-07-01T06:06:00Z",
                "kind": "drift",
                "severity": "warning",
                "state": "opened",
                "text": f"drift {pollutants[0]}: mean_7 PSI 0.30",
                "evidence": {"psi": 0.3},
            }
        ],
        columns=list(ALERT_COLUMNS),
    )
    return ReportData(
        generated_utc="2024-07-01 06:30 UTC",
        store="file:///generated/store",
        forecasts=pd.concat(forecasts, ignore_index=True)[list(FORECAST_COLUMNS)],
        pairs=pd.concat(pairs, ignore_index=True)[list(PAIR_COLUMNS)],
        scores_over_time=pd.concat(scores, ignore_index=True)[list(SCORE_COLUMNS)],
        contingency=pd.DataFrame(contingency, columns=list(CONTINGENCY_COLUMNS)),
        drift=pd.DataFrame(drift, columns=list(DRIFT_COLUMNS)),
        lineage=lineage,
        runs=runs,
        alerts=alerts,
        notes=["generated data for tests, not measurements"],
    )
