"""The environment of the command lines the tests of failing dependencies run."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def env(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PM2.5 only, no weather, few boosting rounds; the tests' Prefect server; MLflow's retries short."""
    from prefect.settings import get_current_settings

    home = tmp_path_factory.mktemp("prefect-home")
    return {**os.environ, "PREFECT_API_URL": str(get_current_settings().api.url), "PREFECT_HOME": str(home),
            "AIRWATCH_WEATHER__MODE": "none", "AIRWATCH_TRAIN__VALIDATION_DAYS": "120",
            "AIRWATCH_TRAIN__LIGHTGBM_ROUNDS": "20", "AIRWATCH_TRAIN__QUANTILE_ROUNDS": "10",
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
            "DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
