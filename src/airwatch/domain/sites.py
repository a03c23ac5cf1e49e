"""The AQS site list: coordinates for sites whose data files carry none.

Older AirData "Download Daily Data" exports write "." for a site's latitude and longitude on some
rows (every 1993-2001 ozone row of Cook County's 17-031-4006, 4 km from O'Hare). A site without coordinates
has no neighbours and no weather station, so its forecasts lose every spatial feature. EPA's site
list (AirData's aqs_sites.csv, one row per AQS site) has the coordinates of every site.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from airwatch.domain.archives import DEFAULT_LIMITS, ArchiveLimits, decompress
from airwatch.domain.parse import ParseError

SITE_LIST_NAMES = ("aqs_sites.csv", "aqs_sites.csv.gz", "aqs_sites.zip")
_ID_COLUMNS = ["State Code", "County Code", "Site Number"]


def is_site_list(name: str) -> bool:
    return name.rsplit("/", 1)[-1].lower() in SITE_LIST_NAMES


def parse_site_list(name: str, data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """site_id, latitude, longitude of each US site of an AirData site list (aqs_sites.csv)."""
    try:
        frame = pd.read_csv(
            io.BytesIO(bytes(decompress(name, data, limits))),
            usecols=[*_ID_COLUMNS, "Latitude", "Longitude"],
            dtype={c: str for c in _ID_COLUMNS},
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"{name}: not an AirData site list (aqs_sites.csv): {exc}") from None
    # Canadian and Mexican rows use letters in the state code; AQS site ids are digits.
    us = frame[_ID_COLUMNS].apply(lambda c: c.str.fullmatch(r"\d+")).all(axis=1)
    frame = frame[us & frame["Latitude"].notna() & frame["Longitude"].notna()]
    site_id = frame["State Code"].str.zfill(2) + frame["County Code"].str.zfill(3) + frame["Site Number"].str.zfill(4)
    out = pd.DataFrame(
        {
            "site_id": site_id.to_numpy(dtype=object),
            "latitude": frame["Latitude"].to_numpy(dtype=np.float64),
            "longitude": frame["Longitude"].to_numpy(dtype=np.float64),
        }
    )
    return out.drop_duplicates("site_id").reset_index(drop=True)


def fill_coordinates(observations: pd.DataFrame, sites: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Observations with missing coordinates taken from the site list; and the sites that got them.

    Coordinates a file gives are kept: the site list only fills the gaps.
    """
    missing = observations["latitude"].isna() | observations["longitude"].isna()
    if not missing.any():
        return observations, []
    ids = observations.loc[missing, "site_id"].astype(str)
    table = sites.set_index("site_id")
    lat = ids.map(table["latitude"]).to_numpy(dtype=np.float64)
    lon = ids.map(table["longitude"]).to_numpy(dtype=np.float64)
    found = ~np.isnan(lat) & ~np.isnan(lon)
    if not found.any():
        return observations, []
    out = observations.copy()
    rows = missing.to_numpy().nonzero()[0][found]
    out.iloc[rows, out.columns.get_loc("latitude")] = lat[found]
    out.iloc[rows, out.columns.get_loc("longitude")] = lon[found]
    return out, sorted(set(ids.to_numpy()[found]))


# EPA's ten regions by state FIPS code (the first two digits of an AQS site id); territories
# follow their regional office (Puerto Rico and the Virgin Islands 2; Pacific islands 9).
_REGION_STATES = {
    1: "09 23 25 33 44 50",
    2: "34 36 72 78",
    3: "10 11 24 42 51 54",
    4: "01 12 13 21 28 37 45 47",
    5: "17 18 26 27 39 55",
    6: "05 22 35 40 48",
    7: "19 20 29 31",
    8: "08 30 38 46 49 56",
    9: "04 06 15 32 60 66 69",
    10: "02 16 41 53",
}
_STATE_REGION = {state: region for region, states in _REGION_STATES.items() for state in states.split()}


def epa_region(site_id: str) -> str:
    """'Region 5' for an Illinois site (17-...); 'other' for a site id outside the regions (e.g. tribal 80)."""
    region = _STATE_REGION.get(str(site_id)[:2])
    return f"Region {region}" if region else "other"
