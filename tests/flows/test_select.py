"""Promotion through the MLflow registry: gates, aliases, the promotion log and racing promotions."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from airwatch.flows.context import Context
from airwatch.flows.ingest import ingest_flow
from airwatch.flows.select import promote, select_flow
from airwatch.flows.train import latest_report, train_flow
from airwatch.flows.transform import transform_flow
from airwatch.flows.validate import validate_flow
from airwatch.io.registry import CHALLENGER, CHAMPION, PREVIOUS, registered_model_name
from airwatch.settings import load_settings

pytestmark = pytest.mark.usefixtures("prefect_harness")


def context(store: Path, **train: object) -> Context:
    return Context(
        load_settings(
            store=str(store),
            train={"validation_days": 180, "lightgbm_rounds": 30, **train},
            weather={"mode": "none"},  # promotion, not weather, is under test
        )
    )


@pytest.fixture
def store(tmp_path: Path, small_input: Path) -> Path:
    root = tmp_path / "store"
    ctx = context(root)
    ingest_flow(ctx, str(small_input))
    validate_flow(ctx)
    transform_flow(ctx, ["ozone"])
    return root


def alias(ctx: Context, name: str) -> str | None:
    try:
        return str(ctx.registry.client.get_model_version_by_alias(registered_model_name("ozone"), name).version)
    except Exception:
        return None


def promotions(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "models" / "ozone" / "promotions").glob("*.json"))]


def test_better_candidate_is_promoted_worse_one_is_not(store: Path) -> None:
    # 1. Demand 99% skill: nothing learned passes, persistence becomes the first champion.
    strict = context(store, min_skill_vs_persistence=0.99)
    train_flow(strict, ["ozone"])
    first = select_flow(strict, ["ozone"])[0]
    assert first.selected == "persistence" and alias(strict, CHAMPION) == "1"

    # 2. Normal gates: the learned model beats the champion re-scored on the same window.
    normal = context(store)
    train_flow(normal, ["ozone"])
    second = select_flow(normal, ["ozone"])[0]
    assert second.selected != "persistence" and second.decision == "promoted"
    assert alias(normal, CHAMPION) == "2" and alias(normal, PREVIOUS) == "1"

    # 3. A worse candidate (persistence again) leaves the champion where it is, as a challenger.
    train_flow(strict, ["ozone"], force=True)
    third = select_flow(strict, ["ozone"])[0]
    assert third.decision == "not promoted"
    assert alias(strict, CHAMPION) == "2" and alias(strict, CHALLENGER) == "3"

    log = promotions(store)
    assert [r["decision"] for r in log] == ["promoted", "promoted", "not promoted"]
    assert log[1]["previous_champion_version"] == "1" and log[1]["previous_champion_rmse_same_window"] > 0
    assert all(r["by"] and r["reason"] and r["gates"] for r in log)
    tags = strict.registry.client.get_model_version(registered_model_name("ozone"), "3").tags
    assert tags["promotion_decision"] == "not promoted" and "does not beat" in tags["promotion_reason"]


def test_racing_promotions_end_with_the_better_model(store: Path) -> None:
    strict = context(store, min_skill_vs_persistence=0.99)
    normal = context(store)
    train_flow(strict, ["ozone"])
    weak = latest_report(strict, "ozone")
    train_flow(normal, ["ozone"])
    strong = latest_report(normal, "ozone")
    assert weak and strong and weak["training_id"] != strong["training_id"]

    from prefect import flow

    @flow
    def race(report: dict, min_skill: float) -> None:
        promote(context(store, min_skill_vs_persistence=min_skill), "ozone", report)

    threads = [threading.Thread(target=race, args=a) for a in ((strong, 0.0), (weak, 0.99))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    champion = normal.registry.champion("ozone")
    assert champion is not None and champion.tags["training_id"] == strong["training_id"]
    assert not (store / "locks" / "promotion-ozone.lock").exists()
