from __future__ import annotations

import csv
import gzip
import io
import random
import zipfile

import numpy as np
import pandas as pd
import pytest

from airwatch.domain.parse import ParseError, concat_observations, normalize, parse_daily_file
from tests.conftest import FIXTURES

DOWNLOAD_TOOL = (
    '"Date","AQS_SITE_ID","POC","Daily Max 8-hour Ozone Concentration","UNITS","DAILY_AQI_VALUE",'
    '"DAILY_OBS_COUNT","PERCENT_COMPLETE","AQS_PARAMETER_CODE","AQS_PARAMETER_DESC","CBSA_CODE","CBSA_NAME",'
    '"STATE_CODE","STATE","COUNTY_CODE","COUNTY","SITE_LATITUDE","SITE_LONGITUDE"\n'
    '"07/04/1980","17-031-0025","1","0.05400","ppm","46.00","24","100.0000","44201","Ozone","16980","C",'
    '"17","Illinois","031","Cook",".","."\n'
    '"13/45/1980","170310025","1","abc","ppm","","24","100","44201","Ozone","","","17","Illinois","031","Cook","41.8","-87.6"\n'
)


def test_download_tool_layout_dashed_ids_and_dots() -> None:
    frame = parse_daily_file("x.csv.gz", gzip.compress(DOWNLOAD_TOOL.encode()))
    assert list(frame["site_id"]) == ["170310025", "170310025"]
    assert frame.loc[0, "value"] == pytest.approx(0.054)
    assert frame.loc[0, "unit_code"] == 1
    assert np.isnan(frame.loc[0, "latitude"])  # "." means unknown, not an error
    # Unparseable fields become missing and are left for validation to quarantine.
    assert np.isnan(frame.loc[1, "value"])
    assert frame["date"].isna().tolist() == [False, True]
    assert list(frame["raw_row"]) == [1, 2]


def test_real_sample_file(sample_dir) -> None:
    path = sample_dir / "pm25_daily_2012_cook_county_IL.csv.gz"
    frame = parse_daily_file(path.name, path.read_bytes())
    assert len(frame) > 2000
    assert set(frame["parameter"]) <= {88101, 88502}
    assert (frame["unit_code"] == 0).all()
    assert frame["site_id"].str.fullmatch(r"\d{9}").all()


def test_airdata_layout_uses_mda8_for_ozone() -> None:
    header = (
        '"State Code","County Code","Site Num","Parameter Code","POC","Latitude","Longitude","Datum",'
        '"Parameter Name","Sample Duration","Pollutant Standard","Date Local","Units of Measure","Event Type",'
        '"Observation Count","Observation Percent","Arithmetic Mean","1st Max Value","1st Max Hour","AQI",'
        '"Method Code","Method Name","Local Site Name","Address","State Name","County Name","City Name",'
        '"CBSA Name","Date of Last Change"\n'
    )
    row = (
        '"36","081","0124","44201",1,40.7,-73.8,"WGS84","Ozone","8-HR RUN AVG BEGIN HOUR","Ozone 8-hour 2015",'
        '"2019-07-01","Parts per million","None",17,100.0,0.041,0.052,10,48,"087","x","Queens","a","New York",'
        '"Queens","NYC","NY","2020-01-01"\n'
    )
    frame = parse_daily_file("daily_44201_2019.csv", (header + row).encode())
    assert frame.loc[0, "site_id"] == "360810124"
    assert frame.loc[0, "value"] == pytest.approx(0.052)
    assert frame.loc[0, "sample_duration"] == "8-HR RUN AVG BEGIN HOUR"


def test_unknown_layout_names_the_file() -> None:
    with pytest.raises(ParseError, match=r"weird\.csv"):
        parse_daily_file("weird.csv", b"a,b\n1,2\n")


def test_missing_column_names_the_file_once() -> None:
    without_poc = DOWNLOAD_TOOL.replace('"POC",', "", 1)
    with pytest.raises(ParseError) as caught:
        parse_daily_file("x.csv", without_poc.encode())
    assert str(caught.value).count("x.csv") == 1
    assert str(caught.value).startswith("x.csv: missing column(s)")


def test_reader_errors_name_the_file() -> None:
    with pytest.raises(ParseError, match=r"^y\.csv: unterminated quote in data row 3$"):
        parse_daily_file("y.csv", (DOWNLOAD_TOOL + '"07/05/1980,17-031-0025\n').encode())


