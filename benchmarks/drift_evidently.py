"""Evidently's side of benchmarks/drift.py, run in Evidently's own environment (build/bench-evidently).

Reads the season-restricted reference and the current batch that benchmarks/drift.py wrote, computes
PSI, KS and Wasserstein per feature with Evidently's data-drift metrics and writes the timing, the
peak memory growth (the process's RSS high-water mark during a run, above its RSS before) and
the values as JSON. Variants:
- metrics: one ValueDrift metric per feature and method (psi, ks, wasserstein): the least work that
  yields the three statistics;
- preset: DataDriftPreset once per method, the data-drift report as Evidently documents it (it adds
  a DriftedColumnsCount per method).

    build/bench-evidently/bin/python benchmarks/drift_evidently.py DATA_DIR VARIANT REPEAT OUT_JSON
"""

from __future__ import annotations

import ctypes
import gc
import json
import sys
import time
from pathlib import Path

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import ValueDrift
from evidently.presets import DataDriftPreset

METHODS = ("psi", "ks", "wasserstein")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> int:
    """Reset the kernel's peak-RSS mark (VmHWM; Linux >= 4.0) and return the RSS now, in KiB.

    ru_maxrss cannot be reset, so reading the Parquet files (a higher transient peak than the work
    itself) would hide the growth of the timed run; and memory freed earlier but kept by malloc would
    be reused unseen, so it is handed back to the system first.
    """
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def peak_growth_mb(base_kib: int) -> float:
    return (_status_kib("VmHWM") - base_kib) / 1024


def make_report(variant: str, columns: list[str]) -> Report:
    if variant == "metrics":
        return Report([ValueDrift(column=c, method=m) for c in columns for m in METHODS])
    if variant == "preset":
        return Report([DataDriftPreset(columns=columns, method=m) for m in METHODS])
    raise SystemExit(f"unknown variant {variant!r}")


def run(variant: str, reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]):
    definition = DataDefinition(numerical_columns=columns)
    return make_report(variant, columns).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )


def values(snapshot) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            out.setdefault(config["column"], {})[config["method"]] = float(metric["value"])
    return out


def main() -> None:
    data, variant, repeat, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    meta = json.loads((data / "meta.json").read_text())
    columns = meta["features"]
    reference = pd.read_parquet(data / "reference_weeks.parquet", columns=columns)
    current = pd.read_parquet(data / "current.parquet", columns=columns)
    # Warm-up on a slice: lazy imports and registries are a first-call cost a monitoring service pays once.
    run(variant, reference.iloc[:2000, :2], current.iloc[:500, :2], columns[:2])
    best, peak_mb, snapshot = float("inf"), 0.0, None
    for _ in range(repeat):
        snapshot = None  # the previous run's results are not part of this run's memory
        base = reset_peak()
        start = time.perf_counter()
        snapshot = run(variant, reference, current, columns)
        best = min(best, time.perf_counter() - start)
        peak_mb = max(peak_mb, peak_growth_mb(base))
    result = {"seconds": best, "peak_mb": peak_mb, "values": values(snapshot)}
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
