from __future__ import annotations

import gc
import weakref
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airwatch.domain.lgbdata import BlocksDataset, InputBlocks
from airwatch.domain.predict import aqi_columns, issue_rows
from airwatch.domain.select import select
from airwatch.domain.train import (
    RIDGE,
    CandidateResult,
    DeltaModel,
    Rows,
    fit_and_score,
    fit_horizon,
    lightgbm_params,
    make_candidates,
    make_quantile,
    recency_weights,
    refit_columns,
    refit_jobs,
    time_split,
)
from airwatch.domain.transform import FeatureConfig, build_features, feature_columns, site_daily_values
from airwatch.domain.validate import validate_observations


@pytest.fixture(scope="module")
def ozone_features(sample_observations) -> pd.DataFrame:
    valid = validate_observations(sample_observations, max_day=20_000).valid
    return build_features(site_daily_values(valid, "ozone"))


def test_site_day_rule_prefers_frm_then_lowest_poc(sample_observations) -> None:
    valid = validate_observations(sample_observations, max_day=20_000).valid
    daily = site_daily_values(valid, "pm25")
    assert not daily.duplicated(["site_id", "day"]).any()
    both = valid[valid["parameter"].isin([88101, 88502])].groupby(["site_id", "day"])["parameter"].min()
    chosen = daily.set_index(["site_id", "day"])["parameter"]
    assert (chosen.loc[both.index] == both).all()


def test_target_is_next_day_value(ozone_features) -> None:
    f = ozone_features
    same_site = f["site_id"].shift(-1) == f["site_id"]
    np.testing.assert_array_equal(f.loc[same_site, "target_1"].to_numpy(), f["value"].shift(-1)[same_site].to_numpy())


def test_features_do_not_see_the_future(sample_observations) -> None:
    """Scrambling every value after a cut-off leaves all features up to the cut-off unchanged."""
    valid = validate_observations(sample_observations, max_day=20_000).valid
    daily = site_daily_values(valid, "ozone")
    cut = daily["day"].quantile(0.7)
    scrambled = daily.copy()
    future = scrambled["day"] > cut
    scrambled.loc[future, "value"] = np.random.default_rng(0).permutation(scrambled.loc[future, "value"].to_numpy())
    # The episode features too, at a threshold the sample's ozone reaches (0.06 ppm) so that they vary.
    config = replace(FeatureConfig(), regional_neighbors=16)
    a, b = (build_features(d, config, episode_threshold=0.06) for d in (daily, scrambled))
    past = a["day"] <= cut
    cols = feature_columns(a)
    assert {"rg_max_0", "rg_high_0", "rg_high_1", "high_run_0"} <= set(cols)
    high = a["rg_high_0"].dropna()
    assert a["high_run_0"].max() >= 2 and high.between(0, 1).all() and (high > 0).any()
    pd.testing.assert_frame_equal(a.loc[past, cols], b.loc[past, cols])


def test_split_is_time_ordered(ozone_features) -> None:
    split = time_split(ozone_features, horizon=1, validation_days=365)
    train_end = (pd.to_datetime(split.train["date"]) + pd.Timedelta(days=1)).max()
    assert train_end < split.validation_start
    assert (pd.to_datetime(split.validation["date"]) + pd.Timedelta(days=1)).min() >= split.validation_start


def test_candidates_beat_persistence_on_real_ozone_and_are_deterministic(ozone_features) -> None:
    split = time_split(ozone_features, horizon=1, validation_days=365)
    feats = feature_columns(ozone_features)
    results = [
        fit_and_score(c, split, horizon=1)
        for c in make_candidates(feats, seed=7, lightgbm_rounds=60, half_life_years=10.0)
    ]
    by = {r.name: r for r in results}
    assert by["persistence"].validation["skill_vs_persistence"] == 0.0
    assert by["ridge"].validation["skill_vs_persistence"] > 0.05
    again = fit_and_score(make_candidates(feats, seed=7, lightgbm_rounds=60, half_life_years=10.0)[3], split, horizon=1)
    np.testing.assert_array_equal(
        again.candidate.predict(split.validation), by["lightgbm"].candidate.predict(split.validation)
    )