@pytest.mark.parametrize(
    "data",
    [
        random.Random(11).randbytes(5000),  # e.g. an image saved under a .csv name
        b"\xff\xfeD\x00a\x00t\x00e\x00\n\x00",  # UTF-16
        '"Date","Site ID","Site Name"\n'.replace("Name", "Nam\xe9").encode("latin-1"),  # header not UTF-8
    ],
)
def test_a_file_that_is_not_text_is_a_parse_error_naming_it(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"^x\.csv: not a text CSV file: the header"):
        parse_daily_file("x.csv", data)


@pytest.mark.parametrize("name", ["e.csv", "e.csv.gz", "e.zip"])
def test_an_empty_file_is_a_parse_error_naming_it(name: str) -> None:
    data = {"e.csv": b"", "e.csv.gz": gzip.compress(b""), "e.zip": zipped("e.csv", b"")}[name]
    with pytest.raises(ParseError, match=rf"^{name.replace('.', '[.]')}: empty input: no header line$"):
        parse_daily_file(name, data)


def test_site_names_that_are_not_utf8_are_read_as_latin1() -> None:
    header, row = DOWNLOAD_TOOL.splitlines()[:2]
    header = header.replace('"UNITS",', '"UNITS","Site Name",')
    rows = [row.replace('"ppm",', f'"ppm","{name}",') for name in ("Jard\u00edn", "Jard\u00edn", "Cicero")]
    data = "\n".join([header, *rows]).encode("latin-1")
    data = data.replace(b"Jard\xedn", "Jard\u00edn".encode(), 1)  # one row in UTF-8: the same name
    frame = parse_daily_file("x.csv", data)
    assert list(frame["site_name"]) == ["Jard\u00edn", "Jard\u00edn", "Cicero"]
    assert list(frame["site_name"].cat.categories) == ["Jard\u00edn", "Cicero"]


# The "Download Daily Data" tool's layouts, newest first; {value} is the pollutant's daily column.
CURRENT_LAYOUT = [
    "Date", "Source", "Site ID", "POC", "{value}", "Units", "Daily AQI Value", "Local Site Name", "Daily Obs Count",
    "Percent Complete", "AQS Parameter Code", "AQS Parameter Description", "Method Code", "Method Description",
    "CBSA Code", "CBSA Name", "State FIPS Code", "State", "County FIPS Code", "County", "Site Latitude",
    "Site Longitude",
]  # fmt: skip
UPPER_CASE_LAYOUT = [
    "Date", "Source", "Site ID", "POC", "{value}", "UNITS", "DAILY_AQI_VALUE", "Site Name", "DAILY_OBS_COUNT",
    "PERCENT_COMPLETE", "AQS_PARAMETER_CODE", "AQS_PARAMETER_DESC", "CBSA_CODE", "CBSA_NAME", "STATE_CODE", "STATE",
    "COUNTY_CODE", "COUNTY", "SITE_LATITUDE", "SITE_LONGITUDE",
]  # fmt: skip
OLDEST_LAYOUT = [
    "Date", "AQS_SITE_ID", "POC", "{value}", "UNITS", "DAILY_AQI_VALUE", "DAILY_OBS_COUNT", "PERCENT_COMPLETE",
    "AQS_PARAMETER_CODE", "AQS_PARAMETER_DESC", "CBSA_CODE", "CBSA_NAME", "STATE_CODE", "STATE", "COUNTY_CODE",
    "COUNTY", "SITE_LATITUDE", "SITE_LONGITUDE",
]  # fmt: skip
# Where each column of the newer layouts is in the bundled (oldest-layout) files, or its value.
FROM_OLDEST = {"siteid": "AQS_SITE_ID", "aqsparameterdescription": "AQS_PARAMETER_DESC", "statefipscode": "STATE_CODE",
               "countyfipscode": "COUNTY_CODE"}  # fmt: skip
FILLED = {"source": "AQS", "methodcode": "", "methoddescription": ""}


def real_rows(sample_dir, file_name: str, every: int = 97) -> tuple[bytes, list[dict[str, str]]]:
    """Every n-th row of a bundled file (several sites, '.' coordinates in ozone): as bytes and as records."""
    lines = gzip.decompress((sample_dir / file_name).read_bytes()).decode().splitlines()
    picked = [lines[0], *lines[1::every]]
    return "\n".join(picked).encode(), list(csv.DictReader(io.StringIO("\n".join(picked))))


