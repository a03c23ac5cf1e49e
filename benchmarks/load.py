"""Load: the whole main job (`airwatch run`) on national-scale GENERATED data, stage by stage, with peak memory.

The data are GENERATED (for scale, not for skill), in the files EPA ships, shaped like the real data
of ../shared/data/epa, and written to a temporary folder (never committed):
- daily PM2.5, AirData daily layout (daily_88101_<year>.csv.gz, daily_88502_<year>.csv.gz, all 29
  columns): 1,000 real sites drawn from the national AirData files (88101 2014, 88502 2014-2019) among
  those with a year of at least 100 days, 10 years (2010-2019). Each site-year is a real year of the
  same site (drawn from those it has) moved to the target year, with every row of it: the real values,
  seasons and gaps (1-in-3 and 1-in-6 samplers, outages), parameters, sample durations (1 HOUR,
  24-HR BLK AVG, 24 HOUR) and POCs;
- daily ozone, AirData daily layout (daily_44201_<year>.csv.gz): the same sites and years, each
  site-year a real year of MDA8 values (Queens College NY 2001-2019, 15 Cook County IL monitors
  1990-2001, Air Force Academy CO 1996-2019) with its gaps, scaled by a factor per site drawn from the
  real spread of MDA8 across US monitors on a summer day (AirNow daily peaks 2018-07-22, clipped to
  0.5-1.5); monitors north of 40 N take every second one a season of March-October only, as many
  states do;
- hourly, one year (2019), AirData hourly layout (hourly_44201_2019.csv.gz, hourly_88101_2019.csv.gz):
  half the sites each, the generator of benchmarks/transform.py (real days of hours from Burdens
  Creek NC, real hours-present patterns of US monitors: hours are left out, as in EPA's files);
- a few bad rows, as real files have: values that are not numbers, negative or absurd, days that do
  not exist, rows with fields missing, coordinates of the ocean at 0,0.

The run: `airwatch run --input-dir <generated>` in a child process, on a fresh store (the first run:
everything is processed and trained), with the project's default settings unless AIRWATCH_* variables
say otherwise. The whole process tree (the job and its ephemeral Prefect server) is sampled for
memory every 50 ms (benchmarks/pipeline.py); each stage's time comes from the run's own report, its
peak memory is the highest sample taken while it ran.

    python benchmarks/load.py [--sites 1000] [--years 10] [--hourly-days 365] [--keep DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "epa"
NATIONAL = SHARED / "airdata_daily_pm25_national"
LAST_YEAR = 2019
TARGET_MB = 4096
SEED = 20260  # fixed: the same files, and so the same run, every time

DAILY_COLUMNS = [
    "State Code", "County Code", "Site Num", "Parameter Code", "POC", "Latitude", "Longitude", "Datum",
    "Parameter Name", "Sample Duration", "Pollutant Standard", "Date Local", "Units of Measure", "Event Type",
    "Observation Count", "Observation Percent", "Arithmetic Mean", "1st Max Value", "1st Max Hour", "AQI",
    "Method Code", "Method Name", "Local Site Name", "Address", "State Name", "County Name", "City Name",
    "CBSA Name", "Date of Last Change",
]  # fmt: skip
HOURLY_COLUMNS = [
    "State Code", "County Code", "Site Num", "Parameter Code", "POC", "Latitude", "Longitude", "Datum",
    "Parameter Name", "Date Local", "Time Local", "Date GMT", "Time GMT", "Sample Measurement", "Units of Measure",
    "MDL", "Uncertainty", "Qualifier", "Method Type", "Method Code", "Method Name", "State Name", "County Name",
    "Date of Last Change",
]  # fmt: skip
UV, T640 = "INSTRUMENTAL - ULTRA VIOLET ABSORPTION", "Teledyne T640 at 5.0 LPM"
SITE_COLUMNS = ["State Code", "County Code", "Site Num", "Latitude", "Longitude", "Datum", "Local Site Name",
                "Address", "State Name", "County Name", "City Name", "CBSA Name"]  # fmt: skip


# ---------------------------------------------------------------- generated data, shaped like real data
def real_pm25() -> pd.DataFrame:
    """Every row of the national AirData PM2.5 files, as text (the generated files copy them)."""
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(NATIONAL.glob("daily_*.csv.gz"))]
    rows = pd.concat(frames, ignore_index=True)
    rows["site"] = rows["State Code"] + rows["County Code"] + rows["Site Num"]
    rows["year"] = rows["Date Local"].str[:4].astype(int)
    return rows


def pick_sites(rows: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """n real sites with a year of at least 100 days (a 1-in-3 sampler has 122), described, with their GMT offset."""
    days = rows.groupby(["site", "year"])["Date Local"].nunique()
    usable = days[days >= 100].reset_index()
    sites = np.sort(rng.choice(usable["site"].unique(), size=n, replace=False))
    described = rows[rows["site"].isin(sites)].drop_duplicates("site").set_index("site").loc[sites, SITE_COLUMNS]
    listed = pd.read_csv(SHARED / "airdata_site_metadata" / "aqs_sites.csv.gz", dtype=str, keep_default_na=False)
    listed["site"] = listed["State Code"] + listed["County Code"] + listed["Site Number"]
    offset = pd.to_numeric(listed.drop_duplicates("site").set_index("site")["GMT Offset"], errors="coerce")
    described["gmt_offset"] = offset.reindex(sites).fillna(-6).astype(int).to_numpy()
    described["years"] = [usable.loc[usable["site"] == s, "year"].to_numpy() for s in sites]
    return described


def move_year(dates: pd.Series, year: int) -> tuple[pd.Series, np.ndarray]:
    """YYYY-MM-DD text moved to another year; False where the day does not exist there (29 February)."""
    moved = str(year) + dates.str[4:]
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return moved, (dates.str[5:].to_numpy() != "02-29") | leap


def pm25_year(rows: pd.DataFrame, sites: pd.DataFrame, year: int, rng: np.random.Generator) -> pd.DataFrame:
    """Each site's rows of one of its real years, moved to year."""
    source = {site: int(rng.choice(years)) for site, years in sites["years"].items()}
    index = pd.MultiIndex.from_arrays([rows["site"], rows["year"]])
    out = rows[index.isin(list(source.items()))].copy()
    out["Date Local"], exists = move_year(out["Date Local"], year)
    return out.loc[exists, DAILY_COLUMNS]


