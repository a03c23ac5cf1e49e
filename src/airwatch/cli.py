"""The ``airwatch`` command line: the main job, one command per stage, and the settings."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from airwatch.settings import Settings, SettingsError, load_settings

# Prefect's server sends usage telemetry to the internet by default; AirWatch runs offline.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="AirWatch: next-day PM2.5 and ozone forecasts for EPA monitoring sites.",
)
# Wide enough for the summary table when output goes to a file or CI log rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 140)

StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help="Store URL (folder path, file:// or s3://); overrides AIRWATCH_STORE."),
]
PollutantOpt = Annotated[
    list[str] | None,
    typer.Option("--pollutant", "-p", help="Pollutant to process (pm25 or ozone); repeat for several. Default: all."),
]


def _settings(store: str | None) -> Settings:
    try:
        return load_settings(**({"store": store} if store else {}))
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _context(store: str | None) -> Any:
    settings = _settings(store)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "alembic", "mlflow"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    if settings.prefect_api_url:
        os.environ["PREFECT_API_URL"] = settings.prefect_api_url
    # Flows import Prefect; import them only once the environment is set for it.
    from airwatch.flows.context import Context

    return Context(settings)


def _pollutants(values: list[str] | None) -> list[str] | None:
    from airwatch.domain.schemas import POLLUTANTS

    for v in values or []:
        if v not in POLLUTANTS:
            console.print(f"[red]error:[/red] --pollutant must be one of {', '.join(POLLUTANTS)}, got {v!r}")
            raise typer.Exit(2)
    return values or None


def _fail(stage: str, exc: Exception) -> None:
    console.print(f"[red]{stage} failed:[/red] {exc}")
    raise typer.Exit(1)


@app.command()
def run(
    store: StoreOpt = None,
    input_dir: Annotated[
        Path | None,
        typer.Option("--input-dir", help="Folder of EPA daily files (default: the bundled real sample)."),
    ] = None,
    force_train: Annotated[bool, typer.Option("--force-train", help="Retrain even when nothing changed.")] = False,
) -> None:
    """Run the main job: ingest, validate, transform, train, select, predict; print a summary."""
    ctx = _context(store)
    from airwatch.flows.pipeline import run_flow

    try:
        summary = run_flow(ctx, str(input_dir) if input_dir else None, force_train)
    except Exception as exc:
        _fail("run", exc)
        return
    _print_summary(summary, ctx)


@app.command()
def ingest(
    store: StoreOpt = None,
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="files: EPA files from a folder or URLs (AirData, download tool, AirNow peak files); "
            "aqs: the AQS Data API; airnow: the AirNow API (hourly, fresh); weather: NOAA station files "
            "(GHCN-Daily .dly or daily-summaries CSV) from --input-dir, default the bundled O'Hare file.",
        ),
    ] = "files",
    input_dir: Annotated[
        Path | None,
        typer.Option(
            "--input-dir",
            help="files: folder of EPA daily files (default: the bundled sample); weather: folder of station files.",
        ),
    ] = None,
    url: Annotated[
        list[str] | None, typer.Option("--url", help="files: URL of an AirData bulk file (.zip or .csv); repeatable.")
    ] = None,
    params: Annotated[
        str, typer.Option("--params", help="aqs: AQS parameter codes, comma-separated (e.g. 88101,44201).")
    ] = "88101,44201",
    state: Annotated[str | None, typer.Option("--state", help="aqs: 2-digit state FIPS code.")] = None,
    county: Annotated[str | None, typer.Option("--county", help="aqs: 3-digit county code (with --state).")] = None,
    site: Annotated[str | None, typer.Option("--site", help="aqs: 4-digit site number (with --county).")] = None,
    cbsa: Annotated[str | None, typer.Option("--cbsa", help="aqs: 5-digit CBSA code instead of a state.")] = None,
    bbox: Annotated[
        str | None, typer.Option("--bbox", help="airnow: min lon,min lat,max lon,max lat (decimal degrees).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="aqs: first day, YYYY-MM-DD; airnow: first UTC hour, YYYY-MM-DDTHH.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="aqs: last day, YYYY-MM-DD; airnow: last UTC hour, YYYY-MM-DDTHH.")
    ] = None,
    incremental: Annotated[
        bool, typer.Option("--incremental", help="aqs: fetch only what is new or revised since the watermark.")
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="aqs: fetch again requests a previous run of this backfill finished.")
    ] = False,
    service: Annotated[
        str, typer.Option("--service", help="aqs: dailyData (daily summaries) or sampleData (hourly values).")
    ] = "dailyData",
) -> None:
    """Bring EPA data (files, the AQS or AirNow API) or NOAA station files into the store's raw area."""
    ctx = _context(store)
    if source == "files":
        from airwatch.flows.ingest import ingest_flow

        try:
            s = ingest_flow(ctx, str(input_dir) if input_dir else None, url or None)
        except Exception as exc:
            _fail("ingest", exc)
            return
        console.print(f"ingest: {s.files} files in the inventory ({s.new_files} new), version {s.inventory_version}")
        return
    if source == "airnow":
        _ingest_airnow(ctx, bbox, start, end, params)
        return
    if source == "weather":
        from airwatch.flows.ingest import ingest_weather_flow

        try:
            w = ingest_weather_flow(ctx, str(input_dir) if input_dir else None)
        except Exception as exc:
            _fail("ingest", exc)
            return
        console.print(f"ingest: {w.files} weather station files ({w.new_files} new), version {w.inventory_version}")
        return
    if source != "aqs":
        console.print(f"[red]error:[/red] --source must be files, aqs, airnow or weather, got {source!r}")
        raise typer.Exit(2)
    from datetime import date

    from airwatch.flows.ingest_aqs import ingest_aqs_flow
    from airwatch.io.aqs import Geography

    if bbox:
        try:
            lon0, lat0, lon1, lat1 = (float(v) for v in bbox.split(","))
        except ValueError:
            console.print("[red]error:[/red] --bbox needs min lon,min lat,max lon,max lat")
            raise typer.Exit(2) from None
        geography = Geography.box(lat0, lat1, lon0, lon1)
    elif cbsa:
        geography = Geography.cbsa(cbsa)
    elif state and county and site:
        geography = Geography.site(state, county, site)
    elif state and county:
        geography = Geography.county(state, county)
    elif state:
        geography = Geography.state(state)
    else:
        console.print("[red]error:[/red] --source aqs needs --state (with --county, --site), --cbsa or --bbox")
        raise typer.Exit(2)
    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError as exc:
        console.print(f"[red]error:[/red] --start/--end: {exc}")
        raise typer.Exit(2) from None
    try:
        a = ingest_aqs_flow(ctx, [p.strip() for p in params.split(",") if p.strip()], geography, first, last,
                            incremental, refresh, service=service)  # fmt: skip
    except Exception as exc:
        _fail("ingest", exc)
        return
    console.print(
        f"ingest: {a.requests} AQS requests ({a.fetched} fetched, {a.skipped} already done), "
        f"{a.new_objects} new raw objects, {a.rows} rows, inventory {a.inventory_version}"
    )


