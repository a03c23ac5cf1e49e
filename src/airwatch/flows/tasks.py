"""How flows turn domain and I/O functions into Prefect tasks.

Only I/O is retried (the store, the registry, the EPA and weather APIs); every write it repeats is
create-only or idempotent, so a retry never duplicates anything. Pure computations are not retried:
they would fail the same way again. Prefect's own result cache is not used: a stage's manifests in
the store are its cache, seen by every worker and reader, and a stage that finds its version published
returns at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from airwatch import memory
from airwatch.errors import AirWatchError

T = TypeVar("T")
IO_RETRIES = 2
IO_RETRY_DELAYS = [2, 10]
# No task timeout: tasks run in worker threads, where Prefect cannot interrupt a blocking call (it
# warned on every task run). The clients carry their own timeouts (HTTP, s3fs, MLflow) and every flow
# has a timeout of its own, which ends a run that hangs.


def _worth_retrying(_task: Any, _run: Any, state: Any) -> bool:
    """Retry what may pass on a second try (a dropped connection, a store or registry hiccup).

    Never an AirWatchError: bad input, a wrong key or a missing upstream dataset fails the same way every
    time. The HTTP clients retry their own transient failures, with backoff, before this is asked.
    """
    exc = state.data if isinstance(state.data, BaseException) else None
    return not isinstance(exc, AirWatchError)


def io_task(fn: Callable[..., Any], *, name: str | None = None, retries: int = IO_RETRIES, lends: bool = False) -> Any:
    """A task around a function that reads or writes the store or a service, retried with backoff.

    lends: the result is large (a frame); the task returns it Lent, and calling the task gives the
    value itself, with Prefect's records of the task run left holding an empty box (Lent).
    """
    label = name or fn.__name__.replace("_", "-")
    made = task(name=label, retries=retries, retry_delay_seconds=IO_RETRY_DELAYS, cache_policy=NO_CACHE,
                retry_condition_fn=_worth_retrying)  # fmt: skip
    if not lends:
        return made(fn)

    @functools.wraps(fn)
    def lending(*args: Any, **kwargs: Any) -> Lent[Any]:
        return Lent(fn(*args, **kwargs))

    boxed = made(lending)

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        return boxed(*args, **kwargs).take()

    return call


def compute_task(fn: Callable[..., Any], *, name: str | None = None) -> Any:
    """A task around a pure computation (not retried)."""
    return task(name=name or fn.__name__.replace("_", "-"), cache_policy=NO_CACHE)(fn)


def _start_services(flow: Any, flow_run: Any, state: Any) -> None:  # Prefect's hook signature
    """Start Prefect's event and API-log workers from the flow, before any of its tasks runs.

    Each starts on first use, and its long-lived asyncio tasks (the worker's loop, the websocket's
    keepalive) keep the context they were started in. Started inside a task, that context holds the
    task's run and its state, and the state holds the task's return value: the first task's result
    (a stage's input frame, a GB at national scale) stayed in memory until the process ended.
    """
    from prefect.events.worker import EventsWorker, should_emit_events
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import get_current_settings

    if should_emit_events():
        EventsWorker.instance()
    if get_current_settings().logging.to_api.enabled:
        APILogWorker.instance()


def _freeze_live_objects(flow: Any, flow_run: Any, state: Any) -> None:  # Prefect's hook signature
    # The imports are done and the stage's data not yet read: what is alive is the process's own.
    memory.freeze_live_objects()


def stage_flow(**kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Prefect's flow decorator, with two hooks as the flow starts.

    Prefect's workers started before its first task (_start_services), and the objects alive at its
    start left out of the collector's passes (memory.freeze_live_objects).
    """
    return flow(on_running=[*kwargs.pop("on_running", []), _start_services, _freeze_live_objects], **kwargs)


class Lent(Generic[T]):
    """A large value (a frame, a split) passed to or from Prefect tasks in a box its owner empties.

    Prefect keeps a task run's parameters and its result (its TaskRunContext, its state) as long as
    something holds the context the run executed in, and asyncio holds it in every timer and task
    started there: a cancelled timeout lives until it is due (about a minute), a worker started
    inside a task for good. A frame handed to or returned by a task stayed in memory after the flow
    dropped it; in a box, only the box does, and the owner empties it (take, release) when done.
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        self._value: T | None = value

    @property
    def value(self) -> T:
        if self._value is None:
            raise RuntimeError("a Lent value was used after its owner released it")
        return self._value

    def take(self) -> T:
        """The value, leaving the box empty."""
        value = self.value
        self._value = None
        return value

    def release(self) -> None:
        self._value = None
