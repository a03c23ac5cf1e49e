"""What every flow builds from its parameters and the settings: the store and the registry.

Flows take plain parameters (a store URL, pollutants, dates) so that a deployment can run them with
JSON parameters; each builds its Context inside. Everything else comes from the settings
(``AIRWATCH_*`` variables or ``.env``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from typing import Any

from airwatch import lineage
from airwatch.io.registry import Registry
from airwatch.io.store import Store, open_store
from airwatch.settings import Settings, load_settings, mask_url

log = logging.getLogger(__name__)


@cache
def _warn_unauthenticated(tracking_uri: str) -> None:
    # Once per server and process: every stage of a run builds a Context.
    log.warning(
        "MLflow server %s is used without credentials (AIRWATCH_MLFLOW_USERNAME/_PASSWORD or "
        "MLFLOW_TRACKING_USERNAME/_PASSWORD): production runs MLflow with authentication on (docs/security.md)",
        tracking_uri,
    )


@cache
def _registry(
    tracking_uri: str, artifact_location: str | None, username: str | None, password: str | None, prefix: str
) -> Registry:
    # One per tracking URI and process: the stage subflows of a run share it, and with it MLflow's
    # database connection (opening a SQLite store checks its schema, about a second each time) and
    # the models it loaded.
    return Registry(tracking_uri, artifact_location, username=username, password=password, prefix=prefix)


@dataclass
class Context:
    """Settings plus the adapters they configure, made on first use."""

    settings: Settings

    @classmethod
    def build(cls, store: str | None = None) -> Context:
        """The settings in force, with the store URL a flow was given (if any) in place of AIRWATCH_STORE."""
        return cls(load_settings(**({"store": store} if store else {})))

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings.store)

    @cached_property
    def registry(self) -> Registry:
        s = self.settings
        password = s.mlflow_password.get_secret_value() if s.mlflow_password else None
        if s.mlflow_unauthenticated():
            _warn_unauthenticated(mask_url(s.tracking_uri()))
        return _registry(s.tracking_uri(), s.artifact_location(), s.mlflow_username, password, s.model_prefix)

    @staticmethod
    def code_version(stage: str) -> str:
        return lineage.code_version(stage)

    def __getstate__(self) -> dict[str, Any]:
        # Sent to other processes (a Dask worker) without its open clients; they are made again there.
        return {"settings": self.settings}


def scheduled_time() -> datetime:
    """When this flow run was scheduled (a deployment's slot), else now; UTC."""
    from prefect.runtime import flow_run

    when = flow_run.scheduled_start_time
    return when.astimezone(UTC) if when is not None else datetime.now(UTC)
