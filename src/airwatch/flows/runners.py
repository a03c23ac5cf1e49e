"""The task runner a flow's parallel tasks use, chosen by the settings when the flow starts.

Threads by default; processes; or Dask through prefect-dask, on a local cluster or a scheduler's
address. The choice is made when a flow run begins (not at import), so one deployment's code runs
on whatever its worker's environment says. Tasks get plain data (frames, settings), never open
clients, so every runner can ship them; results come back in submission order, so the outputs do
not depend on the runner.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from airwatch.settings import RunnerSettings, load_settings

T = TypeVar("T")
R = TypeVar("R")


def make_runner(settings: RunnerSettings) -> TaskRunner[Any]:
    if settings.kind == "processes":
        return ProcessPoolTaskRunner(max_workers=settings.workers)
    if settings.kind == "dask":
        from prefect_dask.task_runners import DaskTaskRunner  # only when chosen: it imports distributed

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        cluster = {"n_workers": settings.workers, "threads_per_worker": 1, "processes": True,
                   "dashboard_address": None}  # fmt: skip
        return DaskTaskRunner(cluster_kwargs=cluster)
    return ThreadPoolTaskRunner(max_workers=settings.workers)


# Below this many rows a second LightGBM thread costs more than it gives: each boosting round's
# parallel regions are too short for OpenMP's start-up and barriers (the bundled sample, 30-40 thousand
# rows, trained in 58 s on two threads).
MANY_ROWS = 200_000


def fit_threads(rows: int) -> int:
    """Threads for a LightGBM fit that runs alone: every core this process may use, or one for few rows."""
    return len(os.sched_getaffinity(0)) if rows >= MANY_ROWS else 1


def side_by_side(items: list[T], workers: int, cost: Callable[[T], float]) -> list[list[T]]:
    """The items in one batch per worker, to submit as one task run each.

    The costliest are placed first, each in the batch with the least work so far, so the batches end
    close together.
    A task run costs Prefect a few milliseconds and its server about 25 ms of CPU (recording its
    states), on the same cores when the server is the ephemeral one; on a small input a fit takes
    little more. The batches still run side by side, as many as there are workers.
    """
    loads = [0.0] * max(1, min(workers, len(items)))
    batches: list[list[T]] = [[] for _ in loads]
    for item in sorted(items, key=cost, reverse=True):  # stable: equal costs keep the items' order
        b = loads.index(min(loads))
        batches[b].append(item)
        loads[b] += cost(item)
    return [b for b in batches if b]


def in_order(items: list[T], batches: list[list[T]], results: list[list[R]]) -> list[R]:
    """The results of side_by_side's batches back in the items' order."""
    done = zip(batches, results, strict=True)
    by_item = {id(item): r for batch, out in done for item, r in zip(batch, out, strict=True)}
    return [by_item[id(item)] for item in items]


class SettingsTaskRunner(TaskRunner[Any]):
    """Delegates to the runner the settings name, made when the flow run starts."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._inner: TaskRunner[Any] | None = None

    def duplicate(self) -> SettingsTaskRunner:
        return type(self)()

    def __enter__(self) -> SettingsTaskRunner:
        self._inner = make_runner(load_settings().runner)
        self._inner.__enter__()
        self._started = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._inner is not None:
            self._inner.__exit__(*exc)
        self._started = False

    def submit(self, task: Any, parameters: dict[str, Any], wait_for: Iterable[Any] | None = None,
               dependencies: dict[str, Any] | None = None) -> Any:  # fmt: skip
        assert self._inner is not None, "the task runner must be started before submitting work"
        return self._inner.submit(task, parameters, wait_for, dependencies)

    def map(self, task: Any, parameters: dict[str, Any], wait_for: Iterable[Any] | None = None) -> Any:
        assert self._inner is not None, "the task runner must be started before submitting work"
        return self._inner.map(task, parameters, wait_for)

    def cancel_all(self) -> None:
        if self._inner is not None and hasattr(self._inner, "cancel_all"):
            self._inner.cancel_all()