def test_models_sharing_one_binned_dataset_equal_lightgbm_fitted_alone(ozone_features) -> None:
    """A horizon's point model and quantiles train on one Dataset (Rows); each equals the model that
    LightGBM's scikit-learn estimator fits on its own copy of the rows, as training did before."""
    import lightgbm as lgb

    rows = ozone_features[ozone_features["target_1"].notna() & ozone_features["last_value"].notna()]
    feats = feature_columns(ozone_features)
    target = rows["target_1"].to_numpy(dtype=np.float64)
    shared = Rows(rows, target)
    models = [
        DeltaModel("lightgbm", feats, lightgbm_params(40), 7, 10.0, 1),
        *(make_quantile(feats, a, seed=7, rounds=30, rate=0.1, half_life_years=10.0, threads=1) for a in (0.1, 0.9)),
    ]
    fitted = [m.fit_rows(shared) for m in models]
    assert len(shared._datasets) == 1  # binned once for the three
    delta, weights = target - rows["last_value"].to_numpy(), recency_weights(rows["day"].to_numpy(), 10.0)
    for model in fitted:
        params = {k: v for k, v in model.params.items() if k != "max_bag_rows"}  # ours, not LightGBM's
        alone = lgb.LGBMRegressor(**params, random_state=7, deterministic=True, n_jobs=1, verbose=-1)
        alone.fit(rows[feats].copy(), delta, sample_weight=weights)
        expected = rows["last_value"].to_numpy() + alone.booster_.predict(rows[feats])
        np.testing.assert_array_equal(model.predict(rows), expected)
    assert not np.array_equal(fitted[1].predict(rows), fitted[2].predict(rows))


@pytest.mark.parametrize("batch", [256, 1 << 16])
def test_input_blocks_bin_and_train_as_the_whole_matrix(batch) -> None:
    """LightGBM fed the input columns a block at a time (InputBlocks) builds the Dataset of the whole
    float matrix, sampled bin edges included (more rows than it samples here; the sample taken an input
    at a time), and the same model."""
    import lightgbm as lgb

    rng = np.random.default_rng(3)
    n = 5_000
    columns = [
        rng.gamma(2.0, 5.0, n).round(1),
        rng.normal(size=n),
        np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),  # missing values
        np.where(rng.random(n) < 0.5, 0.0, rng.random(n)),  # zeros, which LightGBM leaves out of its sample
    ]
    index = np.sort(rng.choice(n, 3_000, replace=False))
    y = rng.normal(size=len(index))
    params = {"objective": "regression", "bin_construct_sample_cnt": 700, "min_child_samples": 300, "seed": 1,
              "deterministic": True, "num_threads": 1, "verbose": -1}  # fmt: skip
    matrix = np.column_stack([c[index] for c in columns])
    names = [f"x{j}" for j in range(len(columns))]

    class Counted(InputBlocks):
        singles = 0  # rows asked for one at a time

        def __getitem__(self, key):
            Counted.singles += isinstance(key, int | np.integer)
            return super().__getitem__(key)

    blocks = Counted(columns, index)
    blocks.batch_size = batch
    whole = lgb.train(params, lgb.Dataset(pd.DataFrame(matrix, columns=names), y, params=params), num_boost_round=20)
    by_blocks = lgb.train(params, BlocksDataset([blocks], y, feature_name=names, params=params), num_boost_round=20)
    assert by_blocks.model_to_string() == whole.model_to_string()  # the whole model file, to the byte
    assert Counted.singles == 0  # the sample was taken an input at a time (BlocksDataset), not row by row
    np.testing.assert_array_equal(blocks[0 : len(index)], matrix)
    np.testing.assert_array_equal(blocks[2_999], matrix[2_999])
    np.testing.assert_array_equal(blocks[[5, 700, 2_999]], matrix[[5, 700, 2_999]])


