"""What each feature group adds to ozone forecasts: a backtest per feature set, same folds and data.

    .venv/bin/python scripts/weather_ablation.py ../shared/data/epa/adviz_queens_college_ny ../shared/data/noaa

Feature groups: the site's own series (lags, rolling statistics, EWMs, missing-data indicators,
calendar, coordinates), neighbour sites, co-located pollutants, the issue day's observed weather at
the site's station and upstream (lagged), the target day's observed weather (observed-as-forecast).
Prints day+1 RMSE skill over persistence for each cumulative set. Scores only the rolling-origin test
folds; the model is chosen on the selection window before them, as in `airwatch backtest`.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from airwatch.domain.backtest import backtest
from airwatch.domain.transform import feature_columns
from airwatch.domain.weather import OBSERVED, columns_for_horizon
from airwatch.flows.backtest import backtest_config, backtest_frame
from airwatch.settings import load_settings


def main() -> None:
    epa, noaa = Path(sys.argv[1]), Path(sys.argv[2])
    pollutant = sys.argv[3] if len(sys.argv) > 3 else "ozone"
    config = replace(backtest_config(load_settings()), horizons=(1,))
    frame, _, _ = backtest_frame(str(epa), pollutant, config.horizons, str(noaa), (OBSERVED,))
    columns = feature_columns(frame)
    own = [c for c in columns if not c.startswith(("nb_", "aux_", "wx"))]
    groups = [
        ("own series", own),
        ("+ neighbour sites", own + [c for c in columns if c.startswith("nb_")]),
        ("+ co-located pollutants", own + [c for c in columns if c.startswith(("nb_", "aux_"))]),
        ("+ issue-day weather here (lagged)", [c for c in columns if not c.startswith(("wxf", "wxup"))]),
        ("+ issue-day weather upstream (lagged)", [c for c in columns if not c.startswith("wxf")]),
        ("+ target-day weather (observed-as-forecast)", columns_for_horizon(columns, 1)),
    ]
    print(f"{pollutant} at {epa.name}: {frame['site_id'].nunique()} sites")
    print(f"{'features':<46}{'model':>10}{'day+1 skill':>14}{'vs climatology':>16}")
    for label, cols in groups:
        result = backtest(frame, pollutant, config, features_for=lambda _h, cols=cols: cols)
        m = result.horizons[1].metrics
        print(f"{label:<46}{result.model:>10}{100 * m['skill_vs_persistence']:>13.1f}%"
              f"{100 * m['skill_vs_climatology']:>15.1f}%")  # fmt: skip


if __name__ == "__main__":
    main()
