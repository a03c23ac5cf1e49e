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
