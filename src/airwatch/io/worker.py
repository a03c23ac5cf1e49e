"""A Prefect process worker for AirWatch's work pool that stops when told to.

`prefect worker start` (Prefect 3.9) turns SIGTERM into SIGINT and lets asyncio cancel its main
task; since the worker channel (a websocket per worker) arrived, that cancellation does not reach
the worker's polling loops, and the process idles on until it is killed (reproduced with no flow
run at all: docs/production-notes.md). A supervisor (systemd, Kubernetes, docker stop, the stack
test) sends SIGTERM and then, after its grace period, SIGKILL: a worker killed so leaves its last
heartbeat behind and, with a run in flight, a run no one reports on.

Here the worker runs inside an anyio cancel scope that the first SIGTERM or SIGINT cancels: the
loops stop polling, runs in flight are cancelled as Prefect's own shutdown cancels them, the worker
tears down (its stopped event sent, its client closed) and the process exits 0. A second signal
ends the process at once.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import anyio

_STOP = (signal.SIGTERM, signal.SIGINT)


async def _serve(pool: str, printer: Callable[..., None]) -> None:
    from prefect.settings import get_current_settings
    from prefect.workers.process import ProcessWorker

    worker = ProcessWorker(
        work_pool_name=pool, heartbeat_interval_seconds=int(get_current_settings().worker.heartbeat_seconds)
    )
    async with anyio.create_task_group() as group:

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(*_STOP) as signals:
                async for signum in signals:
                    printer(f"Received {signal.Signals(signum).name}: stopping worker {worker.name!r}...")
                    for stop in _STOP:  # a second signal ends the process at once
                        signal.signal(stop, signal.SIG_DFL)
                    group.cancel_scope.cancel()
                    return

        group.start_soon(stop_on_signal)
        await worker.start(printer=printer)
        group.cancel_scope.cancel()  # the worker ended by itself: stop listening
    printer(f"Worker {worker.name!r} stopped.")


def run(pool: str, printer: Callable[..., Any] = print) -> None:
    """Run the worker until SIGTERM or SIGINT, then return once it has torn down."""
    anyio.run(_serve, pool, printer)
