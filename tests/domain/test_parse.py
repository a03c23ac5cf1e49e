from __future__ import annotations

import gzip
import random

import numpy as np
import pytest

from airwatch.domain.parse import ParseError, parse_daily_file

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


def test_site_names_that_are_not_utf8_are_read_as_latin1() -> None:
    header, row = DOWNLOAD_TOOL.splitlines()[:2]
    header = header.replace('"UNITS",', '"UNITS","Site Name",')
    rows = [row.replace('"ppm",', f'"ppm","{name}",') for name in ("Jard\u00edn", "Jard\u00edn", "Cicero")]
    data = "\n".join([header, *rows]).encode("latin-1")
    data = data.replace(b"Jard\xedn", "Jard\u00edn".encode(), 1)  # one row in UTF-8: the same name
    frame = parse_daily_file("x.csv", data)
    assert list(frame["site_name"]) == ["Jard\u00edn", "Jard\u00edn", "Cicero"]
    assert list(frame["site_name"].cat.categories) == ["Jard\u00edn", "Cicero"]
