"""Ingest benchmark: an AirData daily CSV to Parquet, the C++ reader against pyarrow's, Polars', DuckDB's
and pandas' CSV readers, every one reading the same columns typed the same way.

Data: the real EPA AirData national daily PM2.5 file (daily_88502_<year>, ../shared/data/epa),
decompressed to a temporary CSV before timing so every reader starts from the same bytes on disk.

Same work for every implementation (timed): read the 19 columns AirWatch's AirData daily layout reads
(of the file's 29), typed as AirWatch types them (5 int64, 7 float64, 1 date, 6 dictionary-encoded
text columns: Arrow dictionary, Polars Categorical, pandas category; DuckDB has no dictionary type for
text it reads, so VARCHAR, its string type), text without the blanks around it (AirWatch's reader
drops them; the others strip their text columns), and write them to one zstd Parquet file.
- airwatch: C++ reader over the memory-mapped file (two threads) -> Arrow arrays -> pyarrow's writer;
- pyarrow: pyarrow.csv.read_csv (include_columns, column_types), utf8_trim + dictionary_encode ->
  pyarrow's writer;
- polars: pl.read_csv (columns, schema_overrides), str.strip_chars + Categorical -> write_parquet;
- duckdb: COPY (SELECT the columns, trim() on text, FROM read_csv(types=...)) TO parquet;
- pandas: pd.read_csv (usecols, dtype, parse_dates, only empty fields missing: "None" is an Event
  Type; single-threaded C parser), str.strip + category -> to_parquet (pyarrow's writer, 2 threads).
Every column of every Parquet file is then compared with airwatch's (not timed), and the script fails
on any difference beyond the printed tolerance.

One more row, for information: airwatch+validate is AirWatch's real ingest path (the same reader, then
normalized observations, the C++ validation rules, valid rows and quarantine to Parquet): more work
than the others do, so not a like-for-like comparison. Each implementation runs in a forked child (its
own peak RSS) under the same thread cap.

    python benchmarks/ingest.py [--year 2016] [--json FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import harness  # sets the Polars thread cap before anything imports Polars
import numpy as np

from airwatch import core
from airwatch.core import ColumnKind

NATIONAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "epa" / "airdata_daily_pm25_national"
I64, F64, DATE, DICT = ColumnKind.INT64, ColumnKind.FLOAT64, ColumnKind.DATE, ColumnKind.DICTIONARY
# The columns (and kinds) airwatch.domain.parse reads from an AirData daily file.
COLUMNS = [
    ("State Code", I64), ("County Code", I64), ("Site Num", I64), ("Parameter Code", I64), ("POC", I64),
    ("Latitude", F64), ("Longitude", F64), ("Date Local", DATE), ("Units of Measure", DICT),
    ("Date of Last Change", DICT), ("Sample Duration", DICT), ("Pollutant Standard", DICT), ("Event Type", DICT),
    ("Observation Count", F64), ("Observation Percent", F64), ("Arithmetic Mean", F64), ("1st Max Value", F64),
    ("AQI", F64), ("Local Site Name", DICT),
]  # fmt: skip
NAMES = [name for name, _ in COLUMNS]
TEXT = [name for name, kind in COLUMNS if kind == DICT]
# AirWatch's reader drops blanks around every field (AirData has site names like " PULLMAN - DEXTER
# AVE 4"); the peers' readers keep them, so they strip their text columns, then dictionary-encode them.
BLANKS = " \t"
# Numbers are parsed from the same text; every reader here rounds decimal text to the nearest double.
TOLERANCE = harness.Tolerance(rtol=0.0, atol=0.0)


def run_airwatch(csv: Path, out: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from airwatch.io.files import mapped

    with mapped(csv) as data:
        table = core.read_csv(data, COLUMNS, threads=harness.THREADS)
    arrays = {}
    for name, kind in COLUMNS:
        if kind == DICT:
            d = table.dictionary(name)
            arrays[name] = pa.DictionaryArray.from_arrays(d.codes, pa.array(d.categories, pa.string()))
        elif kind == DATE:
            arrays[name] = pa.array(table.array(name)).view(pa.date32())  # days since 1970-01-01
        else:
            arrays[name] = pa.array(table.array(name))
    pq.write_table(pa.table(arrays), out, compression="zstd")
    return table.rows


def run_airwatch_validate(csv: Path, out: Path) -> int:
    from airwatch.domain.validate import validate_observations
    from airwatch.io.datasets import to_parquet_bytes
    from airwatch.io.files import parse_daily_path

    frame = parse_daily_path(csv)
    result = validate_observations(frame, max_day=40_000)
    out.write_bytes(to_parquet_bytes(result.valid))
    (out.parent / "quarantine.parquet").write_bytes(to_parquet_bytes(result.quarantined))
    return len(result.valid) + len(result.quarantined)


def run_pyarrow(csv: Path, out: Path) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    kinds = {I64: pa.int64(), F64: pa.float64(), DATE: pa.date32(), DICT: pa.string()}
    options = pcsv.ConvertOptions(include_columns=NAMES, column_types={n: kinds[k] for n, k in COLUMNS})
    table = pcsv.read_csv(csv, convert_options=options)
    for name in TEXT:
        trimmed = pc.dictionary_encode(pc.utf8_trim(table.column(name), BLANKS))
        table = table.set_column(table.schema.get_field_index(name), name, trimmed)
    pq.write_table(table, out, compression="zstd")
    return table.num_rows


def run_polars(csv: Path, out: Path) -> int:
    import polars as pl

    kinds = {I64: pl.Int64, F64: pl.Float64, DATE: pl.Date, DICT: pl.String}
    df = pl.read_csv(csv, columns=NAMES, schema_overrides={n: kinds[k] for n, k in COLUMNS})
    df = df.with_columns(pl.col(TEXT).str.strip_chars(BLANKS).cast(pl.Categorical))
    df.write_parquet(out, compression="zstd")
    return df.height


def run_duckdb(csv: Path, out: Path) -> int:
    con = harness.duckdb_connection()  # threads set before timing
    kinds = {I64: "BIGINT", F64: "DOUBLE", DATE: "DATE", DICT: "VARCHAR"}
    types = ", ".join(f"'{n}': '{kinds[k]}'" for n, k in COLUMNS)
    select = ", ".join(f'trim("{n}", \'{BLANKS}\') AS "{n}"' if k == DICT else f'"{n}"' for n, k in COLUMNS)
    rows = con.execute(
        f"COPY (SELECT {select} FROM read_csv('{csv}', header = true, types = {{{types}}})) "
        f"TO '{out}' (FORMAT parquet, COMPRESSION zstd)"
    ).fetchall()
    return int(rows[0][0])


def run_pandas(csv: Path, out: Path) -> int:
    import pandas as pd

    kinds = {I64: "int64", F64: "float64", DICT: "str"}
    df = pd.read_csv(
        csv, usecols=NAMES, dtype={n: kinds[k] for n, k in COLUMNS if k != DATE}, parse_dates=["Date Local"],
        date_format="%Y-%m-%d", keep_default_na=False, na_values=[""],  # "None" is an Event Type, not a NaN
    )  # fmt: skip
    for name in TEXT:
        df[name] = df[name].str.strip(BLANKS).astype("category")
    df.to_parquet(out, compression="zstd")
    return len(df)


IMPLS = {
    "airwatch": run_airwatch,
    "pyarrow": run_pyarrow,
    "polars": run_polars,
    "duckdb": run_duckdb,
    "pandas": run_pandas,
    "airwatch+validate": run_airwatch_validate,
}


def parquet_columns(path: Path) -> Mapping[str, np.ndarray]:
    """A Parquet file's columns as NumPy: dates as day numbers, text as str ('' for missing), nulls as NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    out: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_dictionary(col.type) or pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            text = pc.fill_null(col.cast(pa.string()), "")
            out[name] = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
        elif pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            out[name] = col.cast(pa.date32()).cast(pa.int32()).to_numpy()
        elif pa.types.is_floating(col.type):
            out[name] = col.to_numpy().astype(np.float64)
        else:
            out[name] = col.to_numpy()
    return out