def test_rows_by_position_fit_the_models_of_a_copy_of_those_rows(ozone_features) -> None:
    """The refit reads its rows from the whole frame by position (Rows with an index, fit_horizon):
    every model equals the one fitted on a copy of those rows, as the refit did before."""
    frame = ozone_features
    feats = feature_columns(frame)
    chosen = make_candidates(feats, seed=5, lightgbm_rounds=30, half_life_years=10.0, threads=1)[4]  # blend
    jobs = refit_jobs(chosen, lambda h: feats, horizons=(2,), seed=5, quantile_rounds=20, quantile_learning_rate=0.1,
                      half_life_years=10.0, threads=1)  # fmt: skip
    by_position = fit_horizon(jobs, frame)
    usable = frame[frame["target_2"].notna() & frame["last_value"].notna()].reset_index(drop=True)
    index = np.flatnonzero((frame["target_2"].notna() & frame["last_value"].notna()).to_numpy())
    assert 0 < len(index) < len(frame)  # some rows are left out
    copied = [job.model.fit_rows(Rows(usable, usable["target_2"].to_numpy(dtype=np.float64)))
              for job in refit_jobs(chosen, lambda h: feats, horizons=(2,), seed=5, quantile_rounds=20,
                                    quantile_learning_rate=0.1, half_life_years=10.0, threads=1)]  # fmt: skip
    for a, b in zip(by_position, copied, strict=True):
        np.testing.assert_array_equal(a.predict(frame), b.predict(frame))
    ridge_a, trees_a = by_position[0].members_
    ridge_b, trees_b = copied[0].members_
    assert trees_a.form_.model_to_string() == trees_b.form_.model_to_string()
    np.testing.assert_array_equal(ridge_a.form_.coef, ridge_b.form_.coef)
    assert Rows(frame, usable["target_2"].to_numpy(), index).frame.equals(usable.set_axis(index))


def test_each_candidate_refits_on_the_columns_the_refit_reads_as_on_the_whole_frame(ozone_features) -> None:
    """The refit reads only refit_columns of the feature frame: every candidate's models are the same."""
    frame = ozone_features
    feats = feature_columns(frame)
    for chosen in make_candidates(feats, seed=5, lightgbm_rounds=10, half_life_years=10.0, threads=1):
        read = refit_columns(chosen, list(frame.columns))
        assert {"value", "value_source"}.isdisjoint(read) and ("site_id" in read) == (chosen.name == "climatology")

        def jobs(c=chosen):
            return refit_jobs(c, lambda h: feats, horizons=(1,), seed=5, quantile_rounds=10, quantile_learning_rate=0.1,
                              half_life_years=10.0, threads=1)  # fmt: skip

        for a, b in zip(fit_horizon(jobs(), frame[read]), fit_horizon(jobs(), frame), strict=True):
            np.testing.assert_array_equal(a.predict(frame), b.predict(frame), err_msg=chosen.name)


def test_recency_weights_halve_every_half_life() -> None:
    days = np.array([0.0, 3652.5, 7305.0])
    assert recency_weights(days, 10.0) == pytest.approx([0.25, 0.5, 1.0])
    assert recency_weights(days, 0.0) is None


def test_recency_weighting_follows_the_newer_regime() -> None:
    """Twenty years where the change from persistence is +x, then five where it is -x."""
    rng = np.random.default_rng(0)
    day = np.arange(0, 25 * 365)
    x = rng.normal(size=len(day))
    delta = np.where(day < 20 * 365, x, -x)
    frame = pd.DataFrame({"day": day, "x": x, "last_value": 10.0})
    probe = pd.DataFrame({"day": [day[-1]], "x": [1.0], "last_value": [10.0]})

    def slope(half_life: float) -> float:
        model = DeltaModel(RIDGE, ["x"], {"alpha": 1e-6}, seed=0, half_life_years=half_life)
        return float(model.fit(frame, 10.0 + delta).predict(probe)[0] - 10.0)

    assert slope(0.0) == pytest.approx(0.6, abs=0.05)  # equal weights: 20 years of +1, 5 of -1
    assert slope(2.0) < -0.5  # weighted: the newer relation wins


def _result(name: str, train: float, val: float, skill: float) -> CandidateResult:
    return CandidateResult(name, {"rmse": train}, {"rmse": val, "skill_vs_persistence": skill})


def test_select_gates() -> None:
    results = [
        _result("persistence", 5.0, 5.0, 0.0),
        _result("climatology", 6.0, 6.0, -0.2),
        _result("ridge", 4.4, 4.5, 0.10),
        _result("lightgbm", 2.0, 4.0, 0.20),  # better, but overfit
    ]
    sel = select(results, min_skill=0.0, max_gap=0.35)
    assert sel.selected.name == "ridge"
    lgb = next(o for o in sel.outcomes if o.name == "lightgbm")
    assert not lgb.passed and "overfitting" in lgb.reasons[0]
    sel = select(results[:2], min_skill=0.0, max_gap=0.35)
    assert sel.selected.name == "persistence"


