"""AQS ingestion against the local AQS-compatible server with real EPA data, faults included."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from airwatch.catalog import OBSERVATIONS
from airwatch.cli import app
from airwatch.domain.ingest import Geography
from airwatch.flows.context import Context
from airwatch.flows.ingest_aqs import ingest_aqs_flow
from airwatch.flows.validate import validate_flow
from airwatch.io import datasets
from airwatch.io.aqs import AqsClient, AqsError
from airwatch.settings import load_settings

pytestmark = pytest.mark.usefixtures("prefect_harness")

QUEENS = Geography.site("36", "081", "0124")
PARAMS = ["88101", "88502", "44201"]
KEY_COLS = ["site_id", "parameter", "poc", "sample_duration", "pollutant_standard", "event_type", "day"]


@pytest.fixture(scope="module")
def server():
    from tests.fakes.aqs_server import AqsServer

    with AqsServer() as srv:
        yield srv


@pytest.fixture
def ctx(tmp_path: Path, server, monkeypatch: pytest.MonkeyPatch) -> Context:
    server.state.faults.clear()
    server.state.revisions.clear()
    client_settings(monkeypatch, server, tmp_path / "store")
    return Context(load_settings())


def client_settings(mp: pytest.MonkeyPatch, server, store: Path) -> None:
    from tests.fakes.aqs_server import EMAIL, KEY

    for name, value in (("STORE", store), ("AQS__BASE_URL", server.base_url), ("AQS__EMAIL", EMAIL),
                        ("AQS__KEY", KEY), ("AQS__MIN_INTERVAL_SECONDS", 0), ("AQS__BACKOFF_SECONDS", 0.01),
                        ("AQS__TIMEOUT_SECONDS", 1)):  # fmt: skip
        mp.setenv(f"AIRWATCH_{name}", str(value))


@pytest.fixture(scope="module")
def clean_2019(server, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Queens 2019 ingested and validated with no fault: what every faulty ingest must end with."""
    server.state.faults.clear()
    server.state.revisions.clear()  # a revision test may have revised a 2019 value before this runs
    with pytest.MonkeyPatch.context() as mp:
        client_settings(mp, server, tmp_path_factory.mktemp("clean") / "store")
        clean = Context(load_settings())
        ingest(clean, PARAMS, QUEENS, date(2019, 1, 1), date(2019, 12, 31))
        validate_flow(clean.settings.store)
        return observations(clean)


def ingest(ctx: Context, params: list[str], geography: Geography, start=None, end=None, **options):
    """The AQS ingest flow as a deployment would call it: plain parameters, the store by URL."""
    return ingest_aqs_flow(params, **dict(geography.params), start=start, end=end, store=ctx.settings.store, **options)


def served_keys(server, start: str, end: str) -> int:
    d = server.state.daily
    sel = (
        (d["_site"] == "360810124")
        & d["parameter_code"].isin(PARAMS)
        & d["_date"].between(start.replace("-", ""), end.replace("-", ""))
    )
    cols = ["_site", "parameter_code", "poc", "sample_duration", "pollutant_standard", "event_type", "date_local"]
    return len(d.loc[sel, cols].drop_duplicates())


def observations(ctx: Context) -> pd.DataFrame:
    frame = datasets.read(ctx.store, datasets.latest(ctx.store, OBSERVATIONS))
    return frame.sort_values(KEY_COLS).reset_index(drop=True)[[*KEY_COLS, "value", "date_of_last_change"]]


def objects(root: Path, prefix: str) -> set[str]:
    return {str(p.relative_to(root)) for p in (root / prefix).rglob("*") if p.is_file()}


def test_backfill_is_complete_idempotent_and_counted(ctx: Context, server) -> None:
    summary = ingest(ctx, PARAMS, QUEENS, date(2015, 1, 1), date(2019, 12, 31))
    assert summary.requests == 5 and summary.fetched == 5
    result = validate_flow(ctx.settings.store)
    assert result.quarantined == 0
    assert result.valid == served_keys(server, "2015-01-01", "2019-12-31") > 5000

    root = Path(ctx.settings.store)
    before = objects(root, "processed") | objects(root, "raw")
    again = ingest(ctx, PARAMS, QUEENS, date(2015, 1, 1), date(2019, 12, 31), refresh=True)
    assert again.fetched == 5 and again.new_objects == 0
    assert not validate_flow(ctx.settings.store).published
    assert objects(root, "processed") | objects(root, "raw") == before


