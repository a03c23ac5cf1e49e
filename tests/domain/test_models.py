"""Fitted candidates stored as files (LightGBM's native format, JSON) predict exactly as before storing."""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from airwatch.domain import gbm
from airwatch.domain import train as train_module
from airwatch.domain.models import MANIFEST, from_files, to_files
from airwatch.domain.train import RIDGE, make_candidates, recency_weights, time_split
from airwatch.domain.transform import build_features, feature_columns, site_daily_values
from airwatch.domain.validate import validate_observations


@pytest.fixture(scope="module")
def split(sample_observations: pd.DataFrame):
    recent = sample_observations[sample_observations["date"] >= "1999-01-01"]
    valid = validate_observations(recent, max_day=20_000).valid
    return time_split(build_features(site_daily_values(valid, "ozone")), horizon=1, validation_days=180)


def test_every_candidate_round_trips_exactly(split) -> None:
    features = feature_columns(split.train)
    for candidate in make_candidates(features, seed=3, lightgbm_rounds=30, half_life_years=10.0):
        candidate.fit(split.train, split.train["target_1"].to_numpy())
        files = to_files(candidate)
        assert not any(name.endswith((".pkl", ".pickle", ".skops")) for name in files)
        again = from_files(files)
        np.testing.assert_array_equal(again.predict(split.validation), candidate.predict(split.validation))
        assert json.loads(files[MANIFEST])["name"] == candidate.name


def test_lightgbm_is_stored_in_its_native_format_and_ridge_as_its_pipeline_predicts(split) -> None:
    features = feature_columns(split.train)
    ridge, lightgbm = make_candidates(features, seed=3, lightgbm_rounds=30, half_life_years=10.0)[2:4]
    for c in (ridge, lightgbm):
        c.fit(split.train, split.train["target_1"].to_numpy())
    text = to_files(lightgbm)["lightgbm.txt"].decode()
    assert text.startswith("tree\nversion=")  # LightGBM's own model text
    # Ridge fits and predicts what scikit-learn's imputer + scaler + ridge pipeline does, to rounding: the
    # standardizing is done on the cross-product matrix, not on the rows (measured: 1e-13 apart here).
    assert ridge.name == RIDGE
    pipeline = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                         ("scale", StandardScaler()), ("ridge", Ridge(alpha=1.0))])  # fmt: skip
    train = split.train
    delta = train["target_1"].to_numpy() - train["last_value"].to_numpy()
    pipeline.fit(train[features], delta, ridge__sample_weight=recency_weights(train["day"].to_numpy(), 10.0))
    expected = pipeline.predict(split.validation[features]) + split.validation["last_value"].to_numpy()
    np.testing.assert_allclose(ridge.predict(split.validation), expected, rtol=1e-12, atol=0)


