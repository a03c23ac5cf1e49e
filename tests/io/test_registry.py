"""The MLflow adapter's local database: a new store's database begins as a copy of an empty template."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from mlflow.store.db.utils import _get_latest_schema_revision

from airwatch.io import registry
from airwatch.io.registry import Registry


def _experiments(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT name, artifact_location FROM experiments ORDER BY name").fetchall()


def test_new_databases_start_from_the_template_at_mlflows_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    first, second = tmp_path / "one" / "mlflow.db", tmp_path / "two" / "mlflow.db"
    Registry(f"sqlite:///{first}").experiment_id("airwatch-pm25")
    templates = list((tmp_path / "cache" / "airwatch").glob("mlflow-*-empty.db"))
    assert len(templates) == 1 and _experiments(templates[0]) == []  # no store's path in the template
    assert registry._schema_revision(templates[0]) == _get_latest_schema_revision()

    store = Registry(f"sqlite:///{second}", artifact_location=str(tmp_path / "two" / "artifacts"))
    store.experiment_id("airwatch-pm25")
    # Each copy has its own experiments, the store's own artifact root, at the current schema.
    assert _experiments(second) == [("Default", str(tmp_path / "mlruns" / "0")),
                                    ("airwatch-pm25", str(tmp_path / "two" / "artifacts"))]  # fmt: skip
    assert registry._schema_revision(second) == _get_latest_schema_revision()
    assert not list(second.parent.glob(".*partial"))


def test_an_existing_database_is_kept_and_a_broken_template_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "store" / "mlflow.db"
    Registry(f"sqlite:///{database}").experiment_id("airwatch-ozone")
    Registry(f"sqlite:///{database}").experiment_id("airwatch-pm25")  # opened again, not replaced
    assert [name for name, _ in _experiments(database)] == ["Default", "airwatch-ozone", "airwatch-pm25"]

    (template,) = (tmp_path / "cache" / "airwatch").glob("mlflow-*-empty.db")
    template.write_bytes(b"not a database")
    other = tmp_path / "other" / "mlflow.db"
    Registry(f"sqlite:///{other}").experiment_id("airwatch-pm25")
    assert registry._schema_revision(template) == registry._schema_revision(other) == _get_latest_schema_revision()
