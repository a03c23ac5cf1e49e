"""Verification: published forecasts scored against the observations that arrived since.

Each forecast (site, forecast date, horizon) is joined with the day's observed value by the site-day
rule; when several forecasts were issued for the same site, day and horizon (a re-run), the newest
issued counts. The pairs are scored with the verification set forecasters use (the C++ kernel
``core.verify_groups``): bias, MAE, RMSE, correlation, skill against persistence and climatology,
AQI-category hit and within-one rates with the confusion matrix, the 80% interval's coverage, and at
AQI > 100 the contingency counts with POD, false-alarm RATIO (false alarms / forecast events), CSI,
frequency bias and Heidke skill score. Scores are per pollutant and horizon, over every site, per EPA
region and per site, over two windows ending the day before the monitor's date: the last 30 days and
the meteorological season to date (DJF, MAM, JJA, SON).

Everything is recomputed from the newest observations on every run, so a revised actual (AQS
replacing AirNow's preliminary value) changes the scores it enters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from airwatch import core
from airwatch.domain.sites import epa_region

PAIR_KEYS = ["pollutant", "site_id", "forecast_date", "horizon_days"]
WINDOW_30D = "30d"
WINDOW_SEASON = "season"
SCOPES = ("all", "region", "site")
CATEGORIES = 6


def forecast_actual_pairs(predictions: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Forecasts with their observed value (actuals: site_id, date, value); observed is NaN until it arrives."""
    if predictions.empty:
        return predictions.assign(observed=pd.Series(dtype=np.float64))
    newest = predictions.sort_values("issued_utc").drop_duplicates(PAIR_KEYS, keep="last")
    observed = actuals.assign(forecast_date=pd.to_datetime(actuals["date"]).dt.strftime("%Y-%m-%d"))
    observed = observed[["site_id", "forecast_date", "value"]].rename(columns={"value": "observed"})
    pairs = newest.astype({"site_id": str}).merge(
        observed.astype({"site_id": str}), how="left", on=["site_id", "forecast_date"]
    )
    return pairs.sort_values(PAIR_KEYS).reset_index(drop=True)


