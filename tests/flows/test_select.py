"""Promotion through the MLflow registry: gates, aliases, the promotion log and racing promotions."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from airwatch.flows.context import Context
from airwatch.flows.ingest import ingest_flow
from airwatch.flows.select import promote, select_flow
from airwatch.flows.train import train_flow
from airwatch.flows.transform import transform_flow
from airwatch.flows.validate import validate_flow
from airwatch.io import datasets
from airwatch.io.records import latest_training_report
from airwatch.io.registry import CHALLENGER, CHAMPION, PREVIOUS, registered_model_name
from airwatch.io.store import lock_holder
from airwatch.settings import load_settings
from tests.conftest import copy_small_input

pytestmark = pytest.mark.usefixtures("prefect_harness")


def context(store: Path, **train: object) -> Context:
    return Context(
        load_settings(
            store=str(store),
            train={"validation_days": 180, "lightgbm_rounds": 30, "quantile_rounds": 20, **train},
            weather={"mode": "none"},  # promotion, not weather, is under test
        )
    )


@pytest.fixture(scope="module")
def transformed(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    """A store with the ozone features published and MLflow's empty database: what each test starts from.

    MLflow makes its database (all its schema migrations) when first opened: once here, not in each test.
    No experiment exists yet, so each copy's experiments get the copy's own artifact root.
    """
    root = tmp_path_factory.mktemp("select")
    folder = copy_small_input(root / "input", sample_dir)
    with pytest.MonkeyPatch.context() as mp:
        settings(mp, root / "store")
        ingest_flow(input_dir=str(folder))
        validate_flow()
        transform_flow(pollutants=["ozone"])
        experiments = Context(load_settings()).registry.client.search_experiments()
        assert [e.name for e in experiments] == ["Default"]  # MLflow's own; none of ours yet
    return root / "store"


@pytest.fixture
def store(tmp_path: Path, transformed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the transformed store per test (the tests train, register and promote in it)."""
    root = tmp_path / "store"
    shutil.copytree(transformed, root)
    settings(monkeypatch, root)
    return root


def settings(mp: pytest.MonkeyPatch, root: Path) -> None:
    # Flows read their settings from the environment, as a deployment's worker does.
    for name, value in (("STORE", root), ("TRAIN__VALIDATION_DAYS", 180), ("TRAIN__LIGHTGBM_ROUNDS", 30),
                        ("TRAIN__QUANTILE_ROUNDS", 20), ("WEATHER__MODE", "none")):  # fmt: skip
        mp.setenv(f"AIRWATCH_{name}", str(value))  # weather off: promotion, not weather, is under test


def strict(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    """Demand 99% skill over persistence, which no learned candidate has, or the default gates."""
    monkeypatch.setenv("AIRWATCH_TRAIN__MIN_SKILL_VS_PERSISTENCE", "0.99" if on else "0.0")


def alias(ctx: Context, name: str) -> str | None:
    try:
        return str(ctx.registry.client.get_model_version_by_alias(registered_model_name("ozone"), name).version)
    except Exception:
        return None


def promotions(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "models" / "ozone" / "promotions").glob("*.json"))]


def test_better_candidate_is_promoted_worse_one_is_not(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context(store)
    # 1. Demand 99% skill: nothing learned passes, persistence becomes the first champion.
    strict(monkeypatch, True)
    train_flow(pollutants=["ozone"])
    first = select_flow(pollutants=["ozone"])[0]
    assert first.selected == "persistence" and alias(ctx, CHAMPION) == "1"

    # 2. Normal gates: the learned model beats the champion re-scored on the same window.
    strict(monkeypatch, False)
    train_flow(pollutants=["ozone"])
    second = select_flow(pollutants=["ozone"])[0]
    assert second.selected != "persistence" and second.decision == "promoted"
    assert alias(ctx, CHAMPION) == "2" and alias(ctx, PREVIOUS) == "1"

    # 3. A worse candidate (persistence again) leaves the champion where it is, as a challenger.
    strict(monkeypatch, True)
    train_flow(pollutants=["ozone"], force=True)
    third = select_flow(pollutants=["ozone"])[0]
    assert third.decision == "not promoted"
    assert alias(ctx, CHAMPION) == "2" and alias(ctx, CHALLENGER) == "3"

    log = promotions(store)
    assert [r["decision"] for r in log] == ["promoted", "promoted", "not promoted"]
    assert log[1]["previous_champion_version"] == "1" and log[1]["previous_champion_rmse_same_window"] > 0
    assert all(r["by"] and r["reason"] and r["gates"] for r in log)
    tags = ctx.registry.client.get_model_version(registered_model_name("ozone"), "3").tags
    assert tags["promotion_decision"] == "not promoted" and "does not beat" in tags["promotion_reason"]


def test_racing_promotions_end_with_the_better_model(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    normal = context(store)
    strict(monkeypatch, True)
    train_flow(pollutants=["ozone"])
    weak = latest_training_report(normal.store, "ozone")
    strict(monkeypatch, False)
    train_flow(pollutants=["ozone"])
    strong = latest_training_report(normal.store, "ozone")
    assert weak and strong and weak.training_id != strong.training_id

    from prefect import flow

    @flow
    def race(report, min_skill: float) -> None:
        # Two promoters with their own settings, as two workers would have.
        promote(context(store, min_skill_vs_persistence=min_skill), report)

    threads = [threading.Thread(target=race, args=a) for a in ((strong, 0.0), (weak, 0.99))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    champion = normal.registry.champion("ozone")
    assert champion is not None and champion.tags["training_id"] == strong.training_id
    assert lock_holder(normal.store, "promotion-ozone") is None


def test_the_registered_champion_learned_from_the_newest_observation(store: Path) -> None:
    """Selection is on the validation window; what is registered is the choice refitted through the newest day."""
    ctx = context(store)
    (report,) = train_flow(pollutants=["ozone"])
    (summary,) = select_flow(pollutants=["ozone"])
    features = datasets.read(ctx.store, datasets.latest(ctx.store, "processed/features/ozone"))
    newest = str(pd.Timestamp(features.loc[features["value"].notna(), "date"].max()).date())
    usable = int((features["target_1"].notna() & features["last_value"].notna()).sum())
    assert report.refit_through == newest and report.refit_rows == usable
    assert report.refit_rows == report.train_rows + report.validation_rows  # the validation days included
    version = ctx.registry.client.get_model_version(registered_model_name("ozone"), summary.model_version)
    assert version.tags["refit_through"] == newest and version.source == report.model_uri
    # MLflow keeps both fits: each candidate's validation fit and the refit, whose model is registered.
    run = ctx.registry.client.get_run(report.model_run_id)
    assert run.info.run_name == f"refit {report.chosen}" and run.data.params["through"] == newest