def _ingest_airnow(ctx: Any, bbox: str | None, start: str | None, end: str | None, params: str) -> None:
    from datetime import datetime

    from airwatch.flows.ingest_airnow import ingest_airnow_flow

    try:
        box = tuple(float(v) for v in (bbox or "").split(","))
        if len(box) != 4:
            raise ValueError("--bbox needs four numbers")
        first = datetime.strptime(start or "", "%Y-%m-%dT%H")
        last = datetime.strptime(end or "", "%Y-%m-%dT%H")
    except ValueError as exc:
        console.print(f"[red]error:[/red] --source airnow needs --bbox and --start/--end as YYYY-MM-DDTHH: {exc}")
        raise typer.Exit(2) from None
    names = {"88101": "PM25", "88502": "PM25", "44201": "OZONE"}
    wanted = sorted({names.get(p.strip(), p.strip().upper()) for p in params.split(",") if p.strip()})
    try:
        s = ingest_airnow_flow(ctx, box, first, last, wanted)
    except Exception as exc:
        _fail("ingest", exc)
        return
    console.print(f"ingest: {s.requests} AirNow requests, {s.new_objects} new raw objects, {s.rows} rows")


@app.command()
def validate(store: StoreOpt = None) -> None:
    """Validate the newest raw inventory; quarantine bad rows; publish processed observations."""
    ctx = _context(store)
    from airwatch.flows.validate import validate_flow

    try:
        s = validate_flow(ctx)
    except Exception as exc:
        _fail("validate", exc)
        return
    console.print(
        f"validate: {s.rows} rows, {s.valid} valid, {s.quarantined} quarantined {s.reasons}, "
        f"{s.superseded} superseded by revisions"
    )


