"""The CLI end to end on a small slice of the bundled real data: real Prefect, real MLflow, local store."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from airwatch.cli import app

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_input: Path) -> dict[str, Path]:
    store = tmp_path / "store"
    monkeypatch.setenv("AIRWATCH_STORE", str(store))
    monkeypatch.setenv("AIRWATCH_INPUT_DIR", str(small_input))
    monkeypatch.setenv("AIRWATCH_TRAIN__VALIDATION_DAYS", "180")
    monkeypatch.setenv("AIRWATCH_TRAIN__LIGHTGBM_ROUNDS", "40")
    return {"store": store, "input": small_input}


def _processed(store: Path) -> list[str]:
    return sorted(str(p.relative_to(store)) for p in (store / "processed").rglob("*") if p.is_file())


def test_run_end_to_end_twice(env: dict[str, Path]) -> None:
    store = env["store"]
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert "pm25" in result.output and "ozone" in result.output and "skill %" in result.output

    assert len(list((store / "raw").rglob("*.csv.gz"))) == 6
    # Weather is on by default (lagged): the bundled station files (O'Hare, and Minneapolis upstream)
    # are ingested as received.
    assert sorted(p.name for p in (store / "raw" / "weather").rglob("*.dly.gz")) == [
        "USW00094846.dly.gz",
        "USW00094960_KMIC_1997_2019.dly.gz",
    ]
    assert "weather: issue day's observed (lagged)" in result.output
    predictions = sorted((store / "predictions").rglob("*.parquet"))
    assert len(predictions) == 2
    pattern = r"predictions/(pm25|ozone)/\d{4}-\d{2}-\d{2}/predictions_\d{8}T\d{6}Z_airwatch-(pm25|ozone)-v1\.parquet"
    for p in predictions:
        assert re.fullmatch(pattern, str(p.relative_to(store))), p

    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow' / 'mlflow.db'}")
    for pollutant in ("pm25", "ozone"):
        exp = client.get_experiment_by_name(f"airwatch-{pollutant}")
        runs = client.search_runs([exp.experiment_id])
        nested = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
        assert sorted(r.data.tags["candidate"] for r in nested) == [
            "blend",
            "climatology",
            "lightgbm",
            "persistence",
            "ridge",
        ]
        for r in nested:
            assert "val_rmse" in r.data.metrics and r.data.params["candidate"]
            assert {a.path for a in client.list_artifacts(r.info.run_id, "plots")} >= {
                "plots/predicted_vs_actual.png",
                "plots/error_by_month.png",
                "plots/error_by_aqi_category.png",
            }
            assert client.search_logged_models([exp.experiment_id], filter_string=f"source_run_id = '{r.info.run_id}'")
        champion = client.get_model_version_by_alias(f"airwatch-{pollutant}", "champion")
        assert str(champion.version) == "1"

    before = _processed(store)
    second = runner.invoke(app, ["run"])
    assert second.exit_code == 0, second.output
    assert _processed(store) == before  # nothing re-processed
    assert str(client.get_model_version_by_alias("airwatch-ozone", "champion").version) == "1"
    assert len(sorted((store / "predictions").rglob("*.parquet"))) >= 2


def test_failed_validation_keeps_previous_outputs(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    store, folder = env["store"], env["input"]
    assert runner.invoke(app, ["ingest"]).exit_code == 0
    assert runner.invoke(app, ["validate"]).exit_code == 0
    manifests = sorted((store / "processed" / "observations" / "_manifests").iterdir())

    # A new file with one row (a day no other file has) whose value is not a number.
    src = sorted(folder.glob("ozone_*"))[0]
    lines = gzip.decompress(src.read_bytes()).decode().splitlines()
    fields = lines[1].split(",")
    fields[0], fields[3] = '"06/15/1995"', '"x0.04"'
    (folder / "extra.csv.gz").write_bytes(gzip.compress("\n".join([lines[0], ",".join(fields)]).encode()))
    monkeypatch.setenv("AIRWATCH_VALIDATE__MAX_QUARANTINE_SHARE", "0")
    assert runner.invoke(app, ["ingest"]).exit_code == 0
    failed = runner.invoke(app, ["validate"])
    assert failed.exit_code == 1
    assert "quarantined" in failed.output and "unparseable_value" in failed.output
    assert sorted((store / "processed" / "observations" / "_manifests").iterdir()) == manifests
    assert list((store / "quarantine" / "validate").rglob("rows.parquet"))


def test_config_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRWATCH_AQS__KEY", "sentinel-secret-42")
    result = runner.invoke(app, ["config", "--json"])
    assert result.exit_code == 0
    assert "sentinel-secret-42" not in result.output and "********" in result.output


def test_unknown_setting_exits_with_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRWATCH_NOPE", "1")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 2 and "AIRWATCH_NOPE" in result.output


def test_every_option_has_help() -> None:
    for command in ("run", "ingest", "validate", "transform", "train", "select", "predict", "config"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "--store" in result.output
