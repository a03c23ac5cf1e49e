"""Transform benchmark at national scale: EPA daily aggregation from hourly data and the daily feature
block, in the C++ core and in Polars, DuckDB and pandas, every output column checked to agree.

Data are GENERATED, shaped like the real data (they are for scale, not for skill):
- hourly: about 1,000 sites x one year of hours (site, day, hour, value), half ozone and half PM2.5, in
  one table per parameter as EPA distributes hourly data. Each site-day copies a real day of hourly
  ozone or PM2.5 from the AirNow-Tech Burdens Creek record (shared/data/epa; that record's own few
  missing hours interpolated), scaled by a per-site factor drawn from the real AirNow daily-peak
  distribution. Hours are LEFT OUT, as EPA's files leave out hours without a measurement (there are
  no NaN rows): each site takes the hours-present pattern of a real US monitor of its pollutant in
  AirNow's national hourly observations (2024-04-08..22, monitors in service throughout), so hours
  go missing at the real rate and in the real runs (calibration hours, outages of hours to days);
- daily: about 1,000 sites x 10 years of daily PM2.5 on each site's daily grid (NaN on days without a
  value, as core.daily_grid lays them out); each site's series is a real AirData national 88502 site
  series (2014-2019), tiled to 10 years.
Transforms: PM2.5 24-hour average (valid with >= 18 hours) and ozone MDA8 (hourly truncated to 0.001
ppm, 8-hour averages of >= 6 hours truncated, highest of the 17 starting 07:00-23:00, valid with >= 13
periods or above 0.070 ppm; a period may start at an hour the file leaves out and reaches into the next
day, so the peers put each site on its full hourly grid first, as the C++ kernel does internally) from
the hourly tables; lags 0-6, rolling mean 3/7/14/30, std 7, max 7, days since the last value and that
value, on the daily grid. Every implementation returns its library's own frames (AirWatch NumPy
arrays, Polars DataFrames, DuckDB Arrow tables, pandas DataFrames); the check converts them after the
timing. Each implementation runs in a forked child under the same thread cap; peak memory is its RSS
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
AIRNOW_HOURLY = SHARED / "airnow_hourlyaqobs_2024_04"
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
        # Which hours are missing comes from the national record below; this one's few gaps (the
        # ozone monitor's daily 05:00 calibration) only need values.
        grid = grid.interpolate(axis=1, limit_direction="both")
        out[name] = grid.to_numpy(dtype=np.float64) * scale
    return out


def real_hours_present() -> dict[str, np.ndarray]:
    """Hours-present patterns of real US monitors: (monitors, 360 hours) per pollutant, local standard time.

    From AirNow's hourly observations of every US monitor, 2024-04-08 00Z to 04-22 23Z (15 days), for
    monitors in service throughout (a value on the first and on the last day). The few hours the
    snapshot itself lacks for everyone (fewer than 95% of the usual rows) count as present.
    """
    obs = pd.read_csv(
        AIRNOW_HOURLY / "airnow_hourlyaqobs_2024-04-08_to_04-22_long.csv.gz",
        usecols=["valid_date_gmt", "valid_time_gmt", "AQSID", "OZONE", "PM25"],
        dtype={"AQSID": str, "valid_date_gmt": str, "valid_time_gmt": str},
    )
    sites = pd.read_csv(AIRNOW_HOURLY / "airnow_sites.csv.gz", dtype={"AQSID": str}, usecols=["AQSID", "GMTOffset",
                        "CountryCode"]).drop_duplicates("AQSID")  # fmt: skip
    when = pd.to_datetime(obs["valid_date_gmt"] + " " + obs["valid_time_gmt"], format="%m/%d/%Y %H:%M")
    hours = 15 * 24
    obs["t"] = ((when - pd.Timestamp("2024-04-08")) // pd.Timedelta(hours=1)).astype(int)
    per_hour = np.bincount(obs["t"], minlength=hours)
    unknown = per_hour < 0.95 * np.median(per_hour)
    offset = sites[sites["CountryCode"] == "US"].set_index("AQSID")["GMTOffset"]
    out = {}
    for name, column in (("ozone", "OZONE"), ("pm25", "PM25")):
        v = obs[obs[column].notna() & obs["AQSID"].isin(offset.index)]
        codes, ids = pd.factorize(v["AQSID"])
        present = np.zeros((len(ids), hours), dtype=bool)
        present[codes, v["t"].to_numpy()] = True
        present[:, unknown] = True
        in_service = present[:, :24].any(axis=1) & present[:, -24:].any(axis=1)
        shift = offset.reindex(ids).fillna(-5).to_numpy(dtype=int)  # UTC hour index -> local standard time
        out[name] = np.stack([np.roll(row, s) for row, s in zip(present, shift, strict=True)])[in_service]
    return out


def generate_hourly(sites: int, days: int, seed: int = 0) -> tuple[Hourly, dict[str, float]]:
    """One table per parameter of rows (site, day, hour, value) sorted by key; absent hours left out."""
    rng = np.random.default_rng(seed)
    real = real_hourly_days()
    present_patterns = real_hours_present()
    peaks = pd.read_csv(SHARED / "airnow_daily_peak_2018" / "20180722-peak.dat.gz", sep="|", header=None)
    mda8 = peaks[peaks[3] == "OZONE-8HR"][5].to_numpy(dtype=np.float64)
    factor = np.clip(rng.choice(mda8, sites) / np.nanmean(mda8), 0.3, 3.0)  # real spread between sites
    kind = np.where(np.arange(sites) % 2 == 0, "ozone", "pm25")
    tables: Hourly = {}
    missing: dict[str, float] = {}
    day_of_hour = np.repeat(np.arange(17167, 17167 + days, dtype=np.int32), 24)  # from 2017-01-01
    hour_of_hour = np.tile(np.arange(24, dtype=np.int32), days)
    for name in ("pm25", "ozone"):
        parts: dict[str, list[np.ndarray]] = {"site": [], "day": [], "hour": [], "value": []}
        patterns = present_patterns[name]
        for s in np.flatnonzero(kind == name):
            pool = real[name]
            values = pool[rng.integers(0, len(pool), days)].ravel() * factor[s]
            pattern = np.roll(patterns[rng.integers(len(patterns))], -24 * int(rng.integers(15)))
            keep = np.resize(pattern, days * 24)
            parts["site"].append(np.full(int(keep.sum()), s, dtype=np.int32))
            parts["day"].append(day_of_hour[keep])
            parts["hour"].append(hour_of_hour[keep])
            parts["value"].append(values[keep])
        tables[name] = {c: np.concatenate(a) for c, a in parts.items()}
        missing[name] = 1 - len(tables[name]["site"]) / (int((kind == name).sum()) * days * 24)
    return tables, missing


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

    pm = (
        pl.DataFrame(h["pm25"])
        .group_by("site", "day", maintain_order=True)
        .agg(value=pl.col("value").mean(), count=pl.col("value").count())
        .with_columns(valid=pl.col("count") >= 18)
    )
    o = pl.DataFrame(h["ozone"]).select(
        "site", t=pl.col("day").cast(pl.Int64) * 24 + pl.col("hour"), v=_trunc3_pl(pl.col("value"))
    )
    # Each site on its full hourly grid, from its first day to the day after its last: periods start at
    # hours the file may leave out and reach 7 hours into the next day. The rows are sorted by (site, t)
    # (the C++ kernel requires it too), so an as-of join with tolerance 0 is an exact-match join that
    # needs no hash table (a left join gives the same frame in about twice the time).
    grid = (
        o.group_by("site", maintain_order=True)
        .agg(t=pl.int_range(pl.col("t").min() // 24 * 24, (pl.col("t").max() // 24 + 2) * 24))
        .explode("t")
    )
    dense = grid.join_asof(o, on="t", by="site", tolerance=0, check_sortedness=False)
    # The 8-hour period starting at t is the trailing 8-hour window ending at t + 7.
    v = pl.col("v")
    dense = dense.with_columns(
        day=pl.col("t") // 24,
        hour=pl.col("t") % 24,
        s8=v.fill_null(0).rolling_sum(8).shift(-7).over("site"),
        n8=v.is_not_null().cast(pl.Int32).rolling_sum(8).shift(-7).over("site"),
    ).with_columns(avg=pl.when(pl.col("n8") >= 6).then(_trunc3_pl(pl.col("s8") / pl.col("n8"))))
    counted = pl.col("avg").filter(pl.col("hour") >= 7)
    oz = (
        dense.group_by("site", "day", maintain_order=True)
        .agg(rows=pl.col("v").count(), value=counted.max(), count=counted.count())
        .filter(pl.col("rows") > 0)  # days the file has: the grid's empty days are not output
        .drop("rows")
        .with_columns(valid=(pl.col("count") >= 13) | (pl.col("value") > 0.070).fill_null(False))
    )
    return pm, oz, features.run_polars(d["site"], d["day"], d["value"])


def run_duckdb(h: Hourly, d: Daily) -> tuple[Any, Any, Any]:
    import pyarrow as pa

    con = harness.duckdb_connection()  # threads set before timing
    con.register("hp", pa.table(h["pm25"]))
    con.register("ho", pa.table(h["ozone"]))
    pm = con.sql(
        "SELECT site, day, avg(value) AS value, count(value) AS count, count(value) >= 18 AS valid "
        "FROM hp GROUP BY site, day ORDER BY site, day"
    ).to_arrow_table()
    # Each site on its full hourly grid (see run_polars), then 8-row frames.
    oz = con.sql("""
        WITH t AS (SELECT site, day * 24 + hour AS t, floor(value * 1000 + 1e-6) / 1000 AS v FROM ho),
        span AS (SELECT site, min(t) // 24 * 24 AS t0, (max(t) // 24 + 2) * 24 AS t1 FROM t GROUP BY site),
        grid AS (SELECT site, unnest(range(t0, t1)) AS t FROM span),
        dense AS (SELECT grid.site, grid.t, t.v FROM grid LEFT JOIN t ON grid.site = t.site AND grid.t = t.t),
        w AS (SELECT site, t, v, sum(v) OVER p AS s8, count(v) OVER p AS n8 FROM dense
              WINDOW p AS (PARTITION BY site ORDER BY t ROWS BETWEEN CURRENT ROW AND 7 FOLLOWING)),
        a AS (SELECT site, t // 24 AS day, t % 24 AS hour, v,
                     CASE WHEN n8 >= 6 THEN floor(s8 / n8 * 1000 + 1e-6) / 1000 END AS avg FROM w)
        SELECT site, day, max(avg) FILTER (WHERE hour >= 7) AS value, count(avg) FILTER (WHERE hour >= 7) AS count,
               count(avg) FILTER (WHERE hour >= 7) >= 13 OR coalesce(max(avg) FILTER (WHERE hour >= 7) > 0.070, false)
               AS valid
        FROM a GROUP BY site, day HAVING count(v) > 0 ORDER BY site, day""").to_arrow_table()
    con.unregister("hp")
    con.unregister("ho")
    return pm, oz, features.run_duckdb(d["site"], d["day"], d["value"])


def run_pandas(h: Hourly, d: Daily) -> tuple[Any, Any, Any]:
    g = pd.DataFrame(h["pm25"]).groupby(["site", "day"])["value"]
    pm = pd.DataFrame({"value": g.mean(), "count": g.count()}).reset_index()
    pm["valid"] = pm["count"] >= 18
    o = pd.DataFrame(h["ozone"])
    o = pd.DataFrame({"site": o["site"], "t": o["day"].astype(np.int64) * 24 + o["hour"],
                      "v": np.floor(o["value"] * 1000 + 1e-6) / 1000})  # fmt: skip
    # Each site on its full hourly grid (see run_polars).
    span = o.groupby("site")["t"].agg(["min", "max"]) // 24
    t = np.concatenate([np.arange(a * 24, (b + 2) * 24) for a, b in zip(span["min"], span["max"], strict=True)])
    grid = pd.DataFrame({"site": np.repeat(span.index.to_numpy(), (span["max"] - span["min"] + 2) * 24), "t": t})
    dense = grid.merge(o, on=["site", "t"], how="left")
    gs = dense.groupby("site")["v"]
    shifted = [gs.shift(-k) for k in range(8)]
    s8 = sum(s.fillna(0) for s in shifted)
    n8 = sum(s.notna().astype(int) for s in shifted)
    dense["day"] = dense["t"] // 24
    dense["avg"] = np.where(n8 >= 6, np.floor(s8 / n8.where(n8 > 0) * 1000 + 1e-6) / 1000, np.nan)
    dense["avg"] = dense["avg"].where(dense["t"] % 24 >= 7)
    ga = dense.groupby(["site", "day"])
    oz = pd.DataFrame({"value": ga["avg"].max(), "count": ga["avg"].count(), "rows": ga["v"].count()}).reset_index()
    oz = oz[oz["rows"] > 0].drop(columns="rows").reset_index(drop=True)  # days the file has
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
    hourly, missing = generate_hourly(args.sites, args.hourly_days)
    daily = generate_daily(args.sites, args.years)
    input_mb = (
        sum(v.nbytes for t in hourly.values() for v in t.values()) + sum(v.nbytes for v in daily.values())
    ) / 2**20
    hourly_rows = sum(len(t["site"]) for t in hourly.values())
    print(f"transform benchmark (GENERATED data shaped like real EPA data): {hourly_rows:,} hourly rows "
          f"({args.sites} sites x {args.hourly_days} days; hours left out as EPA's files do: "
          f"PM2.5 {missing['pm25']:.1%}, ozone {missing['ozone']:.1%}), {len(daily['site']):,} daily grid rows "
          f"({args.sites} sites x {args.years} years); input arrays {input_mb:.0f} MB")  # fmt: skip
    print(harness.load_line("at start"))
    reference = as_columns(run_airwatch(hourly, daily))
    results = []
    for name, fn in IMPLS.items():
        run = partial(fn, hourly, daily)
        results.append(
            harness.run_isolated(name, run, args.repeat, columns=as_columns, reference=reference, tol=TOLERANCE)
        )
    harness.finish("transform", results, TOLERANCE, args.json, hourly_rows + len(daily["site"]),
                   lambda r: f"{r.peak_mb / input_mb:>12.2f}", f"{'peak/input':>12}")  # fmt: skip


if __name__ == "__main__":
    main()
