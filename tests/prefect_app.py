"""The shared test server's app (tests/prefect_server.py): Prefect's own, its SQLite transactions begun IMMEDIATE.

Prefect begins most of its transactions DEFERRED: such a transaction reads, and when it then writes
while the other worker's flow has written since, SQLite refuses it at once (SQLITE_BUSY, which no busy
timeout waits out). The API answers 503 and the client sleeps two seconds before it asks again: five
flow runs a `make test-py` run were created two seconds late that way (server log, retryable errors
on). Begun IMMEDIATE, a transaction takes the write lock first and waits its turn on the busy timeout.
The stack's server (scripts/stack.sh) runs on PostgreSQL and needs none of this.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from prefect.server.api.server import create_app as _prefect_app
from prefect.server.database.configurations import AioSqliteConfiguration

_begin = AioSqliteConfiguration.begin_transaction


def _immediate(self: AioSqliteConfiguration, session: Any, with_for_update: bool = False) -> Any:
    return _begin(self, session, with_for_update=True)  # what Prefect does for a transaction that locks rows


def create_app() -> FastAPI:
    AioSqliteConfiguration.begin_transaction = _immediate  # type: ignore[method-assign]
    return _prefect_app()
