"""Incidents and findings (airwatch.domain.alerts): one message per incident, throttled, resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from airwatch.domain import alerts as rules

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DRIFT = rules.Finding("drift:pm25", "drift", rules.OPS, "drift pm25: 1 feature(s) drifted", "monitoring/drift/x")


def run(findings, incidents, now, evaluated=("drift:pm25",), **kw):  # type: ignore[no-untyped-def]
    messages, incidents = rules.reconcile(findings, evaluated, incidents, now, **kw)
    return messages, rules.sent(incidents, messages, now)


def test_an_incident_is_told_once_reminded_and_resolved() -> None:
    messages, incidents = run([DRIFT], {}, T0)
    assert [(m.key, m.event) for m in messages] == [("drift:pm25", "opened")]
    assert "AirWatch [ops] drift pm25" in messages[0].render() and "monitoring/drift/x" in messages[0].render()
    # The same finding an hour later: the same incident, nothing sent.
    messages, incidents = run([DRIFT], incidents, T0 + timedelta(hours=1))
    assert messages == [] and incidents["drift:pm25"].messages == 1
    # Still open a day later: one reminder.
    messages, incidents = run([DRIFT], incidents, T0 + timedelta(hours=25))
    assert [m.event for m in messages] == ["reminder"]
    # Cleared: one resolution; then nothing more.
    messages, incidents = run([], incidents, T0 + timedelta(hours=26))
    assert [m.event for m in messages] == ["resolved"] and incidents["drift:pm25"].state == "resolved"
    messages, incidents = run([], incidents, T0 + timedelta(hours=27))
    assert messages == []


def test_a_flapping_incident_is_not_sent_again_within_the_throttle() -> None:
    _, incidents = run([DRIFT], {}, T0)
    _, incidents = run([], incidents, T0 + timedelta(hours=1))  # resolved (one message)
    messages, incidents = run([DRIFT], incidents, T0 + timedelta(hours=2), throttle_hours=6)
    assert messages == [] and incidents["drift:pm25"].state == "open"  # recorded, not sent
    messages, _ = run([DRIFT], {}, T0 + timedelta(hours=2), throttle_hours=6)
    assert len(messages) == 1  # a new key is never throttled


def test_an_incident_whose_check_did_not_run_stays_open() -> None:
    _, incidents = run([DRIFT], {}, T0)
    messages, incidents = run([], incidents, T0 + timedelta(hours=1), evaluated=())
    assert messages == [] and incidents["drift:pm25"].state == "open"


def test_an_undelivered_message_is_sent_on_the_next_run() -> None:
    messages, incidents = rules.reconcile([DRIFT], ["drift:pm25"], {}, T0)
    assert len(messages) == 1  # the webhook failed: not marked sent
    messages, _ = rules.reconcile([DRIFT], ["drift:pm25"], incidents, T0 + timedelta(minutes=10))
    assert [m.event for m in messages] == ["opened"]


def test_the_retraining_cool_down() -> None:
    assert rules.cooled_down(None, T0, 72)
    assert not rules.cooled_down("2026-12-01T09:00:00Z", T0 + timedelta(hours=71), 72)
    assert rules.cooled_down("2026-12-01T09:00:00Z", T0 + timedelta(hours=72), 72)


def test_skill_below_persistence_over_the_last_days() -> None:
    days = pd.date_range("2012-12-01", periods=10).strftime("%Y-%m-%d")
    daily = pd.DataFrame({"pollutant": "pm25", "horizon_days": 1, "forecast_date": days, "n": 10,
                          "rmse": 2.0, "skill_vs_persistence": 0.2})  # fmt: skip
    finding, judged = rules.skill_finding("pm25", daily, days=5, min_skill=0.0, min_pairs=20, evidence="e")
    assert judged and finding is None
    worse = daily.assign(skill_vs_persistence=np.where(daily.index >= 5, -0.25, 0.2))
    finding, judged = rules.skill_finding("pm25", worse, days=5, min_skill=0.0, min_pairs=20, evidence="e")
    assert judged and finding is not None and finding.retrain and "-25.0%" in finding.text
    _, judged = rules.skill_finding("pm25", daily.head(1), days=5, min_skill=0.0, min_pairs=20, evidence="e")
    assert not judged  # 10 pairs are too few to judge


def test_coverage_outside_its_band() -> None:
    scores = pd.DataFrame({"pollutant": "pm25", "window": "30d", "scope": "all", "horizon_days": [1, 2, 3],
                           "interval_coverage": [0.8, 0.6, 0.95], "n_interval": [100, 100, 10],
                           "window_start": "2012-12-01", "window_end": "2012-12-30"})  # fmt: skip
    found = rules.coverage_findings("pm25", scores, band=(0.7, 0.9), min_pairs=30, evidence="e")
    assert [f.key for f in found] == ["coverage:pm25:day+2"]  # day+3 has too few pairs to judge


def test_a_site_sampling_every_third_day_is_not_stale_until_it_misses_samples() -> None:
    as_of = pd.Timestamp("2012-12-31")
    daily = pd.date_range("2012-11-01", "2012-12-30")
    every_third = daily[::3]  # last sample 2012-12-28: 2 quiet days, usual gap 3
    rows = [("daily", d) for d in daily[:-5]] + [("third", d) for d in every_third]
    actuals = pd.DataFrame(rows, columns=["site_id", "date"]).assign(value=1.0)
    quiet = rules.stale_sites(actuals, as_of, stale_days=2)
    assert quiet["site_id"].tolist() == ["daily"] and quiet["days_quiet"].item() == 5
    finding = rules.stale_finding("pm25", quiet, 2, "e")
    assert finding is not None and "1 of 2 sites" in finding.text


def test_a_forecast_above_aqi_150_is_a_public_health_alert_per_day() -> None:
    forecasts = pd.DataFrame({"site_id": ["a", "b", "c"], "forecast_date": ["2012-12-02", "2012-12-02", "2012-12-03"],
                              "aqi": [151, 180, 120]})  # fmt: skip
    found = rules.health_findings("pm25", forecasts, "predictions/pm25/x.parquet")
    assert [f.key for f in found] == ["health:pm25:2012-12-02"]
    assert found[0].severity == rules.HEALTH and "b AQI 180" in found[0].text
    message = rules.Message(found[0].key, "health", rules.HEALTH, "opened", found[0].text, found[0].evidence)
    assert message.render().startswith("AirWatch [PUBLIC HEALTH]")


@pytest.mark.parametrize("drifted", [[], [("lag_0", 0.5, 0.3)]])
def test_drift_finding(drifted: list[tuple[str, float, float]]) -> None:
    finding = rules.drift_finding("pm25", drifted, "e")
    assert (finding is None) == (not drifted)