def test_the_overfitting_check_discounts_a_validation_window_harder_for_persistence_too() -> None:
    """National PM2.5, selection window 2017-07..12 (a smoke season): every forecast's gap was over 50%."""
    hard = [
        _result("persistence", 4.72, 10.19, 0.0),  # gap 53.6%: the window, not overfitting
        _result("ridge", 4.13, 9.31, 0.086),  # gap 55.7%
        _result("lightgbm", 3.98, 9.90, 0.028),  # gap 59.8%
    ]
    sel = select(hard, min_skill=0.0, max_gap=0.35)
    assert sel.selected.name == "ridge" and all(o.passed for o in sel.outcomes)
    # Beyond persistence's gap by more than max_gap it is still overfitting, and the reason says so.
    sel = select([*hard[:2], _result("lightgbm", 0.5, 9.0, 0.12)], min_skill=0.0, max_gap=0.35)
    lgb = next(o for o in sel.outcomes if o.name == "lightgbm")
    assert sel.selected.name == "ridge" and not lgb.passed
    assert "persistence's 53.7%" in lgb.reasons[0], lgb.reasons
    # A window easier for persistence is not credited: the plain gap applies.
    easy = [_result("persistence", 6.0, 5.0, 0.0), _result("lightgbm", 2.0, 4.0, 0.20)]
    assert select(easy, min_skill=0.0, max_gap=0.35).selected.name == "persistence"


def test_issue_rows_and_aqi(ozone_features) -> None:
    as_of, rows = issue_rows(ozone_features, max_staleness_days=3)
    assert (pd.to_datetime(rows["date"]) == as_of).all()
    assert (rows["days_since_obs"] <= 3).all()
    aqi, cats = aqi_columns("ozone", np.array([0.04, 0.08, np.nan]))
    assert list(aqi) == [37, 133, -1]  # 0.080 ppm: 49/0.014 * 0.009 + 101 = 132.5 -> 133
    assert cats == ["Good", "Unhealthy for Sensitive Groups", "Missing"]


def test_the_aqi_warning_follows_the_adopted_probability_else_the_point_forecast(ozone_features) -> None:
    from airwatch.domain.predict import Lineage, prediction_frame

    _, rows = issue_rows(ozone_features, max_staleness_days=3)
    rows = rows.head(3)
    # Three forecasts: clearly below the threshold (0.071 ppm), just below it with a wide interval, above it.
    forecasts = pd.DataFrame({"row": [0, 1, 2], "horizon": [1, 1, 1], "forecast": [0.040, 0.069, 0.080],
                              "lower": [0.035, 0.050, 0.075], "upper": [0.045, 0.090, 0.085]})  # fmt: skip
    lineage = Lineage("m", "1", "m-1", "r", "lightgbm", "f", "o", "c", "t")
    source = np.full(3, "none", dtype=object)
    point = prediction_frame("ozone", rows, forecasts, source, lineage)
    assert point["aqi_warning"].tolist() == [False, False, True]  # no probability adopted: AQI > 100
    p = point["p_aqi_over_100"].to_numpy()
    assert p[0] < 0.01 and 0.3 < p[1] < 0.5 and p[2] > 0.9
    by_p = prediction_frame("ozone", rows, forecasts, source, lineage, warning_probability=0.2)
    assert by_p["aqi_warning"].tolist() == [False, True, True]  # the wide interval warns at p >= 0.2


