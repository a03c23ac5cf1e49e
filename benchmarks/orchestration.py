"""Orchestration overhead: the time Prefect and MLflow take, as a share of the pipeline's wall time.

The same `run` flow on the same input runs twice on fresh stores, each in a child process:
- orchestrated: as `airwatch run` runs it (Prefect flows and tasks, on the command's own temporary
  server, io/prefect_ephemeral, started beforehand and timed on its own; MLflow tracking and registry
  on a local SQLite store);
- bare: every flow and task called as the plain function it wraps, so Prefect does nothing; MLflow
  still runs, and is timed in both (every call the registry adapter makes).
Prefect's time is the difference of the two walls; MLflow's is what its calls took in the
orchestrated run. Their sum over the orchestrated wall is the overhead (target: under 10%).
The two start-ups (Prefect's server, MLflow's store: what a deployment has running already) are
timed apart, before the wall, and shown with the share they would add. The difference of two walls
is at the mercy of other work on the machine; the CPU seconds the server used during the orchestrated
run (server cpu) are not, and bound what it can take from the pipeline's cores.

    python benchmarks/orchestration.py [--input DIR ...] [--repeat N] [--json FILE]

Default inputs: the bundled sample, and ../shared/data/epa/airdata_daily_pm25_national.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "epa"


def instrument_mlflow(spent: list[float]) -> None:
    """Time every call the registry adapter makes to MLflow (runs opened and closed included).

    Every method of the adapter is timed, a call inside another (log_candidates opening a run) only
    once, as part of the outer call.
    """
    from airwatch.io.registry import Registry

    depth = threading.local()

    @contextlib.contextmanager
    def counted() -> Any:
        outer = not getattr(depth, "calls", 0)
        depth.calls = getattr(depth, "calls", 0) + 1
        start = time.perf_counter()
        try:
            yield
        finally:
            depth.calls -= 1
            if outer:
                spent.append(time.perf_counter() - start)

    def timed(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with counted():
                return fn(*args, **kwargs)

        return wrapper

    for name, attr in list(vars(Registry).items()):
        if name == "start_run" or (name.startswith("__") and name != "__init__"):
            continue
        if isinstance(attr, staticmethod):
            setattr(Registry, name, staticmethod(timed(attr.__func__)))
        elif inspect.isfunction(attr):
            setattr(Registry, name, timed(attr))
    start_run = Registry.start_run

    @contextlib.contextmanager
    def timed_run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with counted():  # opening the run; what runs inside it is not MLflow's
            manager = start_run(self, *args, **kwargs)
            run = manager.__enter__()
        try:
            yield run
        finally:
            with counted():
                manager.__exit__(None, None, None)

    Registry.start_run = timed_run  # type: ignore[method-assign]


def without_prefect(workers: int) -> None:
    """Flows and tasks become the plain functions they wrap; submitted tasks run on a thread pool.

    The pool has the task runner's workers (AIRWATCH_RUNNER__WORKERS), so the bare run has the same
    parallelism as the orchestrated one and the difference of the walls is Prefect's alone.
    """
    import importlib
    import pkgutil
    from concurrent.futures import ThreadPoolExecutor

    import prefect

    import airwatch.flows

    pool = ThreadPoolExecutor(max_workers=workers)
    prefect.Flow.__call__ = lambda self, *a, **k: self.fn(*a, **k)  # type: ignore[method-assign]
    prefect.Task.__call__ = lambda self, *a, **k: self.fn(*a, **k)  # type: ignore[method-assign]
    prefect.Task.submit = lambda self, *a, **k: pool.submit(self.fn, *a, **k)  # type: ignore[method-assign]
    for info in pkgutil.iter_modules(airwatch.flows.__path__):
        module = importlib.import_module(f"airwatch.flows.{info.name}")
        if hasattr(module, "get_run_logger"):
            module.get_run_logger = lambda: logging.getLogger("airwatch")  # type: ignore[attr-defined]


def child(mode: str, folder: str, store: str) -> dict[str, float]:
    """One run of the pipeline in this process: its wall and MLflow seconds, and the two start-ups."""
    os.environ.update({"AIRWATCH_STORE": store, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                       "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})  # fmt: skip
    logging.basicConfig(level=logging.WARNING)
    from prefect import flow
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from airwatch.flows import pipeline
    from airwatch.flows.context import Context

    # MLflow's store is made first and timed on its own, as Prefect's server is: a tracking server
    # has its database already; a fresh local one spends about a second creating its tables.
    begin = time.perf_counter()
    assert Context.build(store).registry is not None  # the registry every stage of the run then uses
    mlflow_startup = time.perf_counter() - begin
    spent: list[float] = []
    instrument_mlflow(spent)
    startup = 0.0
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):  # as the command line runs it
        if mode == "bare":
            from airwatch.settings import load_settings

            without_prefect(load_settings().runner.workers)
        else:
            begin = time.perf_counter()
            from airwatch.cli import _start_ephemeral_prefect

            _start_ephemeral_prefect().wait()  # the command's own server, as `airwatch run` starts it
            flow(lambda: None, name="warm-up")()  # the client's first connection, timed with the start-up
            startup = time.perf_counter() - begin
        server = psutil.Process().children(recursive=True)  # the ephemeral Prefect server (none when bare)
        cpu_before = _cpu(server)
        begin = time.perf_counter()
        pipeline.run_flow(store, folder)
        wall = time.perf_counter() - begin
    return {"wall": wall, "mlflow": sum(spent), "prefect_startup": startup, "mlflow_startup": mlflow_startup,
            "server_cpu": _cpu(server) - cpu_before}  # fmt: skip


def _cpu(processes: list[psutil.Process]) -> float:
    """CPU seconds the processes have used: unlike a wall, hardly changed by other work on the machine."""
    return sum(sum(p.cpu_times()[:2]) for p in processes if p.is_running())


def measure(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"input": str(folder), "load": os.getloadavg()[0]}
    for mode in ("orchestrated", "bare"):
        with tempfile.TemporaryDirectory(prefix="airwatch-orch-") as tmp:
            done = subprocess.run([sys.executable, __file__, "--child", mode, str(folder), str(Path(tmp, "store"))],
                                  capture_output=True, text=True, timeout=7200)  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"{mode} run failed:\n{done.stderr[-4000:]}")
            out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    o, b = out["orchestrated"], out["bare"]
    out["prefect"] = max(0.0, o["wall"] - b["wall"])
    out["mlflow"] = o["mlflow"]
    out["server_cpu"] = o["server_cpu"]
    out["share"] = (out["prefect"] + out["mlflow"]) / o["wall"]
    startups = o["prefect_startup"] + o["mlflow_startup"]
    out["share_with_startups"] = (out["prefect"] + out["mlflow"] + startups) / (o["wall"] + startups)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, action="append", help="Folder of EPA files (repeatable).")
    parser.add_argument("--json", type=Path, help="Write the benchmark JSON here.")
    parser.add_argument("--repeat", type=int, default=1, help="Measure each input this many times (median shown).")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    from airwatch.io.files import bundled_sample_dir

    folders = args.input or [bundled_sample_dir(), SHARED / "airdata_daily_pm25_national"]
    rows = [measure(f) for f in folders if f.is_dir() for _ in range(args.repeat)]
    print(f"orchestration overhead, {os.cpu_count()} cores (load: the 1-minute load average as each began)")
    print(f"{'input':<44}{'load':>5}{'wall s':>9}{'bare s':>9}{'Prefect s':>11}{'MLflow s':>10}{'share':>8}"
          f"{'start-ups s':>13}{'share with':>12}{'server cpu':>11}")  # fmt: skip
    for r in rows:
        o = r["orchestrated"]
        print(f"{Path(r['input']).name:<44}{r['load']:>5.1f}{o['wall']:>9.1f}{r['bare']['wall']:>9.1f}"
              f"{r['prefect']:>11.1f}{r['mlflow']:>10.1f}{100 * r['share']:>7.1f}%"
              f"{o['prefect_startup']:>7.1f}+{o['mlflow_startup']:<5.1f}"
              f"{100 * r['share_with_startups']:>11.1f}%{r['server_cpu']:>11.1f}")  # fmt: skip
    for folder in {r["input"] for r in rows}:
        shares = sorted(r["share"] for r in rows if r["input"] == folder)
        if len(shares) > 1:
            print(f"{Path(folder).name}: share median {100 * statistics.median(shares):.1f}% "
                  f"(min {100 * shares[0]:.1f}%, max {100 * shares[-1]:.1f}%, {len(shares)} runs)")  # fmt: skip
    if args.json:
        results = [{"impl": "airwatch", "input": r["input"], "seconds": r["orchestrated"]["wall"], "peak_mb": None,
                    "bare_seconds": r["bare"]["wall"], "prefect_seconds": r["prefect"], "mlflow_seconds": r["mlflow"],
                    "overhead_share": r["share"], "prefect_startup_seconds": r["orchestrated"]["prefect_startup"],
                    "mlflow_startup_seconds": r["orchestrated"]["mlflow_startup"],
                    "overhead_share_with_startups": r["share_with_startups"], "load": r["load"],
                    "prefect_server_cpu_seconds": r["server_cpu"]}
                   for r in rows]  # fmt: skip
        args.json.write_text(
            json.dumps({"benchmark": "orchestration", "rows": len(rows), "results": results}, indent=2)
        )


if __name__ == "__main__":
    main()