def rewrite(records: list[dict[str, str]], layout: list[str], value: str, site_names: dict[str, str]) -> bytes:
    """The records re-headed and re-ordered as another layout of the download tool writes them."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    header = [c.format(value=value) for c in layout]
    writer.writerow(header)
    by_name = {normalize(k): k for k in records[0]}
    for r in records:
        row = []
        for column in header:
            key = normalize(column)
            if key in ("sitename", "localsitename"):
                row.append(site_names[r["AQS_SITE_ID"]])
            elif key in FILLED:
                row.append(FILLED[key])
            else:
                row.append(r[FROM_OLDEST.get(key) or by_name[key]])
        writer.writerow(row)
    return out.getvalue().encode()


@pytest.mark.parametrize(
    "layout", [CURRENT_LAYOUT, UPPER_CASE_LAYOUT, OLDEST_LAYOUT], ids=["current", "upper-case", "oldest"]
)
@pytest.mark.parametrize(
    ("file_name", "value"),
    [
        ("pm25_daily_2012_cook_county_IL.csv.gz", "Daily Mean PM2.5 Concentration"),
        ("ozone_daily_1995_cook_county_IL.csv.gz", "Daily Max 8-hour Ozone Concentration"),
    ],
    ids=["pm25", "ozone"],
)
def test_download_tool_layouts_parse_alike(sample_dir, layout: list[str], file_name: str, value: str) -> None:
    original, records = real_rows(sample_dir, file_name)
    names = {s: f"Site {i}" for i, s in enumerate(sorted({r["AQS_SITE_ID"] for r in records}))}
    expected = parse_daily_file("x.csv", original)
    got = parse_daily_file("x.csv", rewrite(records, layout, value, names))
    assert len(got) == len(records) > 20
    assert got["site_id"].nunique() > 3
    if "Local Site Name" in layout or "Site Name" in layout:
        assert list(got["site_name"]) == [names[r["AQS_SITE_ID"]] for r in records]
    else:
        assert (got["site_name"] == "").all()  # the oldest layout names no sites
    pd.testing.assert_frame_equal(got.drop(columns="site_name"), expected.drop(columns="site_name"))


AQS_HOURLY_ROWS = [  # real rows of an AQS sampleData CSV export (Denver, 2021; shared/data/epa)
    "08,001,3001,44201,2,39.838119,-104.94984,WGS84,Ozone,2021-05-01,00:00,2021-05-01,07:00,0.006,"
    "Parts per million,007,1 HOUR,1,HOURLY,0.005,,,FEM,INSTRUMENTAL - ULTRA VIOLET ABSORPTION,087,Colorado,Adams,"
    "2021-08-16,19740,year2021month05.csv",
    "08,001,3001,44201,2,39.838119,-104.94984,WGS84,Ozone,2021-05-02,04:00,2021-05-02,11:00,0.015,"
    "Parts per million,007,1 HOUR,1,HOURLY,0.005,,,FEM,INSTRUMENTAL - ULTRA VIOLET ABSORPTION,087,Colorado,Adams,"
    "2021-08-16,19740,year2021month05.csv",
    "08,047,0003,44201,1,39.792519,-105.49127,NAD83,Ozone,2021-05-18,20:00,2021-05-19,03:00,0.029,"
    "Parts per million,007,1 HOUR,1,HOURLY,0.005,,,FEM,INSTRUMENTAL - ULTRA VIOLET ABSORPTION,087,Colorado,Gilpin,"
    "2021-08-16,19740,year2021month05.csv",
]
AQS_HOURLY_HEADER = (
    "state_code,county_code,site_number,parameter_code,poc,latitude,longitude,datum,parameter,date_local,time_local,"
    "date_gmt,time_gmt,sample_measurement,units_of_measure,units_of_measure_code,sample_duration,sample_duration_code,"
    "sample_frequency,detection_limit,uncertainty,qualifier,method_type,method,method_code,state,county,"
    "date_of_last_change,cbsa_code,source_file"
)
AIRDATA_NAMES = {"site_number": "Site Num", "parameter": "Parameter Name", "date_gmt": "Date GMT",
                 "time_gmt": "Time GMT", "detection_limit": "MDL"}  # fmt: skip


def test_airdata_hourly_layout_in_aqs_snake_case_parses_alike() -> None:
    """AirData's hourly layout and AQS's snake_case CSV of the same rows: the same frame."""
    snake = AQS_HOURLY_HEADER.split(",")
    titled = [AIRDATA_NAMES.get(c, c.replace("_", " ").title().replace(" Of ", " of ")) for c in snake]
    assert "Site Num" in titled and "Sample Measurement" in titled and "Date of Last Change" in titled
    frames = [
        parse_daily_file("hourly.csv", "\n".join([",".join(h), *AQS_HOURLY_ROWS]).encode()) for h in (titled, snake)
    ]
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert list(frames[1]["site_id"]) == ["080013001", "080013001", "080470003"]
    assert list(frames[1]["hour"]) == [0, 4, 20] and frames[1]["value"].tolist() == [0.006, 0.015, 0.029]


def test_aqs_data_mart_daily_summaries_read_as_airdata_and_ozone_takes_the_8_hour_row() -> None:
    """Data Mart's daily files are AirData's with other names; ozone's 1-hour rows are not its MDA8."""
    from airwatch.domain.transform import site_daily_values
    from airwatch.domain.validate import as_published, clean
    from tests.conftest import FIXTURES

    folder = FIXTURES / "epa" / "aqs_datamart_daily_ozone_colorado_springs"
    path = folder / "daily_ozone_08-041-0013_0016_2019_07.csv.gz"
    frame = parse_daily_file(path.name, path.read_bytes())
    assert len(frame) == 127 and set(frame["sample_duration"].astype(str)) == {"1 HOUR", "8-HR RUN AVG BEGIN HOUR"}
    assert set(frame["site_id"].astype(str)) == {"080410013", "080410016"}
    july4 = frame[frame["day"] == (pd.Timestamp("2019-07-04") - pd.Timestamp("1970-01-01")).days]
    by_duration = july4.set_index(["site_id", july4["sample_duration"].astype(str)])["value"]
    # The lines' "First Maximum Value": 0.054 (8-hour) and 0.061 (1-hour) at 0013.
    assert by_duration[("080410013", "8-HR RUN AVG BEGIN HOUR")] == 0.054
    assert by_duration[("080410013", "1 HOUR")] == 0.061
    no_list = pd.DataFrame(columns=["site_id", "latitude", "longitude"])  # the file has coordinates
    observations = as_published(clean(frame, no_list, max_day=30000).result.valid)
    daily = site_daily_values(observations, "ozone").set_index(["site_id", "day"])["value"]
    assert daily[("080410013", july4["day"].iloc[0])] == 0.054  # the MDA8, not the highest hour
    new_year = (pd.Timestamp("2017-01-01") - pd.Timestamp("1970-01-01")).days
    assert ("080410013", new_year) in daily.index and ("080410016", new_year) not in daily.index  # 1-hour only


