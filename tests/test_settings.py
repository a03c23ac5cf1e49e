from __future__ import annotations

import pytest

from airwatch.settings import SettingsError, load_settings


def test_defaults_run_offline(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.store == "data/store"
    assert s.tracking_uri().startswith("sqlite:///") and s.tracking_uri().endswith("data/store/mlflow/mlflow.db")


def test_nested_env_and_secret_masking(monkeypatch) -> None:
    monkeypatch.setenv("AIRWATCH_TRAIN__SEED", "7")
    monkeypatch.setenv("AIRWATCH_AQS__KEY", "sentinel-key-123")
    s = load_settings()
    assert s.train.seed == 7
    assert s.aqs.key is not None and s.aqs.key.get_secret_value() == "sentinel-key-123"
    assert "sentinel-key-123" not in str(s.masked())
    assert "sentinel-key-123" not in repr(s)


def test_unknown_setting_fails_naming_it(monkeypatch) -> None:
    monkeypatch.setenv("AIRWATCH_STOER", "x")
    with pytest.raises(SettingsError, match="AIRWATCH_STOER"):
        load_settings()


def test_malformed_value_names_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("AIRWATCH_TRAIN__VALIDATION_DAYS", "soon")
    with pytest.raises(SettingsError, match="AIRWATCH_TRAIN__VALIDATION_DAYS"):
        load_settings()


def test_bad_store_scheme(monkeypatch) -> None:
    monkeypatch.setenv("AIRWATCH_STORE", "ftp://x")
    with pytest.raises(SettingsError, match="AIRWATCH_STORE"):
        load_settings()


def test_postgres_password_is_masked(monkeypatch) -> None:
    monkeypatch.setenv("AIRWATCH_MLFLOW_TRACKING_URI", "postgresql://mlflow:hunter2@localhost/mlflow")
    assert "hunter2" not in str(load_settings().masked())


def test_an_mlflow_server_without_credentials_is_flagged(monkeypatch, tmp_path, caplog) -> None:
    """Production runs MLflow with authentication on: a server given no credentials is called out."""
    for name in ("URI", "USERNAME", "PASSWORD", "TOKEN"):
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}", raising=False)
    monkeypatch.setenv("AIRWATCH_STORE", str(tmp_path))
    assert not load_settings().mlflow_unauthenticated()  # the embedded SQLite default needs none
    monkeypatch.setenv("AIRWATCH_MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert load_settings().mlflow_unauthenticated()
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "worker")
    assert load_settings().mlflow_unauthenticated()  # a user without a password is no credential
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "sentinel-password")
    assert not load_settings().mlflow_unauthenticated()
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    monkeypatch.setenv("AIRWATCH_MLFLOW_USERNAME", "worker")
    monkeypatch.setenv("AIRWATCH_MLFLOW_PASSWORD", "sentinel-password")
    assert not load_settings().mlflow_unauthenticated()

    from airwatch.flows.context import Context

    monkeypatch.delenv("AIRWATCH_MLFLOW_USERNAME")
    monkeypatch.delenv("AIRWATCH_MLFLOW_PASSWORD")
    monkeypatch.setenv("AIRWATCH_MLFLOW_TRACKING_URI", "http://127.0.0.1:9/unauthenticated-check")
    monkeypatch.setattr("airwatch.flows.context._registry", lambda *args: "a registry")  # no MLflow client made
    with caplog.at_level("WARNING", logger="airwatch.flows.context"):
        assert Context(load_settings()).registry == "a registry"
    assert "without credentials" in caplog.text and "127.0.0.1:9/unauthenticated-check" in caplog.text


def test_the_backtest_trains_with_productions_learning_rate(monkeypatch) -> None:
    from airwatch.flows.backtest import backtest_config

    monkeypatch.setenv("AIRWATCH_TRAIN__LIGHTGBM_LEARNING_RATE", "0.07")  # not the default: it must be read
    assert backtest_config(load_settings()).lightgbm_learning_rate == 0.07
    monkeypatch.setenv("AIRWATCH_TRAIN__LIGHTGBM_LEARNING_RATE", "0")
    with pytest.raises(SettingsError, match="AIRWATCH_TRAIN__LIGHTGBM_LEARNING_RATE"):
        load_settings()