def real_ozone_years() -> list[tuple[np.ndarray, np.ndarray]]:
    """(day of year, MDA8 ppm) of real monitor-years of ozone with at least 150 days."""
    from airwatch.domain.parse import parse_daily_file

    paths = [SHARED / "adviz_queens_college_ny" / "ozone_daily_2001_2019_queens_college_360810124.csv.gz",
             *sorted((SHARED / "adviz_cook_county_il").glob("ozone_daily_199*_cook_county_IL.csv.gz"))]  # fmt: skip
    parts = []
    for p in paths:
        f = parse_daily_file(p.name, p.read_bytes())
        parts.append(pd.DataFrame({"site": f["site_id"].astype(str), "day": f["day"], "value": f["value"]}))
    springs = pd.read_csv(SHARED / "aqs_datamart_daily_ozone_colorado_springs" /
                          "daily_ozone_08-041-0013_0016_1996_2019.csv.gz", dtype=str)  # fmt: skip
    springs = springs[springs["Duration Description"] == "8-HR RUN AVG BEGIN HOUR"]
    day = (pd.to_datetime(springs["Date (Local)"]) - pd.Timestamp("1970-01-01")).dt.days
    parts.append(pd.DataFrame({"site": springs["Site Number"], "day": day,
                               "value": pd.to_numeric(springs["First Maximum Value"])}))  # fmt: skip
    mda8 = pd.concat(parts).dropna().drop_duplicates(["site", "day"])
    when = pd.to_datetime(mda8["day"], unit="D")
    mda8["year"], mda8["doy"] = when.dt.year, when.dt.day_of_year
    out = []
    for _, g in mda8.groupby(["site", "year"]):
        if len(g) >= 150:
            out.append((g["doy"].to_numpy(), g["value"].to_numpy(dtype=np.float64)))
    return out


def ozone_year(
    sites: pd.DataFrame, year: int, pool: list[tuple[np.ndarray, np.ndarray]], factor: np.ndarray,
    seasonal: np.ndarray, rng: np.random.Generator,
) -> pd.DataFrame:  # fmt: skip
    from airwatch import core

    frames = []
    start = np.datetime64(f"{year}-01-01")
    length = int((np.datetime64(f"{year + 1}-01-01") - start).astype(int))
    for i, site in enumerate(sites.index):
        doy, value = pool[int(rng.integers(len(pool)))]
        keep = doy <= length
        doy, value = doy[keep], np.round(value[keep] * factor[i], 3)
        dates = start + (doy - 1).astype("timedelta64[D]")
        if seasonal[i]:
            month = dates.astype("datetime64[M]").astype(int) % 12 + 1
            dates, value = dates[(month >= 3) & (month <= 10)], value[(month >= 3) & (month <= 10)]
        frames.append(pd.DataFrame({"site": site, "Date Local": dates.astype(str), "1st Max Value": value}))
    out = pd.concat(frames, ignore_index=True)
    described = sites.loc[out["site"], SITE_COLUMNS].reset_index(drop=True)
    n, mda8 = len(out), out["1st Max Value"].to_numpy()
    columns = {**{c: described[c].to_numpy() for c in SITE_COLUMNS}, "Date Local": out["Date Local"].to_numpy(),
               "Parameter Code": "44201", "POC": "1", "Parameter Name": "Ozone",
               "Sample Duration": "8-HR RUN AVG BEGIN HOUR", "Pollutant Standard": "Ozone 8-hour 2015",
               "Units of Measure": "Parts per million", "Event Type": "None", "Observation Count": "17",
               "Observation Percent": "100.0", "Arithmetic Mean": np.round(mda8 * 0.82, 6), "1st Max Value": mda8,
               "1st Max Hour": rng.integers(9, 17, n), "AQI": core.aqi("ozone", mda8).astype(int),
               "Method Code": "087", "Method Name": UV,
               "Date of Last Change": "2024-05-20"}  # fmt: skip
    return pd.DataFrame({c: columns[c] if np.ndim(columns[c]) else np.full(n, columns[c]) for c in DAILY_COLUMNS})


