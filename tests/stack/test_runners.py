"""Scale-out on an existing engine: the Dask task runner (a local Dask cluster of worker processes)
gives exactly the outputs of the default thread runner.

Runs in the stack suite because it starts real engines: a Dask cluster, and the stack's Prefect
server for the flow runs. Store and MLflow are local folders, one per runner.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
AIRWATCH = str(Path(sys.executable).with_name("airwatch"))


def outputs(store: Path) -> dict[str, object]:
    from airwatch import catalog
    from airwatch.io import datasets, records
    from airwatch.io.store import LocalStore

    s = LocalStore(store)
    out: dict[str, object] = {"observations": datasets.read(s, datasets.latest(s, catalog.OBSERVATIONS))}
    for pollutant in ("ozone", "pm25"):
        out[f"features_{pollutant}"] = datasets.read(s, datasets.latest(s, catalog.features(pollutant)))
        report = records.latest_training_report(s, pollutant)
        assert report is not None
        out[f"scores_{pollutant}"] = {c.name: (c.train, c.validation, c.fold_skills) for c in report.candidates}
        predictions = records.read_predictions(s, pollutant)
        out[f"forecast_{pollutant}"] = predictions[["site_id", "forecast_date", "forecast", "aqi"]]
    return out


def test_dask_runner_gives_the_outputs_of_the_default_runner(stack_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    sample = REPO / "src" / "airwatch" / "sample_data"
    for name in ("ozone_daily_2000_cook_county_IL.csv.gz", "ozone_daily_2001_cook_county_IL.csv.gz",
                 "pm25_daily_2011_cook_county_IL.csv.gz", "pm25_daily_2012_cook_county_IL.csv.gz"):  # fmt: skip
        shutil.copy(sample / name, folder)
    base = {k: v for k, v in stack_env.items() if not k.startswith(("AIRWATCH_", "MLFLOW_", "AWS_"))}
    results = {}
    for kind in ("threads", "dask"):
        store = tmp_path / kind
        env = {**base, "AIRWATCH_STORE": str(store), "AIRWATCH_INPUT_DIR": str(folder), "AIRWATCH_RUNNER__KIND": kind,
               "AIRWATCH_TRAIN__VALIDATION_DAYS": "150", "AIRWATCH_TRAIN__LIGHTGBM_ROUNDS": "30",
               "AIRWATCH_WEATHER__MODE": "none"}  # fmt: skip
        done = subprocess.run([AIRWATCH, "run"], env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        results[kind] = outputs(store)
    threads, dask = results["threads"], results["dask"]
    for name, value in threads.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value.reset_index(drop=True), dask[name].reset_index(drop=True), obj=name)
        else:
            assert json.dumps(value, sort_keys=True) == json.dumps(dask[name], sort_keys=True), name
