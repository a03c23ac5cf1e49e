"""S3 failing under a whole run: `airwatch run` on an S3 store behind the fault proxy, against a clean run.

moto's S3 server, tests.fakes.fault_proxy in front of it. The same run on the same input without
faults is the reference: transient faults (throttling, 500s, resets, a lost answer) must be retried
to the same outputs.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import boto3
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from airwatch import catalog
from airwatch.io import datasets, records
from airwatch.io.store import open_store
from tests.fakes.fault_proxy import fault_proxy
from tests.fakes.moto_s3 import moto_server
from tests.faults.helpers import airwatch, rows, versions

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def _s3_outputs(url: str, tracking: str) -> dict[str, object]:
    """A run's outputs on an S3 store, without what each run stamps with its own clock or ids."""
    store, out = open_store(url), {}
    for name in (catalog.RAW_FILES, catalog.OBSERVATIONS, catalog.features("pm25")):
        manifests = [datasets.Manifest(**records.read_json(store, k) or {})
                     for k in store.list(catalog.manifest_prefix(name))]  # fmt: skip
        out[name] = [(m.version, m.rows, len(m.parts)) for m in manifests]
        if name != catalog.RAW_FILES:
            frame = datasets.read(store, manifests[-1])
            out[f"{name} rows"] = rows(frame)
    out["raw payloads"] = [k for k in store.list(f"{catalog.RAW_FILES}/") if catalog.is_payload(k)]
    out["promotions"] = [(r["candidate_version"], r["decision"]) for r in records.promotions(store, "pm25")]
    issued = [pd.read_parquet(io.BytesIO(store.read_bytes(k))) for k in records.prediction_keys(store, "pm25")]
    out["predictions"] = [rows(p.drop(columns=["issued_utc", "model_id", "model_run_id"])) for p in issued]
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    out["model versions"] = versions(client)
    return out


def test_s3_failing_transiently_during_a_run_ends_as_a_clean_run(
    env: dict[str, str], tmp_path: Path, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`airwatch run` on an S3 store whose requests meet throttling, 500s, resets and a lost answer.

    The same run on the same input without faults is the reference: the outputs must be the same.
    """
    folder = tmp_path / "input"
    folder.mkdir()
    for year in (2010, 2011):
        shutil.copy(sample_dir / f"pm25_daily_{year}_cook_county_IL.csv.gz", folder)
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    base = {k: v for k, v in env.items() if not k.startswith("AWS_")} | aws
    with moto_server() as endpoint, fault_proxy(endpoint) as proxy:
        for name, value in {**aws, "AWS_ENDPOINT_URL": endpoint}.items():  # this process reads moto directly
            monkeypatch.setenv(name, value)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="airwatch-faults")
        outputs = {}
        for case, url in (("clean", endpoint), ("faulty", proxy.url)):
            (tmp_path / case).mkdir()
            tracking = f"sqlite:///{tmp_path / case / 'mlflow.db'}"
            run_env = {**base, "AWS_ENDPOINT_URL": url, "AIRWATCH_STORE": f"s3://airwatch-faults/{case}",
                       "AIRWATCH_MLFLOW_TRACKING_URI": tracking}  # fmt: skip
            if case == "faulty":
                root = f"/airwatch-faults/{case}/"
                proxy.add("status", method="PUT", path_prefix=f"{root}processed/", count=2, status=503)
                proxy.add("status", method="PUT", path_prefix=f"{root}raw/", count=1, status=500)
                proxy.add("reset", method="GET", path_prefix=f"{root}raw/", count=1)
                proxy.add("reset-after", method="PUT", path_prefix=f"{root}processed/observations/_claims/", count=1)
                proxy.add("status", method="GET", path_prefix="/airwatch-faults?", count=2, status=500)  # listings
                proxy.add("reset", method="PUT", path_prefix=f"{root}predictions/", count=1)
            done = airwatch(["run", "--input-dir", str(folder), "--pollutants", "pm25"], run_env, tmp_path / case)
            assert done.returncode == 0, (case, done.stdout[-3000:])
            outputs[case] = _s3_outputs(f"s3://airwatch-faults/{case}", tracking)
        faults = sorted(s.fault for s in proxy.requests() if s.fault)
    assert faults == sorted(["status"] * 5 + ["reset"] * 2 + ["reset-after"]), faults  # every fault happened
    assert outputs["faulty"] == outputs["clean"]
