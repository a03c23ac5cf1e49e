"""The ``airwatch`` command line: the main job, one command per stage, backtests, quarantine and settings.

A user error (bad input, settings, a missing upstream stage) prints one line and exits 1; ``--debug``
shows the traceback. Flows are imported only once the settings are read, because importing Prefect
reads its environment.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from airwatch import imports, memory
from airwatch.errors import AirWatchError
from airwatch.settings import Settings, SettingsError, load_settings

# Library telemetry stays off unless the user turns it on.
for _name, _value in (("DO_NOT_TRACK", "true"), ("MLFLOW_DISABLE_TELEMETRY", "true"),
                      ("PREFECT_SERVER_ANALYTICS_ENABLED", "false")):  # fmt: skip
    os.environ.setdefault(_name, _value)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="AirWatch: PM2.5 and ozone forecasts for EPA monitoring sites.",
)
# Wide enough for the summary table when output goes to a file or CI log rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 140)
T = TypeVar("T")
_state: dict[str, Any] = {"debug": False}

StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="Store URL (folder path, file:// or s3://); overrides AIRWATCH_STORE."),
]
PollutantsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pollutants",
        "--pollutant",
        "-p",
        help="Pollutants to process: pm25, ozone, comma-separated or repeated. Default: those with data.",
    ),
]
InputDirOpt = Annotated[
    Path | None, typer.Option("--input-dir", help="Folder of EPA files (default: the bundled real sample).")
]


@app.callback()
def main_options(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and every Prefect log line.")] = False,
) -> None:
    """AirWatch: PM2.5 and ozone forecasts for EPA monitoring sites."""
    _state["debug"] = debug
    # A command that stops before its flow (a usage error after _prepare) leaves no pause behind.
    ctx.call_on_close(memory.resume_collection)


def _settings(store: str | None = None) -> Settings:
    try:
        return load_settings(**({"store": store} if store else {}))
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _prepare(store: str | None = None, *, flows: bool = True) -> Settings:
    """Read the settings (failing fast) and set up logging before any flow is imported.

    flows: the command runs flows; without a Prefect server, the ephemeral one starts now, in the
    background, while Prefect's settings and the flows' modules are imported (each takes seconds).
    """
    settings = _settings(store)
    early = _spawn_ephemeral_prefect(settings) if flows else None
    if flows:
        memory.pause_collection()  # through the flows' imports, until _run (or the command's end: main_options)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "alembic", "mlflow"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    # A line per finished task drowns the stages' own lines (a replay runs hundreds); failures still show.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("prefect.task_runs").addFilter(_quiet_completed)
        # Two lines per flow run for the hook that starts Prefect's workers (flows/tasks.stage_flow).
        for engine in ("prefect.engine", "prefect.flow_runs"):
            logging.getLogger(engine).addFilter(_quiet_service_hook)
        # Prefect's event and log workers warn whenever items are still queued as they drain at exit,
        # which is every command; they drain all the same.
        for worker in ("EventsWorker", "APILogWorker"):
            logging.getLogger(worker).addFilter(_quiet_draining)
    if settings.prefect_api_url:
        os.environ["PREFECT_API_URL"] = settings.prefect_api_url
    if flows:
        _check_prefect(server_required=False)
        _state["server"] = _start_ephemeral_prefect(early)
    _state["settings"] = settings
    return settings


def _spawn_ephemeral_prefect(settings: Settings) -> Any:
    """The command's own Prefect server, started before Prefect's settings are read, unless a server is named.

    Importing Prefect's settings takes seconds, and the server's start is what a run with nothing new
    waits on. A server named only in Prefect's profile or files is found by the child itself, which
    then exits serving nothing (and `_start_ephemeral_prefect` stops it).
    """
    if settings.prefect_api_url or os.environ.get("PREFECT_API_URL"):
        return None
    from airwatch.io.prefect_ephemeral import EphemeralPrefect

    server = EphemeralPrefect()
    server.spawn()
    return server


def _start_ephemeral_prefect(early: Any = None) -> Any:
    """Serve the command's own Prefect server if none is configured; `wait()` on it before a flow runs.

    early: the child `_spawn_ephemeral_prefect` started, now served or stopped.
    """
    from prefect.settings import get_current_settings

    prefect = get_current_settings()
    if prefect.api.url:
        if early is not None:
            early.stop()
        return None
    from airwatch.io.prefect_ephemeral import EphemeralPrefect

    # Wall time, at least a minute: a first start in a new PREFECT_HOME creates the database, which on two
    # busy cores passes Prefect's 20 s (that Prefect counts in sleeps, not wall time).
    timeout = max(float(prefect.server.ephemeral.startup_timeout_seconds), 60.0)
    if early is None:  # not started early by the caller
        early = EphemeralPrefect()
        early.spawn()
    early.serve(timeout)
    return early


def _check_prefect(*, server_required: bool) -> None:
    """One clear line when flows cannot reach a Prefect server (production turns the ephemeral one off)."""
    from prefect.settings import get_current_settings

    prefect = get_current_settings()
    if prefect.api.url:
        return
    if server_required or not prefect.server.ephemeral.enabled:
        off = "" if server_required else " and the ephemeral server is off (PREFECT_SERVER_EPHEMERAL_ENABLED=false)"
        console.print(f"[red]error:[/red] no Prefect server: PREFECT_API_URL (or AIRWATCH_PREFECT_API_URL) is not "
                      f"set{off}; point it at the Prefect server, e.g. http://127.0.0.1:4200/api")  # fmt: skip
        raise typer.Exit(2)


def _quiet_draining(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Still processing items")


def _quiet_service_hook(record: logging.LogRecord) -> bool:
    return not (record.levelno == logging.INFO and "'_start_services'" in str(record.msg))


def _quiet_completed(record: logging.LogRecord) -> bool:
    return not (record.levelno == logging.INFO and str(record.msg).startswith("Finished in state Completed"))


class _OneErrorLine(logging.Filter):
    """Keep Prefect's failure records off the console: the command line says a failure once, at the end.

    Prefect logs a failure at every level it passes (task, subflow, flow), traceback included. Only the
    console handler filters them; the Prefect server still gets every record.
    """

    _FAILURE = ("Encountered exception", "Task run failed with exception", "Finished in state Failed",
                "Finished in state Crashed")  # fmt: skip

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return True
        return not str(record.msg).startswith(self._FAILURE)


def _open_registry_early() -> None:
    """Open the MLflow registry the flows will use, while the command's own Prefect server is still starting.

    The main thread would only wait on the server then, and opening a registry costs seconds (a SQLite
    store checks its schema: 2.4 s on this machine, most of a repeated run's select stage). The flows'
    contexts find it open: flows.context keeps one registry per tracking URI and process. Only a local
    registry (a SQLite file, the embedded default): an MLflow server that is down would keep the command
    in MLflow's HTTP retries here, before its flows. Best effort: a registry that cannot be opened now
    is left for the flow to meet, with its retries and logs.
    """
    from airwatch.flows.context import Context

    with contextlib.suppress(Exception):
        if (settings := _state["settings"]).tracking_uri().startswith("sqlite:"):
            _ = Context(settings).registry


def _run(stage: str, call: Callable[[], T], *, registry: bool = False) -> T:
    """Run a flow; a user error becomes one line and exit code 1 (the traceback only with --debug).

    registry: the flow uses the MLflow registry, opened while the command's own Prefect server starts.
    """
    if not _state["debug"]:
        # Every console handler: Prefect's own when it configured logging, else the plain stream handler
        # of _prepare's basicConfig (the command line's case). Prefect's API handlers sit on its
        # run loggers, not here, so the server still gets the failure records.
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, _OneErrorLine) for f in handler.filters):
                handler.addFilter(_OneErrorLine())
    # The flow's modules are imported (the command's body imports them before calling this): collected
    # and frozen once, out of every later pass (memory.freeze_live_objects), ending _prepare's pause.
    # Here rather than only in the flow's own start hook: that runs once the server answers, and this
    # pass (0.26 s on a national run) runs while the command's server is still starting.
    memory.freeze_live_objects()
    try:
        if (server := _state.get("server")) is not None:
            if registry and not server.answering:
                _open_registry_early()
            server.wait()  # a flow must not ask the server before it answers
        with _embedded_prefect():
            return call()
    except AirWatchError as exc:
        if _state["debug"]:
            raise
        console.print(f"[red]{stage} failed:[/red] {exc}")
    except Exception as exc:
        if _state["debug"]:
            raise
        console.print(f"[red]{stage} failed (internal error):[/red] {type(exc).__name__}: {exc} (--debug shows where)")
    raise typer.Exit(1)


@contextlib.contextmanager
def _embedded_prefect() -> Iterator[None]:
    """Flow heartbeats off when there is no Prefect server (only the command's ephemeral one).

    Heartbeats let a server find crashed runs of its workers; without one they report to nobody, and
    each flow run would wait up to a second on exit for them.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if _state.get("server") is None:
        yield
        return
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _pollutants(values: list[str] | None) -> list[str] | None:
    from airwatch.domain.schemas import POLLUTANTS

    names = [p.strip() for v in values or [] for p in v.split(",") if p.strip()]
    for name in names:
        if name not in POLLUTANTS:
            console.print(f"[red]error:[/red] --pollutants takes {', '.join(POLLUTANTS)}; got {name!r}")
            raise typer.Exit(2)
    return names or None


def _usage(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


@app.command()
def run(
    store: StoreOpt = None,
    input_dir: InputDirOpt = None,
    pollutants: PollutantsOpt = None,
    force_train: Annotated[bool, typer.Option("--force-train", help="Retrain even when nothing changed.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the run's summary (stages and their times) as JSON.")
    ] = None,
) -> None:
    """Run the main job: ingest, validate, transform, train, select, predict; print a summary."""
    settings = _prepare(store)
    wanted = _pollutants(pollutants)
    from airwatch.flows.pipeline import run_flow

    folder = str(input_dir) if input_dir else None
    summary = _run("run", lambda: run_flow(store, folder, wanted, force_train), registry=True)
    _print_summary(summary, settings)
    if report is not None:
        report.write_text(json.dumps(dataclasses.asdict(summary), indent=2, default=_plain))


class _IngestGroup(TyperGroup):
    """`airwatch ingest SOURCE ...`; the older `airwatch ingest --source SOURCE ...` still works."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "-h")):
            source, rest, items = "files", [], iter(args)
            for arg in items:
                if arg == "--source":
                    source = next(items, source)
                elif arg.startswith("--source="):
                    source = arg.split("=", 1)[1]
                else:
                    rest.append(arg)
            args = [source, *rest]
        return super().parse_args(ctx, args)


ingest_app = typer.Typer(cls=_IngestGroup, help="Bring data into the store's raw area, as received, one source each.")
app.add_typer(ingest_app, name="ingest")
StartOpt = Annotated[
    str | None, typer.Option("--start", help="First day YYYY-MM-DD (airnow: or first UTC hour YYYY-MM-DDTHH).")
]
EndOpt = Annotated[
    str | None, typer.Option("--end", help="Last day YYYY-MM-DD (airnow: or last UTC hour YYYY-MM-DDTHH).")
]
ParamsOpt = Annotated[str, typer.Option("--params", help="AQS parameter codes, comma-separated (88101,44201).")]
BboxOpt = Annotated[str | None, typer.Option("--bbox", help="min lon,min lat,max lon,max lat (decimal degrees).")]


@ingest_app.command("files")
def ingest_files(
    store: StoreOpt = None,
    input_dir: InputDirOpt = None,
    url: Annotated[
        list[str] | None, typer.Option("--url", help="URL of an AirData bulk file (.zip or .csv); repeatable.")
    ] = None,
) -> None:
    """EPA files from a folder (AirData, download-tool exports, AirNow peak files) or AirData URLs."""
    _prepare(store)
    from airwatch.flows.ingest import ingest_flow

    s = _run("ingest", lambda: ingest_flow(store, str(input_dir) if input_dir else None, url or None))
    console.print(f"ingest: {s.files} files in the inventory ({s.new_files} new), version {s.inventory_version}")


@ingest_app.command("aqs")
def ingest_aqs(
    store: StoreOpt = None,
    params: ParamsOpt = "88101,44201",
    state: Annotated[str | None, typer.Option("--state", help="2-digit state FIPS code.")] = None,
    county: Annotated[str | None, typer.Option("--county", help="3-digit county code (with --state).")] = None,
    site: Annotated[str | None, typer.Option("--site", help="4-digit site number (with --county).")] = None,
    cbsa: Annotated[str | None, typer.Option("--cbsa", help="5-digit CBSA code instead of a state.")] = None,
    bbox: BboxOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    incremental: Annotated[
        bool, typer.Option("--incremental", help="Fetch only what is new or revised since the watermark.")
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Fetch again requests a previous run of this backfill finished.")
    ] = False,
    service: Annotated[
        str, typer.Option("--service", help="dailyData (daily summaries) or sampleData (hourly values).")
    ] = "dailyData",
) -> None:
    """The EPA AQS Data API (needs AIRWATCH_AQS__EMAIL and AIRWATCH_AQS__KEY): a backfill or an increment."""
    _prepare(store)
    from airwatch.flows.ingest_aqs import ingest_aqs_flow

    first, last = _day(start, "--start"), _day(end, "--end")
    a = _run("ingest", lambda: ingest_aqs_flow(params.split(","), state, county, site, cbsa, bbox, first, last,
                                               incremental, refresh, service, store))  # fmt: skip
    console.print(f"ingest: {a.requests} AQS requests ({a.fetched} fetched, {a.skipped} already done), "
                  f"{a.new_objects} new raw objects, {a.rows} rows, inventory {a.inventory_version}")  # fmt: skip


@ingest_app.command("airnow")
def ingest_airnow(
    store: StoreOpt = None,
    bbox: BboxOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    params: ParamsOpt = "88101,44201",
    hours: Annotated[
        int, typer.Option("--hours", help="Without --start/--end: the last this many hours up to now.", min=1)
    ] = 48,
) -> None:
    """Fresh hourly observations from the AirNow API (needs AIRWATCH_AIRNOW__KEY)."""
    _prepare(store)
    if not bbox:
        raise _usage("ingest airnow needs --bbox")
    first = _hour(start, "--start", 0) if start else None
    last = _hour(end, "--end", 23) if end else None
    from airwatch.flows.ingest_airnow import ingest_airnow_flow

    s = _run("ingest", lambda: ingest_airnow_flow(bbox, first, last, params.split(","), hours, store))
    console.print(f"ingest: {s.requests} AirNow requests, {s.new_objects} new raw objects, {s.rows} rows")


@ingest_app.command("weather")
def ingest_weather(
    store: StoreOpt = None,
    input_dir: Annotated[
        Path | None,
        typer.Option("--input-dir", help="Folder of NOAA station files (.dly, daily-summaries CSV); default: bundled."),
    ] = None,
) -> None:
    """NOAA station files (GHCN-Daily .dly or daily-summaries CSV)."""
    _prepare(store)
    from airwatch.flows.ingest import ingest_weather_flow

    w = _run("ingest", lambda: ingest_weather_flow(store, str(input_dir) if input_dir else None))
    console.print(f"ingest: {w.files} weather station files ({w.new_files} new), version {w.inventory_version}")


def _day(text: str | None, option: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise _usage(f"{option} needs a day as YYYY-MM-DD, got {text!r}") from None


def _hour(text: str, option: str, default_hour: int) -> datetime:
    for fmt in ("%Y-%m-%dT%H", "%Y-%m-%d"):
        try:
            value = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return value if fmt != "%Y-%m-%d" else value.replace(hour=default_hour)
    raise _usage(f"{option} needs YYYY-MM-DDTHH or YYYY-MM-DD, got {text!r}")


@app.command()
def validate(store: StoreOpt = None) -> None:
    """Validate the newest raw inventories; quarantine bad files and rows; publish processed observations."""
    _prepare(store)
    from airwatch.flows.validate import validate_flow

    s = _run("validate", lambda: validate_flow(store))
    console.print(f"validate: {s.rows} rows, {s.valid} valid, {s.quarantined} quarantined {s.reasons}, "
                  f"{s.superseded} superseded by revisions, {len(s.quarantined_files)} files quarantined")  # fmt: skip


@app.command()
def transform(store: StoreOpt = None, pollutants: PollutantsOpt = None) -> None:
    """Build the daily site series and feature frame of each pollutant."""
    _prepare(store)
    from airwatch.flows.transform import transform_flow

    for s in _run("transform", lambda: transform_flow(store, _pollutants(pollutants))):
        console.print(f"transform: {s.pollutant} {s.rows} rows, {s.sites} sites, version {s.version}")


@app.command()
def train(
    store: StoreOpt = None,
    pollutants: PollutantsOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Retrain even when nothing changed.")] = False,
) -> None:
    """Fit every candidate on a time-ordered split and log each to MLflow."""
    _prepare(store)
    from airwatch.flows.train import train_flow

    for report in _run("train", lambda: train_flow(store, _pollutants(pollutants), force), registry=True):
        best = min(report.candidates, key=lambda c: c.validation["rmse"])
        console.print(f"train: {report.pollutant} best validation RMSE {best.name} {best.validation['rmse']:.4g}")


@app.command("select")
def select_cmd(store: StoreOpt = None, pollutants: PollutantsOpt = None) -> None:
    """Apply the gates, register the selected candidate and set the champion alias."""
    _prepare(store)
    from airwatch.flows.select import select_flow

    for s in _run("select", lambda: select_flow(store, _pollutants(pollutants)), registry=True):
        console.print(f"select: {s.pollutant} -> {s.selected} ({s.model_name} v{s.model_version}, {s.decision})")


@app.command()
def predict(store: StoreOpt = None, pollutants: PollutantsOpt = None) -> None:
    """Forecast day+1..3 for every fresh site with the champion model, with intervals and AQI."""
    _prepare(store)
    from airwatch.flows.predict import predict_flow

    for s in _run("predict", lambda: predict_flow(store, _pollutants(pollutants)), registry=True):
        console.print(f"predict: {s.pollutant} {s.sites} sites issued {s.issue_date} for "
                      f"{', '.join(s.forecast_dates)} -> {s.key}")  # fmt: skip


AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Score forecast dates before this day (YYYY-MM-DD), or 'data': the day after each "
        "pollutant's newest observation. Default: today.",
    ),
]


@app.command()
def monitor(
    store: StoreOpt = None,
    pollutants: PollutantsOpt = None,
    days: Annotated[int | None, typer.Option("--days", min=1, help="Scoring window in days (default: settings).")] = (
        None
    ),
    as_of: AsOfOpt = None,
) -> None:
    """Verify published forecasts on the actuals that arrived, check drift, alert, start retraining."""
    _prepare(store)
    _check_as_of(as_of)
    from airwatch.flows.monitor import monitor_flow

    for m in _run("monitor", lambda: monitor_flow(store, _pollutants(pollutants), days, as_of), registry=True):
        _print_monitor(m)


@app.command()
def replay(
    store: StoreOpt = None,
    pollutants: PollutantsOpt = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Issue days to replay.")] = 30,
) -> None:
    """Issue the last DAYS days' forecasts of the data as the daily schedule would have, then verify them."""
    _prepare(store)
    from airwatch.flows.replay import replay_flow

    result = _run("replay", lambda: replay_flow(store, _pollutants(pollutants), days), registry=True)
    for r in result.replays:
        done = " (done before)" if r.skipped else ""
        console.print(f"replay: {r.pollutant} {r.issues} issue days {r.first_issue}..{r.last_issue}, model fitted "
                      f"through {r.trained_through} ({r.model_id}){done}")  # fmt: skip
    for m in result.monitor:
        _print_monitor(m)


def _check_as_of(as_of: str | None) -> None:
    if as_of not in (None, "data"):
        _day(as_of, "--as-of")


def _print_monitor(m: Any) -> None:
    from rich.markup import escape

    window = f"{m.scores[0]['window_start']}..{m.scores[0]['window_end']}" if m.scores else ""
    table = Table(title=f"{m.pollutant}: forecasts verified over {window}, every site (FAR: false-alarm ratio)")
    for col in ("horizon", "pairs", "bias", "MAE", "RMSE", "corr", "skill vs pers. %", "skill vs clim. %",
                "category hit %", "within one %", "in 80% interval %", "POD", "FAR", "CSI", "HSS"):  # fmt: skip
        table.add_column(col)

    def pct(v: float) -> str:
        return "-" if v != v else f"{100 * v:.1f}"

    def num(v: float) -> str:
        return "-" if v != v else f"{v:.3g}"

    for s in m.scores:
        table.add_row(f"day+{s['horizon_days']}", str(s["n"]), num(s["bias"]), num(s["mae"]), num(s["rmse"]),
                      num(s["corr"]), pct(s["skill_vs_persistence"]), pct(s["skill_vs_climatology"]),
                      pct(s["category_hit_rate"]), pct(s["within_one_category"]), pct(s["interval_coverage"]),
                      num(s["pod"]), num(s["far"]), num(s["csi"]), num(s["hss"]))  # fmt: skip
    console.print(table if m.scores else f"monitor: {m.pollutant}: no forecast verified yet before {m.as_of}")
    drift = ", ".join(m.drifted) if m.drifted else ("none" if not m.drift_note else f"not evaluated ({m.drift_note})")
    incidents = ", ".join(m.open_incidents) or "none"
    console.print(escape(f"  drift: {drift}; stale sites: {m.stale_sites}; open incidents: {incidents}"))
    for text in m.messages:
        console.print(escape(f"  alert: {text}"))
    if m.retraining:
        console.print(escape(f"  retraining started: {m.retraining}"))


def _report_data(settings: Settings) -> Any:
    """What the report shows: the store's forecasts and monitoring, and the registry's lineage and runs."""
    from airwatch.flows.context import Context
    from airwatch.io.monitoring import collect_report

    ctx = Context(settings)
    uri = settings.tracking_uri()
    # A local store that never trained has no MLflow database; opening one would create it.
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        data = collect_report(ctx.store, None)
        note = "no MLflow database in this store yet (nothing trained): lineage and runs are not shown"
        return dataclasses.replace(data, notes=[note if n.startswith("no model registry") else n for n in data.notes])
    return collect_report(ctx.store, ctx.registry)


def _default_report_path(settings: Settings) -> Path:
    if settings.store.startswith("s3://"):
        return Path("airwatch-report.html")
    return Path(settings.store.removeprefix("file://")) / "reports" / "report.html"


@app.command()
def report(
    store: StoreOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the page (default: the store's reports/report.html; ./airwatch-report.html "
            "for an S3 store).",
        ),
    ] = None,
) -> None:
    """Write the monitoring report: one HTML page that opens with no network (map, scores, drift, lineage)."""
    settings = _prepare(store, flows=False)
    from airwatch.domain.report_html import render_report

    page = _run("report", lambda: render_report(_report_data(settings)))
    path = output or _default_report_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    console.print(f"report: {path} ({len(page.encode()) / 1e6:.1f} MB)")


@app.command()
def dashboard(
    store: StoreOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on; 0 picks a free one.")] = (
        8050
    ),
    max_age: Annotated[
        float, typer.Option("--max-age", min=0, help="Seconds a built page is served before it is built again.")
    ] = 60.0,
) -> None:
    """Serve the newest report on HTTP (/ the page, /healthz ok) until Ctrl-C."""
    settings = _prepare(store, flows=False)
    from airwatch.domain.report_html import render_report
    from airwatch.io.dashboard import make_server

    try:
        server = make_server(host, port, lambda: render_report(_report_data(settings)), max_age)
    except OSError as exc:
        console.print(f"[red]dashboard failed:[/red] cannot listen on {host}:{port}: {exc.strerror or exc}")
        raise typer.Exit(1) from None
    console.print(f"dashboard: http://{host}:{server.server_port}/ (rebuilt when older than {max_age:g} s; "
                  "Ctrl-C stops)")  # fmt: skip
    sys.stdout.flush()  # a supervisor or a test reads the address from a pipe
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


quarantine_app = typer.Typer(help="Files no stage could read: list them, release them for another try, or delete.")
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(store: StoreOpt = None) -> None:
    """List quarantined files with their reasons, and the rows the newest validation quarantined."""
    settings = _prepare(store, flows=False)
    from airwatch.io import datasets, quarantine
    from airwatch.io.store import open_store

    s = open_store(settings.store)
    held = _run("quarantine", lambda: quarantine.held(s))
    table = Table(title=f"Quarantined files in {s.url}")
    for col in ("raw key", "reason", "stage", "since"):
        table.add_column(col, overflow="fold")
    for h in held.values():
        table.add_row(h.key, h.reason, h.stage, h.at_utc)
    console.print(table if held else f"no quarantined file in {s.url}")
    try:
        from airwatch import catalog

        m = datasets.latest(s, catalog.OBSERVATIONS)
        console.print(f"rows quarantined by validation {m.version}: {m.extra.get('quarantined', 0)} "
                      f"{m.extra.get('reasons', {})} ({catalog.quarantined_rows_key(m.version)})")  # fmt: skip
    except AirWatchError:
        pass


@quarantine_app.command("release")
def quarantine_release(
    key: Annotated[str, typer.Argument(help="Raw key of the file.")], store: StoreOpt = None
) -> None:
    """Take a file out of quarantine; the next validate run reads it again."""
    settings = _prepare(store, flows=False)
    from airwatch.io import quarantine
    from airwatch.io.store import open_store

    record = _run("quarantine", lambda: quarantine.release(open_store(settings.store), key))
    console.print(f"released {record.key} (was: {record.reason}); the next `airwatch validate` reads it again")


@quarantine_app.command("delete")
def quarantine_delete(key: Annotated[str, typer.Argument(help="Raw key of the file.")], store: StoreOpt = None) -> None:
    """Delete a quarantined file from the store's raw area and its inventory, for good."""
    settings = _prepare(store, flows=False)
    from airwatch.io import quarantine
    from airwatch.io.store import open_store

    record = _run("quarantine", lambda: quarantine.delete(open_store(settings.store), key))
    console.print(f"deleted {record.key} (was: {record.reason})")


@app.command("backtest")
def backtest_cmd(
    input_dir: Annotated[
        Path,
        typer.Option(
            "--input",
            help="Folder of EPA files, every format `airwatch ingest` reads (AirData daily/hourly, download-tool "
            "exports, AQS sampleData/Data Mart CSV, AirNow daily peak files).",
        ),
    ],
    pollutant: Annotated[str, typer.Option("--pollutant", help="pm25 or ozone.")],
    output: Annotated[Path, typer.Option("--output", help="Where to write the metrics JSON.")] = Path("metrics.json"),
    test_start: Annotated[
        str | None, typer.Option("--test-start", help="Score only forecasts for dates on or after YYYY-MM-DD.")
    ] = None,
    test_end: Annotated[
        str | None,
        typer.Option(
            "--test-end", help="Score only forecasts for dates on or before YYYY-MM-DD (development windows)."
        ),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="Number of rolling-origin test folds.", min=1)] = 3,
    fold_days: Annotated[
        int, typer.Option("--fold-days", help="Days per test fold (without --test-start).", min=7)
    ] = 91,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for every random choice (default: AIRWATCH_TRAIN__SEED).")
    ] = None,
    weather: Annotated[
        Path | None,
        typer.Option(
            "--weather",
            help="Folder of NOAA station files (GHCN-Daily .dly, daily-summaries CSV), or of the NWS forecast "
            "archive (email_data_reorganized*.csv with its cities.csv): observed highs/lows and archived forecasts. "
            "With both, the station files are the observed weather and the archive gives the archived forecasts.",
        ),
    ] = None,
    weather_mode: Annotated[
        str | None,
        typer.Option(
            "--weather-mode",
            help="none, lagged (issue-day observations), observed-as-forecast (target-day observations as a "
            "perfect forecast) or archived-forecast (target-day weather from archived forecasts: the NWS archive "
            "given as --weather, else --forecast-url; run beside lagged and observed-as-forecast and compared "
            "side by side). With --weather and no mode: both lagged and observed-as-forecast.",
        ),
    ] = None,
    forecast_url: Annotated[
        str | None,
        typer.Option(
            "--forecast-url",
            help="archived-forecast: base URL of Open-Meteo's historical-forecast API "
            "(https://historical-forecast-api.open-meteo.com).",
        ),
    ] = None,
    sites: Annotated[
        Path | None,
        typer.Option(
            "--sites",
            help="EPA AirData site list (aqs_sites.csv[.gz]) for sites whose files give no coordinates; "
            "default: one found under --input, else the bundled copy.",
        ),
    ] = None,
    smoke_flags: Annotated[
        Path | None,
        typer.Option(
            "--smoke-flags",
            help="CSV of NOAA HMS smoke flags per AQS site and day (columns Site.Code as SS-CCC-NNNN, Date, and 0/1 "
            "light, med, heavy): the scores again on days without smoke, with light, and with medium or heavy smoke.",
        ),
    ] = None,
) -> None:
    """Evaluate the forecasting pipeline on a folder of EPA daily files by rolling-origin backtest."""
    _pollutants([pollutant])
    _prepare()
    from airwatch.domain.weather import MODES, NONE

    if weather_mode is not None and weather_mode not in MODES:
        raise _usage(f"--weather-mode must be one of {', '.join(MODES)}")
    if weather_mode not in (None, NONE) and weather is None:
        raise _usage("--weather-mode needs --weather DIR")
    start, end = _day(test_start, "--test-start"), _day(test_end, "--test-end")
    if start and end and end < start:
        raise _usage("--test-end is before --test-start")
    from airwatch.flows.backtest import backtest_flow

    data = _run("backtest", lambda: backtest_flow(
        str(input_dir), pollutant, test_start=start, test_end=end, folds=folds, fold_days=fold_days, seed=seed,
        weather=str(weather) if weather else None, weather_mode=weather_mode, forecast_url=forecast_url,
        sites=str(sites) if sites else None, smoke_flags=str(smoke_flags) if smoke_flags else None,
    ))  # fmt: skip
    output.write_text(json.dumps(data, indent=2))
    for mode, result in data["modes"].items():
        _backtest_table(pollutant, mode, data["folds"], result)
    if len(data["modes"]) > 1:
        _modes_table(pollutant, data["modes"])
    for h, m in data["horizons"].items():
        if "warning_pod" in m:
            console.print(f"AQI > 100 warnings as published (P(AQI > 100) >= {m['warning_probability']:.2f}; "
                          f"{data['weather']}), day+{h}: POD {m['warning_pod']:.2f}, FAR {m['warning_far']:.2f}, "
                          f"CSI {m['warning_csi']:.2f} ({int(m['warning_hits'])} hits, {int(m['warning_misses'])} "
                          f"misses, {int(m['warning_false_alarms'])} false alarms)")  # fmt: skip
    for h, m in data["held_out_sites"].items():
        console.print(f"held-out sites ({data['weather']}), day+{h}: skill vs persistence {_skill(m)} "
                      f"({int(m['n_sites'])} sites)")  # fmt: skip
    for h, groups in data.get("by_sampling", {}).items():
        for label, m in groups.items():
            console.print(f"{label.replace('_', '-')} samplers ({data['weather']}), day+{h}: skill vs persistence "
                          f"{_skill(m)} ({int(m['n_sites'])} sites, {int(m['n_forecasts'])} forecasts)")  # fmt: skip
    for h, groups in data.get("by_smoke", {}).items():
        for label, m in groups.items():
            console.print(f"{label.replace('_', ' ')} days (HMS; {data['weather']}), day+{h}: skill vs persistence "
                          f"{_skill(m)}, AQI > 100 POD {m['aqi100_pod']:.2f} FAR {m['aqi100_far']:.2f} "
                          f"({int(m['n_sites'])} sites, {int(m['n_forecasts'])} forecasts)")  # fmt: skip
    for label, text in (("sites_with_station", "a station within the matching radius"),
                        ("sites_with_station_within_25km", "a station within 25 km")):  # fmt: skip
        for mode, horizons in data.get(label, {}).items():
            if m := horizons.get("1"):
                console.print(f"sites with {text} ({mode}), day+1: skill vs persistence "
                              f"{_skill(m)} ({int(m['n_sites'])} sites, "
                              f"{int(m['n_forecasts'])} forecasts)")  # fmt: skip
    console.print(f"metrics written to {output}")