def test_the_quantile_row_cap_setting_reaches_the_backtest_and_refit_jobs_put_it_on_the_quantiles(monkeypatch) -> None:
    from airwatch.domain.train import Persistence, refit_jobs
    from airwatch.flows.backtest import backtest_config

    monkeypatch.setenv("AIRWATCH_TRAIN__QUANTILE_MAX_ROWS", "1234")  # not the default: it must be read
    settings = load_settings()
    assert backtest_config(settings).quantile_max_rows == 1234
    jobs = refit_jobs(Persistence(), lambda h: ["lag_0"], horizons=(1,), seed=1, quantile_rounds=10,
                      quantile_learning_rate=0.1, half_life_years=0.0,
                      quantile_max_rows=settings.train.quantile_max_rows)  # fmt: skip
    assert [j.model.params.get("max_bag_rows") for j in jobs] == [None, 1234, 1234]
    monkeypatch.setenv("AIRWATCH_TRAIN__QUANTILE_MAX_ROWS", "-1")
    with pytest.raises(SettingsError, match="AIRWATCH_TRAIN__QUANTILE_MAX_ROWS"):
        load_settings()


def test_the_quantile_rounds_and_rate_reach_the_backtest_and_the_refit_jobs_quantiles_only(monkeypatch) -> None:
    from airwatch.domain.train import DeltaModel, refit_jobs
    from airwatch.flows.backtest import backtest_config

    # Not the defaults: they must be read.
    monkeypatch.setenv("AIRWATCH_TRAIN__QUANTILE_ROUNDS", "37")
    monkeypatch.setenv("AIRWATCH_TRAIN__QUANTILE_LEARNING_RATE", "0.07")
    t = load_settings().train
    config = backtest_config(load_settings())
    assert (config.quantile_rounds, config.quantile_learning_rate) == (37, 0.07)
    point = DeltaModel("lightgbm", ["lag_0"], {"n_estimators": 150, "learning_rate": 0.1}, 1, 0.0, 1)
    jobs = refit_jobs(point, lambda h: ["lag_0"], horizons=(1,), seed=1, quantile_rounds=t.quantile_rounds,
                      quantile_learning_rate=t.quantile_learning_rate, half_life_years=0.0)  # fmt: skip
    assert [(j.part, j.model.params["n_estimators"], j.model.params["learning_rate"]) for j in jobs] == [
        ("point", 150, 0.1), ("lower", 37, 0.07), ("upper", 37, 0.07)]  # fmt: skip
    monkeypatch.setenv("AIRWATCH_TRAIN__QUANTILE_LEARNING_RATE", "0")
    with pytest.raises(SettingsError, match="AIRWATCH_TRAIN__QUANTILE_LEARNING_RATE"):
        load_settings()


def test_the_point_models_row_cap_reaches_the_backtest_and_the_point_lightgbm_alone_and_blended_only(
    monkeypatch,
) -> None:
    from airwatch.domain.train import Blend, DeltaModel, make_candidates, make_quantile, refit_jobs
    from airwatch.flows.backtest import backtest_config

    monkeypatch.setenv("AIRWATCH_TRAIN__LIGHTGBM_MAX_ROWS", "4321")  # not the default: it must be read
    t = load_settings().train
    assert backtest_config(load_settings()).lightgbm_max_rows == t.lightgbm_max_rows == 4321
    candidates = make_candidates(["lag_0"], seed=1, lightgbm_rounds=10, lightgbm_max_rows=t.lightgbm_max_rows,
                                 half_life_years=0.0)  # fmt: skip
    trees, blend = (next(c for c in candidates if c.name == n) for n in ("lightgbm", "blend"))
    assert isinstance(trees, DeltaModel) and isinstance(blend, Blend)
    assert trees.params["max_bag_rows"] == blend._trees()["max_bag_rows"] == 4321
    # 8,642 rows at a half share would bag 4,321: the cap binds only above it.
    assert trees.booster_params(10_000)["subsample"] == pytest.approx(0.4321)
    assert trees.booster_params(8_000)["subsample"] == 0.5
    # The refit's point model keeps it; the quantile models keep their own cap (0: none).
    jobs = refit_jobs(blend, lambda h: ["lag_0"], horizons=(1,), seed=1, quantile_rounds=10,
                      quantile_learning_rate=0.1, half_life_years=0.0, quantile_max_rows=0)  # fmt: skip
    point = jobs[0].model
    assert isinstance(point, Blend) and point._trees()["max_bag_rows"] == 4321
    assert [j.model.params.get("max_bag_rows") for j in jobs[1:]] == [None, None]
    assert "max_bag_rows" not in make_quantile(["lag_0"], 0.9, seed=1, rounds=10, rate=0.1, half_life_years=0.0,
                                               max_rows=0).params  # fmt: skip
    # Off (0), the candidates are the ones fitted before the setting existed (a blend's params unchanged).
    blend0 = make_candidates(["lag_0"], seed=1, lightgbm_rounds=10, lightgbm_max_rows=0, half_life_years=0.0)[-1]
    assert isinstance(blend0, Blend) and "lightgbm_max_rows" not in blend0.params


