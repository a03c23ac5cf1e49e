"""AirData bulk files (plain, gzipped, zipped; from a folder or a URL) into the processed dataset."""

from __future__ import annotations

import functools
import gzip
import io
import json
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from airwatch.catalog import OBSERVATIONS
from airwatch.domain.parse import parse_daily_file
from airwatch.domain.schemas import OBSERVATION_COLUMNS
from airwatch.flows.context import Context
from airwatch.flows.ingest import ingest_flow
from airwatch.flows.validate import validate_flow
from airwatch.io import datasets
from airwatch.io.airdata import DownloadError, download
from airwatch.settings import load_settings
from tests.conftest import FIXTURES
from tests.fakes.http import serving

NATIONAL = FIXTURES / "epa" / "airdata_daily_pm25_national" / "daily_88502_2019_first_1000_rows.csv.gz"


def airdata_slice(rows: int = 1000) -> bytes:
    """The first rows of a real AirData daily file (header kept), as CSV bytes."""
    lines = gzip.decompress(NATIONAL.read_bytes()).split(b"\n")
    return b"\n".join(lines[: rows + 1]) + b"\n"


@pytest.fixture
def http_dir(tmp_path: Path):
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as httpd:
        yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"


def ctx_for(tmp_path: Path, name: str = "store") -> Context:
    return Context(load_settings(store=str(tmp_path / name)))


def url(ctx: Context) -> str:
    return ctx.settings.store


@pytest.mark.usefixtures("prefect_harness")
def test_zip_from_url_gzip_and_plain_parse_alike(tmp_path: Path, http_dir) -> None:
    folder, base = http_dir
    csv = airdata_slice()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("daily_88502_2019.csv", csv)
    (folder / "daily_88502_2019.zip").write_bytes(buffer.getvalue())

    ctx = ctx_for(tmp_path)
    summary = ingest_flow(url(ctx), urls=[f"{base}/daily_88502_2019.zip"])
    assert summary.files == 1 and summary.new_files == 1
    result = validate_flow(url(ctx))
    assert result.rows == 1000 and result.quarantined == 0
    from_zip = datasets.read(ctx.store, datasets.latest(ctx.store, OBSERVATIONS))
    plain = parse_daily_file("x.csv", csv)
    gz = parse_daily_file("x.csv.gz", gzip.compress(csv))
    cols = ["site_id", "parameter", "poc", "sample_duration", "day", "value", "aqi_reported"]
    for other in (plain, gz):
        pd.testing.assert_frame_equal(
            from_zip[cols].astype(str).reset_index(drop=True), other[cols].astype(str).reset_index(drop=True)
        )


def test_airdata_and_download_tool_give_the_same_schema(sample_dir: Path) -> None:
    airdata = parse_daily_file("daily_88502_2019.csv", airdata_slice(500))
    tool = parse_daily_file("pm25.csv.gz", (sample_dir / "pm25_daily_2012_cook_county_IL.csv.gz").read_bytes())
    assert list(airdata.columns) == list(tool.columns)
    assert set(OBSERVATION_COLUMNS) <= set(airdata.columns)
    assert airdata.dtypes.astype(str).equals(tool.dtypes.astype(str))


def test_hourly_airdata_layout() -> None:
    """AirData hourly layout, rows from a real AQS sampleData response (Wake County, NC, ozone)."""
    recorded = FIXTURES / "epa" / "aqs_api_json" / "bysite" / "aqs" / "sampleData" / "bySite-b261b2.json.gz"
    rows = json.loads(gzip.decompress(recorded.read_bytes()))["Data"]
    header = (
        '"State Code","County Code","Site Num","Parameter Code","POC","Latitude","Longitude","Datum",'
        '"Parameter Name","Date Local","Time Local","Date GMT","Time GMT","Sample Measurement","Units of Measure",'
        '"MDL","Uncertainty","Qualifier","Method Type","Method Code","Method Name","State Name","County Name",'
        '"Date of Last Change"'
    )
    lines = [header]

    def measurement(r: dict) -> str:
        return "" if r["sample_measurement"] is None else str(r["sample_measurement"])

    for r in rows:
        lines.append(
            f'"{r["state_code"]}","{r["county_code"]}","{r["site_number"]}","{r["parameter_code"]}",{r["poc"]},'
            f'{r["latitude"]},{r["longitude"]},"{r["datum"]}","{r["parameter"]}","{r["date_local"]}",'
            f'"{r["time_local"]}","{r["date_gmt"]}","{r["time_gmt"]}",{measurement(r)},'
            f'"{r["units_of_measure"]}",{r["detection_limit"]},,"","{r["method_type"]}","{r["method_code"]}",'
            f'"{r["method"]}","{r["state"]}","{r["county"]}","{r["date_of_last_change"]}"'
        )
    frame = parse_daily_file("hourly_44201_2017.csv", "\n".join(lines).encode())
    assert len(frame) == 24
    assert sorted(frame["hour"]) == list(range(24))
    expected = [float("nan") if r["sample_measurement"] is None else r["sample_measurement"] for r in rows]
    pd.testing.assert_series_equal(frame["value"], pd.Series(expected, name="value"))  # a null hour stays missing
    assert set(frame["sample_duration"].astype(str)) == {"1 HOUR"}
    assert (frame["site_id"] == "371830014").all()


@pytest.mark.usefixtures("prefect_harness")
def test_malformed_row_is_quarantined_with_a_reason(tmp_path: Path, sample_dir: Path) -> None:
    src = gzip.decompress((sample_dir / "ozone_daily_2001_cook_county_IL.csv.gz").read_bytes()).decode()
    lines = src.splitlines()
    lines[5] = ",".join(lines[5].split(",")[:6])  # a row cut short
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ozone.csv").write_text("\n".join(lines) + "\n")
    ctx = ctx_for(tmp_path)
    ingest_flow(url(ctx), str(folder))
    result = validate_flow(url(ctx))
    assert result.rows == len(lines) - 1
    assert result.reasons.get("malformed_row") == 1


def test_download_errors_name_the_url(http_dir) -> None:
    _, base = http_dir
    with pytest.raises(DownloadError, match=r"missing\.zip: HTTP 404"):
        download(f"{base}/missing.zip", retries=0)


@pytest.mark.usefixtures("prefect_harness")
def test_the_whole_bundled_sample_ingests_and_validates(tmp_path: Path, sample_dir: Path) -> None:
    """What `make run` ingests by default: every file there must be EPA data that validates cleanly."""
    ctx = ctx_for(tmp_path)
    summary = ingest_flow(url(ctx))
    assert summary.files == len(list(sample_dir.glob("*.csv.gz"))) == 26
    result = validate_flow(url(ctx))
    assert result.quarantined == 0 and result.valid == 77120


@pytest.mark.usefixtures("prefect_harness")
def test_validate_takes_missing_coordinates_from_the_site_list(tmp_path: Path, small_input: Path) -> None:
    """The 2001 Cook County ozone file writes "." for 17-031-4006's coordinates; the site list fills them."""
    ctx = ctx_for(tmp_path)
    ingest_flow(url(ctx), input_dir=str(small_input))
    validate_flow(url(ctx))
    manifest = datasets.latest(ctx.store, OBSERVATIONS)
    assert "170314006" in manifest.extra["coordinates_from_site_list"]
    observations = datasets.read(ctx.store, manifest)
    assert observations["latitude"].notna().all()
    site = observations[observations["site_id"].astype(str) == "170314006"]
    assert site["latitude"].round(4).unique().tolist() == [42.0278]
