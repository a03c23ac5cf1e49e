"""Reading EPA and NOAA files from a folder: the file-system side of parsing, kept out of domain code."""

from __future__ import annotations

import gzip
import hashlib
import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from airwatch.domain.archives import DEFAULT_LIMITS, ArchiveLimits
from airwatch.domain.parse import parse_daily_file
from airwatch.domain.schemas import PayloadKind
from airwatch.domain.sites import is_site_list, parse_site_list
from airwatch.domain.smoke import FLAG_COLUMNS, parse_smoke_flags
from airwatch.domain.weather import ForecastArchive, combine_weather, is_nws_archive, is_weather_file, parse_nws_archive
from airwatch.errors import InputError

# What an EPA download can be: CSV (plain, gzipped, zipped) and AirNow's daily peak files.
DAILY_PATTERNS = ("*.csv", "*.csv.gz", "*.zip", "*-peak.dat", "*-peak.dat.gz", "*-peak_v2.dat.gz")


def bundled_sample_dir() -> Path:
    return Path(str(resources.files("airwatch") / "sample_data"))


def bundled_weather_dir() -> Path:
    return Path(str(resources.files("airwatch") / "sample_weather"))


def input_folder(path: str | os.PathLike[str] | None) -> Path:
    """The folder of EPA files to read: the one given, or the bundled sample."""
    folder = Path(path) if path else bundled_sample_dir()
    if not folder.is_dir():
        raise InputError(f"input folder {folder} does not exist")
    return folder


def weather_folder(path: str | os.PathLike[str] | None) -> Path:
    """The folder of NOAA station files to read: the one given, or the bundled stations."""
    folder = Path(path) if path else bundled_weather_dir()
    if not folder.is_dir():
        raise InputError(f"weather stations folder {folder} does not exist")
    return folder


def find_daily_files(folder: Path) -> list[Path]:
    """EPA files below a folder, recursively, in a stable order."""
    # The site list (aqs_sites.csv) comes with AirData's bulk files but is reference data, not observations.
    found = sorted({p for pattern in DAILY_PATTERNS for p in folder.rglob(pattern) if not is_site_list(p.name)})
    if not found:
        raise InputError(f"no EPA files (*.csv, *.csv.gz, *.zip, AirNow *-peak.dat) under {folder}")
    return found


def find_weather_files(folder: Path) -> list[Path]:
    found = sorted(p for p in folder.rglob("*") if p.is_file() and is_weather_file(p.name))
    if not found:
        raise InputError(f"no NOAA daily station file (.dly or daily-summaries CSV) under {folder}")
    return found


def find_site_list(folder: Path) -> Path | None:
    """An AirData site list (aqs_sites.csv) shipped inside a folder of bulk files, if any."""
    return next((p for p in sorted(folder.rglob("*")) if is_site_list(p.name)), None)


@contextmanager
def mapped(path: Path) -> Iterator[bytes]:
    """A file's content, memory-mapped rather than read (an empty file cannot be mapped)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            yield b""
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data  # type: ignore[misc]


def parse_daily_path(path: Path) -> pd.DataFrame:
    """Normalized observations of one EPA CSV file on disk."""
    with mapped(path) as data:
        return parse_daily_file(path.name, data)


def read_folder(folder: Path) -> Iterator[tuple[PayloadKind, str, bytes]]:
    """(kind, path relative to folder, content) of every EPA file below folder; plain files are memory-mapped."""
    for path in find_daily_files(folder):
        with mapped(path) as data:
            yield PayloadKind.FILE, str(path.relative_to(folder)), data


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


def load_site_list(path: str | os.PathLike[str] | None = None, limits: ArchiveLimits = DEFAULT_LIMITS) -> SiteList:
    """The site list at path (default: the bundled one), where it came from and its digest."""
    source = Path(path) if path is not None else bundled_site_list()
    if not source.is_file():
        raise InputError(f"site list {source} does not exist (expected AirData's aqs_sites.csv)")
    data = source.read_bytes()
    return SiteList(parse_site_list(source.name, data, limits), str(source), hashlib.sha256(data).hexdigest())


def load_smoke_flags(path: str | os.PathLike[str], limits: ArchiveLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """The HMS smoke flags per site and day in a file (domain.smoke.parse_smoke_flags)."""
    source = Path(path)
    if not source.is_file():
        raise InputError(f"smoke flags {source} do not exist (expected a CSV with {', '.join(FLAG_COLUMNS)})")
    return parse_smoke_flags(source.name, source.read_bytes(), limits)


def _first_line(path: Path) -> bytes:
    """The start of a file, decompressed if gzipped (4 KB at most: enough for a header)."""
    with gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb") as fh:
        return fh.read(4096)


def load_forecast_archive(folder: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> ForecastArchive | None:
    """The NWS forecast archive in a folder (email_data_reorganized*.csv beside cities.csv), if it holds one."""
    csvs = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.removesuffix(".gz").endswith(".csv"))
    archive = next((p for p in csvs if is_nws_archive(_first_line(p))), None)
    if archive is None:
        return None
    cities = next((p for p in csvs if p.name.removesuffix(".gz") == "cities.csv"), None)
    if cities is None:
        raise InputError(f"{archive}: the NWS forecast archive needs its city table (cities.csv) beside it")
    return parse_nws_archive(archive.name, archive.read_bytes(), cities.name, cities.read_bytes(), limits)


def load_weather_folder(
    folder: Path, limits: ArchiveLimits = DEFAULT_LIMITS
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Daily weather of every station file below folder (.dly and daily-summaries CSV, gzipped or not)."""
    return combine_weather(((p.name, p.read_bytes()) for p in find_weather_files(folder)), known_stations(), limits)
