"""Feature-block benchmark: the C++ kernel against pandas, Polars and DuckDB on the same real data.

Data: EPA AirData national daily PM2.5 (88502, 2014-2019, ../shared/data/epa) when present, else the
bundled Cook County sample; real values, one per site and day, laid on each site's daily grid (not
timed). Every implementation computes the same block (lags 0-6, rolling mean 3/7/14/30, std 7 and
max 7 with half-window minimum counts, days since the last observation and its value); outputs are
checked against AirWatch's before timing is reported. Each implementation runs in a forked child so
its peak RSS is its own.

    python benchmarks/features.py [--json FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from airwatch import core
from airwatch.domain.parse import parse_daily_file
from airwatch.io.files import bundled_sample_dir

LAGS, MEANS, STDS, MAXES = list(range(7)), [3, 7, 14, 30], [7], [7]
NATIONAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "epa" / "airdata_daily_pm25_national"


def load_grid() -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    files = sorted(NATIONAL.glob("daily_88502_*.csv.gz")) if NATIONAL.exists() else []
    source = "AirData national PM2.5 88502 2014-2019 (real)"
    if not files:
        files = sorted(bundled_sample_dir().glob("*.csv.gz"))
        source = "bundled Cook County sample (real)"
    frame = pd.concat([parse_daily_file(p.name, p.read_bytes()) for p in files], ignore_index=True)
    frame = frame[frame["parameter"].isin([88101, 88502])]
    daily = frame.groupby(["site_id", "day"], as_index=False)["value"].mean()
    codes, _ = pd.factorize(daily["site_id"], sort=True)
    site, day, value = core.daily_grid(codes, daily["day"], daily["value"])
    return source, site, day, value


def run_airwatch(site, day, value) -> pd.DataFrame:
    # The peers compute no missing-data count, so neither does this run: the same transform everywhere.
    names, matrix = core.compute_features(site, day, value, LAGS, MEANS, STDS, MAXES, False, [], 2, [])
    return pd.DataFrame(matrix, columns=names, copy=False)


def run_pandas(site, day, value) -> pd.DataFrame:
    df = pd.DataFrame({"site": site, "value": value})
    g = df.groupby("site")["value"]
    out = {f"lag_{k}": g.shift(k) for k in LAGS}
    for w in MEANS:
        out[f"mean_{w}"] = g.rolling(w, min_periods=(w + 1) // 2).mean().reset_index(level=0, drop=True)
    for w in STDS:
        out[f"std_{w}"] = g.rolling(w, min_periods=max(2, (w + 1) // 2)).std().reset_index(level=0, drop=True)
    for w in MAXES:
        out[f"max_{w}"] = g.rolling(w, min_periods=(w + 1) // 2).max().reset_index(level=0, drop=True)
    pos = pd.Series(np.where(df["value"].notna(), np.arange(len(df)), np.nan))
    out["days_since_obs"] = np.arange(len(df)) - pos.groupby(df["site"]).ffill()
    out["last_value"] = g.ffill()
    return pd.DataFrame(out)


def run_polars(site, day, value) -> pd.DataFrame:
    import polars as pl

    df = pl.DataFrame({"site": site, "value": value, "i": np.arange(len(site))}).with_columns(
        pl.col("value").fill_nan(None)
    )
    v = pl.col("value")
    exprs = [v.shift(k).over("site").alias(f"lag_{k}") for k in LAGS]
    exprs += [v.rolling_mean(w, min_samples=(w + 1) // 2).over("site").alias(f"mean_{w}") for w in MEANS]
    exprs += [v.rolling_std(w, min_samples=max(2, (w + 1) // 2)).over("site").alias(f"std_{w}") for w in STDS]
    exprs += [v.rolling_max(w, min_samples=(w + 1) // 2).over("site").alias(f"max_{w}") for w in MAXES]
    last_i = pl.when(v.is_not_null()).then(pl.col("i")).otherwise(None).forward_fill().over("site")
    exprs += [
        (pl.col("i") - last_i).cast(pl.Float64).alias("days_since_obs"),
        v.forward_fill().over("site").alias("last_value"),
    ]
    return df.select(exprs).to_pandas()


def run_duckdb(site, day, value) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("grid", pd.DataFrame({"site": site, "day": day, "value": value}))
    win = "PARTITION BY site ORDER BY day"
    cols = [f"lag(value, {k}) OVER (w) AS lag_{k}" if k else "value AS lag_0" for k in LAGS]

    def framed(fn: str, w: int, minimum: int, name: str) -> str:
        frame = f"(w ROWS BETWEEN {w - 1} PRECEDING AND CURRENT ROW)"
        return f"CASE WHEN count(value) OVER {frame} >= {minimum} THEN {fn}(value) OVER {frame} END AS {name}"

    cols += [framed("avg", w, (w + 1) // 2, f"mean_{w}") for w in MEANS]
    cols += [framed("stddev_samp", w, max(2, (w + 1) // 2), f"std_{w}") for w in STDS]
    cols += [framed("max", w, (w + 1) // 2, f"max_{w}") for w in MAXES]
    cols += [
        "CAST(day - last_value(CASE WHEN value IS NOT NULL THEN day END IGNORE NULLS) OVER (w) AS DOUBLE)"
        " AS days_since_obs",
        "last_value(value IGNORE NULLS) OVER (w) AS last_value",
    ]
    sql = f"SELECT {', '.join(cols)} FROM grid WINDOW w AS ({win}) ORDER BY site, day"
    return con.execute(sql).df()


IMPLS = {"airwatch": run_airwatch, "polars": run_polars, "duckdb": run_duckdb, "pandas": run_pandas}


def _child(name: str, args, repeat: int, queue) -> None:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = IMPLS[name](*args)
        best = min(best, time.perf_counter() - start)
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    ref = run_airwatch(*args)
    for col in ref.columns:
        # Windowed sums in the peers round differently; 1e-6 relative is far below data precision.
        np.testing.assert_allclose(
            pd.to_numeric(out[col], errors="coerce").to_numpy(np.float64),
            ref[col].to_numpy(),
            rtol=1e-6,
            atol=1e-9,
            equal_nan=True,
            err_msg=f"{name}: {col}",
        )
    queue.put((name, best, peak))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write results as JSON here")
    parser.add_argument("--repeat", type=int, default=3, help="runs per implementation; the best is kept")
    args = parser.parse_args()
    source, site, day, value = load_grid()
    ctx = mp.get_context("fork")
    results = []
    for name in IMPLS:
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(name, (site, day, value), args.repeat, queue))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"{name} failed or disagreed with airwatch (exit {proc.exitcode})")
        _, seconds, peak = queue.get()
        results.append({"impl": name, "seconds": seconds, "peak_mb": peak})
    ours = results[0]["seconds"]
    print(f"features benchmark: {len(site):,} grid rows, {len(np.unique(site))} sites; data: {source}")
    print(f"{'impl':<10}{'seconds':>10}{'peak MB':>10}{'x slower than airwatch':>26}")
    for r in results:
        print(f"{r['impl']:<10}{r['seconds']:>10.3f}{r['peak_mb']:>10.1f}{r['seconds'] / ours:>26.2f}")
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "features", "rows": len(site), "results": results}, indent=2))


if __name__ == "__main__":
    main()