def test_interrupted_backfill_resumes_to_the_same_result(
    ctx: Context, server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.aqs_server import Fault

    # Two requests succeed, the third fails for good: the run stops with an error naming it.
    server.inject(Fault("nodata", service="x"))  # a fault for another service never fires
    server.state.faults.clear()
    calls = {"n": 0}
    original = AqsClient._fetch_once

    def dying(self, request):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed")
        return original(self, request)

    monkeypatch.setattr(AqsClient, "_fetch_once", dying)
    with pytest.raises(KeyboardInterrupt):
        ingest(ctx, PARAMS, QUEENS, date(2015, 1, 1), date(2019, 12, 31))
    monkeypatch.setattr(AqsClient, "_fetch_once", original)
    resumed = ingest(ctx, PARAMS, QUEENS, date(2015, 1, 1), date(2019, 12, 31))
    assert resumed.skipped == 2 and resumed.fetched == 3
    validate_flow(ctx.settings.store)
    interrupted = observations(ctx)

    fresh = Context(load_settings(store=str(tmp_path / "fresh")))
    ingest(fresh, PARAMS, QUEENS, date(2015, 1, 1), date(2019, 12, 31))
    validate_flow(fresh.settings.store)
    pd.testing.assert_frame_equal(interrupted, observations(fresh))


@pytest.mark.parametrize("kind", ["500", "503", "slow", "malformed", "truncated"])
def test_transient_faults_are_retried_to_the_same_data(
    server, clean_2019: pd.DataFrame, ctx: Context, kind: str
) -> None:
    from tests.fakes.aqs_server import Fault

    server.inject(Fault(kind, seconds=1.5, service="dailyData"), Fault(kind, seconds=1.5, service="dailyData"))
    ingest(ctx, PARAMS, QUEENS, date(2019, 1, 1), date(2019, 12, 31))
    assert not server.state.faults
    validate_flow(ctx.settings.store)
    pd.testing.assert_frame_equal(observations(ctx), clean_2019)


def test_failed_status_is_an_error_and_nothing_partial_is_published(ctx: Context, server) -> None:
    from tests.fakes.aqs_server import Fault

    ingest(ctx, PARAMS, QUEENS, date(2016, 1, 1), date(2016, 12, 31))
    validate_flow(ctx.settings.store)
    published = datasets.latest(ctx.store, OBSERVATIONS).version
    inventory = datasets.latest(ctx.store, "raw/aqs").version
    server.inject(Fault("nodata", service="dailyData"), Fault("failed", service="dailyData"))
    with pytest.raises(AqsError, match=r"dailyData/bySite\?param=88101,88502,44201&bdate=2018") as err:
        ingest(ctx, PARAMS, QUEENS, date(2017, 1, 1), date(2018, 12, 31))
    assert "status 'Failed'" in str(err.value)
    assert datasets.latest(ctx.store, "raw/aqs").version == inventory
    assert datasets.latest(ctx.store, OBSERVATIONS).version == published


def test_no_data_is_an_empty_result(ctx: Context) -> None:
    summary = ingest(ctx, ["44201"], Geography.site("36", "081", "9999"), date(2019, 1, 1), date(2019, 3, 1))
    assert summary.rows == 0 and summary.fetched == 1


def test_wrong_credentials_fail_at_once(ctx: Context, server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRWATCH_AQS__KEY", "not-the-key")
    bad = Context(load_settings())
    n = len(server.state.requests)
    with pytest.raises(AqsError, match="HTTP 401"):
        ingest(bad, PARAMS, QUEENS, date(2019, 1, 1), date(2019, 1, 31))
    assert len(server.state.requests) == n + 1  # a 4xx is never retried


def test_revisions_supersede_and_stay_traceable(ctx: Context, server) -> None:
    ingest(ctx, ["44201"], QUEENS, date(2019, 1, 1), date(2019, 12, 31))
    validate_flow(ctx.settings.store)
    server.revise("360810124", "44201", 1, "2019-07-01", 0.099, "2026-11-20")
    summary = ingest(ctx, ["44201"], QUEENS, incremental=True, end=date(2019, 12, 31))
    assert summary.rows == 1
    result = validate_flow(ctx.settings.store)
    assert result.superseded == 1
    obs = observations(ctx)
    row = obs[(obs["parameter"] == 44201) & (obs["day"] == (date(2019, 7, 1) - date(1970, 1, 1)).days)]
    assert row["value"].tolist() == [0.099]
    old = pd.read_parquet(next(Path(ctx.settings.store).glob("processed/superseded/*/rows.parquet")))
    assert old["value"].tolist() != [0.099] and old["superseded_by"].str.contains("raw/aqs").all()


def test_sentinel_key_is_nowhere(ctx: Context, server, caplog: pytest.LogCaptureFixture) -> None:
    from tests.fakes.aqs_server import KEY, Fault

    caplog.set_level(logging.DEBUG)
    server.inject(Fault("500", service="dailyData"), Fault("truncated", service="dailyData"))
    ingest(ctx, PARAMS, QUEENS, date(2018, 1, 1), date(2019, 12, 31))
    validate_flow(ctx.settings.store)
    server.inject(Fault("failed", service="dailyData"))
    with pytest.raises(AqsError) as err:
        ingest(ctx, PARAMS, QUEENS, date(2015, 1, 1), date(2015, 12, 31))
    runner = CliRunner()
    cli = runner.invoke(app, ["ingest", "aqs", "--params", "44201", "--state", "36", "--county", "081",
                              "--site", "0124", "--start", "2019-01-01", "--end", "2019-02-01"])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert KEY not in str(err.value) and KEY not in repr(err.value)
    assert KEY not in caplog.text and KEY not in cli.output
    import gzip

    for path in Path(ctx.settings.store).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data, path
            if path.suffix == ".gz":
                assert KEY.encode() not in gzip.decompress(data), path


def test_county_backfill_of_several_sites_and_years(ctx: Context, server) -> None:
    cook = Geography.county("17", "031")
    summary = ingest(ctx, PARAMS, cook, date(1999, 1, 1), date(2001, 12, 31))
    assert summary.requests == 3
    result = validate_flow(ctx.settings.store)
    obs = observations(ctx)
    assert obs["site_id"].nunique() >= 15 and set(obs["parameter"]) == {44201, 88101, 88502}
    d = server.state.daily
    sel = (d["state_code"] == "17") & (d["county_code"] == "031") & d["parameter_code"].isin(PARAMS)
    sel &= d["_date"].between("19990101", "20011231")
    cols = ["_site", "parameter_code", "poc", "sample_duration", "pollutant_standard", "event_type", "date_local"]
    assert result.valid + result.quarantined == len(d.loc[sel, cols].drop_duplicates())


def test_list_monitor_and_sample_services(ctx: Context) -> None:
    with AqsClient.from_settings(ctx.settings.aqs) as client:
        states = client.list_states()
        assert {"code": "36", "value_represented": "New York"} in states
        assert len(client.list_counties("40")) == 77
        assert client.list_parameters("CRITERIA")[0]["code"] == "14129"
    wake = Geography.site("37", "183", "0014")
    summary = ingest(ctx, ["44201"], wake, date(2017, 6, 18), date(2017, 6, 18), service="sampleData")
    assert summary.rows == 24
    result = validate_flow(ctx.settings.store)
    # Three hours of this real day have no measurement (null): quarantined, but not a reason to fail.
    assert result.valid == 21 and result.reasons == {"missing_value": 3}
    obs = datasets.read(ctx.store, datasets.latest(ctx.store, OBSERVATIONS))
    assert obs["hour"].between(0, 23).all() and obs["hour"].nunique() == 21
