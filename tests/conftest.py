from __future__ import annotations

import fcntl
import gc
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from airwatch import memory
from airwatch.domain.parse import parse_daily_file
from airwatch.io.files import bundled_sample_dir

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Tests that do not look at the training's diagnostic figures train without drawing them, as tests that do
# not measure skill train with few boosting rounds: drawing was matplotlib's 17 s of a `make test-py`
# run's samples. The figures are tested where they are made (tests/domain/test_report.py) and where a
# run logs them (tests/test_cli.py::test_run_end_to_end_twice, which turns them on).
os.environ.setdefault("AIRWATCH_TRAIN__DIAGNOSTIC_FIGURES", "false")
# Two pytest-xdist workers share the two cores, and the thread pools of the libraries they call spin
# while they wait for work, on the core the other worker needs: LightGBM's OpenMP threads (GCC's libgomp,
# loaded with LightGBM, after this module, reads OMP_WAIT_POLICY) and numpy's OpenBLAS threads (loaded
# already: threadpoolctl sets this process's; the variable, the tests' child processes'). A worker runs
# BLAS on one thread and its OpenMP threads sleep at once. `make test-py`, one run each in turn
# (2026-12-06): 164.8 CPU-s and 90.1 s as before; 146.0 CPU-s and 79.5 s with OpenMP's threads sleeping;
# 132.4 CPU-s and 74.4 s with OpenBLAS on one thread too. Not the command's defaults: alone on its cores,
# the national run took 38.1 s with OpenMP's threads sleeping and 32.4 s without, and 32.0 s with OpenBLAS
# on one thread against 31.7 s.
if os.environ.get("PYTEST_XDIST_WORKER"):
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    threadpool_limits(1, user_api="blas")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED_EPA = SHARED_DATA / "epa"  # for tests marked shared
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# The test files that take longest, longest first. `make test-py` has pytest-xdist hand whole files to
# its two workers in collection order (--dist loadfile --no-loadscope-reorder; xdist's own order puts
# files with many tests first, which left the long few-test files, such as the crash test, for last and
# one worker running them alone). Started first, the long files run beside the many short ones.
# A file missing here only runs later; the order changes no test.
# Before them, the longest files that need no Prefect server: the workers run them while the shared
# server starts (tests/prefect_server.py; about 10 s, on a core of its own), instead of waiting on it.
LONGEST_FIRST = (
    "tests/io/test_s3store.py",
    "tests/domain/test_transform_train_select.py",
    "tests/domain/test_report_html.py",
    "tests/domain/test_archives.py",
    "tests/test_crash.py",
    "tests/test_cli.py",
    "tests/flows/test_ingest_aqs.py",
    "tests/flows/test_select.py",
    "tests/test_code_version.py",
    "tests/flows/test_least_privilege.py",
    "tests/e2e/test_report_browser.py",
    "tests/flows/test_backtest.py",
    "tests/flows/test_monitor.py",
    "tests/flows/test_predict_weather.py",
    "tests/flows/test_freshness.py",
    "tests/test_imports.py",  # 4 s in a subprocess: run last, it kept one worker busy 6 s after the other ended
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (a stable sort: the order within a file is kept).

    Tests marked `shared` need the real data beside the repository; without it they are skipped.
    """
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"needs ../shared/data ({SHARED_DATA} is absent)")
    for item in items:
        if item.get_closest_marker("shared"):
            item.add_marker(skip)


def pytest_sessionstart(session: pytest.Session) -> None:
    # Collection imports every test module and, with them, Prefect, MLflow, pandas and the rest: the
    # collector's passes over what they make wait for the one at the end of collection.
    memory.pause_collection()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under pytest-xdist, start the shared Prefect server now if any test here needs it (it takes ~12 s).

    Then what the imports made is collected once and frozen: a worker's later passes walk only what
    the tests make (each worker spent 9-11 s in passes over the imports' 500,000 objects; docs/core.md).
    """
    if os.environ.get("PYTEST_XDIST_WORKER") and any("prefect_harness" in getattr(item, "fixturenames", ())
                                                     for item in session.items):  # fmt: skip
        from tests.prefect_server import start_shared_server

        start_shared_server(_shared_server_folder(session.config._tmp_path_factory), os.getppid())  # type: ignore[attr-defined]
    memory.freeze_live_objects()


def _shared_server_folder(factory: pytest.TempPathFactory) -> Path:
    # In the folder all the workers' temporary folders are in (that session's own).
    return factory.getbasetemp().parent / "prefect-server"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return bundled_sample_dir()


@pytest.fixture(scope="session")
def sample_observations(sample_dir: Path) -> pd.DataFrame:
    frames = [parse_daily_file(p.name, p.read_bytes()) for p in sorted(sample_dir.glob("*.csv.gz"))]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def small_input(tmp_path: Path, sample_dir: Path) -> Path:
    """A small slice of the bundled sample: three years of each pollutant."""
    return copy_small_input(tmp_path / "input", sample_dir)


def copy_small_input(folder: Path, sample_dir: Path) -> Path:
    """Three years of each pollutant of the bundled sample into a new folder."""
    folder.mkdir()
    for year in (1999, 2000, 2001):
        shutil.copy(sample_dir / f"ozone_daily_{year}_cook_county_IL.csv.gz", folder)
    for year in (2010, 2011, 2012):
        shutil.copy(sample_dir / f"pm25_daily_{year}_cook_county_IL.csv.gz", folder)
    return folder


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory):
    """One temporary Prefect backend for the tests that run flows (they request it).

    Flows run for real against it. Under pytest-xdist the workers share one server, started by the
    first worker that needs it (tests/prefect_server.py); alone, Prefect's own test harness starts one.
    Heartbeats are off, as in the command line's embedded mode: they find crashed runs for a server's
    workers, and each flow run would wait up to a second on exit for its heartbeat thread. Logs are not
    sent to the API, which no test here reads (the production stack's tests do, against a server of
    their own): each log line was a record for the client to batch and for the server to store.

    Under pytest-xdist a worker's flow runs share one API client, as a long-lived process's would. Each
    flow run otherwise made a client of its own (a TLS context with certifi's certificates loaded, a new
    connection, a version check: about 18 ms of CPU). Not with Prefect's own harness: its server begins
    SQLite transactions DEFERRED, and with one client it refused about a third of the flow runs once
    (HTTP 503, a 2 s wait each; tests/prefect_app.py makes the shared server's IMMEDIATE).
    """
    # Prefect configures logging when its main module is first imported, binding its console handler to
    # the sys.stderr of that moment. Imported first inside a CliRunner invocation (the CLI imports flows
    # lazily), that is the runner's stream, closed when the invocation ends: the next one's Prefect lines
    # became "--- Logging error ---" tracebacks in its output. Imported here, it is the session's.
    import prefect.main
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_LOGGING_TO_API_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    off = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_LOGGING_TO_API_ENABLED: False}
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        with prefect_test_harness(server_startup_timeout=120), temporary_settings(off):
            yield
        return
    import prefect.context
    from prefect.server.api.server import SubprocessASGIServer

    from tests.prefect_server import shared_server

    api_url = shared_server(_shared_server_folder(tmp_path_factory), os.getppid())
    # As Prefect's harness does: code that would start a temporary server of its own (events and log
    # clients with no API URL, contexts copied before this one) finds this server instead.
    server = SubprocessASGIServer(int(api_url.split(":")[-1].split("/")[0]))
    server.running = True
    SubprocessASGIServer._instances[None] = server
    with (  # the second reads the settings the first made
        temporary_settings({PREFECT_API_URL: api_url, **off}),
        prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()),
        prefect.context.SyncClientContext(),
    ):
        yield