@app.command()
def transform(store: StoreOpt = None, pollutant: PollutantOpt = None) -> None:
    """Build the daily site series and feature frame of each pollutant."""
    ctx = _context(store)
    from airwatch.flows.transform import transform_flow

    for s in transform_flow(ctx, _pollutants(pollutant)):
        console.print(f"transform: {s.pollutant} {s.rows} rows, {s.sites} sites, version {s.version}")


@app.command()
def train(
    store: StoreOpt = None,
    pollutant: PollutantOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Retrain even when nothing changed.")] = False,
) -> None:
    """Fit every candidate on a time-ordered split and log each to MLflow."""
    ctx = _context(store)
    from airwatch.flows.train import train_flow

    for report in train_flow(ctx, _pollutants(pollutant), force):
        best = min(report["candidates"], key=lambda c: c["validation"]["rmse"])
        console.print(
            f"train: {report['pollutant']} best validation RMSE {best['name']} {best['validation']['rmse']:.4g}"
        )


@app.command("select")
def select_cmd(store: StoreOpt = None, pollutant: PollutantOpt = None) -> None:
    """Apply the gates, register the selected candidate and set the champion alias."""
    ctx = _context(store)
    from airwatch.flows.select import select_flow

    for s in select_flow(ctx, _pollutants(pollutant)):
        console.print(f"select: {s.pollutant} -> {s.selected} ({s.model_name} v{s.model_version})")


@app.command()
def predict(store: StoreOpt = None, pollutant: PollutantOpt = None) -> None:
    """Forecast the next day for every fresh site with the champion model."""
    ctx = _context(store)
    from airwatch.flows.predict import predict_flow

    for s in predict_flow(ctx, _pollutants(pollutant)):
        console.print(f"predict: {s.pollutant} {s.sites} sites for {s.forecast_date} -> {s.key}")


