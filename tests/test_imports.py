"""What a command imports before it does any work: a repeated run fits and draws nothing.

LightGBM (and the scikit-learn it imports) and matplotlib were 4 s of a repeated run's imports on the
2-core machine (docs/core.md); they are imported where a model is fitted and where a figure is drawn,
not where a model is read back (the core predicts it).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from airwatch.domain import gbm

IMPORTS = "import sys\nimport airwatch.cli, airwatch.flows.pipeline, airwatch.io.registry\n"
HEAVY = "print(','.join(sorted(m for m in ('lightgbm', 'sklearn', 'matplotlib', 'polars') if m in sys.modules)))\n"
FIT = (
    "import numpy as np, pandas as pd\n"
    "from airwatch.domain.train import make_quantile, Rows\n"
    "f = pd.DataFrame({'lag_0': np.arange(200.0), 'last_value': np.arange(200.0), 'day': np.arange(200.0)})\n"
    "make_quantile(['lag_0'], 0.9, seed=1, rounds=10, rate=0.1, half_life_years=0.0, threads=1)"
    ".fit_rows(Rows(f, np.arange(200.0) + 1))\n"
)
# The console script calls imports.lean() before anything: LightGBM's scikit-learn wrappers are not
# loaded, nor what they import, nor MLflow's Polars dataset type. One child process imports the pipeline
# as the command does, then fits.
LEAN = (
    "from airwatch import imports\nimports.lean()\n"
    + IMPORTS
    + HEAVY
    + FIT
    + HEAVY
    + "import sklearn, lightgbm, polars, mlflow.data.dataset_registry as r\n"
    + "print(lightgbm.compat.SKLEARN_INSTALLED, 'from_polars' in r.get_registered_constructors())\n"
)


@pytest.fixture(scope="module")
def imported() -> list[str]:
    """What the child printed: the heavy modules after the imports, after a fit, and LightGBM's wrappers' state."""
    done = subprocess.run([sys.executable, "-c", LEAN], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")[:3]


def test_the_pipeline_imports_neither_lightgbm_nor_matplotlib_until_it_fits_or_draws(imported: list[str]) -> None:
    assert imported[0] == ""  # nor Polars, which MLflow would import for a dataset type never logged


def test_fitting_imports_lightgbm_where_it_is_needed_and_the_command_without_scikit_learn(imported: list[str]) -> None:
    _, fitted_with, stand_in = imported
    assert fitted_with == "lightgbm"  # imported by the fit, and scikit-learn is still importable afterwards
    assert stand_in == "False False"  # LightGBM's wrappers took its stand-ins for scikit-learn's classes,
    # and MLflow registered no Polars dataset type; both packages are importable afterwards


def test_as_a_library_lightgbm_comes_with_its_scikit_learn_wrappers() -> None:
    assert gbm.lightgbm().compat.SKLEARN_INSTALLED  # this process never called gbm.lean()


def test_a_lightgbm_model_read_back_predicts_without_lightgbm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # What serves a champion (the predict stage, replay, monitoring) reads its trees back from the
    # registry's text and walks them in the core: no LightGBM Booster is built to be read again.
    import json

    import numpy as np
    import pandas as pd

    from airwatch.domain.models import to_files
    from airwatch.domain.train import make_quantile

    frame = pd.DataFrame({"lag_0": np.arange(300.0) % 17, "last_value": np.arange(300.0), "day": np.arange(300.0)})
    model = make_quantile(["lag_0"], 0.9, seed=1, rounds=10, rate=0.1, half_life_years=0.0, threads=1)
    model.fit(frame, np.arange(300.0) + frame["lag_0"].to_numpy())
    files = {name: body.decode() for name, body in to_files(model).items()}
    (tmp_path / "model.json").write_text(json.dumps(files))
    frame.to_parquet(tmp_path / "frame.parquet")
    child = (
        "import json, sys, pandas as pd\n"
        "from airwatch.domain.models import from_files\n"
        f"files = json.loads(open({str(tmp_path / 'model.json')!r}).read())\n"
        "model = from_files({k: v.encode() for k, v in files.items()})\n"
        f"print(list(model.predict(pd.read_parquet({str(tmp_path / 'frame.parquet')!r}))))\n"
        "print('lightgbm' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    forecasts, imported = done.stdout.strip().split("\n")
    assert imported == "False"
    assert forecasts == str(list(model.predict(frame)))  # the fitted Booster's numbers, to the digit printed