def check_validated(folder: Path, reference: Mapping[str, np.ndarray]) -> list[harness.ColumnCheck]:
    """airwatch+validate's rows: every input row once (valid or quarantined), its value the file's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = [pq.read_table(folder / f, columns=["raw_row", "value"]) for f in ("out.parquet", "quarantine.parquet")]
    table = pa.concat_tables(parts)
    order = np.argsort(table.column("raw_row").to_numpy())
    rows = table.column("raw_row").to_numpy()[order]
    value = table.column("value").to_numpy()[order].astype(np.float64)
    expected = np.arange(1, len(reference["Arithmetic Mean"]) + 1)
    same_rows = len(rows) == len(expected) and bool(np.array_equal(rows, expected))
    if not same_rows:
        return [harness.ColumnCheck("raw_row", abs(len(rows) - len(expected)) or 1, np.inf, "rows lost or repeated")]
    return harness.compare({"value": value}, {"value": reference["Arithmetic Mean"]}, TOLERANCE)


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
        size_mb = csv.stat().st_size / 1e6
        print(f"ingest benchmark: {source.name} (real EPA AirData), {size_mb:.0f} MB of CSV; every implementation "
              f"reads the same {len(COLUMNS)} columns, typed alike, and writes them to zstd Parquet")  # fmt: skip
        print(harness.load_line("at start"))
        results: list[harness.Result] = []
        for name, fn in IMPLS.items():
            folder = Path(tmp) / name
            folder.mkdir()
            run = partial(fn, csv, folder / "out.parquet")
            results.append(harness.run_isolated(name, run, args.repeat, info=lambda n: {"rows": n}))
        # Outside any timing: every output read back and compared with airwatch's, column by column.
        reference = parquet_columns(Path(tmp) / "airwatch" / "out.parquet")
        for r in results:
            if r.impl == "airwatch+validate":
                r.checks = check_validated(Path(tmp) / r.impl, reference)
            else:
                r.checks = harness.compare(parquet_columns(Path(tmp) / r.impl / "out.parquet"), reference, TOLERANCE)
    rows = results[0].info["rows"]
    print(f"{rows:,} rows")
    print(harness.cap_line(results[0].caps))
    harness.print_table(results, lambda r: f"{size_mb / r.seconds:>8.0f}", f"{'MB/s':>8}")
    print(harness.load_line("at end"))
    ok = harness.report_checks(results, TOLERANCE)
    wrong_rows = {r.impl: r.info["rows"] for r in results if r.info["rows"] != rows}
    if wrong_rows:
        print(f"row counts differ from airwatch's {rows}: {wrong_rows}")
    if not ok or wrong_rows:
        raise SystemExit("ingest: an implementation disagrees with airwatch (above)")
    harness.write_json(args.json, "ingest", rows, results)


if __name__ == "__main__":
    main()
