"""Crash consistency: `airwatch run` killed with SIGKILL at each checkpoint, then run again.

A store holds a completed run on one year of the bundled PM2.5 (the previous version). Two more years
arrive. The uninterrupted run on them is the reference. The same run is then killed at each
checkpoint of airwatch.faults in turn, each time on the store the kill before left (so the leftovers
add up), and finally run without a fault. Meanwhile readers must see only complete versions: the
previous one until the run publishes the next. At the end the store must hold exactly the reference's
outputs: the same dataset versions with the same rows, one registered model version for the training,
the same champion and decision, one published predictions file for the issue with the same forecasts.
"Exactly" leaves out what a run stamps with its own clock or ids (manifest times, MLflow run and
model ids, when a forecast was issued) and the leftovers the runs ignore (parts and a predictions file
no manifest lists).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pytest
from mlflow.tracking import MlflowClient

from airwatch import catalog
from airwatch.io import datasets, records
from airwatch.io.store import LocalStore, StoreError, lock_holder

pytestmark = [pytest.mark.e2e, pytest.mark.crash]
AIRWATCH = str(Path(sys.executable).with_name("airwatch"))
MODEL = "airwatch-pm25"
DATASETS = (catalog.RAW_FILES, catalog.OBSERVATIONS, catalog.features("pm25"))

# (checkpoint, what the run that follows the kill must say about the leftovers). Each run dies at its
# checkpoint; the next one passes every earlier checkpoint again (with their leftovers) before its own.
LOCK_BROKEN = "on this machine has ended; breaking it"
KILLS = [
    ("ingest.payload:2", []),  # the second of three files kept, without its metadata; the third not kept
    ("publish.claim:1", ["has no metadata (a run stopped after keeping it)"]),  # the inventory claimed
    ("publish.part:1", ["claimed by a run that stopped before its manifest"]),  # observations' part written
    ("select.registered", ["ignoring the parts of 1 earlier run(s)"]),  # v2 registered, under the lock
    ("select.recorded", [LOCK_BROKEN, "registered by a run that stopped before its promotion was done"]),
    ("predict.file", [LOCK_BROKEN, "was decided on by a run that stopped before setting its tags and aliases"]),
    ("", ["ignoring 1 predictions file(s) without a manifest"]),  # no fault: the run completes
]


def run(store: Path, folder: Path, env: dict[str, str], kill_at: str = "") -> subprocess.CompletedProcess[str]:
    """`airwatch run` in a session of its own; no process of that session may outlive it."""
    command = [AIRWATCH, "run", "--store", str(store), "--input-dir", str(folder), "--pollutants", "pm25"]
    # Output to a file, not a pipe: a child left running would hold a pipe open, and the test with it.
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(command, env={**env, "AIRWATCH_FAULT_KILL_AT": kill_at}, text=True, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        child.wait(timeout=600)
        deadline = time.monotonic() + 15  # a server told to stop (SIGTERM) takes a moment
        while (left := [p for p in psutil.process_iter() if _session(p) == child.pid]) and time.monotonic() < deadline:
            time.sleep(0.2)
        for p in left:
            p.kill()
        assert not left, f"{[p.cmdline() for p in left]} outlived the run"
        out.seek(0)
        return subprocess.CompletedProcess(command, child.returncode, out.read())


def _session(process: psutil.Process) -> int | None:
    try:
        return os.getsid(process.pid)
    except OSError:
        return None


def readers_view(root: Path) -> dict[str, Any]:
    """What readers of the store see: each dataset's newest version, the champion, the predictions."""
    store = LocalStore(root)
    view: dict[str, Any] = {}
    for name in DATASETS:
        try:
            manifest = datasets.latest(store, name)
        except StoreError:
            view[name] = None
            continue
        if name != catalog.RAW_FILES:  # a published version reads whole
            assert len(datasets.read(store, manifest)) == manifest.rows, name
        else:
            assert all(store.exists(k) for k in manifest.parts)
        view[name] = manifest.version
    view["champion"] = str(_registry(root).get_model_version_by_alias(MODEL, "champion").version)
    view["predictions"] = records.prediction_keys(store, "pm25")
    return view


def _registry(root: Path) -> MlflowClient:
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def outputs(root: Path) -> dict[str, Any]:
    """A run's outputs, without what each run stamps with its own clock or ids."""
    store = LocalStore(root)
    out: dict[str, Any] = {}
    for name in DATASETS:
        manifests = [datasets.Manifest(**records.read_json(store, k) or {})
                     for k in store.list(catalog.manifest_prefix(name))]  # fmt: skip
        if name == catalog.RAW_FILES:
            out[name] = [(m.version, m.parts) for m in manifests]
        else:
            out[name] = [(m.version, m.rows, _rows(datasets.read(store, m))) for m in manifests]
    payloads = [k for k in store.list(f"{catalog.RAW_FILES}/") if catalog.is_payload(k)]
    out["raw payloads"] = payloads
    out["raw without metadata"] = [k for k in payloads if not store.exists(catalog.meta_key(k))]
    out["quarantine"] = store.list("quarantine/") + store.list("processed/superseded/")
    out["trainings"] = sorted(k.rsplit("_", 1)[-1] for k in store.list(catalog.training_prefix("pm25")))
    client = _registry(root)
    versions = sorted(client.search_model_versions(f"name = '{MODEL}'"), key=lambda v: int(v.version))
    out["model versions"] = [(str(v.version), v.tags["training_id"], v.tags.get("promotion_decision"))
                             for v in versions]  # fmt: skip
    out["aliases"] = client.get_registered_model(MODEL).aliases
    out["promotions"] = [(r["candidate_version"], r["decision"], r["previous_champion_version"])
                         for r in records.promotions(store, "pm25")]  # fmt: skip
    issued = [pd.read_parquet(root / k) for k in records.prediction_keys(store, "pm25")]
    out["predictions"] = [_rows(p.drop(columns=["issued_utc", "model_id", "model_run_id"])) for p in issued]
    out["lock held by"] = lock_holder(store, "promotion-pm25")
    return out


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """A frame's rows in a stable order, floats rounded (as compared across runs of the same code)."""
    frame = frame.round(dict.fromkeys(frame.select_dtypes("float").columns, 9))
    return sorted(frame.astype(str).itertuples(index=False, name=None))


