"""The monitor and the replay as flows, on a slice of the bundled real data: real Prefect, MLflow and store.

The drift test shifts one feature of the newest feature rows (as a new published version of the
feature dataset, what a changed upstream would make) and checks the whole chain: exactly that feature
drifts, one alert reaches a local webhook, one retraining starts; the same incident again inside the
cool-down sends nothing and starts nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from airwatch import catalog
from airwatch.flows.context import Context
from airwatch.flows.monitor import monitor_flow
from airwatch.flows.replay import replay_flow
from airwatch.io import datasets, records
from airwatch.io.monitoring import collect_report
from airwatch.io.store import LocalStore
from tests.fakes.webhook import webhook_receiver

pytestmark = pytest.mark.usefixtures("prefect_harness")
SHIFTED = "mean_7"
BATCH_DAYS = 60


@pytest.fixture
def trained(trained_pm25: Path) -> LocalStore:
    """A store after `airwatch run` on three years of each pollutant (PM2.5 only, to keep it short)."""
    return LocalStore(trained_pm25)


def shift_newest_rows(store: LocalStore, feature: str, days: int) -> str:
    """Publish the newest feature version again with `feature` moved far out over its last `days` days."""
    manifest = datasets.latest(store, catalog.features("pm25"))
    frame = datasets.read(store, manifest)
    dates = pd.to_datetime(frame["date"])
    recent = dates > dates.max() - pd.Timedelta(days=days)
    frame.loc[recent, feature] = frame.loc[recent, feature] + 10 * frame[feature].std()
    version = f"{manifest.version}-shifted"
    datasets.publish(store, catalog.features("pm25"), version, frame, inputs=manifest.inputs, extra=manifest.extra)
    return version


def test_drift_alerts_once_and_retrains_once_within_the_cool_down(
    trained: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A two-month batch gives each feature enough values; the thresholds are set above what this
    # network's own change over two months reaches (days_since_obs, missing_7 move with sampling
    # schedules), so that only a real shift passes them. Only drift may alert here.
    for name, value in (("DRIFT_BATCH_DAYS", BATCH_DAYS), ("DRIFT_MIN_VALUES", 100), ("DRIFT_KS", 0.9),
                        ("DRIFT_PSI", 10.0), ("STALE_DAYS", 10_000), ("HEALTH_AQI", 500)):  # fmt: skip
        monkeypatch.setenv(f"AIRWATCH_MONITOR__{name}", str(value))
    trainings = len(trained.list(catalog.training_prefix("pm25")))
    with webhook_receiver() as hook:
        monkeypatch.setenv("AIRWATCH_ALERTS__WEBHOOK_URL", hook.url)
        (quiet,) = monitor_flow(pollutants=["pm25"], as_of="data")
        assert quiet.drifted == [] and quiet.drift_note == "" and hook.posts == [] and not quiet.retraining

        shift_newest_rows(trained, SHIFTED, BATCH_DAYS)
        (first,) = monitor_flow(pollutants=["pm25"], as_of="data")
        assert first.drifted == [SHIFTED]
        assert len(hook.posts) == 1 and "drift pm25" in hook.texts()[0] and SHIFTED in hook.texts()[0]
        assert first.retraining == "the retrain flow (inline)"
        (started,) = [k for k in trained.list(catalog.retrains_prefix("pm25"))]
        assert records.read_json(trained, started)["reason"] == "drift:pm25"
        assert len(trained.list(catalog.training_prefix("pm25"))) == trainings + 1  # it trained on the new rows

        (second,) = monitor_flow(pollutants=["pm25"], as_of="data")
        assert second.drifted == [SHIFTED] and second.open_incidents == ["drift:pm25"]
        assert len(hook.posts) == 1 and second.messages == [] and second.retraining == ""
        assert len(trained.list(catalog.retrains_prefix("pm25"))) == 1
    alerts = trained.list(catalog.alerts_prefix("pm25"))
    assert len(alerts) == 1 and records.read_json(trained, alerts[0])["delivered"] is True


def test_replay_issues_a_month_without_looking_ahead_and_is_verified(trained: LocalStore) -> None:
    result = replay_flow(pollutants=["pm25"], days=30)
    (replay,) = result.replays
    assert replay.issues == 30 and (replay.first_issue, replay.last_issue) == ("2012-12-01", "2012-12-30")
    assert replay.trained_through == "2012-12-01"  # no target after the first replayed day
    issued = records.read_predictions(trained, "pm25", "2012-12-01", "2012-12-30")
    assert sorted(issued["issue_date"].unique())[0] == "2012-12-01" and issued["model_version"].eq("replay").all()
    assert (issued["model_id"] == replay.model_id).all()
    (monitored,) = result.monitor
    assert monitored.as_of == "2013-01-01"
    day1 = next(s for s in monitored.scores if s["horizon_days"] == 1)
    assert day1["n"] > 100 and day1["window_start"] == "2012-12-02"
    # Run again: nothing new is issued, the monitoring tables are not written again.
    again = replay_flow(pollutants=["pm25"], days=30)
    assert again.replays[0].skipped and not again.monitor[0].written
    assert len(records.prediction_keys(trained, "pm25", "2012-12-01", "2012-12-30")) == 30

    # What the report shows comes from those same tables.
    data = collect_report(trained, Context.build(str(trained.root)).registry, ["pm25"])
    assert set(data.forecasts["issue_date"]) == {
        "2012-12-31"
    }  # the run's own issue, after the replay's and set(data.forecasts["horizon_days"]) == {1, 2, 3}
    assert data.forecasts["latitude"].notna().all()
    assert len(data.pairs) == monitored.verified and data.pairs["observed"].notna().all()
    daily1 = data.scores_over_time[data.scores_over_time["horizon_days"] == 1]
    assert daily1["verified"].sum() == day1["n"]
    assert data.contingency.set_index("horizon_days").loc[1, "hits"] == day1["hits"]
    assert data.lineage[0].model_version == "1" and data.lineage[0].promotions[0]["decision"] == "promoted"
    assert any("replay" in f for f in data.runs["flow"]) and data.runs["state"].eq("FINISHED").all()
