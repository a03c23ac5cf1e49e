"""Feature-block benchmark: the C++ kernel against Polars, DuckDB and pandas on the same real data.

Data: EPA AirData national daily PM2.5 (88502, 2014-2019, ../shared/data/epa) when present, else the
bundled Cook County sample; real values, one per site and day, laid on each site's daily grid by
core.daily_grid (not timed; every implementation gets the same grid arrays). Every implementation
computes the same block (lags 0-6, rolling mean 3/7/14/30, std 7 and max 7 with half-window minimum
counts, days since the last observation and its value) and returns it in its library's own form
(AirWatch a NumPy matrix, Polars a DataFrame, DuckDB an Arrow table, pandas a DataFrame); turning that
into NumPy columns for the check happens after the timing. Every column of every implementation is
compared with AirWatch's at the printed tolerance; any difference beyond it fails the script. Each
implementation runs in a forked child (its own peak RSS) under the same thread cap (harness.THREADS;
pandas is single-threaded).

    python benchmarks/features.py [--json FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import harness  # first: sets the Polars thread cap before anything imports Polars
import numpy as np
import pandas as pd

from airwatch import core

LAGS, MEANS, STDS, MAXES = list(range(7)), [3, 7, 14, 30], [7], [7]
# Windowed sums and sums of squares are accumulated in a different order in each library, so the last
# bits differ (the largest difference measured is about 5e-11, in pandas' std); the values themselves
# are reported to 0.1 ug/m3.
TOLERANCE = harness.Tolerance(rtol=1e-9, atol=1e-9)


def load_grid() -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    source, frame = harness.national_pm25("daily_88502_*.csv.gz", "AirData national PM2.5 88502 2014-2019")
    frame = frame[frame["parameter"].isin([88101, 88502])]
    daily = frame.groupby(["site_id", "day"], as_index=False, observed=True)["value"].mean()
    codes, _ = pd.factorize(daily["site_id"], sort=True)
    site, day, value = core.daily_grid(codes, daily["day"], daily["value"])
    return source, site, day, value


def run_airwatch(site: np.ndarray, day: np.ndarray, value: np.ndarray) -> core.Features:
    # The peers compute no missing-data count, so neither does this run: the same transform everywhere.
    return core.compute_features(
        site, day, value, LAGS, MEANS, STDS, MAXES, calendar=False, threads=harness.THREADS, missing_windows=[]
    )


def run_polars(site: np.ndarray, day: np.ndarray, value: np.ndarray) -> Any:
    import polars as pl

    df = pl.DataFrame({"site": site, "day": day, "value": value}).with_columns(pl.col("value").fill_nan(None))
    v = pl.col("value")
    exprs = [v.shift(k).over("site").alias(f"lag_{k}") for k in LAGS]
    exprs += [v.rolling_mean(w, min_samples=(w + 1) // 2).over("site").alias(f"mean_{w}") for w in MEANS]
    exprs += [v.rolling_std(w, min_samples=max(2, (w + 1) // 2)).over("site").alias(f"std_{w}") for w in STDS]
    exprs += [v.rolling_max(w, min_samples=(w + 1) // 2).over("site").alias(f"max_{w}") for w in MAXES]
    last_day = pl.when(v.is_not_null()).then(pl.col("day")).forward_fill().over("site")
    exprs += [
        (pl.col("day") - last_day).cast(pl.Float64).alias("days_since_obs"),
        v.forward_fill().over("site").alias("last_value"),
    ]
    return df.select(exprs)


def run_duckdb(site: np.ndarray, day: np.ndarray, value: np.ndarray) -> Any:
    import pyarrow as pa

    con = harness.duckdb_connection()  # threads set before timing
    # NaN marks a day without a value in the grid; SQL's missing value is NULL.
    con.register("grid", pa.table({"site": site, "day": day, "value": pa.array(value, from_pandas=True)}))
    cols = [f"lag(value, {k}) OVER w AS lag_{k}" if k else "value AS lag_0" for k in LAGS]

    def framed(fn: str, w: int, minimum: int, name: str) -> str:
        frame = f"(w ROWS BETWEEN {w - 1} PRECEDING AND CURRENT ROW)"
        return f"CASE WHEN count(value) OVER {frame} >= {minimum} THEN {fn}(value) OVER {frame} END AS {name}"

    cols += [framed("avg", w, (w + 1) // 2, f"mean_{w}") for w in MEANS]
    cols += [framed("stddev_samp", w, max(2, (w + 1) // 2), f"std_{w}") for w in STDS]
    cols += [framed("max", w, (w + 1) // 2, f"max_{w}") for w in MAXES]
    cols += [
        "CAST(day - last_value(CASE WHEN value IS NOT NULL THEN day END IGNORE NULLS) OVER w AS DOUBLE)"
        " AS days_since_obs",
        "last_value(value IGNORE NULLS) OVER w AS last_value",
    ]
    sql = f"SELECT {', '.join(cols)} FROM grid WINDOW w AS (PARTITION BY site ORDER BY day) ORDER BY site, day"
    out = con.sql(sql).to_arrow_table()
    con.unregister("grid")
    return out


def run_pandas(site: np.ndarray, day: np.ndarray, value: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame({"site": site, "day": day, "value": value})
    g = df.groupby("site")["value"]
    out = {f"lag_{k}": g.shift(k) for k in LAGS}
    for w in MEANS:
        out[f"mean_{w}"] = g.rolling(w, min_periods=(w + 1) // 2).mean().reset_index(level=0, drop=True)
    for w in STDS:
        out[f"std_{w}"] = g.rolling(w, min_periods=max(2, (w + 1) // 2)).std().reset_index(level=0, drop=True)
    for w in MAXES:
        out[f"max_{w}"] = g.rolling(w, min_periods=(w + 1) // 2).max().reset_index(level=0, drop=True)
    out["days_since_obs"] = df["day"] - df["day"].where(df["value"].notna()).groupby(df["site"]).ffill()
    out["last_value"] = g.ffill()
    return pd.DataFrame(out)


IMPLS = {"airwatch": run_airwatch, "polars": run_polars, "duckdb": run_duckdb, "pandas": run_pandas}


def as_columns(out: Any) -> Mapping[str, np.ndarray]:
    """Any implementation's output as float64 NumPy columns by name (missing = NaN); not timed."""
    if isinstance(out, core.Features):
        return {name: out.matrix[:, i] for i, name in enumerate(out.names)}
    if isinstance(out, pd.DataFrame):
        return {c: out[c].to_numpy(np.float64, na_value=np.nan) for c in out.columns}
    if hasattr(out, "column_names"):  # pyarrow.Table
        return {c: out.column(c).to_numpy().astype(np.float64) for c in out.column_names}
    return {c: out[c].cast(float).to_numpy() for c in out.columns}  # polars.DataFrame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write results as JSON here")
    parser.add_argument("--repeat", type=int, default=3, help="runs per implementation; the best is kept")
    args = parser.parse_args()
    source, site, day, value = load_grid()
    print(f"features benchmark: {len(site):,} grid rows, {len(np.unique(site))} sites; data: {source}")
    print(harness.load_line("at start"))
    reference = as_columns(run_airwatch(site, day, value))
    results = []
    for name, fn in IMPLS.items():
        run = partial(fn, site, day, value)
        results.append(
            harness.run_isolated(name, run, args.repeat, columns=as_columns, reference=reference, tol=TOLERANCE)
        )
    harness.finish("features", results, TOLERANCE, args.json, len(site))


if __name__ == "__main__":
    main()
