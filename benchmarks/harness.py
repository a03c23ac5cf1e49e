"""What the benchmarks share: one thread cap for every library, one forked child per implementation
(its own peak RSS), outputs compared column by column with AirWatch's, ratios printed both ways.

Import this module before anything that imports Polars: Polars sizes its thread pool from
POLARS_MAX_THREADS when it starts, so the cap is set here, at import.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import multiprocessing as mp
import os
import queue as queues
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

THREADS = 2  # the same cap for every implementation (the machine has 2 cores)
if "polars" in sys.modules:
    raise ImportError("import harness before polars: Polars reads POLARS_MAX_THREADS once, when it starts")
os.environ["POLARS_MAX_THREADS"] = str(THREADS)

_duckdb: Any = None  # the child's DuckDB connection, made (and capped) before the timed region


def cap_threads() -> dict[str, str]:
    """Cap every library's pool at THREADS in this process and report what each one actually uses.

    pandas has no thread pool of its own (and numexpr, which it would use for some arithmetic, is not
    installed): it is single-threaded. pyarrow (under pandas' Parquet writer and in the ingest
    benchmark) is capped like the rest.
    """
    global _duckdb
    import duckdb
    import polars as pl
    import pyarrow as pa

    pa.set_cpu_count(THREADS)
    _duckdb = duckdb.connect()
    _duckdb.execute(f"SET threads = {THREADS}")
    caps = {
        "airwatch": str(THREADS),  # the kernels' `threads` argument
        "polars": str(pl.thread_pool_size()),
        "duckdb": str(_duckdb.execute("SELECT current_setting('threads')").fetchall()[0][0]),
        "pyarrow": str(pa.cpu_count()),
        "pandas": "1",
    }
    wrong = {k: v for k, v in caps.items() if k != "pandas" and v != str(THREADS)}
    if wrong:
        raise RuntimeError(f"thread cap not applied: {wrong} (expected {THREADS})")
    return caps


def duckdb_connection() -> Any:
    """The DuckDB connection cap_threads made (SET threads done before timing)."""
    if _duckdb is None:
        raise RuntimeError("cap_threads() first")
    return _duckdb


def cap_line(caps: Mapping[str, str]) -> str:
    return (
        f"threads: airwatch {caps['airwatch']} (kernel argument), Polars {caps['polars']} (POLARS_MAX_THREADS), "
        f"DuckDB {caps['duckdb']} (SET threads), pyarrow {caps['pyarrow']} (set_cpu_count), "
        "pandas 1 (single-threaded)"
    )


NATIONAL_PM25 = Path(__file__).resolve().parents[2] / "shared" / "data" / "epa" / "airdata_daily_pm25_national"


def national_pm25(pattern: str, label: str) -> tuple[str, Any]:
    """What the data are, and the national AirData PM2.5 files matching pattern parsed into one frame.

    From ../shared when it is there, else from the bundled Cook County sample (real data both).
    """
    import pandas as pd

    from airwatch.domain.parse import parse_daily_file
    from airwatch.io.files import bundled_sample_dir

    files = sorted(NATIONAL_PM25.glob(pattern)) if NATIONAL_PM25.exists() else []
    source = f"{label} (real)"
    if not files:
        files = sorted(bundled_sample_dir().glob("*.csv.gz"))
        source = "bundled Cook County sample (real)"
    return source, pd.concat([parse_daily_file(p.name, p.read_bytes()) for p in files], ignore_index=True)


# ---------------------------------------------------------------- comparing outputs
@dataclass(frozen=True)
class Tolerance:
    """|got - airwatch| <= atol + rtol * |airwatch| for floats; missing exactly where airwatch's is."""

    rtol: float
    atol: float

    def __str__(self) -> str:
        return f"|x - airwatch| <= {self.atol:g} + {self.rtol:g} * |airwatch|; missing values in the same rows"


@dataclass
class ColumnCheck:
    column: str
    bad: int  # rows beyond the tolerance (or unequal, for exact columns)
    max_abs: float  # largest absolute difference among rows both have (0 for exact columns)
    note: str = ""