def with_climatology(pairs: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Each pair with its climatology: the site's mean for the forecast's calendar month in earlier years.

    Only years before the forecast's year count, so the verified day never enters its own reference;
    a site in its first year has none (NaN), and skill against climatology leaves it out.
    """
    if pairs.empty:
        return pairs.assign(climatology=pd.Series(dtype=np.float64))
    when = pd.to_datetime(actuals["date"])
    data = pd.DataFrame(
        {
            "site_id": actuals["site_id"].astype(str).to_numpy(),
            "month": when.dt.month.to_numpy(),
            "year": when.dt.year.to_numpy(),
            "value": actuals["value"].to_numpy(dtype=np.float64),
        }
    )
    yearly = data.dropna(subset=["value"]).groupby(["site_id", "month", "year"])["value"].agg(["sum", "count"])
    # Running sums through each year, keyed by the next year: what a forecast of that year or later
    # may use. merge_asof then takes, for a forecast's year, the newest sums of the years before it.
    through = yearly.sort_index().groupby(level=["site_id", "month"]).cumsum().reset_index()
    through["_year"] = through.pop("year") + 1
    through["climatology"] = through["sum"] / through["count"]
    through = through.rename(columns={"month": "_month"})[["site_id", "_month", "_year", "climatology"]]
    target = pd.to_datetime(pairs["forecast_date"])
    keyed = pairs.assign(_month=target.dt.month.to_numpy(), _year=target.dt.year.to_numpy())
    out = pd.merge_asof(
        keyed.sort_values("_year"),
        through.sort_values("_year"),
        on="_year",
        by=["site_id", "_month"],
        direction="backward",
    )
    return out.drop(columns=["_month", "_year"]).sort_values(PAIR_KEYS).reset_index(drop=True)


def season_start(day: date) -> date:
    """First day of the meteorological season holding day (December, March, June, September)."""
    month = 12 if day.month == 12 else (day.month // 3) * 3 or 12
    year = day.year - 1 if month == 12 and day.month != 12 else day.year
    return date(year, month, 1)


@dataclass(frozen=True)
class Window:
    name: str
    start: date  # first forecast date scored
    end: date  # last forecast date scored (the day before the monitor's date)


def windows(as_of: date, days: int = 30) -> list[Window]:
    """The last `days` days before as_of, and the season to date (the season of as_of's previous day)."""
    end = as_of - timedelta(days=1)
    return [Window(WINDOW_30D, as_of - timedelta(days=days), end), Window(WINDOW_SEASON, season_start(end), end)]


def _scored(pairs: pd.DataFrame, groups: pd.Series, count: int) -> tuple[pd.DataFrame, np.ndarray]:
    """core.verify_groups over the pairs of one pollutant, as a frame with a row per group."""
    pollutant = str(pairs["pollutant"].iloc[0])
    columns = {
        c: pairs[c].to_numpy(dtype=np.float64)
        for c in ("forecast", "observed", "persistence", "climatology", "lower", "upper")
    }
    v = core.verify_groups(
        pollutant,
        groups.to_numpy(dtype=np.int32),
        count,
        columns["forecast"],
        columns["observed"],
        persistence=columns["persistence"],
        climatology=columns["climatology"],
        lower=columns["lower"],
        upper=columns["upper"],
    )
    return pd.DataFrame(v.scores), v.confusion


def verification(pairs: pd.DataFrame, as_of: date, days: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores per window, pollutant, horizon and scope (all sites, each EPA region, each site).

    Returns (scores, confusion). scores: window, window_start, window_end, pollutant, horizon_days,
    scope, subject (the region or site; "all"), sites, then core.VERIFICATION_SCORES. confusion:
    window, pollutant, horizon_days, forecast_category, observed_category, pairs (all sites only).
    """
    seen = pairs[pairs["observed"].notna()] if len(pairs) else pairs
    parts, matrices = [], []
    for window in windows(as_of, days):
        dates = pd.to_datetime(seen["forecast_date"]).dt.date if len(seen) else pd.Series(dtype=object)
        chosen = seen[(dates >= window.start) & (dates <= window.end)] if len(seen) else seen
        for pollutant, rows in chosen.groupby("pollutant", sort=True) if len(chosen) else []:
            rows = rows.assign(region=[epa_region(s) for s in rows["site_id"]])
            for scope in SCOPES:
                subject = {
                    "all": pd.Series("all", index=rows.index),
                    "region": rows["region"],
                    "site": rows["site_id"].astype(str),
                }[scope]
                keys = pd.DataFrame({"horizon_days": rows["horizon_days"].astype(int), "subject": subject})
                codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
                table, confusion = _scored(rows, pd.Series(codes), len(uniques))
                sites = rows.groupby(codes)["site_id"].nunique().reindex(range(len(uniques))).to_numpy()
                head = pd.DataFrame(
                    {
                        "window": window.name,
                        "window_start": str(window.start),
                        "window_end": str(window.end),
                        "pollutant": pollutant,
                        "horizon_days": uniques.get_level_values(0).astype(int),
                        "scope": scope,
                        "subject": uniques.get_level_values(1).astype(str),
                        "sites": sites,
                    }
                )
                parts.append(pd.concat([head, table], axis=1))
                if scope == "all":
                    for g, horizon in enumerate(uniques.get_level_values(0)):
                        f, o = np.nonzero(confusion[g])
                        matrices.append(
                            pd.DataFrame(
                                {
                                    "window": window.name,
                                    "pollutant": pollutant,
                                    "horizon_days": int(horizon),
                                    "forecast_category": f,
                                    "observed_category": o,
                                    "pairs": confusion[g][f, o],
                                }
                            )
                        )
    scores = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SCORE_COLUMNS)
    order = ["window", "pollutant", "horizon_days", "scope", "subject"]
    scores = scores.sort_values(order, key=_scope_order).reset_index(drop=True)
    confusion_frame = pd.concat(matrices, ignore_index=True) if matrices else pd.DataFrame(columns=CONFUSION_COLUMNS)
    return scores, confusion_frame


def _scope_order(column: pd.Series) -> pd.Series:
    return column.map({s: i for i, s in enumerate(SCOPES)}) if column.name == "scope" else column


SCORE_COLUMNS = [
    "window",
    "window_start",
    "window_end",
    "pollutant",
    "horizon_days",
    "scope",
    "subject",
    "sites",
    *core.VERIFICATION_SCORES,
]
CONFUSION_COLUMNS = ["window", "pollutant", "horizon_days", "forecast_category", "observed_category", "pairs"]
DAILY_COLUMNS = [
    "pollutant",
    "horizon_days",
    "forecast_date",
    "n",
    "bias",
    "mae",
    "rmse",
    "skill_vs_persistence",
    "interval_coverage",
]


def daily_scores(pairs: pd.DataFrame) -> pd.DataFrame:
    """Scores of each forecast date's verified forecasts, per pollutant and horizon, over every site."""
    seen = pairs[pairs["observed"].notna()] if len(pairs) else pairs
    parts = []
    for pollutant, rows in seen.groupby("pollutant", sort=True) if len(seen) else []:
        keys = pd.DataFrame({"horizon_days": rows["horizon_days"].astype(int), "forecast_date": rows["forecast_date"]})
        codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
        table, _ = _scored(rows, pd.Series(codes), len(uniques))
        head = pd.DataFrame(
            {
                "pollutant": pollutant,
                "horizon_days": uniques.get_level_values(0).astype(int),
                "forecast_date": uniques.get_level_values(1).astype(str),
            }
        )
        parts.append(pd.concat([head, table], axis=1)[DAILY_COLUMNS])
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=DAILY_COLUMNS)
    return out.sort_values(["pollutant", "horizon_days", "forecast_date"]).reset_index(drop=True)
