"""How flows turn domain and I/O functions into Prefect tasks.

Only I/O is retried (the store, the registry, the EPA and weather APIs); every write it repeats is
create-only or idempotent, so a retry never duplicates anything. Pure computations are not retried:
they would fail the same way again. Prefect's own result cache is not used: a stage's manifests in
the store are its cache, seen by every worker and reader, and a stage that finds its version published
returns at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from airwatch.errors import AirWatchError

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


def io_task(fn: Callable[..., Any], *, name: str | None = None, retries: int = IO_RETRIES) -> Any:
    """A task around a function that reads or writes the store or a service, retried with backoff."""
    label = name or fn.__name__.replace("_", "-")
    return task(name=label, retries=retries, retry_delay_seconds=IO_RETRY_DELAYS, cache_policy=NO_CACHE,
                retry_condition_fn=_worth_retrying)(fn)  # fmt: skip


def compute_task(fn: Callable[..., Any], *, name: str | None = None) -> Any:
    """A task around a pure computation (not retried)."""
    return task(name=name or fn.__name__.replace("_", "-"), cache_policy=NO_CACHE)(fn)