@pytest.fixture(scope="module")
def env(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Small and quick: PM2.5 only, no weather, few boosting rounds; the tests' Prefect server."""
    from prefect.settings import get_current_settings

    home = tmp_path_factory.mktemp("prefect-home")
    return {**os.environ, "PREFECT_API_URL": str(get_current_settings().api.url), "PREFECT_HOME": str(home),
            "AIRWATCH_WEATHER__MODE": "none", "AIRWATCH_TRAIN__VALIDATION_DAYS": "120",
            "AIRWATCH_TRAIN__LIGHTGBM_ROUNDS": "20", "AIRWATCH_TRAIN__QUANTILE_ROUNDS": "10"}  # fmt: skip


def test_a_run_killed_anywhere_then_run_again_ends_as_an_uninterrupted_run(
    env: dict[str, str], tmp_path: Path, sample_dir: Path
) -> None:
    folder, before = tmp_path / "input", tmp_path / "before"
    folder.mkdir()
    shutil.copy(sample_dir / "pm25_daily_2010_cook_county_IL.csv.gz", folder)
    first = run(before, folder, env)
    assert first.returncode == 0, first.stdout
    previous = readers_view(before)
    for year in (2011, 2012):  # new data: every stage has a new version to make
        shutil.copy(sample_dir / f"pm25_daily_{year}_cook_county_IL.csv.gz", folder)

    # Both runs start from copies of the previous version. (MLflow's experiments keep the absolute
    # artifact root of the store they were made in, before/: the copies' runs log their artifacts there.)
    reference, store = tmp_path / "uninterrupted", tmp_path / "killed"
    shutil.copytree(before, reference)
    shutil.copytree(before, store)
    uninterrupted = run(reference, folder, env)
    assert uninterrupted.returncode == 0, uninterrupted.stdout
    expected, complete = outputs(reference), readers_view(reference)
    assert [v for v, _, _ in expected["model versions"]] == ["1", "2"] and complete["champion"] == "2"
    assert expected["raw without metadata"] == [] and expected["lock held by"] is None

    for kill_at, said in KILLS:
        result = run(store, folder, env, kill_at)
        for line in said:
            assert line in result.stdout, f"{line!r} not said by the run after the kill: {result.stdout[-3000:]}"
        if not kill_at:
            assert result.returncode == 0, result.stdout[-3000:]
            break
        assert result.returncode == -signal.SIGKILL, f"{kill_at} not reached: {result.stdout[-3000:]}"
        seen = readers_view(store)
        # Readers see complete versions only: each the previous one or the one this run makes.
        for key, value in seen.items():
            assert value in (previous[key], complete[key]), (kill_at, key, value)
        if kill_at.startswith(("ingest", "publish", "select")):
            assert seen["champion"] == previous["champion"], kill_at
        assert seen["predictions"] == previous["predictions"], kill_at

    assert outputs(store) == expected
    # The leftovers the killed runs made are there, unread: parts of an unpublished run, a predictions file.
    observations = LocalStore(store).list(f"{catalog.OBSERVATIONS}/")
    assert len({k.split("/")[-2] for k in observations if k.endswith(".parquet")}) == 3
    assert len(list((store / "predictions").rglob("*.parquet"))) == 3


def test_a_killed_run_leaves_no_prefect_server_behind(
    env: dict[str, str], tmp_path: Path, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Without a Prefect server, `airwatch run` starts its own (ephemeral): it goes with the run, killed or failed."""
    folder = tmp_path / "input"
    folder.mkdir()
    shutil.copy(sample_dir / "pm25_daily_2010_cook_county_IL.csv.gz", folder)
    alone = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    alone["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-ephemeral"))
    result = run(tmp_path / "store", folder, alone, "ingest.payload")  # fails if any process of the run is left
    assert result.returncode == -signal.SIGKILL, result.stdout[-3000:]
    # A run that fails on bad input ends its server too, with its exit code and its error line printed.
    failed = run(tmp_path / "store", tmp_path / "no-such-folder", alone)
    assert failed.returncode == 1, failed.stdout[-3000:]
    assert "does not exist" in failed.stdout and "Stopping temporary server" in failed.stdout, failed.stdout[-3000:]