def hourly_tables(sites: pd.DataFrame, days: int) -> dict[str, pd.DataFrame]:
    """One year of hours (2019) per parameter in the AirData hourly layout (benchmarks/transform.py's generator)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import transform

    tables, _ = transform.generate_hourly(len(sites), days, seed=SEED)
    shift = int((np.datetime64(f"{LAST_YEAR}-01-01") - np.datetime64("2017-01-01")).astype(int))
    out = {}
    kinds = (
        ("ozone", "44201", "Ozone", "Parts per million", "0.005", 3, "087", UV),
        ("pm25", "88101", "PM2.5 - Local Conditions", "Micrograms/cubic meter (LC)", "2", 1, "209", T640),
    )
    for name, code, parameter, unit, mdl, digits, method_code, method in kinds:
        t = tables[name]
        described = sites.iloc[t["site"]]
        day = t["day"].astype(np.int64) + shift
        local = day * 24 + t["hour"]
        gmt = local - described["gmt_offset"].to_numpy()
        epoch = np.datetime64("1970-01-01")
        out[name] = pd.DataFrame({
            **{c: described[c].to_numpy() for c in SITE_COLUMNS[:6]},
            "Parameter Code": code, "POC": "1", "Parameter Name": parameter,
            "Date Local": (epoch + day.astype("timedelta64[D]")).astype(str),
            "Time Local": np.char.add(np.char.zfill(t["hour"].astype(str), 2), ":00"),
            "Date GMT": (epoch + (gmt // 24).astype("timedelta64[D]")).astype(str),
            "Time GMT": np.char.add(np.char.zfill((gmt % 24).astype(str), 2), ":00"),
            "Sample Measurement": np.round(t["value"], digits), "Units of Measure": unit, "MDL": mdl,
            "Uncertainty": "", "Qualifier": "", "Method Type": "FEM", "Method Code": method_code, "Method Name": method,
            "State Name": described["State Name"].to_numpy(), "County Name": described["County Name"].to_numpy(),
            "Date of Last Change": "2024-05-20",
        })[HOURLY_COLUMNS]  # fmt: skip
    return out


def spoil(lines: list[bytes], rng: np.random.Generator, value_field: int, date_field: int) -> list[bytes]:
    """Copies of a few rows, each broken one way real files are."""
    bad = []
    for how in ("text", "negative", "absurd", "no day", "short", "ocean") * 3:
        fields = lines[int(rng.integers(len(lines)))].split(b",")
        if how == "text":
            fields[value_field] = b'"x' + fields[value_field].strip(b'"') + b'"'
        elif how == "negative":
            fields[value_field] = b"-47.3"
        elif how == "absurd":
            fields[value_field] = b"98765.4"
        elif how == "no day":
            fields[date_field] = b'"' + fields[date_field].strip(b'"')[:5] + b'02-30"'
        elif how == "short":
            fields = fields[: len(fields) // 2]
        else:
            fields[5], fields[6] = b"0.0", b"0.0"
        bad.append(b",".join(fields))
    return bad


def write_csv(frame: pd.DataFrame, path: Path, bad: int = 0, rng: np.random.Generator | None = None) -> int:
    """A frame as EPA's gzipped CSV (every text field quoted), with bad copies of a few rows when asked."""
    buffer = io.BytesIO()
    table = pa.Table.from_pandas(frame.astype(str), preserve_index=False)
    pcsv.write_csv(table, buffer, pcsv.WriteOptions(quoting_style="all_valid"))
    data = buffer.getvalue()
    if bad and rng is not None:
        head = data[: 1 << 20].split(b"\n")[1:-1]
        columns = list(frame.columns)
        value = columns.index("Arithmetic Mean" if "Arithmetic Mean" in columns else "Sample Measurement")
        data += b"\n".join(spoil(head, rng, value, columns.index("Date Local"))) + b"\n"
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(data)
    return len(frame)