@pytest.mark.parametrize("compress", ["plain", "gzip", "zip"])
def test_a_file_parsed_in_blocks_of_lines_gives_the_rows_of_the_whole_file(compress: str) -> None:
    """Small blocks (a few lines each, and a line longer than a block) give the whole file's rows."""
    path = FIXTURES / "epa" / "airdata_daily_pm25_national" / "daily_88502_2019_first_1000_rows.csv.gz"
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    # A row is about 330 bytes: at 300 and 50 every line is too long, a block of its own. Every block
    # costs a parse and a batch to join (about 40 ms here), so those run on the first 40 rows.
    name = {"plain": "d.csv", "gzip": "d.csv.gz", "zip": "d.zip"}[compress]
    for block_bytes, rows in ((4096, 1000), (300, 40), (50, 40)):
        text = b"".join(lines[: rows + 1])
        data = {"plain": text, "gzip": gzip.compress(text), "zip": zipped("daily_88502_2019.csv", text)}[compress]
        whole = parse_daily_file(name, data, block_bytes=1 << 30)
        blocks = parse_daily_file(name, data, block_bytes=block_bytes)
        assert len(blocks) == rows
        pd.testing.assert_frame_equal(concat_observations([blocks]), concat_observations([whole]))


def test_a_reader_error_in_a_later_block_names_the_row_of_the_file() -> None:
    first_row = DOWNLOAD_TOOL.splitlines(keepends=True)[1]
    rows = "".join(first_row.replace("07/04/1980", f"08/{d:02d}/1980") for d in range(1, 21))
    data = (DOWNLOAD_TOOL + rows + '"07/21/1980,17-031-0025\n').encode()  # the file's 23rd data row
    with pytest.raises(ParseError, match=r"^y\.csv: unterminated quote in data row 23$"):
        parse_daily_file("y.csv", data, block_bytes=256)


def zipped(member: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, content)
    return out.getvalue()