def compare(got: Mapping[str, np.ndarray], ref: Mapping[str, np.ndarray], tol: Tolerance) -> list[ColumnCheck]:
    """Every column of ref against got's column of that name: floats to tol, everything else exactly."""
    checks = []
    for name, b in ref.items():
        if name not in got:
            checks.append(ColumnCheck(name, len(b), np.inf, "column missing"))
            continue
        a = np.asarray(got[name])
        if len(a) != len(b):
            checks.append(ColumnCheck(name, max(len(a), len(b)), np.inf, f"{len(a)} rows, airwatch {len(b)}"))
            continue
        if b.dtype.kind == "f":
            a = a.astype(np.float64)
            na, nb = np.isnan(a), np.isnan(b)
            both = ~na & ~nb
            diff = np.abs(a[both] - b[both])
            beyond = int(np.count_nonzero(diff > tol.atol + tol.rtol * np.abs(b[both])))
            nan_bad = int(np.count_nonzero(na != nb))
            note = f"{nan_bad} rows missing in one only" if nan_bad else ""
            checks.append(ColumnCheck(name, beyond + nan_bad, float(diff.max(initial=0.0)), note))
        else:
            checks.append(ColumnCheck(name, int(np.count_nonzero(a != b)), 0.0))
    return checks


def summarize(impl: str, checks: list[ColumnCheck]) -> str:
    bad = [c for c in checks if c.bad]
    if bad:
        parts = [f"{c.column}: {c.bad} rows{' (' + c.note + ')' if c.note else ''}, max |diff| {c.max_abs:.3g}"
                 for c in bad]  # fmt: skip
        return f"{impl}: DISAGREES with airwatch in {len(bad)} of {len(checks)} columns: " + "; ".join(parts)
    worst = max(checks, key=lambda c: c.max_abs)
    return (
        f"{impl}: {'all ' if len(checks) > 1 else ''}{len(checks)} column{'s' if len(checks) > 1 else ''} agree"
        " with airwatch "
        f"(largest difference {worst.max_abs:.2g}{' in ' + worst.column if worst.max_abs else ''})"
    )


# ---------------------------------------------------------------- running one implementation
@dataclass
class Result:
    impl: str
    seconds: float
    peak_mb: float
    caps: dict[str, str] = field(default_factory=dict)
    checks: list[ColumnCheck] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def _start_peak() -> float:
    """Make the peak start here; returns the RSS it starts from (MB).

    A forked child inherits the parent's heap, freed blocks included: reusing them costs no new
    resident pages, so RSS growth would miss allocations that happen to land there. Freed heap
    memory goes back to the kernel first (malloc_trim), then the kernel's high-water mark is reset
    to the current RSS (/proc/self/clear_refs, Linux >= 4.0).
    """
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status_mb("VmRSS")


def _child(
    impl: str,
    run: Callable[[], Any],
    repeat: int,
    columns: Callable[[Any], Mapping[str, np.ndarray]] | None,
    reference: Mapping[str, np.ndarray] | None,
    tol: Tolerance | None,
    info: Callable[[Any], dict[str, Any]] | None,
    prepare: Callable[[], None] | None,
    out: Any,
) -> None:
    if prepare is not None:  # the child's own set-up, outside the time and the peak
        prepare()
    caps = cap_threads()  # also imports Polars, DuckDB and pyarrow: imports are not part of time or peak
    base = _start_peak()
    best, got = float("inf"), None
    for _ in range(repeat):
        got = None  # the previous run's output is not part of this run's time or memory
        start = time.perf_counter()
        got = run()
        best = min(best, time.perf_counter() - start)
    peak = _status_mb("VmHWM") - base
    # Outside the timed region: the output as NumPy columns, compared with airwatch's.
    checks = compare(columns(got), reference, tol) if columns and reference is not None and tol else []
    out.put(Result(impl, best, peak, caps, checks, info(got) if info else {}))


def run_isolated(
    impl: str,
    run: Callable[[], Any],
    repeat: int,
    *,
    columns: Callable[[Any], Mapping[str, np.ndarray]] | None = None,
    reference: Mapping[str, np.ndarray] | None = None,
    tol: Tolerance | None = None,
    info: Callable[[Any], dict[str, Any]] | None = None,
    prepare: Callable[[], None] | None = None,
) -> Result:
    """Best of `repeat` runs of run() in a forked child, its RSS growth, and its output checked.

    prepare: called first in the child, untimed (what cannot be made before the fork, such as
    anything that starts OpenMP threads: a forked child of a process that ran OpenMP hangs in it).
    """
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=_child, args=(impl, run, repeat, columns, reference, tol, info, prepare, out))
    proc.start()
    result = None
    while result is None:
        try:
            result = out.get(timeout=1.0)
        except queues.Empty:
            if not proc.is_alive():
                raise SystemExit(f"{impl} failed (exit {proc.exitcode})") from None
    proc.join()
    return result


