"""Reading EPA and NOAA files from a folder: the file-system side of parsing, kept out of domain code."""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from airwatch.domain.parse import parse_daily_file
from airwatch.domain.sites import parse_site_list
from airwatch.domain.weather import WeatherError, parse_ghcn_csv, parse_ghcn_dly


def parse_daily_path(path: str | os.PathLike[str], *, raw_key: str | None = None) -> pd.DataFrame:
    """Normalized observations from an EPA CSV file on disk; plain files are memory-mapped, not read."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return parse_daily_file(str(path), b"", raw_key=raw_key)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            frame = parse_daily_file(str(path), mapped, raw_key=raw_key)
    return frame


def known_stations() -> pd.DataFrame:
    """Coordinates of the stations of shared/data/noaa (the .dly files carry none)."""
    path = Path(str(resources.files("airwatch") / "reference" / "ghcnd_stations.csv"))
    return pd.read_csv(path, usecols=["station_id", "name", "latitude", "longitude"])


def bundled_site_list() -> Path:
    """EPA's AirData site list as shipped with the package (extracted 2024-08-20)."""
    return Path(str(resources.files("airwatch") / "reference" / "aqs_sites.csv.gz"))


@dataclass(frozen=True)
class SiteList:
    sites: pd.DataFrame  # site_id, latitude, longitude
    source: str
    sha256: str


def load_site_list(path: str | os.PathLike[str] | None = None) -> SiteList:
    """The site list at path (default: the bundled one), where it came from and its digest."""
    source = Path(path) if path is not None else bundled_site_list()
    if not source.is_file():
        raise FileNotFoundError(f"site list {source} does not exist (expected AirData's aqs_sites.csv)")
    data = source.read_bytes()
    return SiteList(parse_site_list(source.name, data), str(source), hashlib.sha256(data).hexdigest())


def load_weather_folder(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Daily weather of every station file below folder (.dly and daily-summaries CSV, gzipped or not)."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and is_weather_file(p.name))
    if not paths:
        raise FileNotFoundError(f"no NOAA daily station file (.dly or daily-summaries CSV) under {folder}")
    return combine_weather((p.name, p.read_bytes()) for p in paths)


def is_weather_file(name: str) -> bool:
    return name.removesuffix(".gz").endswith((".dly", ".csv"))


def combine_weather(files: Iterable[tuple[str, bytes]]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Daily weather (station_id, day, elements), usable stations and counts from station files' bytes."""
    frames, metas, counts = [], [known_stations()], {"files": 0, "flagged": 0, "out_of_bounds": 0, "skipped": 0}
    for file_name, data in files:
        name = file_name.removesuffix(".gz")
        try:
            if name.endswith(".dly"):
                wide, c = parse_ghcn_dly(file_name, data)
                counts["flagged"] += c["flagged"]
                counts["out_of_bounds"] += c["out_of_bounds"]
            elif name.endswith(".csv"):
                wide, meta = parse_ghcn_csv(file_name, data)
                metas.append(meta)
            else:
                continue
        except WeatherError:
            counts["skipped"] += 1  # e.g. a monthly (GSOM) file: not daily weather
            continue
        frames.append(wide)
        counts["files"] += 1
    if not frames:
        raise FileNotFoundError("no NOAA daily station file (.dly or daily-summaries CSV) among the weather files")
    weather = pd.concat(frames, ignore_index=True)
    # Several files may cover one station-day (a .dly and a CSV export): the first value of each wins.
    weather = weather.groupby(["station_id", "day"], as_index=False).first()
    stations = pd.concat(metas, ignore_index=True).drop_duplicates("station_id")
    # A station serves as a site's weather only with a year of temperatures: precipitation-only
    # gauges (CoCoRaHS) would otherwise win the nearest-station match and bring no temperature.
    coverage = weather.groupby("station_id")["TMAX"].count()
    stations = stations[stations["station_id"].isin(coverage[coverage >= 365].index)]
    return weather, stations.reset_index(drop=True), counts
