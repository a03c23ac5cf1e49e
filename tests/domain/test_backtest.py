"""The backtest's scoring rules on small hand-computed fixtures: bootstrap intervals, staleness, samplers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from airwatch.domain.backtest import (
    BacktestConfig,
    backtest,
    bootstrap_skill,
    choose_model,
    daily_samplers,
    metrics,
    scored_rows,
    selection_days,
    warning_detection,
)
from airwatch.domain.transform import FeatureConfig, build_features

CONFIG = BacktestConfig(seed=42, lightgbm_rounds=20, lightgbm_learning_rate=0.03, lightgbm_max_rows=0,
                        lightgbm_sample_rows=0, quantile_rounds=20, quantile_learning_rate=0.1,
                        quantile_max_rows=200_000, quantile_sample_rows=0, half_life_years=10.0, min_skill=-1.0,
                        max_overfit_gap=10.0,
                        folds=1, fold_days=60, horizons=(1,))  # fmt: skip


def test_bootstrap_interval_of_two_opposite_blocks_is_hand_computed() -> None:
    """Block A: forecast error 1, reference error 2; block B the reverse. Skill 1 - sqrt(sum f^2 / sum r^2).

    Resampling two blocks gives AA (skill 1 - sqrt(2/8) = 0.5, p = 1/4), AB (0, p = 1/2) or BB
    (1 - sqrt(8/2) = -1, p = 1/4), so the 5% and 95% quantiles are -1 and 0.5; the point estimate is 0.
    """
    observed = np.zeros(2)
    forecast, reference = np.array([1.0, 2.0]), np.array([2.0, 1.0])
    low, high = bootstrap_skill(forecast, reference, observed, np.array([0, 1]), resamples=1000, seed=1)
    assert (low, high) == pytest.approx((-1.0, 0.5))
    assert low <= 0.0 <= high


def test_bootstrap_of_identical_blocks_has_no_width() -> None:
    forecast, reference = np.ones(6), np.full(6, 2.0)  # every block: skill 1 - sqrt(1/4) = 0.5
    low, high = bootstrap_skill(forecast, reference, np.zeros(6), np.array([0, 0, 1, 1, 2, 2]), resamples=200, seed=3)
    assert low == pytest.approx(0.5) and high == pytest.approx(0.5)


def _noisy(n_days: int, sites: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    observed = rng.normal(10, 3, n_days * sites)
    forecast = observed + rng.normal(0, 1.0, observed.size)
    reference = observed + rng.normal(0, 1.3, observed.size)
    return forecast, reference, observed, np.repeat(np.arange(n_days), sites)


def test_bootstrap_interval_contains_the_estimate_narrows_with_data_and_is_reproducible() -> None:
    widths = []
    for days in (20, 500):
        forecast, reference, observed, block = _noisy(days, 5, seed=days)
        point = 1 - np.sqrt(np.sum((forecast - observed) ** 2) / np.sum((reference - observed) ** 2))
        low, high = bootstrap_skill(forecast, reference, observed, block, resamples=1000, seed=42)
        assert low < point < high
        assert (low, high) == bootstrap_skill(forecast, reference, observed, block, resamples=1000, seed=42)
        assert (low, high) != bootstrap_skill(forecast, reference, observed, block, resamples=1000, seed=43)
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # 25 times the days: about a fifth of the width


def test_missing_values_are_left_out_of_the_bootstrap() -> None:
    forecast, reference = np.array([1.0, np.nan, 1.0]), np.array([2.0, 2.0, np.nan])
    assert bootstrap_skill(forecast, reference, np.zeros(3), np.arange(3), resamples=50, seed=0) == pytest.approx(
        (0.5, 0.5)
    )


def test_staleness_cap_keeps_only_rows_production_would_forecast() -> None:
    test = pd.DataFrame({"days_since_obs": [0.0, 1.0, 3.0, 4.0, np.nan], "last_value": [5.0, 6.0, 7.0, 8.0, np.nan]})
    kept = scored_rows(test, max_staleness_days=3)
    assert kept["last_value"].tolist() == [5.0, 6.0, 7.0]
    assert scored_rows(test, max_staleness_days=0)["last_value"].tolist() == [5.0]


def test_daily_samplers_are_told_from_one_in_three_samplers() -> None:
    days = pd.date_range("2019-01-01", periods=30)
    frame = pd.DataFrame({
        "site_id": ["daily"] * 30 + ["third"] * 30 + ["gappy"] * 30,
        "date": list(days) * 3,
        "day": list(range(30)) * 3,
        "value": [1.0] * 30 + [1.0 if i % 3 == 0 else np.nan for i in range(30)]
        + [np.nan if 10 <= i < 14 else 1.0 for i in range(30)],  # 26 of 30 days: 87%
    })  # fmt: skip
    assert daily_samplers(frame, days[0], days[-1], 0.9) == {"daily"}
    assert daily_samplers(frame, days[0], days[-1], 0.85) == {"daily", "gappy"}
    assert daily_samplers(frame, days[0], days[9], 0.9) == {"daily", "gappy"}  # before the gap


def test_aqi_above_100_detection_is_hand_computed() -> None:
    """PM2.5 above 35.4 ug/m3 is AQI > 100: one hit, one miss, one false alarm, one correct negative."""
    p = pd.DataFrame({
        "site_id": ["a"] * 4, "date": pd.date_range("2019-07-01", periods=4), "horizon": 1,
        "observed": [40.0, 40.0, 10.0, 10.0], "forecast": [40.0, 10.0, 40.0, 10.0],
        "persistence": [30.0, 30.0, 30.0, 30.0], "climatology": [20.0] * 4,
    })  # fmt: skip
    m = metrics("pm25", p, seed=0, resamples=100)
    assert (m["aqi100_hits"], m["aqi100_misses"], m["aqi100_false_alarms"]) == (1, 1, 1)
    assert m["aqi100_pod"] == 0.5 and m["aqi100_far"] == 0.5 and m["aqi100_csi"] == pytest.approx(1 / 3)
    assert m["skill_vs_persistence_ci90_low"] <= m["skill_vs_persistence"] <= m["skill_vs_persistence_ci90_high"]


def test_interval_coverage_and_mean_width_are_hand_computed() -> None:
    """Two of four observations inside their interval; widths 2, 4, 6 and 8 ug/m3."""
    p = pd.DataFrame({
        "site_id": ["a"] * 4, "date": pd.date_range("2019-07-01", periods=4), "horizon": 1,
        "observed": [10.0, 10.0, 10.0, 10.0], "forecast": [10.0] * 4, "persistence": [9.0] * 4,
        "climatology": [8.0] * 4, "lower": [9.0, 11.0, 7.0, 1.0], "upper": [11.0, 15.0, 13.0, 9.0],
    })  # fmt: skip
    m = metrics("pm25", p, seed=0, resamples=10)
    assert m["interval_80_coverage"] == 0.5 and m["interval_80_width"] == 5.0


def test_selection_window_shrinks_to_half_the_history_down_to_a_minimum() -> None:
    assert selection_days(500, CONFIG) == 182  # long history: as configured
    assert selection_days(90, CONFIG) == 45  # 90 days with data: half of them
    with pytest.raises(ValueError, match="at least 30 days"):
        selection_days(46, CONFIG)  # 23 would be too few


def test_a_seasonal_monitor_is_selected_on_its_last_season_not_the_winter() -> None:
    """Data from May to September only: the test season's selection window is the previous season's end."""
    frame = _synthetic_frame(600, {s: (153, 365) for s in ("a", "b", "c")})  # 153 days, a gap, 235 days
    first_test = _day(365 + 60)
    _, report = choose_model(frame, first_test, CONFIG, lambda _h: ["last_value", "mean_7"])
    start, end = (pd.Timestamp(d) for d in report["window"])
    assert report["window_days"] == min(182, (153 + 58) // 2)  # half the days with data before the test
    assert start < _day(153) and end == first_test - pd.Timedelta(days=2)  # reaches back into the season before


def _synthetic_frame(days: int, gaps: dict[str, tuple[int, int]], noise: np.ndarray | None = None) -> pd.DataFrame:
    """Sites with a seasonal series; a site of gaps is unobserved on days gap[0]..gap[1]-1 (from day 17000).

    noise: each day's noise standard deviation (default 1).
    """
    rng = np.random.default_rng(0)
    rows = []
    for i, site in enumerate(("a", "b", "c")):
        level = 10 + 5 * np.sin(np.arange(days) / 20) + rng.normal(0, 1, days) * (1.0 if noise is None else noise)
        first, end = gaps.get(site, (0, 0))
        rows += [(site, 17000 + d, level[d], 40.0 + i, -88.0, site) for d in range(days) if not first <= d < end]
    daily = pd.DataFrame(rows, columns=["site_id", "day", "value", "latitude", "longitude", "site_name"])
    return build_features(daily, replace(FeatureConfig(), horizons=(1,), neighbors=0))


def _day(d: int) -> pd.Timestamp:
    return pd.Timestamp("1970-01-01") + pd.Timedelta(days=17000 + d)


def test_backtest_scores_only_fresh_site_days_and_shrinks_a_short_selection_window() -> None:
    # 150 days, the test fold is the last 60 target days; 88 days of history before it.
    frame = _synthetic_frame(150, {"b": (120, 123), "c": (120, 124)})
    result = backtest(frame, "pm25", CONFIG)
    assert result.selection["shortened"] and result.selection["window_days"] == 44
    p = result.horizons[1].predictions.set_index(["site_id", "date"])
    # b: issue day 122 saw day 119 last (3 days old): scored, and persistence is day 119's value.
    last = frame[(frame["site_id"] == "b") & (frame["day"] == 17119)]["value"].item()
    assert p.loc[("b", _day(122)), "persistence"] == last
    # c: issue day 123 saw day 119 last (4 days old): production would not forecast it, so it is not scored.
    assert ("c", _day(123)) not in p.index and ("c", _day(124)) in p.index
    assert (frame["days_since_obs"] > 3).any() and len(p) == len(frame[frame["target_1"].notna()
        & (frame["days_since_obs"] <= 3) & (frame["day"] >= 17089)])  # fmt: skip
    assert set(result.by_sampling[1]) <= {"daily", "non_daily"}
    with pytest.raises(ValueError, match="days with data before the test"):
        backtest(_synthetic_frame(110, {}), "pm25", CONFIG)


def test_the_interval_models_learn_each_folds_rows_as_production_refits_them() -> None:
    """The series turns five times noisier at day 300; the folds score days 320-359 and 360-399.

    Production refits the quantile models at every training, so a fold's interval follows the
    noise its training rows saw: the second fold (60 noisy days in its rows) is wider than the first
    (20). Fitted once on the first fold's rows, both folds had the same models and the same widths.
    """
    frame = _synthetic_frame(400, {}, noise=np.where(np.arange(400) < 300, 0.5, 5.0))
    result = backtest(frame, "pm25", replace(CONFIG, folds=2, fold_days=40))
    assert result.model not in ("persistence", "climatology")  # a learned model, with an interval
    p = result.horizons[1].predictions
    width = (p["upper"] - p["lower"]).groupby(pd.to_datetime(p["date"]) + pd.Timedelta(days=1) < _day(360)).mean()
    assert width[False] > 1.5 * width[True], width


def test_warning_detection_at_each_probability_is_hand_computed() -> None:
    """Ozone above 0.0705 ppm is AQI > 100 (0.071 after truncation). Forecasts with symmetric intervals:
    a forecast at the threshold has p = 0.5; far above, p ~ 1; far below, p ~ 0."""
    p = pd.DataFrame({
        "observed": [0.080, 0.080, 0.050, 0.050], "forecast": [0.071, 0.040, 0.071, 0.100],
        "lower": [0.061, 0.030, 0.061, 0.090], "upper": [0.081, 0.050, 0.081, 0.110],
    })  # fmt: skip
    d = warning_detection("ozone", p, (0.4, 0.6))
    # p >= 0.4: warnings on rows 0, 2, 3 -> 1 hit, 1 miss, 2 false alarms.
    assert (d["0.40"]["hits"], d["0.40"]["misses"], d["0.40"]["false_alarms"]) == (1, 1, 2)
    assert d["0.40"]["pod"] == 0.5 and d["0.40"]["far"] == pytest.approx(2 / 3) and d["0.40"]["csi"] == 0.25
    # p >= 0.6: only row 3 (a false alarm).
    assert (d["0.60"]["hits"], d["0.60"]["misses"], d["0.60"]["false_alarms"]) == (0, 2, 1)