@app.command("backtest")
def backtest_cmd(
    input_dir: Annotated[
        Path, typer.Option("--input", help="Folder of EPA daily files (AirData or download-tool CSV, gzipped or not).")
    ],
    pollutant: Annotated[str, typer.Option("--pollutant", help="pm25 or ozone.")],
    output: Annotated[Path, typer.Option("--output", help="Where to write the metrics JSON.")] = Path("metrics.json"),
    test_start: Annotated[
        str | None, typer.Option("--test-start", help="Score only forecasts for dates on or after YYYY-MM-DD.")
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="Number of rolling-origin test folds.", min=1)] = 3,
    fold_days: Annotated[
        int, typer.Option("--fold-days", help="Days per test fold (without --test-start).", min=7)
    ] = 91,
    seed: Annotated[int, typer.Option("--seed", help="Seed for every random choice.")] = 42,
    weather: Annotated[
        Path | None,
        typer.Option("--weather", help="Folder of NOAA station files (GHCN-Daily .dly, daily-summaries CSV)."),
    ] = None,
    weather_mode: Annotated[
        str | None,
        typer.Option(
            "--weather-mode",
            help="none, lagged (issue-day observations), observed-as-forecast (target-day observations as a "
            "perfect forecast) or archived-forecast (target-day weather from archived forecasts, needs "
            "--forecast-url). With --weather and no mode: both lagged and observed-as-forecast.",
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
) -> None:
    """Evaluate the forecasting pipeline on a folder of EPA daily files by rolling-origin backtest."""
    import pandas as pd

    _pollutants([pollutant])
    settings = _settings(None)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from airwatch.domain.backtest import BacktestConfig
    from airwatch.flows.backtest import backtest_flow

    try:
        start = pd.Timestamp(test_start) if test_start else None
    except ValueError as exc:
        console.print(f"[red]error:[/red] --test-start: {exc}")
        raise typer.Exit(2) from None
    config = BacktestConfig(folds=folds, fold_days=fold_days, seed=seed, test_start=start)
    from airwatch.domain.weather import LAGGED, MODES, NONE, OBSERVED

    if weather_mode is not None and weather_mode not in MODES:
        console.print(f"[red]error:[/red] --weather-mode must be one of {', '.join(MODES)}")
        raise typer.Exit(2)
    if weather_mode not in (None, NONE) and weather is None:
        console.print("[red]error:[/red] --weather-mode needs --weather DIR")
        raise typer.Exit(2)
    modes = (weather_mode,) if weather_mode else ((LAGGED, OBSERVED) if weather else (NONE,))
    try:
        results, info = backtest_flow(
            str(input_dir), pollutant, config, str(weather) if weather else None, modes, forecast_url,
            str(sites) if sites else None,
        )  # fmt: skip
    except Exception as exc:
        _fail("backtest", exc)
        return
    main_mode = LAGGED if LAGGED in results else modes[0]
    data = results[main_mode].to_json({**info, "weather": main_mode})
    if len(results) > 1:
        data["modes"] = {m: {"model": r.model, "horizons": r.to_json()["horizons"]} for m, r in results.items()}
    output.write_text(json.dumps(data, indent=2))
    for mode, result in results.items():
        _backtest_table(pollutant, mode, result.to_json())
    for h, m in data["held_out_sites"].items():
        console.print(
            f"held-out sites ({main_mode}), day+{h}: skill vs persistence "
            f"{100 * m['skill_vs_persistence']:.1f}% ({int(m['n_sites'])} sites)"
        )
    for label, text in (("sites_with_station", "a station within 50 km"),
                        ("sites_with_station_within_25km", "a station within 25 km")):  # fmt: skip
        for mode, horizons in info.get(label, {}).items():  # type: ignore[attr-defined]
            if "1" in horizons:
                m = horizons["1"]
                console.print(
                    f"sites with {text} ({mode}), day+1: skill vs persistence "
                    f"{100 * m['skill_vs_persistence']:.1f}% ({int(m['n_sites'])} sites, "
                    f"{int(m['n_forecasts'])} forecasts)"
                )
    console.print(f"metrics written to {output}")


def _backtest_table(pollutant: str, mode: str, data: dict[str, Any]) -> None:
    folds = data["folds"]
    table = Table(
        title=f"Backtest {pollutant}, weather {mode}: {data['model']} ({folds[0]['start']} .. {folds[-1]['end']})"
    )
    for col in ("horizon", "RMSE", "persistence", "skill vs pers.", "climatology", "skill vs clim.", "AQI hit",
                "USG POD", "USG FAR", "80% cover", "sites", "forecasts"):  # fmt: skip
        table.add_column(col)
    for h, m in data["horizons"].items():
        table.add_row(
            f"day+{h}", f"{m['rmse']:.4g}", f"{m['persistence_rmse']:.4g}", f"{100 * m['skill_vs_persistence']:.1f}%",
            f"{m['climatology_rmse']:.4g}", f"{100 * m['skill_vs_climatology']:.1f}%", f"{m['category_hit_rate']:.3f}",
            f"{m['usg_pod']:.2f}", f"{m['usg_far']:.2f}", f"{m.get('interval_80_coverage', float('nan')):.2f}",
            str(int(m["n_sites"])), str(int(m["n_forecasts"])),
        )  # fmt: skip
    console.print(table)


@app.command()
def config(
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the effective settings, secrets masked."""
    settings = _settings(store)
    data = settings.masked()
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    table = Table(title="AirWatch settings")
    table.add_column("setting")
    table.add_column("value")
    for key, value in _flatten(data):
        table.add_row(key, str(value))
    console.print(table)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def _print_summary(summary: Any, ctx: Any) -> None:
    mode = ctx.settings.weather.mode
    weather = {
        "none": "no weather",
        "lagged": "weather: issue day's observed (lagged)",
        "forecast": "weather: target day's, observed in validation (observed-as-forecast)",
    }[mode]
    table = Table(title=f"AirWatch run: next-day forecasts (validation = final year held out; {weather})")
    for col in (
        "pollutant",
        "sites",
        "model RMSE",
        "persistence RMSE",
        "skill %",
        "selected",
        "model",
        "forecast for",
        "forecast sites",
    ):
        table.add_column(col)
    predictions = {p.pollutant: p for p in summary.predict}
    for s in summary.select:
        p = predictions[s.pollutant]
        table.add_row(
            s.pollutant,
            str(s.sites),
            f"{s.validation_rmse:.4g}",
            f"{s.persistence_rmse:.4g}",
            f"{100 * s.skill_vs_persistence:.1f}",
            s.selected,
            f"{s.model_name} v{s.model_version}",
            p.forecast_date,
            str(p.sites),
        )
    console.print(table)
    v = summary.validate
    console.print(f"store: {ctx.store.url}")
    console.print(f"  raw: {summary.ingest.files} files ({summary.ingest.new_files} new)")
    console.print(f"  processed observations: {v.valid} rows ({v.quarantined} quarantined: {v.reasons})")
    for p in summary.predict:
        console.print(f"  predictions: {p.key}")
    console.print(f"mlflow: {ctx.settings.tracking_uri()}")


if __name__ == "__main__":  # pragma: no cover
    app()