def test_observations_handed_over_are_freed_before_the_features_are_built(
    sample_observations: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The transform stage hands its only reference over: the observations (0.9 GB at 1,000 sites) must
    # not be held while the feature block and the weather columns are built.
    from airwatch.domain import transform

    observations = sample_observations.copy()
    handed = weakref.ref(observations)
    freed: list[bool] = []
    build = transform.build_features

    def watched(*args: Any, **kwargs: Any) -> Any:
        gc.collect()
        freed.append(handed() is None)
        return build(*args, **kwargs)

    monkeypatch.setattr(transform, "build_features", watched)
    box = [observations]
    del observations
    features = transform.feature_frame(box.pop(), "pm25", FeatureConfig())
    assert freed == [True]
    assert len(features.frame) > 0


@pytest.mark.parametrize("text", [False, True])
def test_the_site_day_rule_picks_by_source_parameter_and_duration_as_text_or_categorical(text: bool) -> None:
    """AQS before AirNow (a missing source counts as not AQS), 88101 before 88502, 24 HOUR before
    24-HR BLK AVG before any other duration, then the lowest POC; text columns read either way."""
    cases = [  # (site, source, parameter, duration, poc, value); the first row of each site wins
        ("A", "AQS", 88101, "24 HOUR", 1, 1.0), ("A", "AirNow", 88101, "24 HOUR", 1, 9.0),
        ("B", "AQS", 88101, "24-HR BLK AVG", 1, 2.0), ("B", None, 88101, "24 HOUR", 1, 9.0),
        ("C", "AQS", 88101, "24 HOUR", 2, 3.0), ("C", "AQS", 88502, "24 HOUR", 1, 9.0),
        ("D", "AQS", 88502, "24-HR BLK AVG", 1, 4.0), ("D", "AQS", 88502, "1 HOUR", 1, 9.0),
        ("E", "AQS", 88502, None, 1, 5.0), ("E", "AQS", 88502, None, 2, 9.0),
        ("F", "AQS", 88101, "24 HOUR", 1, 6.0), ("F", "AQS", 88101, "24 HOUR", 3, 9.0),
    ]  # fmt: skip
    site, source, parameter, duration, poc, value = zip(*reversed(cases), strict=True)  # the winners last
    frame = pd.DataFrame({"site_id": site, "parameter": parameter, "poc": poc, "day": 100, "hour": -1,
                          "value": value, "sample_duration": duration, "data_source": source})  # fmt: skip
    if not text:
        frame = frame.astype(dict.fromkeys(["site_id", "sample_duration", "data_source"], "category"))
    daily = site_daily_values(frame, "pm25").set_index("site_id")["value"]
    assert daily.to_dict() == {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 5.0, "F": 6.0}


def test_an_auxiliary_series_is_made_of_the_sites_near_the_pollutants_and_gives_the_same_features(
    sample_observations: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site too far to serve any of the pollutant's sites is left out of its auxiliary series' daily
    values, which changes no feature; a series found only that far keeps its columns, with no value."""
    from airwatch.domain import transform

    observations = sample_observations[sample_observations["date"] >= "1999-01-01"]
    pm25 = observations[observations["parameter"].isin((88101, 88502))]
    far = pm25[pm25["site_id"] == pm25["site_id"].iloc[0]].assign(site_id="999999999", latitude=51.5, longitude=-0.1)
    made: list[set[str]] = []
    daily_values = transform.site_daily_values

    def recorded(rows: pd.DataFrame, pollutant: str, sites: Any = None) -> pd.DataFrame:
        daily = daily_values(rows, pollutant, sites)
        made.append(set(daily["site_id"]))
        return daily

    monkeypatch.setattr(transform, "site_daily_values", recorded)
    with_far = transform.feature_frame(pd.concat([observations, far], ignore_index=True), "ozone", FeatureConfig())
    assert "999999999" not in made[-1] and made[-1]  # the PM2.5 series' sites: Chicago's, not London's
    alone = transform.feature_frame(observations, "ozone", FeatureConfig())
    pd.testing.assert_frame_equal(with_far.frame, alone.frame, check_exact=True)
    assert with_far.auxiliary == alone.auxiliary == ["pm25"] and with_far.frame["aux_pm25"].notna().any()

    moved = pd.concat([observations.drop(pm25.index), pm25.assign(latitude=51.5, longitude=-0.1)], ignore_index=True)
    only_far = transform.feature_frame(moved, "ozone", FeatureConfig())
    assert only_far.auxiliary == ["pm25"]  # the series is there, none of its sites near
    assert only_far.frame["aux_pm25"].isna().all() and only_far.frame["aux_pm25_km"].isna().all()
    pd.testing.assert_frame_equal(only_far.frame.drop(columns=["aux_pm25", "aux_pm25_km"]),
                                  alone.frame.drop(columns=["aux_pm25", "aux_pm25_km"]), check_exact=True)  # fmt: skip
