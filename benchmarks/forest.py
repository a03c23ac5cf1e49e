"""Tree-ensemble prediction: the C++ core's Forest against LightGBM's own predict, on real features.

Data: EPA AirData national daily PM2.5 (2014-2019, ../shared/data/epa) when present, else the bundled
Cook County sample, made into AirWatch's feature frame by the production code (validate, then the transform's
feature_frame without weather; not timed). The model: the production LightGBM point model (its
parameters, its fixed sample, 150 rounds), fitted on all but the last year (not timed). Timed: the
change-from-persistence forecast of every row of the frame, by

- airwatch: `core.Forest` (read from the Booster's model text before timing) over the frame's float64
  columns as they are;
- lightgbm: `Booster.predict` on the frame's feature columns, as a user with a feature frame calls it
  (LightGBM makes its row-major matrix inside);
- lightgbm+matrix: `Booster.predict` on that matrix made before timing (LightGBM's prediction alone).

The same thread cap for all (harness.THREADS, LightGBM's num_threads). The forecasts must be equal to
the bit (tolerance 0): the script fails otherwise.

    python benchmarks/forest.py [--json FILE] [--repeat N]
"""

from __future__ import annotations

from typing import Any

import harness  # first: sets the Polars thread cap before anything imports Polars
import numpy as np
import pandas as pd

from airwatch import core
from airwatch.domain.train import LIGHTGBM, make_candidates, time_split
from airwatch.domain.transform import FeatureConfig, feature_columns
from airwatch.domain.transform import feature_frame as production_features
from airwatch.domain.validate import validate_observations
from airwatch.settings import TrainSettings

EXACT = harness.Tolerance(rtol=0.0, atol=0.0)


def feature_frame() -> tuple[str, pd.DataFrame]:
    source, raw = harness.national_pm25("*.csv.gz", "AirData national PM2.5 2014-2019")
    valid = validate_observations(raw, max_day=int(raw["day"].max())).valid
    return source, production_features(valid, "pm25", FeatureConfig()).frame


def fit_in_child(model: Any, frame: pd.DataFrame) -> str:
    """The model fitted on all but the frame's last year, as LightGBM's model text, fitted in a forked child."""
    import multiprocessing as mp

    def fit(out: Any) -> None:
        split = time_split(frame, horizon=1, validation_days=365)
        model.fit(split.train, split.train["target_1"].to_numpy(dtype=np.float64))
        out.put(model.form_.model_to_string())

    ctx = mp.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=fit, args=(out,))
    child.start()
    text = out.get()
    child.join()
    return str(text)


def main() -> None:
    args = harness.options(__doc__ or "")
    print(harness.load_line("at start"))
    source, frame = feature_frame()
    ts = TrainSettings()
    features = feature_columns(frame)
    model = next(c for c in make_candidates(features, seed=ts.seed, lightgbm_rounds=ts.lightgbm_rounds,
                                            lightgbm_learning_rate=ts.lightgbm_learning_rate,
                                            lightgbm_max_rows=ts.lightgbm_max_rows,
                                            lightgbm_sample_rows=ts.lightgbm_sample_rows,
                                            half_life_years=ts.recency_half_life_years,
                                            threads=harness.THREADS) if c.name == LIGHTGBM)  # fmt: skip
    # Fitted in a child of its own: LightGBM's OpenMP threads, once started here, would hang every
    # forked child that predicts (libgomp is not fork-safe). Each child reads the model text itself.
    text = fit_in_child(model, frame)
    trees = text.count("\nTree=")
    forest = core.Forest.from_lightgbm(text)
    inputs = frame[model.features]
    matrix = inputs.to_numpy(dtype=np.float64)
    print(f"data: {source}: {len(frame):,} rows x {len(model.features)} inputs; model: {trees} trees, "
          f"{ts.lightgbm_sample_rows:,}-row sample")  # fmt: skip
    booster: list[Any] = []

    def load() -> None:
        import lightgbm as lgb

        booster.append(lgb.Booster(model_str=text))

    def ours() -> Any:
        return forest.predict([frame[c].to_numpy(dtype=np.float64) for c in model.features], harness.THREADS)

    runs = {
        "airwatch": (ours, None),
        "lightgbm": (lambda: booster[0].predict(inputs, num_threads=harness.THREADS), load),
        "lightgbm+matrix": (lambda: booster[0].predict(matrix, num_threads=harness.THREADS), load),
    }
    reference = {"delta": ours()}
    results = [harness.run_isolated(name, run, args.repeat, columns=lambda got: {"delta": np.asarray(got)},
                                    reference=reference, tol=EXACT, prepare=prepare)
               for name, (run, prepare) in runs.items()]  # fmt: skip
    harness.finish("forest", results, EXACT, args.json, len(frame))


if __name__ == "__main__":
    main()
