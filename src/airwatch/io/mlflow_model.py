"""The code of every AirWatch model in MLflow (MLflow's models-from-code): nothing is pickled.

The logged model is this file plus the candidate's files (airwatch.domain.models: LightGBM's native
text format, ridge and climatology as JSON) as the artifact ``model``; loading it rebuilds the
candidate from those files with the installed airwatch package.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel  # type: ignore[attr-defined]

from airwatch.domain.models import MANIFEST, from_files


class ForecastModel(PythonModel):
    """A feature frame in, forecasts out."""

    candidate: Any
    features: list[str]

    def load_context(self, context: Any) -> None:
        folder = Path(context.artifacts["model"])
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        self.candidate = from_files(files)
        self.features = list(json.loads(files[MANIFEST]).get("features", []))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> np.ndarray:
        return np.asarray(self.candidate.predict(model_input), dtype=np.float64)


mlflow.models.set_model(ForecastModel())