def _skill(m: dict[str, float], reference: str = "persistence") -> str:
    """A skill with its 90% bootstrap interval, in percent."""
    low, high = (m.get(f"skill_vs_{reference}_ci90_{side}", float("nan")) for side in ("low", "high"))
    return f"{100 * m[f'skill_vs_{reference}']:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def _backtest_table(pollutant: str, mode: str, folds: list[dict[str, str]], result: dict[str, Any]) -> None:
    span = f"{folds[0]['start']} .. {folds[-1]['end']}"
    table = Table(title=f"Backtest {pollutant}, weather {mode}: {result['model']} ({span}); skills with 90% intervals")
    for col in ("horizon", "RMSE", "persistence", "skill vs pers.", "climatology", "skill vs clim.", "AQI hit",
                "AQI>100 obs", "POD", "FAR", "CSI", "80% cover", "80% width", "sites", "forecasts"):  # fmt: skip
        table.add_column(col)
    for h, m in result["horizons"].items():
        events = m.get("aqi100_hits", 0.0) + m.get("aqi100_misses", 0.0)
        table.add_row(
            f"day+{h}", f"{m['rmse']:.4g}", f"{m['persistence_rmse']:.4g}", _skill(m), f"{m['climatology_rmse']:.4g}",
            _skill(m, "climatology"), f"{m['category_hit_rate']:.3f}", str(int(events)),
            *(f"{m.get(f'aqi100_{k}', float('nan')):.2f}" for k in ("pod", "far", "csi")),
            f"{m.get('interval_80_coverage', float('nan')):.2f}", f"{m.get('interval_80_width', float('nan')):.4g}",
            str(int(m["n_sites"])), str(int(m["n_forecasts"])),
        )  # fmt: skip
    console.print(table)


