"""MLflow 3 against the stack: PostgreSQL backend, artifacts proxied to S3, basic-auth on.

Run with the stack's env loaded (scripts/stack.sh up; set -a; . build/stack/env; set +a):
    python scripts/prototypes/mlflow_roundtrip.py

Logs a run with a file artifact and a LightGBM Booster (native model.lgb), registers it, sets the
alias "champion", then loads it back by alias in a child process that has no AWS variables at all
(the server proxies artifacts), and checks that a client without credentials is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid

import boto3
import lightgbm as lgb
import mlflow
import numpy as np
import requests
from mlflow import MlflowClient

NAME = f"proto-{uuid.uuid4().hex[:8]}"

LOAD_BY_ALIAS = """
import sys, numpy as np, mlflow.lightgbm
model = mlflow.lightgbm.load_model(sys.argv[1])
x = np.load(sys.argv[2])
np.save(sys.argv[3], model.predict(x))
print(type(model).__name__)
"""


def main() -> None:
    t0 = time.perf_counter()
    uri = os.environ["MLFLOW_TRACKING_URI"]
    mlflow.set_tracking_uri(uri)
    assert os.environ.get("MLFLOW_TRACKING_USERNAME"), "basic-auth: MLFLOW_TRACKING_USERNAME/PASSWORD must be set"

    # No credentials: the server answers 401 (health stays open for probes).
    assert requests.get(f"{uri}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10).status_code == 401
    assert requests.get(f"{uri}/health", timeout=10).status_code == 200

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=200)
    booster = lgb.train({"objective": "regression", "verbose": -1, "num_threads": 1}, lgb.Dataset(x, y), 20)

    experiment_id = mlflow.set_experiment(NAME).experiment_id
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_param("rounds", 20)
        mlflow.log_metric("rmse", float(np.sqrt(np.mean((booster.predict(x) - y) ** 2))))
        note = os.path.join(tmp, "note.txt")
        with open(note, "w") as fh:
            fh.write("hello from the prototype\n")
        mlflow.log_artifact(note, artifact_path="notes")
        info = mlflow.lightgbm.log_model(booster, name="model", input_example=x[:2])
    print(f"run {run.info.run_id} artifact_uri={run.info.artifact_uri} model_uri={info.model_uri}")

    version = mlflow.register_model(info.model_uri, NAME)
    client = MlflowClient()
    client.set_registered_model_alias(NAME, "champion", version.version)
    assert client.get_model_version_by_alias(NAME, "champion").version == version.version

    # The artifacts sit in S3 (moto) under s3://<bucket>/mlflow/, written by the server.
    s3 = boto3.client("s3")
    bucket = os.environ["AIRWATCH_STORE"].removeprefix("s3://").split("/")[0]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="mlflow/").get("Contents", [])]
    assert any(k.endswith("notes/note.txt") for k in keys), keys
    assert any(k.endswith("model.lgb") for k in keys), keys  # the native Booster file, no pickle
    print(f"{len(keys)} objects under s3://{bucket}/mlflow/, e.g. {sorted(k for k in keys if k.endswith('.lgb'))}")

    # A client with no AWS variables loads the model by alias through the server's artifact proxy.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "MLFLOW_S3_ENDPOINT_URL"}
    with tempfile.TemporaryDirectory() as tmp:
        np.save(f"{tmp}/x.npy", x[:5])
        out = subprocess.run(
            [sys.executable, "-c", LOAD_BY_ALIAS, f"models:/{NAME}@champion", f"{tmp}/x.npy", f"{tmp}/y.npy"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        loaded = np.load(f"{tmp}/y.npy")
    assert out.stdout.strip() == "Booster", out.stdout
    np.testing.assert_allclose(loaded, booster.predict(x[:5]))

    client.delete_registered_model(NAME)
    client.delete_experiment(experiment_id)
    print(f"mlflow round trip OK in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
