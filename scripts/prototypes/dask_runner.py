"""prefect-dask: a flow whose tasks run on a local Dask cluster of 2 worker processes.

    python scripts/prototypes/dask_runner.py     (with the stack's env loaded, or any Prefect API)

Shows what crosses the process boundary: the task function (cloudpickle; by value when defined in
__main__), its arguments and its return value. A lock as an argument fails at submission.
"""

from __future__ import annotations

import os
import threading
import time

from prefect import flow, task
from prefect_dask import DaskTaskRunner

# Processes, not threads: the work is CPU-bound Python. No dashboard (no port to collide with).
RUNNER = DaskTaskRunner(
    cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
)


@task
def square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@task
def uses_lock(lock: object) -> str:
    return type(lock).__name__


@flow(task_runner=RUNNER)
def fan_out(n: int = 8) -> list[tuple[int, int]]:
    return [f.result() for f in square.map(range(n))]


@flow(task_runner=RUNNER)
def unpicklable_argument() -> str:
    return uses_lock.submit(threading.Lock()).result()


if __name__ == "__main__":  # required: Dask starts its worker processes with spawn
    t0 = time.perf_counter()
    results = fan_out()
    pids = {pid for _, pid in results}
    assert [v for v, _ in results] == [x * x for x in range(8)]
    assert os.getpid() not in pids and len(pids) == 2, pids
    print(f"(g) 8 tasks on worker processes {sorted(pids)} in {time.perf_counter() - t0:.1f}s")
    try:
        unpicklable_argument()
    except Exception as exc:  # the point is to show which error
        print(f"(g) unpicklable argument -> {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    else:
        raise AssertionError("a lock crossed a process boundary")
