"""Season-aware feature drift (airwatch.domain.drift) against plain references (scipy, numpy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from airwatch.domain.drift import DriftThresholds, feature_drift, iso_week, season_weeks

FEATURES = ["temperature", "ozone", "pm25", "wind_speed"]
# Agreement with scipy/numpy: KS is a ratio of counts and must match to rounding; Wasserstein and PSI
# are sums of a few thousand terms, accumulated in a different order.
KS_ABS, WASSERSTEIN_REL, PSI_REL = 1e-12, 1e-9, 1e-9


def rows(dates: pd.DatetimeIndex, sites: int, seed: int, shift: dict[str, float] | None = None) -> pd.DataFrame:
    """Generated site-days: temperature and ozone follow the seasons (peak in July), PM2.5 and wind do not."""
    rng = np.random.default_rng(seed)
    date = np.repeat(dates.to_numpy(dtype="datetime64[s]"), sites)
    season = np.cos(2 * np.pi * (date.astype("datetime64[D]").astype(np.int64) - 197) / 365.25)  # 1 mid-July
    n = len(date)
    frame = pd.DataFrame(
        {
            "site_id": np.tile(np.arange(sites), len(dates)),
            "date": date,
            "temperature": 12 + 14 * season + rng.normal(0, 3, n),
            "ozone": 0.035 + 0.012 * season + rng.normal(0, 0.006, n),
            "pm25": rng.gamma(2.0, 4.0, n),
            "wind_speed": rng.weibull(2.0, n) * 4,
        }
    )
    for name, delta in (shift or {}).items():
        frame[name] += delta
    return frame


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """Four years of training rows, 400 sites, with 5% of values missing."""
    frame = rows(pd.date_range("2015-01-01", "2018-12-31"), 400, seed=1)
    rng = np.random.default_rng(2)
    for name in FEATURES:
        frame.loc[rng.random(len(frame)) < 0.05, name] = np.nan
    return frame


def test_identical_data_shows_no_drift(reference: pd.DataFrame) -> None:
    batch = reference[reference["date"] == pd.Timestamp("2017-07-15")]
    report = feature_drift(batch, batch, FEATURES)
    assert report.drifted == []
    for f in report.features:
        assert f.evaluated and (f.psi, f.ks, f.wasserstein) == (0.0, 0.0, 0.0)
        assert f.n_reference == f.n_current == batch[f.feature].notna().sum()


def test_a_shifted_feature_is_flagged_and_only_it(reference: pd.DataFrame) -> None:
    day = pd.date_range("2019-07-15", periods=1)
    calm = feature_drift(reference, rows(day, 1500, seed=3), FEATURES)
    assert calm.drifted == []
    # Sampling noise, and one day against five weeks of a seasonal cycle: well under the thresholds.
    assert all(f.evaluated and f.psi < 0.05 and f.ks < 0.08 for f in calm.features)
    # PM2.5 up by 3 ug/m3, about half its standard deviation: a smoke season, a new monitor type.
    shifted = feature_drift(reference, rows(day, 1500, seed=3, shift={"pm25": 3.0}), FEATURES)
    assert shifted.drifted == ["pm25"]
    pm25 = next(f for f in shifted.features if f.feature == "pm25")
    assert pm25.psi > 0.2 and pm25.ks > 0.1 and pm25.wasserstein == pytest.approx(3.0, rel=0.1)


def test_the_reference_is_the_same_weeks_of_every_year(reference: pd.DataFrame) -> None:
    summer = rows(pd.date_range("2019-07-15", periods=1), 1500, seed=4)  # ISO week 29
    seasonal = feature_drift(reference, summer, FEATURES)
    assert seasonal.current_weeks == (29,)
    assert seasonal.reference_weeks == (27, 28, 29, 30, 31)
    weeks = reference["date"].dt.isocalendar().week
    assert seasonal.reference_rows == weeks.between(27, 31).sum()
    assert seasonal.drifted == []
    # Against every week of the year, the summer batch's temperature and ozone look drifted; PM2.5 and
    # wind, which have no seasonal cycle here, do not.
    whole_year = feature_drift(reference, summer, FEATURES, margin_weeks=None)
    assert whole_year.reference_rows == len(reference)
    assert len(whole_year.reference_weeks) == 52
    assert whole_year.drifted == ["temperature", "ozone"]
    # A winter batch is compared with winters only, across the turn of the year.
    winter = feature_drift(reference, rows(pd.date_range("2019-01-02", periods=1), 1500, seed=5), FEATURES)
    assert winter.current_weeks == (1,)
    assert winter.reference_weeks == (1, 2, 3, 51, 52)
    assert winter.drifted == []


def test_statistics_agree_with_scipy_and_numpy(reference: pd.DataFrame) -> None:
    current = rows(pd.date_range("2019-07-14", periods=3), 700, seed=6, shift={"ozone": 0.004})
    current.loc[::7, "temperature"] = np.nan
    report = feature_drift(reference, current, FEATURES, margin_weeks=1)
    # The same rows, chosen independently: ISO weeks 27-30 (the batch spans weeks 28 and 29).
    assert report.current_weeks == (28, 29)
    same_weeks = reference[reference["date"].dt.isocalendar().week.between(27, 30)]
    worst = {"ks": 0.0, "wasserstein": 0.0, "psi": 0.0}
    for f in report.features:
        ref = same_weeks[f.feature].dropna().to_numpy()
        cur = current[f.feature].dropna().to_numpy()
        assert (f.n_reference, f.n_current) == (len(ref), len(cur))
        ks = stats.ks_2samp(ref, cur).statistic
        w = stats.wasserstein_distance(ref, cur)
        edges = np.quantile(ref, np.linspace(0, 1, 11)[1:-1])
        r = np.maximum(np.bincount(np.digitize(ref, edges, right=True), minlength=10) / len(ref), 1e-4)
        c = np.maximum(np.bincount(np.digitize(cur, edges, right=True), minlength=10) / len(cur), 1e-4)
        psi = np.sum((c - r) * np.log(c / r))
        worst["ks"] = max(worst["ks"], abs(f.ks - ks))
        worst["wasserstein"] = max(worst["wasserstein"], abs(f.wasserstein - w) / w)
        worst["psi"] = max(worst["psi"], abs(f.psi - psi) / psi)
    print(
        f"largest differences: KS {worst['ks']:.1e} (abs, tolerance {KS_ABS:.0e}), "
        f"Wasserstein {worst['wasserstein']:.1e} (rel, {WASSERSTEIN_REL:.0e}), "
        f"PSI {worst['psi']:.1e} (rel, {PSI_REL:.0e})"
    )
    assert worst["ks"] <= KS_ABS
    assert worst["wasserstein"] <= WASSERSTEIN_REL
    assert worst["psi"] <= PSI_REL
    assert report.drifted == ["ozone"]


def test_features_without_enough_values_are_not_evaluated(reference: pd.DataFrame) -> None:
    current = rows(pd.date_range("2019-07-15", periods=1), 300, seed=7)
    current.loc[current.index[:150], "wind_speed"] = np.nan
    current["pm25"] = np.nan
    report = feature_drift(reference, current.drop(columns="ozone"), FEATURES)
    by_name = {f.feature: f for f in report.features}
    assert [f.feature for f in report.features] == FEATURES
    assert by_name["temperature"].evaluated
    assert not by_name["wind_speed"].evaluated
    assert by_name["wind_speed"].reason == "too few values: 150 current (minimum 200)"
    assert by_name["pm25"].reason == "too few values: 0 current (minimum 200)"
    assert by_name["ozone"].reason == "absent from the current frame"
    for name in ("wind_speed", "pm25", "ozone"):
        f = by_name[name]
        assert not f.drifted and np.isnan([f.psi, f.ks, f.wasserstein]).all()
    frame = report.frame()
    assert list(frame["feature"]) == FEATURES and frame["evaluated"].tolist() == [True, False, False, False]


def test_thresholds_are_the_callers(reference: pd.DataFrame) -> None:
    current = rows(pd.date_range("2019-07-15", periods=1), 1500, seed=8, shift={"pm25": 1.0})
    default = feature_drift(reference, current, FEATURES)
    pm25 = next(f for f in default.features if f.feature == "pm25")
    assert default.thresholds == DriftThresholds(psi=0.2, ks=0.1)
    strict = DriftThresholds(psi=pm25.psi, ks=1.0)  # at the threshold counts as drifted
    assert feature_drift(reference, current, FEATURES, thresholds=strict).drifted == ["pm25"]
    lax = DriftThresholds(psi=10.0, ks=1.0)
    assert feature_drift(reference, current, FEATURES, thresholds=lax).drifted == []


def test_iso_week_matches_pandas() -> None:
    dates = pd.Series(pd.date_range("1996-12-20", "2031-01-10"))
    np.testing.assert_array_equal(iso_week(dates), dates.dt.isocalendar().week.to_numpy(dtype=np.int64))
    assert iso_week(pd.Series([pd.NaT, "2020-12-31", "2021-01-03"])).tolist() == [0, 53, 53]


def test_season_weeks_wrap_around_the_year() -> None:
    assert np.flatnonzero(season_weeks([52], 2)).tolist() == [1, 2, 50, 51, 52]
    assert np.flatnonzero(season_weeks([53], 1)).tolist() == [1, 51, 52]  # week 53 counts as 52
    assert np.flatnonzero(season_weeks([10, 20], 0)).tolist() == [10, 20]


def test_real_ozone_is_compared_with_its_season(sample_observations: pd.DataFrame) -> None:
    # Cook County daily ozone (the bundled real sample): 1990-2000 as the reference, a month of 2001 as
    # the batch. Against the whole year every month looks drifted; against its own weeks the statistics
    # shrink to a fraction. What remains is real: July 2001 differs from the Julys before it by a KS of
    # about 0.12 (one summer, 14 sites); October 2001 does not drift.
    ozone = sample_observations[sample_observations["parameter"] == 44201]
    ozone = ozone.assign(date=pd.to_datetime(ozone["day"], unit="D"), ozone=ozone["value"])
    reference = ozone[ozone["date"].dt.year <= 2000]
    for month in ("2001-04", "2001-07", "2001-10"):
        batch = ozone[ozone["date"].dt.strftime("%Y-%m") == month]
        seasonal = feature_drift(reference, batch, ["ozone"]).features[0]
        whole_year = feature_drift(reference, batch, ["ozone"], margin_weeks=None).features[0]
        assert seasonal.evaluated and whole_year.drifted, month
        assert seasonal.psi < whole_year.psi / 2 and seasonal.ks < whole_year.ks * 0.8, month
    october = ozone[ozone["date"].dt.strftime("%Y-%m") == "2001-10"]
    assert feature_drift(reference, october, ["ozone"]).drifted == []
