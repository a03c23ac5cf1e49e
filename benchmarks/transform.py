"""Transform benchmark at national scale: EPA daily aggregation from hourly data and the daily feature
block, in the C++ core and in Polars, DuckDB and pandas, every output column checked to agree.

Data are GENERATED, shaped like the real data (they are for scale, not for skill):
- hourly: about 1,000 sites x one year of hours (site, day, hour, value), half ozone and half PM2.5, in
  one table per parameter as EPA distributes hourly data; each site-day copies a real day of hourly
  ozone or PM2.5 from the AirNow-Tech Burdens Creek record (shared/data/epa), scaled by a
  per-site factor drawn from the real AirNow daily-peak distribution; hours missing at the real rate;
- daily: about 1,000 sites x 10 years of daily PM2.5 on each site's daily grid (NaN on days without a
  value, as core.daily_grid lays them out); each site's series is a real AirData national 88502 site
  series (2014-2019), tiled to 10 years.
Transforms: PM2.5 24-hour average (valid with >= 18 hours) and ozone MDA8 (hourly truncated to 0.001
ppm, 8-hour averages of >= 6 hours truncated, highest of the 17 starting 07:00-23:00, valid with >= 13
periods or above 0.070 ppm) from the hourly tables; lags 0-6, rolling mean 3/7/14/30, std 7, max 7,
days since the last value and that value, on the daily grid. Every implementation returns its
library's own frames (AirWatch NumPy arrays, Polars DataFrames, DuckDB Arrow tables, pandas
DataFrames); the check converts them after the timing and compares every column with AirWatch's.
Each implementation runs in a forked child under the same thread cap; peak memory is its RSS
growth, compared with the size of the input arrays.

    python benchmarks/transform.py [--sites 1000] [--hourly-days 365] [--years 10] [--json FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import features
import harness  # sets the Polars thread cap before anything imports Polars
import numpy as np
import pandas as pd

from airwatch import core

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "epa"
TOLERANCE = features.TOLERANCE
Hourly = dict[str, dict[str, np.ndarray]]
Daily = dict[str, np.ndarray]


# ---------------------------------------------------------------- generated data, shaped like real data
def real_hourly_days() -> dict[str, np.ndarray]:
    """Real days of 24 hourly values (ozone ppm, PM2.5 ug/m3) from the Burdens Creek record."""
    folder = SHARED / "airnowtech_hourly_burdens_creek_nc_2019"
    raw = pd.concat([pd.read_csv(p, dtype=str) for p in sorted(folder.glob("*.csv.gz"))], ignore_index=True)
    raw["v"] = pd.to_numeric(raw["Value"], errors="coerce")
    out = {}
    for name, param, scale in (("ozone", "O3", 0.001), ("pm25", "PM2.5-88101", 1.0)):
        p = raw[raw["Param"] == param].drop_duplicates(["Date (LST)", "Time (LST)"])
        p = p.assign(hour=p["Time (LST)"].str[:2].astype(int))
        grid = p.pivot(index="Date (LST)", columns="hour", values="v").reindex(columns=range(24))
        out[name] = grid.to_numpy(dtype=np.float64) * scale
    return out


def generate_hourly(sites: int, days: int, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    real = real_hourly_days()
    peaks = pd.read_csv(SHARED / "airnow_daily_peak_2018" / "20180722-peak.dat.gz", sep="|", header=None)
    mda8 = peaks[peaks[3] == "OZONE-8HR"][5].to_numpy(dtype=np.float64)
    factor = np.clip(rng.choice(mda8, sites) / np.nanmean(mda8), 0.3, 3.0)  # real spread between sites
    kind = np.where(np.arange(sites) % 2 == 0, "ozone", "pm25")
    site = np.repeat(np.arange(sites, dtype=np.int32), days * 24)
    day = np.tile(np.repeat(np.arange(17167, 17167 + days, dtype=np.int32), 24), sites)  # from 2017-01-01
    hour = np.tile(np.arange(24, dtype=np.int32), sites * days)
    value = np.empty(sites * days * 24)
    for s in range(sites):
        pool = real[kind[s]]
        picks = pool[rng.integers(0, len(pool), days)]
        value[s * days * 24 : (s + 1) * days * 24] = picks.ravel() * factor[s]
    missing_rate = np.mean(np.isnan(np.concatenate([real["ozone"].ravel(), real["pm25"].ravel()])))
    value[rng.random(value.size) < max(missing_rate, 0.03)] = np.nan
    rows = (kind == "ozone")[site]
    # One table per parameter, like EPA's hourly_44201_* and hourly_88101_* files.
    return {
        name: {
            c: np.ascontiguousarray(a[mask])
            for c, a in (("site", site), ("day", day), ("hour", hour), ("value", value))
        }
        for name, mask in (("pm25", ~rows), ("ozone", rows))
    }


def generate_daily(sites: int, years: int, seed: int = 1) -> Daily:
    from airwatch.domain.parse import parse_daily_file

    rng = np.random.default_rng(seed)
    files = sorted((SHARED / "airdata_daily_pm25_national").glob("daily_88502_*.csv.gz"))
    frame = pd.concat([parse_daily_file(p.name, p.read_bytes())[["site_id", "day", "value"]] for p in files])
    frame["site_id"] = frame["site_id"].astype(str)
    series = frame.groupby(["site_id", "day"], as_index=False)["value"].mean()
    first, last = int(series["day"].min()), int(series["day"].max())
    span = last - first + 1
    dense = series.pivot(index="site_id", columns="day", values="value").reindex(columns=range(first, last + 1))
    real = dense.to_numpy(dtype=np.float64)
    real = real[np.isfinite(real).mean(axis=1) > 0.5]  # sites with a usable record
    days = years * 365
    picks = real[rng.integers(0, len(real), sites)]
    tiled = np.tile(picks, (1, days // span + 1))[:, :days]
    site = np.repeat(np.arange(sites, dtype=np.int32), days)
    day = np.tile(np.arange(days, dtype=np.int32) + 14000, sites)
    return {"site": site, "day": day, "value": np.ascontiguousarray(tiled.ravel())}


# ---------------------------------------------------------------- the implementations
KEYS = ("site", "day", "hour", "value")


def run_airwatch(h: Hourly, d: Daily) -> tuple[Any, Any, Any]:
    t = harness.THREADS
    pm = core.pm25_daily(*(h["pm25"][c] for c in KEYS), threads=t)
    oz = core.ozone_mda8(*(h["ozone"][c] for c in KEYS), threads=t)
    return pm, oz, features.run_airwatch(d["site"], d["day"], d["value"])


def _trunc3_pl(expr: Any) -> Any:
    return (expr * 1000 + 1e-6).floor() / 1000


def run_polars(h: Hourly, d: Daily) -> tuple[Any, Any, Any]:
    import polars as pl

    pm_df, oz_df = (pl.DataFrame(h[p]).with_columns(pl.col("value").fill_nan(None)) for p in ("pm25", "ozone"))
    pm = (
        pm_df.group_by("site", "day", maintain_order=True)
        .agg(value=pl.col("value").mean(), count=pl.col("value").count())
        .with_columns(valid=pl.col("count") >= 18)
    )
    o = oz_df.with_columns(t=_trunc3_pl(pl.col("value")))
    shifted = [pl.col("t").shift(-k).over("site") for k in range(8)]
    o = o.with_columns(
        s8=pl.sum_horizontal([s.fill_null(0) for s in shifted]),
        n8=pl.sum_horizontal([s.is_not_null().cast(pl.Int32) for s in shifted]),
    ).with_columns(avg=pl.when(pl.col("n8") >= 6).then(_trunc3_pl(pl.col("s8") / pl.col("n8"))))
    oz = (
        o.filter(pl.col("hour") >= 7)
        .group_by("site", "day", maintain_order=True)
        .agg(value=pl.col("avg").max(), count=pl.col("avg").count())
        .with_columns(valid=(pl.col("count") >= 13) | (pl.col("value") > 0.070).fill_null(False))
    )
    return pm, oz, features.run_polars(d["site"], d["day"], d["value"])


def run_duckdb(h: Hourly, d: Daily) -> tuple[Any, Any, Any]:
    import pyarrow as pa

    con = harness.duckdb_connection()  # threads set before timing
    for name, table in (("hp", h["pm25"]), ("ho", h["ozone"])):
        # NaN marks a missing hour here; SQL's missing value is NULL.
        con.register(name, pa.table({**table, "value": pa.array(table["value"], from_pandas=True)}))
    pm = con.sql(
        "SELECT site, day, avg(value) AS value, count(value) AS count, count(value) >= 18 AS valid "
        "FROM hp GROUP BY site, day ORDER BY site, day"
    ).to_arrow_table()
    oz = con.sql("""
        WITH t AS (SELECT site, day, hour, floor(value * 1000 + 1e-6) / 1000 AS v FROM ho),
        w AS (SELECT site, day, hour,
                sum(v) OVER (PARTITION BY site ORDER BY day, hour ROWS BETWEEN CURRENT ROW AND 7 FOLLOWING) AS s8,
                count(v) OVER (PARTITION BY site ORDER BY day, hour ROWS BETWEEN CURRENT ROW AND 7 FOLLOWING) AS n8
              FROM t),
        a AS (SELECT site, day, hour, CASE WHEN n8 >= 6 THEN floor(s8 / n8 * 1000 + 1e-6) / 1000 END AS avg FROM w)
        SELECT site, day, max(avg) AS value, count(avg) AS count,
               count(avg) >= 13 OR coalesce(max(avg) > 0.070, false) AS valid
        FROM a WHERE hour >= 7 GROUP BY site, day ORDER BY site, day""").to_arrow_table()
    con.unregister("hp")
    con.unregister("ho")
    return pm, oz, features.run_duckdb(d["site"], d["day"], d["value"])


def run_pandas(h: Hourly, d: Daily) -> tuple[Any, Any, Any]:
    g = pd.DataFrame(h["pm25"]).groupby(["site", "day"])["value"]
    pm = pd.DataFrame({"value": g.mean(), "count": g.count()}).reset_index()
    pm["valid"] = pm["count"] >= 18
    o = pd.DataFrame(h["ozone"])
    o["t"] = np.floor(o["value"] * 1000 + 1e-6) / 1000
    gs = o.groupby("site")["t"]
    shifted = [gs.shift(-k) for k in range(8)]
    s8 = sum(s.fillna(0) for s in shifted)
    n8 = sum(s.notna().astype(int) for s in shifted)
    o["avg"] = np.where(n8 >= 6, np.floor(s8 / n8.where(n8 > 0) * 1000 + 1e-6) / 1000, np.nan)
    ga = o[o["hour"] >= 7].groupby(["site", "day"])["avg"]
    oz = pd.DataFrame({"value": ga.max(), "count": ga.count()}).reset_index()
    oz["valid"] = (oz["count"] >= 13) | (oz["value"] > 0.070)
    return pm, oz, features.run_pandas(d["site"], d["day"], d["value"])


IMPLS = {"airwatch": run_airwatch, "polars": run_polars, "duckdb": run_duckdb, "pandas": run_pandas}


def _daily_columns(out: Any) -> dict[str, np.ndarray]:
    if isinstance(out, core.DailyAggregate):
        cols = {"site": out.site, "day": out.day, "value": out.value, "count": out.count, "valid": out.valid}
    elif isinstance(out, pd.DataFrame):
        cols = {c: out[c].to_numpy() for c in ("site", "day", "value", "count", "valid")}
    elif hasattr(out, "column_names"):  # pyarrow.Table
        cols = {c: out.column(c).to_numpy() for c in ("site", "day", "value", "count", "valid")}
    else:  # polars.DataFrame
        cols = {c: out[c].to_numpy() for c in ("site", "day", "value", "count", "valid")}
    return {
        "site": cols["site"].astype(np.int64),
        "day": cols["day"].astype(np.int64),
        "value": cols["value"].astype(np.float64),
        "count": cols["count"].astype(np.int64),
        "valid": cols["valid"].astype(bool),
    }


def as_columns(out: tuple[Any, Any, Any]) -> Mapping[str, np.ndarray]:
    """Every output column of an implementation, as NumPy, named pm25.*, ozone.*, features.*; not timed."""
    pm, oz, feats = out
    cols = {f"pm25.{k}": v for k, v in _daily_columns(pm).items()}
    cols |= {f"ozone.{k}": v for k, v in _daily_columns(oz).items()}
    return cols | {f"features.{k}": v for k, v in features.as_columns(feats).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--hourly-days", type=int, default=365)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="runs per implementation; the best is kept")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    hourly = generate_hourly(args.sites, args.hourly_days)
    daily = generate_daily(args.sites, args.years)
    input_mb = (
        sum(v.nbytes for t in hourly.values() for v in t.values()) + sum(v.nbytes for v in daily.values())
    ) / 2**20
    hourly_rows = sum(len(t["site"]) for t in hourly.values())
    print(f"transform benchmark (GENERATED data shaped like real EPA data): {hourly_rows:,} hourly rows "
          f"({args.sites} sites x {args.hourly_days} days), {len(daily['site']):,} daily grid rows "
          f"({args.sites} sites x {args.years} years); input arrays {input_mb:.0f} MB")  # fmt: skip
    print(harness.load_line("at start"))
    reference = as_columns(run_airwatch(hourly, daily))
    results = []
    for name, fn in IMPLS.items():
        run = partial(fn, hourly, daily)
        results.append(
            harness.run_isolated(name, run, args.repeat, columns=as_columns, reference=reference, tol=TOLERANCE)
        )
    print(harness.cap_line(results[0].caps))
    harness.print_table(results, lambda r: f"{r.peak_mb / input_mb:>12.2f}", f"{'peak/input':>12}")
    print(harness.load_line("at end"))
    if not harness.report_checks(results, TOLERANCE):
        raise SystemExit("transform: an implementation disagrees with airwatch beyond the tolerance (above)")
    rows = hourly_rows + len(daily["site"])
    harness.write_json(args.json, "transform", rows, results)


if __name__ == "__main__":
    main()