def test_the_sample_setting_reaches_the_backtest_and_every_lightgbm_model_and_not_ridge(monkeypatch) -> None:
    from airwatch.domain.train import Blend, DeltaModel, make_candidates, refit_jobs
    from airwatch.flows.backtest import backtest_config

    monkeypatch.setenv("AIRWATCH_TRAIN__LIGHTGBM_SAMPLE_ROWS", "5432")  # not the default: it must be read
    t = load_settings().train
    assert backtest_config(load_settings()).lightgbm_sample_rows == t.lightgbm_sample_rows == 5432
    candidates = make_candidates(["lag_0"], seed=1, lightgbm_rounds=10, lightgbm_sample_rows=t.lightgbm_sample_rows,
                                 half_life_years=0.0)  # fmt: skip
    ridge, trees, blend = (next(c for c in candidates if c.name == n) for n in ("ridge", "lightgbm", "blend"))
    assert isinstance(trees, DeltaModel) and isinstance(blend, Blend) and isinstance(ridge, DeltaModel)
    assert trees.params["sample_rows"] == blend._trees()["sample_rows"] == 5432 and "sample_rows" not in ridge.params
    # The refit's point model keeps it, and both quantile models take it.
    jobs = refit_jobs(blend, lambda h: ["lag_0"], horizons=(1,), seed=1, quantile_rounds=10,
                      quantile_learning_rate=0.1, half_life_years=0.0, sample_rows=t.lightgbm_sample_rows)  # fmt: skip
    point = jobs[0].model
    assert isinstance(point, Blend) and point._trees()["sample_rows"] == 5432
    assert [j.model.params.get("sample_rows") for j in jobs[1:]] == [5432, 5432]
    # Off (0), the models are the ones fitted before the setting existed.
    blend0 = make_candidates(["lag_0"], seed=1, lightgbm_rounds=10, lightgbm_sample_rows=0, half_life_years=0.0)[-1]
    assert isinstance(blend0, Blend) and "lightgbm_sample_rows" not in blend0.params


def test_the_quantile_sample_setting_reaches_the_backtest_and_the_quantile_models_only(monkeypatch) -> None:
    from airwatch.domain.train import make_candidates, refit_jobs
    from airwatch.flows.backtest import backtest_config

    monkeypatch.setenv("AIRWATCH_TRAIN__QUANTILE_SAMPLE_ROWS", "4321")  # not the default: it must be read
    t = load_settings().train
    assert backtest_config(load_settings()).quantile_sample_rows == t.quantile_sample_rows == 4321
    jobs = refit_jobs(make_candidates(["lag_0"], seed=1, lightgbm_rounds=10, half_life_years=0.0)[-1],
                      lambda h: ["lag_0"], horizons=(1,), seed=1, quantile_rounds=10, quantile_learning_rate=0.1,
                      half_life_years=0.0, quantile_sample_rows=t.quantile_sample_rows)  # fmt: skip
    assert [j.model.params.get("subsample_rows") for j in jobs] == [None, 4321, 4321]
    # Off (0), the quantile models are the ones fitted before the setting existed.
    off = refit_jobs(jobs[0].model, lambda h: ["lag_0"], horizons=(1,), seed=1, quantile_rounds=10,
                     quantile_learning_rate=0.1, half_life_years=0.0, quantile_sample_rows=0)  # fmt: skip
    assert all("subsample_rows" not in j.model.params for j in off)
