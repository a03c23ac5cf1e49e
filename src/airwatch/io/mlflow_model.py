"""The code of every AirWatch model in MLflow (MLflow's models-from-code): nothing is pickled.

The logged model is this file plus the model's files (airwatch.domain.models: every horizon's point
and interval models, LightGBM in its native text format, ridge and climatology as JSON) as the
artifact ``model``; loading it rebuilds the models from those files with the installed airwatch
package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from airwatch import imports
from airwatch.domain.models import set_from_files
from airwatch.domain.train import ForecastSet

with imports.without("polars"):  # MLflow's Polars dataset type, never logged here (airwatch/imports.py)
    import mlflow
    from mlflow.pyfunc import PythonModel  # type: ignore[attr-defined]


class ForecastModel(PythonModel):
    """A feature frame in, forecasts out."""

    models: ForecastSet

    def load_context(self, context: Any) -> None:
        folder = Path(context.artifacts["model"])
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        self.models = set_from_files(files)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """One row per input row and horizon: row, horizon, forecast, lower, upper."""
        return self.models.predict(model_input)


mlflow.models.set_model(ForecastModel())