def _trained_settings(mp: pytest.MonkeyPatch, store: Path, input_dir: Path) -> None:
    for name, value in (("STORE", store), ("INPUT_DIR", input_dir), ("TRAIN__VALIDATION_DAYS", 180),
                        ("TRAIN__LIGHTGBM_ROUNDS", 40), ("TRAIN__QUANTILE_ROUNDS", 20)):  # fmt: skip
        mp.setenv(f"AIRWATCH_{name}", str(value))


@pytest.fixture(scope="session")
def trained_pm25_once(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    """`airwatch run` on the small slice (PM2.5 only, short training settings), once per session.

    Under pytest-xdist the first worker that needs it makes it, in the folder all the workers' temporary
    folders are in (that session's own), while a second one waits on the lock; the other takes it as
    made. Never handed to a test itself: trained_pm25 gives each test a copy of it.
    """
    from airwatch.flows.pipeline import run_flow

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.mktemp("trained-pm25")
    else:
        root = tmp_path_factory.getbasetemp().parent / "trained-pm25"
    with (root.parent / f"{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "made").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(exist_ok=True)
            with pytest.MonkeyPatch.context() as mp:
                _trained_settings(mp, root / "store", copy_small_input(root / "input", sample_dir))
                run_flow(pollutants=["pm25"])
            (root / "made").touch()
    return root


@pytest.fixture
def trained_pm25(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained_pm25_once: Path) -> Path:
    """A store after `airwatch run` on the small slice, PM2.5 only, with short training settings.

    A copy of one run made per test process, in the test's own folder: the tests shift features,
    retrain, replay and write reports in it. The copy's MLflow experiments keep the absolute artifact
    root of the original store (MLflow records it at creation), so the artifacts of fits made in the
    copy go there, in folders of their own run ids; registry and runs are the copy's own.
    """
    store = tmp_path / "store"
    shutil.copytree(trained_pm25_once / "store", store)
    _trained_settings(monkeypatch, store, trained_pm25_once / "input")
    return store


def pytest_unconfigure(config: pytest.Config) -> None:
    """Free what the session's flows left alive before the interpreter ends.

    A process keeps one registry per tracking URI (flows/context.py), and with it the models it loaded,
    for its whole life; the command ends by os._exit, but a test process ends the interpreter, and
    nanobind then reported the core's trees those registries still held as leaked instances. The
    freezes of memory.freeze_live_objects are undone first, so that what they kept is collected too.
    """
    if (context := sys.modules.get("airwatch.flows.context")) is not None:
        context._registry.cache_clear()
    gc.unfreeze()
    gc.collect()
