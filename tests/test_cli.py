"""The CLI end to end on a small slice of the bundled real data: real Prefect, real MLflow, local store."""

from __future__ import annotations

import gc
import gzip
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
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
    monkeypatch.setenv("AIRWATCH_TRAIN__QUANTILE_ROUNDS", "20")
    return {"store": store, "input": small_input}


def _processed(store: Path) -> list[str]:
    return sorted(str(p.relative_to(store)) for p in (store / "processed").rglob("*") if p.is_file())


def test_run_end_to_end_twice(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Twice on the same store, with one file of random bytes and one of an unknown layout among the input."""
    store, folder = env["store"], env["input"]
    monkeypatch.setenv("AIRWATCH_TRAIN__DIAGNOSTIC_FIGURES", "true")  # the default (tests/conftest.py turns it off)
    (folder / "garbage.csv").write_bytes(bytes(random.Random(7).getrandbits(8) for _ in range(4000)))
    (folder / "abc.csv").write_text("a,b,c\n1,2,3\n")
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert gc.isenabled()  # the command paused the collector through its imports only (memory.pause_collection)
    assert "pm25" in result.output and "ozone" in result.output and "skill %" in result.output
    assert "quarantined files (2" in result.output

    assert len(list((store / "raw").rglob("*.csv.gz"))) == 6
    listed = runner.invoke(app, ["quarantine", "list"])
    assert listed.exit_code == 0, listed.output
    assert "garbage.csv" in listed.output and "abc.csv" in listed.output and "unknown layout" in listed.output
    # Weather is on by default (lagged): the bundled station files (O'Hare, and Minneapolis upstream)
    # are ingested as received.
    assert sorted(p.name for p in (store / "raw" / "weather").rglob("*.dly.gz")) == [
        "USW00094846.dly.gz",
        "USW00094960_KMIC_1997_2019.dly.gz",
    ]
    assert "weather: issue day's observed (lagged)" in result.output
    predictions = sorted((store / "predictions").rglob("*.parquet"))
    assert len(predictions) == 2
    for p in predictions:  # three days ahead per site, each with its interval, AQI and exceedance chance
        frame = pd.read_parquet(p)
        assert sorted(frame["horizon_days"].unique()) == [1, 2, 3]
        assert (frame["lower"] <= frame["forecast"]).all() and (frame["forecast"] <= frame["upper"]).all()
        assert frame["p_aqi_over_100"].between(0, 1).all() and frame["aqi_category"].notna().all()
        assert (frame["model_id"].str.startswith("m-")).all() and frame["model_version"].eq("1").all()
        assert p.with_suffix(".json").exists()
    pattern = (
        r"predictions/(pm25|ozone)/\d{4}-\d{2}-\d{2}/predictions_\d{8}T\d{6}\.\d{6}Z_airwatch-(pm25|ozone)-v1\.parquet"
    )
    for p in predictions:
        assert re.fullmatch(pattern, str(p.relative_to(store))), p

    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow' / 'mlflow.db'}")
    for pollutant in ("pm25", "ozone"):
        exp = client.get_experiment_by_name(f"airwatch-{pollutant}")
        runs = client.search_runs([exp.experiment_id])
        nested = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
        candidates = [r for r in nested if not r.info.run_name.startswith("refit ")]
        assert sorted(r.data.tags["candidate"] for r in candidates) == [
            "blend",
            "climatology",
            "lightgbm",
            "persistence",
            "ridge",
        ]
        for r in candidates:  # the validation fits: scores and plots
            assert "val_rmse" in r.data.metrics and r.data.params["candidate"]
            assert {a.path for a in client.list_artifacts(r.info.run_id, "plots")} >= {
                "plots/predicted_vs_actual.png",
                "plots/error_by_month.png",
                "plots/error_by_aqi_category.png",
            }
        # The chosen configuration refitted on all the data: the one logged model, for days +1..3.
        (refit,) = [r for r in nested if r.info.run_name.startswith("refit ")]
        (logged,) = client.search_logged_models(
            [exp.experiment_id], filter_string=f"source_run_id = '{refit.info.run_id}'"
        )
        files = {Path(a.path).name for a in client.list_logged_model_artifacts(logged.model_id, "artifacts/model")}
        assert "forecast_set.json" in files and {"h1", "h2", "h3"} <= files
        champion = client.get_model_version_by_alias(f"airwatch-{pollutant}", "champion")
        assert str(champion.version) == "1"

    before = _processed(store)
    second = runner.invoke(app, ["run"])
    assert second.exit_code == 0, second.output
    assert "2 files in quarantine are skipped" in second.output or "quarantined files (2" in second.output
    assert _processed(store) == before  # nothing re-processed
    assert str(client.get_model_version_by_alias("airwatch-ozone", "champion").version) == "1"
    assert len(sorted((store / "predictions").rglob("*.parquet"))) >= 2


def test_failed_validation_keeps_previous_outputs(env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    store, folder = env["store"], env["input"]
    assert runner.invoke(app, ["ingest", "files"]).exit_code == 0
    assert runner.invoke(app, ["validate"]).exit_code == 0
    manifests = sorted((store / "processed" / "observations" / "_manifests").iterdir())

    # A new file with one row (a day no other file has) whose value is not a number.
    src = sorted(folder.glob("ozone_*"))[0]
    lines = gzip.decompress(src.read_bytes()).decode().splitlines()
    fields = lines[1].split(",")
    fields[0], fields[3] = '"06/15/1995"', '"x0.04"'
    (folder / "extra.csv.gz").write_bytes(gzip.compress("\n".join([lines[0], ",".join(fields)]).encode()))
    monkeypatch.setenv("AIRWATCH_VALIDATE__MAX_QUARANTINE_SHARE", "0")
    assert runner.invoke(app, ["ingest", "--source", "files"]).exit_code == 0  # the older spelling still works
    failed = runner.invoke(app, ["validate"])
    assert failed.exit_code == 1
    assert "quarantined" in failed.output and "unparseable_value" in failed.output
    assert "Traceback" not in failed.output and failed.output.count("unparseable_value") == 1
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


@pytest.mark.usefixtures("prefect_harness")
def test_a_command_stopped_before_its_flow_leaves_the_collector_running(tmp_path: Path) -> None:
    # The command pauses the collector through its imports (memory.pause_collection); a usage error
    # found after that, before the flow, must not leave it paused in the process.
    result = runner.invoke(app, ["backtest", "--input", str(tmp_path), "--pollutant", "pm25",
                                 "--test-start", "2020-01-02", "--test-end", "2020-01-01"])  # fmt: skip
    assert result.exit_code == 2 and "--test-end is before --test-start" in result.output
    assert gc.isenabled()


def test_every_option_has_help() -> None:
    commands = [["run"], ["validate"], ["transform"], ["train"], ["select"], ["predict"], ["config"],
                ["ingest", "files"], ["ingest", "aqs"], ["ingest", "airnow"], ["ingest", "weather"],
                ["quarantine", "list"], ["quarantine", "release"], ["quarantine", "delete"], ["report"],
                ["dashboard"], ["iam-policy"]]  # fmt: skip
    for command in commands:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "--store" in result.output, command


def test_a_user_error_is_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = runner.invoke(app, ["ingest", "files", "--store", str(tmp_path / "s"), "--input-dir", str(missing)])
    assert result.exit_code == 1
    assert f"ingest failed: input folder {missing} does not exist" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    debug = runner.invoke(app, ["--debug", "ingest", "files", "--store", str(tmp_path / "s"), "--input-dir",
                                str(missing)])  # fmt: skip
    assert debug.exit_code == 1 and "does not exist" in str(debug.exception)


def test_a_failure_inside_a_flow_is_one_line_from_the_command_line(tmp_path: Path) -> None:
    # The real entry point in its own process: there logging is the CLI's own (not pytest's or Prefect's
    # harness), and Prefect logs the failure of each task and flow, traceback included.
    from prefect.settings import get_current_settings

    command = [str(Path(sys.executable).with_name("airwatch")), "transform", "--store", str(tmp_path / "empty")]
    server = get_current_settings().api.url  # the tests' Prefect server: no ephemeral one to start
    env = {**os.environ, "COLUMNS": "300", **({"PREFECT_API_URL": server} if server else {})}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "transform failed: dataset 'processed/observations' has no published version" in output
    assert "Traceback" not in output and output.count("has no published version") == 1, output
    assert "Still processing items" not in output, output  # Prefect's workers draining at exit: every command


def test_a_pollutant_without_data_is_skipped_with_one_line(env: dict[str, Path]) -> None:
    for path in env["input"].glob("ozone_*"):
        path.unlink()
    result = runner.invoke(app, ["run", "--pollutants", "pm25,ozone"])
    assert result.exit_code == 0, result.output
    assert "ozone: no valid observations in the input; skipped" in result.output
    assert len(list((env["store"] / "predictions" / "pm25").rglob("*.parquet"))) == 1
    assert not (env["store"] / "predictions" / "ozone").exists()


def test_quarantined_files_can_be_released_and_deleted(env: dict[str, Path]) -> None:
    (env["input"] / "abc.csv").write_text("a,b,c\n1,2,3\n")
    assert runner.invoke(app, ["ingest", "files"]).exit_code == 0
    assert runner.invoke(app, ["validate"]).exit_code == 0
    (key,) = [str(p.relative_to(env["store"])) for p in (env["store"] / "raw").rglob("abc.csv")]
    released = runner.invoke(app, ["quarantine", "release", key])
    assert released.exit_code == 0 and "released" in released.output
    again = runner.invoke(app, ["validate"])  # read again, quarantined again: its layout is still unknown
    assert again.exit_code == 0 and "1 files quarantined" in again.output
    deleted = runner.invoke(app, ["quarantine", "delete", key])
    assert deleted.exit_code == 0, deleted.output
    assert not (env["store"] / key).exists()
    assert "no quarantined file" in runner.invoke(app, ["quarantine", "list"]).output
    last = runner.invoke(app, ["validate"])
    assert last.exit_code == 0 and "0 files quarantined" in last.output
    missing = runner.invoke(app, ["quarantine", "release", key])
    assert missing.exit_code == 1 and "is not a quarantined file" in missing.output


def test_backtest_skill_is_printed_with_its_interval_even_when_it_is_zero() -> None:
    from airwatch.cli import _skill

    zero = {"skill_vs_persistence": 0.0, "skill_vs_persistence_ci90_low": 0.0, "skill_vs_persistence_ci90_high": 0.0}
    assert _skill(zero) == "0.0% [0.0, 0.0]"
    assert _skill({"skill_vs_climatology": 0.125}, "climatology") == "12.5% [nan, nan]"


class _StartingServer:
    """The command's own Prefect server as `_run` sees it: answering or not yet."""

    def __init__(self, answering: bool, calls: list[str]) -> None:
        self.answering, self.calls = answering, calls

    def wait(self) -> None:
        self.calls.append("wait")


@pytest.mark.parametrize("answering", [False, True])
def test_the_registry_is_opened_while_the_server_starts_and_only_then(
    monkeypatch: pytest.MonkeyPatch, answering: bool
) -> None:
    import airwatch.cli as cli

    calls: list[str] = []
    monkeypatch.setitem(cli._state, "server", _StartingServer(answering, calls))
    monkeypatch.setattr(cli, "_open_registry_early", lambda: calls.append("registry"))
    assert cli._run("select", lambda: calls.append("flow") or 7, registry=True) == 7
    assert calls == (["wait", "flow"] if answering else ["registry", "wait", "flow"])
    calls.clear()
    cli._run("validate", lambda: calls.append("flow"))  # a flow without the registry: nothing opened early
    assert calls == ["wait", "flow"]


def test_the_registry_opened_early_is_the_one_the_flows_get(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import airwatch.cli as cli
    from airwatch.flows.context import Context
    from airwatch.settings import load_settings

    monkeypatch.setenv("AIRWATCH_STORE", str(tmp_path / "store"))
    monkeypatch.setitem(cli._state, "settings", load_settings())
    cli._open_registry_early()
    opened = Context(cli._state["settings"]).registry
    assert Context.build(str(tmp_path / "store")).registry is opened  # what a flow's context builds
    # Nor an MLflow server's, whose retries would hold the command before its flows if it were down.
    monkeypatch.setitem(cli._state, "settings", load_settings(mlflow_tracking_uri="http://127.0.0.1:9/"))
    monkeypatch.setattr(Context, "registry", property(lambda _: pytest.fail("opened a server's registry early")))
    cli._open_registry_early()
    # A local registry that cannot be opened is left for the flow to meet: no error here.
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setitem(cli._state, "settings", load_settings(store=str(tmp_path / "file" / "store")))
    monkeypatch.setattr(Context, "registry", property(lambda _: 1 / 0))
    cli._open_registry_early()
