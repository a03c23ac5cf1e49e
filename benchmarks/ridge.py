"""Ridge regression's fit: the C++ core's passes (RidgeForm.fit) against scikit-learn's pipeline, on real features.

Data: EPA AirData national daily PM2.5 (2014-2019, ../shared/data/epa) when present, else the bundled
Cook County sample, made into AirWatch's feature frame by the production code (validate, then the
transform's feature_frame without weather; not timed). The rows: those the refit of day+1 learns from
(target and persistence known), with production's recency weights (10-year half-life); the target: the
change from persistence; the inputs: the model's (every feature column). Timed: the fit, from the frame
and the rows' positions, by

- airwatch: `RidgeForm.fit` (the core's medians, sums and design blocks; BLAS's cross-products);
- sklearn: `SimpleImputer(strategy="median", add_indicator=True)`, `StandardScaler` and `Ridge(alpha=1)`
  in a Pipeline, fitted on the rows taken from the frame (`frame.iloc[index]`), as a user with a feature
  frame fits it: the model RidgeForm reproduces;
- numpy: the previous RidgeForm (numpy's medians and design blocks, its cross-products by BLAS),
  kept here as the reference implementation in plain numpy.

The same thread cap for all (harness.THREADS; BLAS is capped by the harness). Compared, outside the
timed region: the forecast of every fitted row from each fit, at the tolerance printed.

    python benchmarks/ridge.py [--json FILE] [--repeat N]
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import harness  # first: sets the thread caps before anything imports numpy's BLAS users
import numpy as np
import pandas as pd

from airwatch.domain.train import RidgeForm, recency_weights, usable_rows
from airwatch.domain.transform import FeatureConfig, feature_columns
from airwatch.domain.transform import feature_frame as production_features
from airwatch.domain.validate import validate_observations

CLOSE = harness.Tolerance(rtol=1e-9, atol=1e-9)
BLOCK = 1 << 15


def feature_frame() -> tuple[str, pd.DataFrame]:
    source, raw = harness.national_pm25("*.csv.gz", "AirData national PM2.5 2014-2019")
    valid = validate_observations(raw, max_day=int(raw["day"].max())).valid
    return source, production_features(valid, "pm25", FeatureConfig()).frame


def numpy_fit(frame: pd.DataFrame, features: list[str], target: np.ndarray, weights: np.ndarray,
              index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:  # fmt: skip
    """RidgeForm.fit as it was in numpy: (fill, flagged, coef, intercept, scale, mean)."""
    columns = [frame[c].to_numpy(dtype=np.float64) for c in features]
    n = len(index)

    def median(c: np.ndarray) -> tuple[float, bool]:
        values = c[index]
        missing = np.isnan(values)
        if missing.all():
            return 0.0, True
        return float(np.median(values[~missing]) if missing.any() else np.median(values)), bool(missing.any())

    blocks = [slice(a, min(a + BLOCK, n)) for a in range(0, n, BLOCK)]
    with ThreadPoolExecutor(harness.THREADS) as pool:
        fill, flags = (np.array(v) for v in zip(*pool.map(median, columns), strict=True))
        flagged = np.flatnonzero(flags)
        width = len(columns) + len(flagged)

        def design(rows: slice) -> np.ndarray:
            x = np.empty((rows.stop - rows.start, width), order="F")
            for j, c in enumerate(columns):
                np.take(c, index[rows], out=x[:, j])
            values = x[:, : len(columns)]
            missing = np.isnan(values)
            np.copyto(values, fill, where=missing)
            for k, j in enumerate(flagged):
                x[:, len(columns) + k] = missing[:, j]
            return x

        sums, weighted = np.zeros(width), np.zeros(width)
        for s, ws in pool.map(lambda b: (design(b).sum(axis=0), weights[b] @ design(b)), blocks):
            sums += s
            weighted += ws
        mean, weighted_mean = sums / n, weighted / weights.sum()
        y_offset = np.average(target, weights=weights)
        root = np.sqrt(weights)
        yw = (target - y_offset) * root

        def second(b: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            x = design(b)
            x -= mean
            squares = np.einsum("ij,ij->j", x, x)
            x -= weighted_mean - mean
            x *= root[b, None]
            return squares, x.T @ x, x.T @ yw[b]

        squares, gram, rhs = np.zeros(width), np.zeros((width, width)), np.zeros(width)
        for s, g, r in pool.map(second, blocks):
            squares += s
            gram += g
            rhs += r
    var = squares / n
    constant = var <= n * np.finfo(np.float64).eps * var + (n * mean * np.finfo(np.float64).eps) ** 2
    scale = np.where(constant, 1.0, np.sqrt(var))
    gram /= np.outer(scale, scale)
    rhs /= scale
    gram.flat[:: width + 1] += 1.0
    coef = np.linalg.solve(gram, rhs)
    return fill, flagged, coef, float(y_offset - ((weighted_mean - mean) / scale) @ coef), np.concatenate([mean, scale])


def main() -> None:
    args = harness.options(__doc__ or "")
    print(harness.load_line("at start"))
    source, frame = feature_frame()
    features = feature_columns(frame)
    index = np.flatnonzero(usable_rows(frame, 1))
    target = (frame["target_1"].to_numpy(dtype=np.float64) - frame["last_value"].to_numpy(dtype=np.float64))[index]
    weights = recency_weights(frame["day"].to_numpy(dtype=np.float64)[index], 10.0)
    assert weights is not None
    rows = frame.iloc[index]
    print(f"data: {source}: {len(index):,} fitted rows of {len(frame):,} x {len(features)} inputs")

    def forecast_of_form(form: RidgeForm) -> dict[str, np.ndarray]:
        return {"forecast": form.predict(rows[features])}

    def sklearn_fit() -> Any:
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        pipeline = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                             ("scale", StandardScaler()), ("ridge", Ridge(alpha=1.0))])  # fmt: skip
        return pipeline.fit(frame.iloc[index][features], target, ridge__sample_weight=weights)

    def numpy_forecast(fit: tuple[Any, ...]) -> dict[str, np.ndarray]:
        fill, flagged, coef, intercept, moments = fit
        mean, scale = np.split(moments, 2)
        form = RidgeForm(fill, flagged, mean, scale, coef, intercept)
        return forecast_of_form(form)

    def ours() -> RidgeForm:
        return RidgeForm.fit(frame, features, target, weights, 1.0, index=index, threads=harness.THREADS)

    reference = forecast_of_form(ours())
    runs = {
        "airwatch": (ours, forecast_of_form),
        "sklearn": (sklearn_fit, lambda p: {"forecast": p.predict(rows[features])}),
        "numpy": (lambda: numpy_fit(frame, features, target, weights, index), numpy_forecast),
    }
    results = [harness.run_isolated(name, run, args.repeat, columns=columns, reference=reference, tol=CLOSE)
               for name, (run, columns) in runs.items()]  # fmt: skip
    harness.finish("ridge", results, CLOSE, args.json, len(index))


if __name__ == "__main__":
    main()