# ---------------------------------------------------------------- reporting
def versus(x: float, ours: float, more: str, less: str) -> str:
    """x against airwatch's figure in words: '1.3x faster', '4.0x slower', 'same'."""
    if ours <= 0 or x <= 0:
        return "-"
    if abs(x - ours) / ours < 0.005:
        return "same"
    return f"{x / ours:.2f}x {more}" if x > ours else f"{ours / x:.2f}x {less}"


def print_table(results: list[Result], extra: Callable[[Result], str] | None = None, extra_head: str = "") -> None:
    ours = next(r for r in results if r.impl == "airwatch")
    print(f"{'impl':<18}{'threads':>8}{'seconds':>10}{'peak MB':>10}{extra_head}{'time vs airwatch':>20}"
          f"{'memory vs airwatch':>20}")  # fmt: skip
    for r in results:
        threads = r.caps.get(r.impl.split("+")[0], r.caps.get("airwatch", "?"))
        time_vs = "-" if r is ours else versus(r.seconds, ours.seconds, "slower", "faster")
        mem_vs = "-" if r is ours else versus(r.peak_mb, ours.peak_mb, "more", "less")
        print(f"{r.impl:<18}{threads:>8}{r.seconds:>10.3f}{r.peak_mb:>10.1f}{extra(r) if extra else ''}"
              f"{time_vs:>20}{mem_vs:>20}")  # fmt: skip
    peers = [r for r in results if not r.impl.startswith("airwatch")]
    faster = [f"{r.impl} ({ours.seconds / r.seconds:.2f}x faster)" for r in peers if r.seconds < ours.seconds]
    leaner = [f"{r.impl} ({ours.peak_mb / r.peak_mb:.2f}x less memory)" for r in peers if r.peak_mb < ours.peak_mb]
    print(f"peers faster than airwatch: {', '.join(faster) or 'none'}")
    print(f"peers with a lower peak than airwatch: {', '.join(leaner) or 'none'}")


def report_checks(results: list[Result], tol: Tolerance) -> bool:
    """Print each implementation's agreement with airwatch; False when any column disagrees."""
    print(f"outputs compared with airwatch's, every column; floats: {tol}; integers, flags and keys exactly")
    ok = True
    for r in results:
        print("  " + summarize(r.impl, r.checks))
        ok = ok and not any(c.bad for c in r.checks)
    return ok


def options(doc: str) -> argparse.Namespace:
    """The command line of a benchmark that takes only --json and --repeat (best of N, 3 by default)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--json", type=Path, help="Write the benchmark JSON here.")
    parser.add_argument("--repeat", type=int, default=3, help="Best of this many runs each.")
    return parser.parse_args()


def load_line(when: str) -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {when}: {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min; {os.cpu_count()} cores)"


def finish(
    benchmark: str,
    results: list[Result],
    tol: Tolerance,
    json_path: Path | None,
    rows: int,
    extra: Callable[[Result], str] | None = None,
    extra_head: str = "",
) -> None:
    """The end of a benchmark: thread caps, the table, the load, the output checks, then the JSON.

    Exits with an error (before writing the JSON) when an implementation's output disagrees with airwatch's.
    """
    print(cap_line(results[0].caps))
    print_table(results, extra, extra_head)
    print(load_line("at end"))
    if not report_checks(results, tol):
        raise SystemExit(f"{benchmark}: an implementation disagrees with airwatch beyond the tolerance (above)")
    write_json(json_path, benchmark, rows, results)


def write_json(path: Path | None, benchmark: str, rows: int, results: list[Result]) -> None:
    if path is None:
        return
    entries = [{"impl": r.impl, "seconds": r.seconds, "peak_mb": r.peak_mb} for r in results]
    path.write_text(json.dumps({"benchmark": benchmark, "rows": rows, "results": entries}, indent=2) + "\n")


__all__ = [
    "THREADS",
    "ColumnCheck",
    "Result",
    "Tolerance",
    "cap_line",
    "cap_threads",
    "compare",
    "duckdb_connection",
    "finish",
    "load_line",
    "national_pm25",
    "print_table",
    "report_checks",
    "run_isolated",
    "versus",
    "write_json",
]
