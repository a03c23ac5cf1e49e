"""Train: what the diagnostic figures setting changes (the files logged) and what it does not (the training)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airwatch.flows.context import Context
from airwatch.flows.train import train_flow
from airwatch.io import records

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_without_figures_no_plot_is_logged_and_turning_them_on_trains_nothing_new(
    trained_pm25: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = Context.build(str(trained_pm25))
    report = records.latest_training_report(ctx.store, "pm25")
    assert report is not None and not ctx.settings.train.diagnostic_figures  # tests/conftest.py turns them off
    client = ctx.registry.client
    for candidate in report.candidates:  # each validation fit logged its scores, and no figure
        assert client.get_run(candidate.run_id).data.metrics
        assert client.list_artifacts(candidate.run_id, "plots") == []

    monkeypatch.setenv("AIRWATCH_TRAIN__DIAGNOSTIC_FIGURES", "true")
    (again,) = train_flow(pollutants=["pm25"])
    assert again == report  # the same training: figures change no model