def _modes_table(pollutant: str, modes: dict[str, Any]) -> None:
    """The weather modes side by side, per horizon: what each way of using weather reaches."""
    table = Table(title=f"Backtest {pollutant}: weather modes side by side (skills with 90% intervals)")
    for col in ("horizon", "weather mode", "model", "RMSE", "skill vs pers.", "skill vs clim.", "POD", "FAR", "CSI"):
        table.add_column(col)
    horizons = sorted({h for result in modes.values() for h in result["horizons"]}, key=int)
    for h in horizons:
        for mode, result in modes.items():
            if (m := result["horizons"].get(h)) is None:
                continue
            table.add_row(
                f"day+{h}", mode, result["model"], f"{m['rmse']:.4g}", _skill(m), _skill(m, "climatology"),
                *(f"{m.get(f'aqi100_{k}', float('nan')):.2f}" for k in ("pod", "far", "csi")),
            )  # fmt: skip
    console.print(table)


@app.command()
def deploy(
    spec: Annotated[Path, typer.Option("--spec", help="Deployment spec (YAML).")] = Path("deploy/deployments.yaml"),
) -> None:
    """Install the Prefect deployments, the failure alert and the watchdogs on the Prefect server."""
    settings = _prepare(flows=False)
    _check_prefect(server_required=True)
    from airwatch.io.deployments import audit_installed, install, load_spec
    from airwatch.io.store import open_store

    alerts = settings.alerts
    url = alerts.webhook_url.get_secret_value() if alerts.webhook_url else None
    done = _run("deploy", lambda: install(load_spec(spec), webhook_url=url, watchdog_hours=alerts.watchdog_hours))
    key = _run("deploy", lambda: audit_installed(open_store(settings.store), done, spec))
    table = Table(title=f"Deployments on work pool {done.work_pool}")
    for col in ("deployment", "runs"):
        table.add_column(col)
    for name, full in done.deployments.items():
        table.add_row(full, done.schedules[name])
    console.print(table)
    if done.automations:
        console.print(f"automations: {', '.join(done.automations)}")
    else:
        console.print("no failure alert: set AIRWATCH_ALERTS__WEBHOOK_URL and deploy again")
    console.print(f"audit record: {key}")
    console.print(f"start a worker: airwatch worker --pool {done.work_pool}")


