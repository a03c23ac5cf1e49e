"""The AQS site list: parsing AirData's aqs_sites.csv and filling coordinates files leave out."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pandas as pd
import pytest

from airwatch.domain.parse import ParseError, parse_daily_file
from airwatch.domain.sites import fill_coordinates, is_site_list, parse_site_list

HEADER = (
    '"State Code","County Code","Site Number","Latitude","Longitude","Datum","Elevation","Land Use",'
    '"Location Setting","Site Established Date","Site Closed Date","Met Site State Code","Met Site County Code",'
    '"Met Site Site Number","Met Site Type","Met Site Distance","Met Site Direction","GMT Offset","Owning Agency",'
    '"Local Site Name","Address","Zip Code","State Name","County Name","City Name","CBSA Name","Tribe Name",'
    '"Extraction Date"'
)
# Rows of the real file (extracted 2024-08-20): a Cook County site, a Canadian row, a site without coordinates.
ROWS = [
    '"17","031","4006",42.027807,-87.905344,"WGS84",198,"RESIDENTIAL","SUBURBAN","1993-04-01","2001-10-31","","","",'
    '"","","",-6,"Cook County Department of Environmental Control","","","","Illinois","Cook","Des Plaines",'
    '"Chicago-Naperville-Elgin, IL-IN-WI","","2024-08-20"',
    '"CC","080","0001",0,0,"WGS84",0,"","","1990-01-01","","","","","","","",-5,"","","","","Country Of Mexico",'
    '"BAJA CALIFORNIA NORTE","","","","2024-08-20"',
    '"06","001","9999",,,"","","","","2000-01-01","","","","","","","",-8,"","","","","California","Alameda","","",'
    '"","2024-08-20"',
]


def test_parse_site_list_keeps_us_sites_with_coordinates() -> None:
    data = gzip.compress(("\n".join([HEADER, *ROWS]) + "\n").encode())
    sites = parse_site_list("aqs_sites.csv.gz", data)
    assert sites["site_id"].tolist() == ["170314006"]
    assert sites.loc[0, "latitude"] == pytest.approx(42.027807)
    assert sites.loc[0, "longitude"] == pytest.approx(-87.905344)


def test_parse_site_list_names_the_file_it_cannot_read() -> None:
    with pytest.raises(ParseError, match=r"sites\.csv: not an AirData site list"):
        parse_site_list("sites.csv", b"a,b\n1,2\n")


def test_is_site_list() -> None:
    assert is_site_list("aqs_sites.csv.gz") and is_site_list("data/AQS_SITES.zip")
    assert not is_site_list("daily_88101_2019.csv.gz")


def observations(lat: list[float], sites: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"site_id": sites, "latitude": lat, "longitude": [-87.0 if not math.isnan(v) else v for v in lat]}
    )


def test_fill_coordinates_fills_only_gaps_and_reports_the_sites() -> None:
    table = pd.DataFrame(
        {"site_id": ["170314006", "170310001"], "latitude": [42.03, 41.67], "longitude": [-87.9, -87.7]}
    )
    obs = observations([np.nan, 41.0, np.nan, np.nan], ["170314006", "170310001", "170314006", "999999999"])
    out, located = fill_coordinates(obs, table)
    assert located == ["170314006"]
    assert out["latitude"].tolist()[:3] == [42.03, 41.0, 42.03]  # the file's own coordinates are kept
    assert out["longitude"].tolist()[0] == -87.9
    assert math.isnan(out["latitude"].iloc[3])  # a site the list does not know stays without
    assert obs["latitude"].isna().sum() == 3  # the input is not changed


def test_parse_daily_file_leaves_dot_coordinates_missing() -> None:
    text = (
        '"Date","AQS_SITE_ID","POC","Daily Max 8-hour Ozone Concentration","UNITS","DAILY_AQI_VALUE",'
        '"DAILY_OBS_COUNT","PERCENT_COMPLETE","AQS_PARAMETER_CODE","AQS_PARAMETER_DESC","CBSA_CODE","CBSA_NAME",'
        '"STATE_CODE","STATE","COUNTY_CODE","COUNTY","SITE_LATITUDE","SITE_LONGITUDE"\n'
        '"04/01/2001","170314006","1","0.038","ppm","32","24","100.0000","44201","Ozone","16980",'
        '"Chicago-Naperville-Joliet, IL-IN-WI","17","Illinois","031","Cook",".","."\n'
    )
    frame = parse_daily_file("ozone_daily_2001_cook_county_IL.csv", text.encode())
    assert frame["latitude"].isna().all()