def test_ridge_in_row_blocks_is_the_one_block_fit_to_rounding(split, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same sums in blocks of 1,000 rows here, and of 4,096 for predicting, against one block for
    # everything (the design matrix made once).
    features = feature_columns(split.train)
    train = split.train
    assert len(train) > 5_000

    def fitted() -> tuple[train_module.RidgeForm, np.ndarray]:
        ridge = make_candidates(features, seed=3, lightgbm_rounds=30, half_life_years=10.0)[2]
        ridge.fit(train, train["target_1"].to_numpy())
        return ridge.form_, ridge.predict(split.validation)

    whole, expected = fitted()
    monkeypatch.setattr(train_module, "RIDGE_BLOCK_ROWS", 1_000)
    monkeypatch.setattr(train_module, "BLOCK_ROWS", 1_000)
    monkeypatch.setattr(train_module, "PREDICT_ROWS", 4_096)
    blocks, predicted = fitted()
    np.testing.assert_array_equal(blocks.fill, whole.fill)
    np.testing.assert_array_equal(blocks.flagged, whole.flagged)
    for name in ("mean", "scale", "coef"):
        np.testing.assert_allclose(getattr(blocks, name), getattr(whole, name), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(predicted, expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(blocks.mean, whole.mean)  # the core sums each column whole, in row order
    assert not np.array_equal(blocks.scale, whole.scale)  # the squared deviations were added a block at a time


def test_ridge_on_two_threads_is_the_one_thread_fit_to_the_bit_and_leaves_blas_as_it_was(
    split, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blocks of 1,000 rows, so that the two threads share them out; every other row, so that the rows
    # are gathered by position.
    from threadpoolctl import threadpool_info

    def blas() -> list[tuple[str, int]]:
        return [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]

    monkeypatch.setattr(train_module, "RIDGE_BLOCK_ROWS", 1_000)
    train = split.train
    index = np.arange(0, len(train), 2)
    assert len(index) > 2_000
    features = feature_columns(train)
    target = train["target_1"].to_numpy()[index] - train["last_value"].to_numpy()[index]
    weights = recency_weights(train["day"].to_numpy()[index], 10.0)
    before = blas()
    one, two = (train_module.RidgeForm.fit(train, features, target, weights, 1.0, index=index, threads=t)
                for t in (1, 2))  # fmt: skip
    assert blas() == before and before  # numpy's OpenBLAS, its thread count put back
    for name in ("fill", "flagged", "mean", "scale", "coef"):
        np.testing.assert_array_equal(getattr(two, name), getattr(one, name))
    assert two.intercept == one.intercept


def test_an_unknown_format_is_refused(split, tmp_path: Path) -> None:
    files = to_files(make_candidates(["lag_0"], seed=1, lightgbm_rounds=10, half_life_years=0)[0])
    files[MANIFEST] = json.dumps({"format": 99, "name": "persistence"}).encode()
    with pytest.raises(ValueError, match="format 99"):
        from_files(files)


def test_the_learning_rate_reaches_lightgbm_and_the_blend_and_an_older_blend_keeps_0_03(split) -> None:
    features = feature_columns(split.train)
    *_, trees, blend = make_candidates(features, seed=3, lightgbm_rounds=20, lightgbm_learning_rate=0.07,
                                       half_life_years=10.0)  # fmt: skip
    assert trees.params["learning_rate"] == 0.07 and trees.params["n_estimators"] == 20  # not the default
    blend.fit(split.train, split.train["target_1"].to_numpy())
    assert blend.members_[1].params == trees.params
    # A blend stored before the rate was a setting names no rate: it is refitted at the 0.03 it had.
    older = dict(blend.params)
    del older["lightgbm_learning_rate"]
    again = type(blend)(features, older, 3, 10.0).fit(split.train, split.train["target_1"].to_numpy())
    assert again.members_[1].params["learning_rate"] == 0.03


def _quantile_case(split):
    """The rows, inputs and a fit of a small quantile model, for the bag and sample tests below."""
    from airwatch.domain.train import Rows, make_quantile

    features, train = feature_columns(split.train), split.train[split.train["target_1"].notna()]
    target = train["target_1"].to_numpy(dtype=np.float64)

    def fitted(**caps: int):
        model = make_quantile(features, 0.9, seed=3, rounds=15, rate=0.1, half_life_years=10.0, threads=1, **caps)
        rows = Rows(train, target)
        return model, rows, model.fit_rows(rows).predict(split.validation)

    return features, train, target, fitted


def _fitted_alone(params: dict, rows: pd.DataFrame, target: np.ndarray, weights: np.ndarray, split, features):
    """LightGBM's scikit-learn estimator on those rows: its validation forecasts."""
    import lightgbm as lgb

    alone = lgb.LGBMRegressor(**params, random_state=3, deterministic=True, n_jobs=1, verbose=-1)
    alone.fit(rows[features], target - rows["last_value"].to_numpy(), sample_weight=weights)
    return split.validation["last_value"].to_numpy() + alone.booster_.predict(split.validation[features])


def test_a_quantile_model_bags_at_most_its_row_cap_and_fewer_rows_fit_as_without_it(split) -> None:
    features, train, target, fitted = _quantile_case(split)
    n = len(train)
    assert n > 1000

    capped, _, at_cap = fitted(max_rows=1000)
    assert capped.booster_params(n)["subsample"] == 1000 / n and "max_bag_rows" not in capped.booster_params(n)
    assert capped.booster_params(1500)["subsample"] == 0.5  # 750 in the bag: under the cap
    # What LightGBM is given: the capped share, the rows and weights otherwise the same.
    params = {k: v for k, v in capped.params.items() if k != "max_bag_rows"}
    weights = recency_weights(train["day"].to_numpy(), 10.0)
    expected = _fitted_alone({**params, "subsample": 1000 / n}, train, target, weights, split, features)
    np.testing.assert_array_equal(at_cap, expected)
    # A cap above half the rows, or none (0), is the model of before, to the bit.
    _, _, over = fitted(max_rows=n)
    uncapped, _, none = fitted(max_rows=0)
    assert "max_bag_rows" not in uncapped.params
    np.testing.assert_array_equal(over, none)
    assert not np.array_equal(at_cap, none)


def test_a_quantile_on_its_own_sample_trains_on_those_rows_of_the_samples_dataset_with_its_bins(split) -> None:
    import lightgbm as lgb

    features, train, target, fitted = _quantile_case(split)
    assert len(train) > 2000

    model, rows, own = fitted(max_rows=0, sample_rows=1500, subsample_rows=700)
    # Its rows: 700 of the point models' sample of 1,500, drawn from it with the seed.
    picked = rows.sample(1500, 3)[np.sort(np.random.default_rng(3).choice(1500, size=700, replace=False))]
    params = model.booster_params(700)
    assert "subsample_rows" not in params and params["subsample"] == 0.5  # half of its 700 rows a round
    sample = rows.dataset(model, params, 1500)  # binned once: the sample's Dataset and its subset
    assert len(rows._datasets) == 2 and sample.num_data() == 1500
    # What LightGBM is given: those rows, their recency weights, binned with the sample's bins.
    delta = target - train["last_value"].to_numpy()
    weights = recency_weights(train["day"].to_numpy(), 10.0)
    alone = lgb.Dataset(train.iloc[picked][features].to_numpy(), label=delta[picked], weight=weights[picked],
                        feature_name=features, reference=sample, params=params)  # fmt: skip
    booster = lgb.train(params, alone, num_boost_round=15)
    expected = split.validation["last_value"].to_numpy() + booster.predict(split.validation[features].to_numpy())
    np.testing.assert_array_equal(own, expected)
    # Its own sample at least as large as the point models' sample, or none (0), is the model of before.
    _, _, over = fitted(max_rows=0, sample_rows=1500, subsample_rows=1500)
    _, _, none = fitted(max_rows=0, sample_rows=1500, subsample_rows=0)
    np.testing.assert_array_equal(over, none)
    assert not np.array_equal(own, none)


def test_lightgbm_on_a_fixed_sample_is_lightgbm_fitted_on_those_rows_and_fewer_rows_fit_as_without_it(split) -> None:
    from airwatch.domain.train import Rows

    features, train, target, fitted = _quantile_case(split)
    n = len(train)
    assert n > 2000

    model, rows, sampled = fitted(max_rows=0, sample_rows=1000)
    chosen = rows.sample(1000, 3)
    assert len(np.unique(chosen)) == 1000 and (np.diff(chosen) > 0).all() and chosen[-1] < n
    np.testing.assert_array_equal(chosen, Rows(train, target).sample(1000, 3))  # fixed: the same rows again
    assert "sample_rows" not in model.booster_params(1000)
    # What LightGBM is given: the sampled rows with their recency weights, half of them a round.
    params = {k: v for k, v in model.params.items() if k != "sample_rows"}
    weights = recency_weights(train["day"].to_numpy(), 10.0)[chosen]
    expected = _fitted_alone(params, train.iloc[chosen], target[chosen], weights, split, features)
    np.testing.assert_array_equal(sampled, expected)
    # A sample of at least every row, or none (0), is the model of before, to the bit.
    _, _, over = fitted(max_rows=0, sample_rows=n)
    _, _, none = fitted(max_rows=0, sample_rows=0)
    np.testing.assert_array_equal(over, none)
    assert not np.array_equal(sampled, none)


def _thread_names() -> list[str]:
    return [(task / "comm").read_text().strip() for task in Path("/proc/self/task").iterdir()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names from /proc")
def test_lightgbm_starts_its_threads_from_one_thread_whichever_threads_fit_predict_and_store(split) -> None:
    # libgomp keeps a pool of OpenMP threads for each thread that starts a parallel region; with more
    # pool threads than cores, every team sleeps at its barriers (domain/gbm.py). A thread's name is
    # inherited by the threads it starts, OpenMP's among them: the workers' names must be on no thread
    # but the workers.
    features = feature_columns(split.train)
    trees = next(c for c in make_candidates(features, seed=3, lightgbm_rounds=20, half_life_years=10.0)
                 if c.name == "lightgbm")  # fmt: skip
    assert trees.threads == 2
    all_there = threading.Barrier(3)

    def work(worker: int) -> np.ndarray:
        gbm._name_this_thread(f"aw-worker-{worker}")  # the threads this one starts inherit it
        all_there.wait()  # three threads, one task each
        model = copy.deepcopy(trees).fit(split.train, split.train["target_1"].to_numpy())
        return from_files(to_files(model)).predict(split.validation) - model.predict(split.validation)

    with ThreadPoolExecutor(3) as pool:
        differences = list(pool.map(work, range(3)))
        names = _thread_names()
    assert all(not d.any() for d in differences)
    assert sorted(n for n in names if n.startswith("aw-worker-")) == ["aw-worker-0", "aw-worker-1", "aw-worker-2"]
    assert names.count("lightgbm") >= 2  # LightGBM's own thread and its OpenMP threads


def test_calls_on_lightgbm_thread_return_raise_and_nest() -> None:
    def where() -> int:
        return threading.get_ident()

    here = threading.get_ident()
    with ThreadPoolExecutor(2) as pool:
        threads = set(pool.map(lambda _: gbm.on_thread(where), range(4)))
    assert len(threads) == 1 and here not in threads
    assert gbm.on_thread(lambda: gbm.on_thread(where)) in threads  # a call made on it runs at once
    with pytest.raises(ZeroDivisionError):
        gbm.on_thread(lambda: 1 / 0)
    assert gbm.on_thread(where) in threads  # and the thread goes on


def _lightgbm_thread_in_child() -> tuple[int, str]:
    return os.getpid(), gbm.on_thread(lambda: threading.current_thread().name)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a child")
def test_a_forked_child_gets_a_lightgbm_thread_of_its_own() -> None:
    gbm.on_thread(lambda: None)  # the parent's thread is running: the child has its objects, not the thread
    with multiprocessing.get_context("fork").Pool(1) as pool:
        pid, name = pool.apply_async(_lightgbm_thread_in_child).get(timeout=60)
    assert pid != os.getpid() and name == "lightgbm"