def generate(folder: Path, n_sites: int, years: int, hourly_days: int) -> dict[str, int]:
    """Write the GENERATED files into folder; rows written per kind."""
    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "GENERATED.txt").write_text("GENERATED by benchmarks/load.py for a load test: not real measurements.\n")
    real = real_pm25()
    sites = pick_sites(real, n_sites, rng)
    pool = real_ozone_years()
    peaks = pd.read_csv(SHARED / "airnow_daily_peak_2018" / "20180722-peak.dat.gz", sep="|",
                        header=None)  # fmt: skip
    spread = peaks[peaks[3] == "OZONE-8HR"][5].to_numpy(dtype=np.float64)
    factor = np.clip(rng.choice(spread, n_sites) / np.nanmean(spread), 0.5, 1.5)
    seasonal = (pd.to_numeric(sites["Latitude"]).to_numpy() > 40) & (rng.random(n_sites) < 0.5)
    counts = {"daily pm25": 0, "daily ozone": 0, "hourly": 0}
    for year in range(LAST_YEAR - years + 1, LAST_YEAR + 1):
        last = year == LAST_YEAR
        pm25 = pm25_year(real, sites, year, rng)
        for code, rows in pm25.groupby("Parameter Code"):  # one file per parameter, as EPA ships them
            counts["daily pm25"] += write_csv(rows, folder / f"daily_{code}_{year}.csv.gz", bad=last, rng=rng)
        counts["daily ozone"] += write_csv(ozone_year(sites, year, pool, factor, seasonal, rng),
                                           folder / f"daily_44201_{year}.csv.gz", bad=last, rng=rng)  # fmt: skip
    del real
    if hourly_days:
        for name, table in hourly_tables(sites, hourly_days).items():
            code = "44201" if name == "ozone" else "88101"
            counts["hourly"] += write_csv(table, folder / f"hourly_{code}_{LAST_YEAR}.csv.gz", bad=1, rng=rng)
    return counts


# ---------------------------------------------------------------- the run
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=1000, help="Generated sites (real AirData sites).")
    parser.add_argument("--years", type=int, default=10, help="Years of daily data, ending 2019.")
    parser.add_argument("--hourly-days", type=int, default=365, help="Days of hourly data (2019); 0: none.")
    parser.add_argument("--keep", type=Path, help="Generate into this folder and keep it (default: a temporary one).")
    parser.add_argument("--generate-only", action="store_true", help="Write the files and stop.")
    parser.add_argument(
        "--max-mb", type=float, default=20_000, help="Stop the run above this many MB (shared machine)."
    )
    parser.add_argument("--json", type=Path, help="Write the benchmark JSON here.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="airwatch-load-"))
    folder = args.keep or work / "GENERATED-input"
    try:
        start = time.time()
        # In a child process: the generator's memory is not the parent's while the run is measured.
        command = [sys.executable, __file__, "--generate-only", "--keep", str(folder), "--sites", str(args.sites),
                   "--years", str(args.years), "--hourly-days", str(args.hourly_days)]  # fmt: skip
        if args.generate_only:
            counts = generate(folder, args.sites, args.years, args.hourly_days)
            print(json.dumps(counts))
            return
        generated = json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout)
        size = sum(p.stat().st_size for p in folder.glob("*.csv.gz")) / 2**20
        print(f"GENERATED {generated} rows in {time.time() - start:.0f} s ({size:.0f} MB gzipped) in {folder}",
              flush=True)  # fmt: skip
        sys.path.insert(0, str(Path(__file__).parent))
        from pipeline import AIRWATCH, measured, stage_table

        env = {**os.environ, "AIRWATCH_STORE": str(work / "store"), "PREFECT_HOME": str(work / "prefect"),
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "true",
               "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
        report_path = work / "report.json"
        seconds, samples, _ = measured([AIRWATCH, "run", "--input-dir", str(folder), "--report",
                                        str(report_path)], env, limit_mb=args.max_mb)  # fmt: skip
        report = json.loads(report_path.read_text())
        stages = stage_table(report, samples)
        peak = max(mb for _, mb in samples)
        rows = report["validate"]["rows"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load: airwatch run on GENERATED national-scale data ({rows:,} rows read; valid "
          f"{report['validate']['valid']:,}, quarantined {report['validate']['quarantined']:,}), "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'stage':<16}{'seconds':>10}{'peak MB':>10}")
    for s in stages:
        print(f"{s['stage']:<16}{s['seconds']:>10.1f}{s['peak_mb']:>10.0f}")
    print(f"{'whole run':<16}{seconds:>10.1f}{peak:>10.0f}   (target: peak under {TARGET_MB} MB)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"benchmark": "load", "rows": rows, "generated": generated,
                                         "results": [{"impl": "airwatch", "seconds": seconds, "peak_mb": peak}],
                                         "stages": stages}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
