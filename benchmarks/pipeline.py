"""The whole pipeline at national scale: `airwatch run`, stage by stage, with peak memory.

Input (real EPA data, ../shared): the national AirData daily PM2.5 folder (2014-2019, about 2 M rows,
1,419 sites) plus the Queens College ozone export. Three measurements, each in a child process whose
whole process tree is sampled for memory every 50 ms:
- `airwatch run` on a fresh store (the first run: everything is processed and trained);
- `airwatch run` again on the same store (nothing new: every stage finds its version published);
- `airwatch backtest --pollutant pm25` on the national folder (with --backtest).
Each stage's time comes from the run's own report (`--report`); a stage's peak memory is the highest
sample taken while it ran. There is no peer: this times AirWatch against its targets (docs/core.md).

    python benchmarks/pipeline.py [--input DIR] [--backtest] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "epa"
AIRWATCH = str(Path(sys.executable).with_name("airwatch"))


def default_input(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((SHARED / "airdata_daily_pm25_national").glob("*.csv.gz")):
        shutil.copy(path, folder)
    shutil.copy(SHARED / "adviz_queens_college_ny" / "ozone_daily_2001_2019_queens_college_360810124.csv.gz", folder)
    return folder


def measured(
    command: list[str], env: dict[str, str], limit_mb: float | None = None
) -> tuple[float, list[tuple[float, float]], str]:
    """Wall seconds, (time, RSS MB of the process tree) samples and output of a command.

    limit_mb: the tree is killed when it holds more (on a shared machine, before the OOM killer picks
    someone else's process), and the command fails saying so.
    """
    samples: list[tuple[float, float]] = []
    start = time.time()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def sample() -> None:
        proc = psutil.Process(child.pid)
        while not done.is_set():
            try:
                tree = [proc, *proc.children(recursive=True)]
                samples.append((time.time(), sum(p.memory_info().rss for p in tree) / 2**20))
                if limit_mb is not None and samples[-1][1] > limit_mb:
                    for p in reversed(tree):
                        p.kill()
                    return
            except psutil.Error:
                pass
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    output, _ = child.communicate()
    done.set()
    thread.join()
    if child.returncode != 0:
        peak = max((mb for _, mb in samples), default=0.0)
        over = f" (killed: {peak:.0f} MB, over the limit of {limit_mb:.0f} MB)" if limit_mb and peak > limit_mb else ""
        raise SystemExit(f"{' '.join(command)} failed{over}:\n{output[-4000:]}")
    return time.time() - start, samples, output


def stage_table(report: dict[str, Any], samples: list[tuple[float, float]]) -> list[dict[str, Any]]:
    rows = []
    for name, (start, end) in report["stages"].items():
        during = [mb for t, mb in samples if start <= t <= end]
        # A stage shorter than the sampling interval: the sample just before it ended.
        before = [mb for t, mb in samples if t <= end][-1:] or [float("nan")]
        rows.append({"stage": name, "seconds": end - start, "peak_mb": max(during, default=before[0])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, help="Folder of EPA files (default: national PM2.5 + Queens ozone).")
    parser.add_argument("--backtest", action="store_true", help="Also time `airwatch backtest` on the input.")
    parser.add_argument("--json", type=Path, help="Write the benchmark JSON here.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="airwatch-pipeline-"))
    try:
        folder = args.input or default_input(work / "input")
        env = {**os.environ, "AIRWATCH_STORE": str(work / "store"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
        results, stages = [], {}
        for label in ("airwatch", "airwatch-repeat"):
            report_path = work / f"{label}.json"
            seconds, samples, _ = measured([AIRWATCH, "run", "--input-dir", str(folder), "--report",
                                            str(report_path)], env)  # fmt: skip
            report = json.loads(report_path.read_text())
            stages[label] = stage_table(report, samples)
            results.append({"impl": label, "seconds": seconds, "peak_mb": max(mb for _, mb in samples)})
            rows = report["validate"]["rows"]
        if args.backtest:
            seconds, samples, _ = measured([AIRWATCH, "backtest", "--input", str(folder), "--pollutant", "pm25",
                                            "--output", str(work / "backtest.json")], env)  # fmt: skip
            results.append({"impl": "airwatch-backtest-pm25", "seconds": seconds,
                            "peak_mb": max(mb for _, mb in samples)})  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"pipeline on {folder} ({rows:,} observations), {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'measurement':<26}{'seconds':>10}{'peak MB':>10}")
    for r in results:
        print(f"{r['impl']:<26}{r['seconds']:>10.1f}{r['peak_mb']:>10.0f}")
    for label, table in stages.items():
        print(f"\n{label}: stages")
        for s in table:
            print(f"  {s['stage']:<16}{s['seconds']:>8.1f} s{s['peak_mb']:>9.0f} MB")
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "pipeline", "rows": rows, "results": results,
                                         "stages": stages}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
