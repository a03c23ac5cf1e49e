"""Ingest benchmark: an AirData daily CSV to validated Parquet, against pyarrow's, Polars' and pandas'
CSV readers writing the same file to Parquet (no validation for them).

Data: the real EPA AirData national daily PM2.5 file (daily_88502_<year>, ../shared/data/epa),
decompressed to a temporary CSV before timing so every reader starts from the same bytes on disk.
AirWatch's path: C++ CSV reader over the memory-mapped file (typed columns, two threads) ->
normalized observations -> C++ validation rules -> valid rows and quarantine to Parquet. Row counts
and values are checked against pyarrow's and pandas' before the table is printed. Each
implementation runs in a forked child for its own peak RSS.

    python benchmarks/ingest.py [--year 2016] [--json FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

NATIONAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "epa" / "airdata_daily_pm25_national"


def run_airwatch(csv: Path, out: Path) -> dict:
    import pyarrow.parquet as pq

    from airwatch.domain.validate import validate_observations
    from airwatch.io.datasets import to_parquet_bytes
    from airwatch.io.files import parse_daily_path

    frame = parse_daily_path(csv)
    result = validate_observations(frame, max_day=40_000)
    out.write_bytes(to_parquet_bytes(result.valid))
    if len(result.quarantined):
        (out.parent / "quarantine.parquet").write_bytes(to_parquet_bytes(result.quarantined))
    table = pq.read_table(out, columns=["value"])
    return {"rows": len(result.valid) + len(result.quarantined), "sum": float(np.nansum(table["value"].to_numpy()))}


def run_pyarrow(csv: Path, out: Path) -> dict:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pcsv.read_csv(csv)
    pq.write_table(table, out, compression="zstd")
    return {"rows": table.num_rows}


def run_polars(csv: Path, out: Path) -> dict:
    import polars as pl

    df = pl.read_csv(csv, infer_schema_length=10_000)
    df.write_parquet(out, compression="zstd")
    return {"rows": df.height}


def run_pandas(csv: Path, out: Path) -> dict:
    import pandas as pd

    df = pd.read_csv(csv, low_memory=False)
    df.to_parquet(out, compression="zstd")
    return {"rows": len(df), "sum": float(np.nansum(df["Arithmetic Mean"].to_numpy()))}


IMPLS = {"airwatch": run_airwatch, "pyarrow": run_pyarrow, "polars": run_polars, "pandas": run_pandas}


def _child(name: str, csv: Path, repeat: int, queue) -> None:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best, info = float("inf"), {}
    for i in range(repeat):
        out = csv.parent / f"{name}-{i}" / "out.parquet"
        out.parent.mkdir()
        start = time.perf_counter()
        info = IMPLS[name](csv, out)
        best = min(best, time.perf_counter() - start)
    queue.put((best, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024, info))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2016, help="which national daily_88502 file (2014-2019)")
    parser.add_argument("--json", type=Path, help="write results as JSON here")
    parser.add_argument("--repeat", type=int, default=3, help="runs per implementation; the best is kept")
    args = parser.parse_args()
    source = NATIONAL / f"daily_88502_{args.year}.csv.gz"
    if not source.exists():
        raise SystemExit(f"{source} not found: this benchmark needs ../shared/data/epa")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / source.name.removesuffix(".gz")
        csv.write_bytes(gzip.decompress(source.read_bytes()))
        ctx = mp.get_context("fork")
        results, infos = [], {}
        for name in IMPLS:
            queue = ctx.Queue()
            proc = ctx.Process(target=_child, args=(name, csv, args.repeat, queue))
            proc.start()
            seconds, peak, info = queue.get()
            proc.join()
            results.append({"impl": name, "seconds": seconds, "peak_mb": peak})
            infos[name] = info
        rows = infos["pyarrow"]["rows"]
        for name, info in infos.items():
            if info["rows"] != rows:
                raise SystemExit(f"{name} read {info['rows']} rows, pyarrow {rows}")
        if not np.isclose(infos["airwatch"]["sum"], infos["pandas"]["sum"], rtol=1e-9):
            raise SystemExit("airwatch's values disagree with pandas'")
        size_mb = csv.stat().st_size / 1e6
    ours = results[0]["seconds"]
    print(f"ingest benchmark: {source.name} (real EPA AirData), {rows:,} rows, {size_mb:.0f} MB of CSV")
    print(f"{'impl':<10}{'seconds':>10}{'MB/s':>8}{'peak MB':>10}{'x slower than airwatch':>26}")
    for r in results:
        print(f"{r['impl']:<10}{r['seconds']:>10.3f}{size_mb / r['seconds']:>8.0f}{r['peak_mb']:>10.1f}"
              f"{r['seconds'] / ours:>26.2f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "ingest", "rows": rows, "results": results}, indent=2))


if __name__ == "__main__":
    main()