@app.command("iam-policy")
def iam_policy(
    role: Annotated[str, typer.Argument(help="A role (ingest, validate, ... auditor) or bucket-policy.")],
    store: StoreOpt = None,
    policies: Annotated[Path, typer.Option("--dir", help="Folder of the policy documents.")] = Path("deploy/iam"),
) -> None:
    """Print a role's IAM policy for the store's bucket and prefix (docs/security.md), for aws iam put-role-policy."""
    from airwatch.iam import policy_for_store

    settings = _settings(store)
    try:
        document = policy_for_store(policies, role, settings.store)
    except AirWatchError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


@app.command()
def worker(
    pool: Annotated[str, typer.Option("--pool", help="Work pool to take runs from.")] = "airwatch",
) -> None:
    """Run a Prefect worker for AirWatch's work pool: it runs the deployments' flow runs as processes.

    SIGTERM or Ctrl-C stops it cleanly (a second one at once).
    """
    _prepare(flows=False)
    _check_prefect(server_required=True)
    from airwatch.io import worker as process_worker

    process_worker.run(pool, printer=console.print)


@app.command()
def config(
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the effective settings, secrets masked."""
    data = _settings(store).masked()
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    table = Table(title="AirWatch settings")
    table.add_column("setting")
    table.add_column("value")
    for key, value in _flatten(data):
        table.add_row(key, str(value))
    console.print(table)


def _plain(value: Any) -> Any:
    """JSON for what json does not know: pydantic records (training reports), anything else as text."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump is not None else str(value)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


_WEATHER = {
    "none": "no weather",
    "lagged": "weather: issue day's observed (lagged)",
    "forecast": "weather: target day's, observed in validation (observed-as-forecast)",
}


def _print_summary(summary: Any, settings: Settings) -> None:
    title = (f"AirWatch run: forecasts for day+1..3 with 80% intervals (day+1 validation = final year held out; "
             f"{_WEATHER[settings.weather.mode]})")  # fmt: skip
    table = Table(title=title)
    for col in ("pollutant", "sites", "model RMSE", "persistence RMSE", "skill %", "selected", "model",
                "issued from", "forecast days", "forecast sites", "oldest obs."):  # fmt: skip
        table.add_column(col)
    predictions = {p.pollutant: p for p in summary.predict}
    for s in summary.select:
        p = predictions[s.pollutant]
        days = f"{p.forecast_dates[0]}..{p.forecast_dates[-1][-2:]}"
        table.add_row(s.pollutant, str(s.sites), f"{s.validation_rmse:.4g}", f"{s.persistence_rmse:.4g}",
                      f"{100 * s.skill_vs_persistence:.1f}", s.selected, f"{s.model_name} v{s.model_version}",
                      p.issue_date, days, str(p.sites), f"{p.max_observation_age_days} d")  # fmt: skip
    console.print(table)
    v = summary.validate
    for pollutant in summary.skipped:
        console.print(f"{pollutant}: no valid observations in the input; skipped")
    console.print(f"store: {summary.store}")
    console.print(f"  raw: {summary.ingest.files} files ({summary.ingest.new_files} new)")
    console.print(f"  processed observations: {v.valid} rows ({v.quarantined} rows quarantined: {v.reasons})")
    if v.quarantined_files:
        console.print(f"  quarantined files ({len(v.quarantined_files)}; `airwatch quarantine list`):")
        for key, reason in v.quarantined_files.items():
            console.print(f"    {key}: {reason}")
    for p in summary.predict:
        again = "" if p.issued else " (issued before from the same features, champion and code: nothing new)"
        console.print(f"  predictions: {p.key}{again}")
    console.print(f"mlflow: {settings.tracking_uri()}")
    stages = ", ".join(f"{name} {end - start:.1f} s" for name, (start, end) in summary.stages.items())
    console.print(f"stages: {stages}")


def main() -> None:
    """The console script."""
    # The command fits with lightgbm.train and predicts with the core: LightGBM's scikit-learn wrappers, and
    # the scikit-learn and SciPy they import, are not loaded (about 50 MB of a national training's peak;
    # domain/gbm.py), nor MLflow's Polars dataset type (23 MB; airwatch/imports.py).
    imports.lean()
    try:
        app()
    except SystemExit as exc:
        _leave(exc)
        raise


def _leave(exc: SystemExit) -> None:
    """End the process once its work and every exit hook are done, without tearing the interpreter down.

    Tearing down frees every module and object one by one: about 2.5 s after a run (pandas, Arrow,
    LightGBM, MLflow, Prefect), a quarter of a run with nothing new. What must happen at exit still
    does, in Python's own order: the threads' exit hooks (Prefect's log and event workers drain to the
    server) and non-daemon threads joined, then the atexit hooks (the ephemeral Prefect server stopped,
    logging flushed, MLflow's run ended). Without those private hooks the interpreter ends as usual.
    """
    import atexit
    import threading

    shutdown, exit_hooks = getattr(threading, "_shutdown", None), getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or exit_hooks is None:
        return
    if isinstance(exc.code, str):  # as sys.exit("message") does
        print(exc.code, file=sys.stderr)
    code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    shutdown()
    exit_hooks()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
