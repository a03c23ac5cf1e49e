"""Weather: NOAA station observations as daily series, matched to air-quality sites, as features.

Sources (shared/data/noaa): GHCN-Daily ``.dly`` station files (parsed in C++; QFLAG-flagged values,
-9999 and values outside physical bounds dropped), NCEI daily-summaries CSV exports (standard units:
degrees F, inches, mph, converted here to degrees C, mm and m/s, with the same bounds) and HRRR
analyses sampled at points (``parse_hrrr_points``: hourly, made daily here; each point a station). Each
air-quality site takes the nearest station within a radius that has enough data (k-d tree in C++); the
distance is a feature. A site with no station in range gets missing weather features (the models
handle missing values), and the match is reported.

Modes (how a backtest may use weather, stated in its output):
- ``lagged``: the issue day's observed weather (known when the forecast is made);
- ``observed-as-forecast``: the target day's observed weather standing in for a forecast ("perfect
  prog", an upper bound on what a weather forecast can add);
- ``archived-forecast``: what a forecaster knew: the target day's weather from archived forecasts,
  at the matched station: Open-Meteo's historical-forecast API, or an archive of the National Weather
  Service's own issued forecasts (``parse_nws_archive``: daily high and low for 160 US cities, with
  the lead each was made at, so day+h takes only a forecast made on the issue day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from airwatch import core
from airwatch.core import ColumnKind, CoreError
from airwatch.domain.archives import DEFAULT_LIMITS, ArchiveError, ArchiveLimits, Buffer, decompress
from airwatch.errors import AirWatchError

# RHAV (mean relative humidity, %) and ASLP (mean sea-level pressure, hPa) exist only at some stations
# and years (JFK from 2006); elsewhere their columns stay missing, which the models handle.
ELEMENTS = ["TMAX", "TMIN", "PRCP", "AWND", "WDF2", "RHAV", "ASLP"]
NONE, LAGGED, OBSERVED, ARCHIVED = "none", "lagged", "observed-as-forecast", "archived-forecast"
MODES = (NONE, LAGGED, OBSERVED, ARCHIVED)
BOUNDS = {
    "TMAX": (-70.0, 60.0),
    "TMIN": (-70.0, 60.0),
    "PRCP": (0.0, 1000.0),
    "AWND": (0.0, 75.0),
    "WDF2": (0.0, 360.0),
    "RHAV": (0.0, 100.0),
    "ASLP": (870.0, 1090.0),
}
_EPOCH = np.datetime64("1970-01-01", "D")
RADIUS_KM = 50.0  # a site takes the nearest station within this distance
# Upstream: mid-latitude weather systems drift west to east at about 5-12 m/s, 400-1000 km a day, so
# today's weather 300-1000 km to the west (between south-west and north-west) is part of tomorrow's
# here. Chosen from that physics, then checked on development windows (docs/weather.md).
UPSTREAM_KM = (300.0, 1000.0)
UPSTREAM_BEARING = (225.0, 315.0)  # degrees clockwise from north, from the site to the station


# How the production setting (AIRWATCH_WEATHER__MODE) uses weather in training: "forecast" trains on the
# target day's observed weather, which a forecast stands in for when predicting.
SETTING_MODES = {"none": NONE, "lagged": LAGGED, "forecast": OBSERVED}


class WeatherError(AirWatchError, ValueError):
    """A weather file is not a layout this parser knows; the message names it."""


def _content(name: str, data: bytes, limits: ArchiveLimits) -> Buffer:
    try:
        return decompress(name, data, limits)
    except ArchiveError as exc:
        raise WeatherError(str(exc)) from None


def parse_ghcn_dly(
    name: str, data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Daily weather (station_id, day and ELEMENTS) from a .dly file, and its drop counts."""
    g = core.parse_ghcn_dly(_content(name, data, limits), ELEMENTS)
    long = pd.DataFrame({"station": g.station, "day": g.day, "element": g.element, "value": g.value})
    wide = long.pivot_table(index=["station", "day"], columns="element", values="value", aggfunc="first")
    wide.columns = [ELEMENTS[int(c)] for c in wide.columns]
    wide = wide.reindex(columns=ELEMENTS).reset_index()
    wide.insert(0, "station_id", np.array(g.stations, dtype=object)[wide.pop("station").to_numpy()])
    counts = {"missing": g.missing, "flagged": g.flagged, "out_of_bounds": g.out_of_bounds,
              "malformed_lines": g.malformed_lines}  # fmt: skip
    return wide, counts


def parse_ghcn_csv(name: str, data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily weather from an NCEI daily-summaries CSV (standard units), and the stations it names."""
    columns = [
        ("STATION", ColumnKind.DICTIONARY), ("DATE", ColumnKind.DATE), ("LATITUDE", ColumnKind.FLOAT64),
        ("LONGITUDE", ColumnKind.FLOAT64), *((e, ColumnKind.FLOAT64) for e in ELEMENTS),
    ]  # fmt: skip
    try:
        d = core.read_csv(_content(name, data, limits), columns, 2)
    except CoreError as exc:  # not text, or an unterminated quote
        raise WeatherError(f"{name}: {exc}") from None
    if "STATION" not in d or "DATE" not in d:
        raise WeatherError(f"{name}: not an NCEI daily-summaries CSV (no STATION/DATE columns)")
    station, n = d.dictionary("STATION"), d.rows
    station_id = np.array(station.categories, dtype=object)[station.codes]
    frame = pd.DataFrame({"station_id": station_id, "day": d.array("DATE")})
    # NCEI "standard" units to metric: degrees F, inches, mph, inches of mercury.
    scale = {"TMAX": (1 / 1.8, -32 / 1.8), "TMIN": (1 / 1.8, -32 / 1.8), "PRCP": (25.4, 0.0), "AWND": (0.44704, 0.0),
             "WDF2": (1.0, 0.0), "RHAV": (1.0, 0.0), "ASLP": (33.8639, 0.0)}  # fmt: skip
    for e in ELEMENTS:
        values = d.array(e) * scale[e][0] + scale[e][1] if e in d else np.full(n, np.nan)
        lo, hi = BOUNDS[e]
        frame[e] = np.where((values >= lo) & (values <= hi), values, np.nan)
    frame = frame[frame["day"] != core.MISSING_DAY]
    meta = (
        pd.DataFrame(
            {
                "station_id": frame["station_id"],
                "latitude": (d.array("LATITUDE") if "LATITUDE" in d else np.full(n, np.nan))[frame.index],
                "longitude": (d.array("LONGITUDE") if "LONGITUDE" in d else np.full(n, np.nan))[frame.index],
            }
        )
        .dropna()
        .drop_duplicates("station_id")
    )
    return frame.reset_index(drop=True), meta


# HRRR analyses sampled at points (NOAA's High-Resolution Rapid Refresh, 3 km; extracts such as
# shared/data/noaa/hrrr_analysis_at_denver_ozone_sites_2021_2022): hourly rows of a few variables at each
# point, valid time in UTC. Analyses (step 0 h) are the model's picture of the hour as it happened, so
# they serve as observations (lagged and observed-as-forecast), never as forecasts.
HRRR_VARIABLES = ("t2m", "r2", "u10", "v10")  # K, %, m/s, m/s
HRRR_MIN_HOURS = 18  # a day's value from 18 of its 24 hours (75%, EPA's completeness for a daily value)
HRRR_MIN_DAYS = 90  # a point serves as a site's weather with this many days of temperature, as an NWS city


def is_hrrr_points(head: Buffer) -> bool:
    """Whether a CSV's first line is an HRRR point extract's header (time, point_latitude, point_longitude)."""
    first = bytes(head[:4096]).split(b"\n", 1)[0]
    return b"point_latitude" in first and b"point_longitude" in first and b"time" in first


def parse_hrrr_points(
    name: str, data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily weather of each point of an HRRR point extract, and the points as stations.

    Each point is a station (``HRRR:<lat>,<lon>``) at its coordinates. Days are local standard days (UTC
    plus the point's longitude / 15 hours, rounded: Denver's MST), as EPA's daily values are. Of the
    variables the file has: TMAX and TMIN the day's highest and lowest 2 m temperature (K to degrees C),
    RHAV the mean 2 m relative humidity, AWND the mean 10 m wind speed, WDF2 the direction the wind blew
    from in the hour of the day's fastest wind (as NOAA's WDF2 is the fastest 2-minute wind's). A value
    needs HRRR_MIN_HOURS hours; values outside physical bounds are missing.
    """
    columns = [("time", ColumnKind.DICTIONARY), ("point_latitude", ColumnKind.FLOAT64),
               ("point_longitude", ColumnKind.FLOAT64), *((v, ColumnKind.FLOAT64) for v in HRRR_VARIABLES)]  # fmt: skip
    try:
        d = core.read_csv(_content(name, data, limits), columns, 2)
    except CoreError as exc:
        raise WeatherError(f"{name}: {exc}") from None
    if missing := [c for c in ("time", "point_latitude", "point_longitude") if c not in d]:
        raise WeatherError(f"{name}: not an HRRR point extract (no column {', '.join(missing)})")
    time = d.dictionary("time")
    stamps = pd.to_datetime(pd.Series(time.categories), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    utc = stamps.to_numpy(dtype="datetime64[s]")[time.codes]
    lat, lon = d.array("point_latitude"), d.array("point_longitude")
    ok = ~np.isnat(utc) & np.isfinite(lat) & np.isfinite(lon)
    offset = np.round(np.where(ok, lon, 0.0) / 15.0).astype(np.int64).astype("timedelta64[h]")
    day = ((utc + offset).astype("datetime64[D]") - _EPOCH).astype(np.int32)
    hourly = pd.DataFrame({"latitude": lat, "longitude": lon, "utc": utc, "day": day})[ok]
    for v in HRRR_VARIABLES:
        hourly[v] = d.array(v)[ok] if v in d else np.nan
    # One row per point and hour (a file written twice over keeps its first).
    hourly = hourly.drop_duplicates(["latitude", "longitude", "utc"])
    by = hourly.groupby(["latitude", "longitude", "day"], sort=True)
    daily = pd.DataFrame(index=by.size().index)

    def enough(column: str) -> pd.Series:
        return by[column].count() >= HRRR_MIN_HOURS

    t = enough("t2m")
    daily["TMAX"] = (by["t2m"].max() - 273.15).where(t)
    daily["TMIN"] = (by["t2m"].min() - 273.15).where(t)
    daily["RHAV"] = by["r2"].mean().where(enough("r2"))
    hourly["speed"] = np.hypot(hourly["u10"], hourly["v10"])
    wind = enough("speed")
    daily["AWND"] = by["speed"].mean().where(wind)
    fastest = hourly.dropna(subset=["speed"]).sort_values("speed", kind="stable")
    fastest = fastest.groupby(["latitude", "longitude", "day"]).tail(1).set_index(["latitude", "longitude", "day"])
    # Meteorological direction: where the wind blows from, degrees clockwise from north.
    direction = np.degrees(np.arctan2(-fastest["u10"], -fastest["v10"])) % 360.0
    daily["WDF2"] = direction.reindex(daily.index).where(wind)
    daily = daily.reset_index()
    names = "HRRR:" + daily["latitude"].map("{:.6f}".format) + "," + daily["longitude"].map("{:.6f}".format)
    frame = pd.DataFrame({"station_id": names.to_numpy(dtype=object), "day": daily["day"].to_numpy(np.int32)})
    for e in ELEMENTS:
        values = daily[e].to_numpy(dtype=np.float64) if e in daily else np.full(len(daily), np.nan)
        lo, hi = BOUNDS[e]
        frame[e] = np.where((values >= lo) & (values <= hi), values, np.nan)
    meta = pd.DataFrame({"station_id": frame["station_id"], "latitude": daily["latitude"],
                         "longitude": daily["longitude"]}).drop_duplicates("station_id")  # fmt: skip
    return frame, meta.reset_index(drop=True)


# The NWS forecast archive (speegled/weather_forecasts, "email_data_reorganized"): one row per city and
# date, degrees F. Each column is what was forecast *for* that date, and when: "prev_PM" the afternoon
# before, "2_prev_PM" two afternoons before. A forecast issued on the evening of day I may use what NWS
# said by that afternoon, so day+1 takes the prev_PM forecast (prev_AM if the afternoon's is missing)
# and day+2 the 2_prev_PM high (the archive has no two-day low); the archive has no three-day lead.
NWS_LEADS: dict[int, dict[str, tuple[str, ...]]] = {
    1: {"TMAX": ("forecast_hi_prev_PM", "forecast_hi_prev_AM"), "TMIN": ("forecast_lo_prev_PM", "forecast_lo_prev_AM")},
    2: {"TMAX": ("forecast_hi_2_prev_PM",)},
}
# Observed: the next morning's report of the day (complete), else that afternoon's.
NWS_OBSERVED: dict[str, tuple[str, ...]] = {
    "TMAX": ("actual_hi_next_AM", "actual_hi_current_PM"),
    "TMIN": ("actual_lo_next_AM", "actual_lo_current_PM"),
}
NWS_MIN_DAYS = 90  # a city serves as a site's weather with this many observed highs


@dataclass(frozen=True)
class ForecastArchive:
    """Observed daily weather, archived forecasts (with their lead) and stations of a forecast archive."""

    observed: pd.DataFrame  # station_id, day and ELEMENTS (TMAX, TMIN filled)
    forecasts: pd.DataFrame  # station_id, day (the target day), lead_days and ELEMENTS
    stations: pd.DataFrame  # station_id, latitude, longitude
    counts: dict[str, int]


def is_nws_archive(head: bytes) -> bool:
    """Whether a CSV's first line is the NWS forecast archive's header."""
    first = head.split(b"\n", 1)[0]
    return b"forecast_hi_prev_PM" in first and b"city" in first


def _fahrenheit_to_celsius(values: np.ndarray) -> np.ndarray:
    c = (values - 32.0) / 1.8
    lo, hi = BOUNDS["TMAX"]
    return np.where((c >= lo) & (c <= hi), c, np.nan)


def parse_nws_archive(
    name: str, data: bytes, cities_name: str, cities: bytes, limits: ArchiveLimits = DEFAULT_LIMITS
) -> ForecastArchive:
    """The NWS forecast archive (email_data_reorganized*.csv) with its city table (cities.csv).

    Each city is a station (``NWS:<CITY>_<STATE>``) at the city table's coordinates. Values are
    converted to degrees C; "NA" and values outside physical bounds are missing. A city with fewer than
    NWS_MIN_DAYS observed highs, or not in the city table, is not a station.
    """
    wanted = sorted({c for lead in NWS_LEADS.values() for cols in lead.values() for c in cols}
                    | {c for cols in NWS_OBSERVED.values() for c in cols})  # fmt: skip
    columns = [("date", ColumnKind.DATE), ("city", ColumnKind.DICTIONARY), ("state", ColumnKind.DICTIONARY),
               *((c, ColumnKind.FLOAT64) for c in wanted)]  # fmt: skip
    try:
        d = core.read_csv(_content(name, data, limits), columns, 2)
        c = core.read_csv(_content(cities_name, cities, limits), [
            ("city", ColumnKind.DICTIONARY), ("state", ColumnKind.DICTIONARY),
            ("lat", ColumnKind.FLOAT64), ("lon", ColumnKind.FLOAT64)], 2)  # fmt: skip
    except CoreError as exc:
        raise WeatherError(f"{name}: {exc}") from None
    for parsed, need, file in ((d, ["date", "city", "state", *wanted], name), (c, ["city", "state", "lat", "lon"],
                                                                               cities_name)):  # fmt: skip
        if missing := [col for col in need if col not in parsed]:
            raise WeatherError(f"{file}: not the NWS forecast archive's layout (no column {', '.join(missing)})")

    def ids(t: core.CsvTable) -> np.ndarray:
        city, state = t.dictionary("city"), t.dictionary("state")
        names = (
            np.array(city.categories, dtype=object)[city.codes]
            + "_"
            + np.array(state.categories, dtype=object)[state.codes]
        )
        return "NWS:" + names

    station_id, day = ids(d), d.array("date")
    ok = day != core.MISSING_DAY

    def first_of(cols: tuple[str, ...]) -> np.ndarray:
        out = np.full(d.rows, np.nan)
        for col in reversed(cols):  # the first column given wins where it has a value
            v = _fahrenheit_to_celsius(d.array(col))
            out = np.where(np.isnan(v), out, v)
        return out[ok]

    def table(elements: dict[str, tuple[str, ...]]) -> pd.DataFrame:
        frame = pd.DataFrame({"station_id": station_id[ok], "day": day[ok]})
        for e in ELEMENTS:
            frame[e] = first_of(elements[e]) if e in elements else np.nan
        return frame

    observed = table(NWS_OBSERVED).drop_duplicates(["station_id", "day"])
    leads = []
    for lead, elements in NWS_LEADS.items():
        f = table(elements)
        f.insert(2, "lead_days", lead)
        leads.append(f.dropna(subset=[e for e in elements], how="all"))
    forecasts = pd.concat(leads, ignore_index=True).drop_duplicates(["station_id", "day", "lead_days"])
    stations = pd.DataFrame({"station_id": ids(c), "latitude": c.array("lat"), "longitude": c.array("lon")})
    stations = stations.dropna().drop_duplicates("station_id")
    highs = observed.groupby("station_id")["TMAX"].count()
    stations = stations[stations["station_id"].isin(highs[highs >= NWS_MIN_DAYS].index)].reset_index(drop=True)
    counts = {"files": 2, "rows": int(d.rows), "undated_rows": int((~ok).sum()), "cities": len(stations),
              "forecasts": len(forecasts)}  # fmt: skip
    return ForecastArchive(observed.reset_index(drop=True), forecasts, stations, counts)


def _nearest(sites: pd.DataFrame, stations: pd.DataFrame, k: int, radius_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Up to k nearest stations within radius_km of each site, nearest first (k-d tree): (sites, k) arrays."""
    return core.nearest_sites(
        stations["latitude"], stations["longitude"], sites["latitude"], sites["longitude"], k, radius_km
    )


def match_stations(sites: pd.DataFrame, stations: pd.DataFrame, *, radius_km: float) -> tuple[np.ndarray, np.ndarray]:
    """For each site, the index of its nearest station within radius_km (-1 if none) and the distance."""
    idx, km = _nearest(sites, stations, 1, radius_km)
    return idx[:, 0], km[:, 0]


def bearing_deg(lat: np.ndarray, lon: np.ndarray, to_lat: np.ndarray, to_lon: np.ndarray) -> np.ndarray:
    """Initial great-circle bearing from each point to its counterpart, degrees clockwise from north."""
    p1, p2 = np.radians(lat), np.radians(to_lat)
    dl = np.radians(np.asarray(to_lon) - np.asarray(lon))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


def match_upstream(sites: pd.DataFrame, stations: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For each site, its nearest station upstream (UPSTREAM_KM away, within UPSTREAM_BEARING), or -1."""
    lo_km, hi_km = UPSTREAM_KM
    lo_deg, hi_deg = UPSTREAM_BEARING
    n, k = len(sites), len(stations)
    out_idx, out_km = np.full(n, -1, dtype=np.int64), np.full(n, np.nan)
    if n == 0 or k == 0:
        return out_idx, out_km
    # Every station within the outer radius, nearest first, then the ring and sector test.
    idx, km = _nearest(sites, stations, k, hi_km)
    safe = np.maximum(idx, 0)
    lat = np.repeat(sites["latitude"].to_numpy(dtype=np.float64)[:, None], k, axis=1)
    lon = np.repeat(sites["longitude"].to_numpy(dtype=np.float64)[:, None], k, axis=1)
    bearing = bearing_deg(lat, lon, stations["latitude"].to_numpy()[safe], stations["longitude"].to_numpy()[safe])
    ok = (idx >= 0) & (km >= lo_km) & (bearing >= lo_deg) & (bearing <= hi_deg)
    first = np.argmax(ok, axis=1)
    found = ok[np.arange(n), first]
    out_idx[found] = idx[found, first[found]]
    out_km[found] = km[found, first[found]]
    return out_idx, out_km


def _station_day_keys(station: np.ndarray, day: np.ndarray) -> np.ndarray:
    # One int64 per (station index, day): the index in the high half, the day (offset to be >= 0) in the low.
    return np.asarray(station, dtype=np.int64) * (1 << 32) + (np.asarray(day, dtype=np.int64) + (1 << 31))


@dataclass(frozen=True)
class StationDays:
    """Daily elements by (station index, day), looked up for many rows at once.

    The rows' keys are searched in the table's sorted keys, where a reindex by a two-level index of
    the national grid's rows (1.4 M) made its keys, hash tables and a frame of every element: the
    national transform's peak 74 MB lower (docs/core.md). The same values: the first row of a station
    and day where there are several, missing where there is none or the row has no station (-1).
    """

    keys: np.ndarray  # sorted, unique
    values: dict[str, np.ndarray]  # each element's values, in the keys' order

    @classmethod
    def of(cls, frame: pd.DataFrame, stations: pd.DataFrame) -> StationDays:
        """The table of frame's rows (station_id, day, elements); rows of stations not listed are left out."""
        codes = pd.Categorical(frame["station_id"], categories=stations["station_id"]).codes
        listed = np.flatnonzero(codes >= 0)
        keys = _station_day_keys(codes[listed], frame["day"].to_numpy()[listed])
        order = np.argsort(keys, kind="stable")  # stable: the first row of a repeated key comes first
        keys = keys[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        rows = listed[order[first]]
        # An element a source does not have (humidity at most stations) stays missing.
        values = {e: frame[e].to_numpy(dtype=np.float64)[rows] if e in frame else np.full(len(rows), np.nan)
                  for e in ELEMENTS}  # fmt: skip
        return cls(keys[first], values)

    def at(self, station: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
        """Each element's value at each (station index, day); NaN where the table has none or station < 0."""
        if len(self.keys) == 0:
            return {e: np.full(len(station), np.nan) for e in ELEMENTS}
        wanted = _station_day_keys(station, day)
        position = np.searchsorted(self.keys, wanted)
        np.minimum(position, len(self.keys) - 1, out=position)
        absent = (self.keys[position] != wanted) | (np.asarray(station) < 0)
        del wanted
        out = {}
        for e, v in self.values.items():
            column = v[position]
            column[absent] = np.nan
            out[e] = column
        return out


def weather_features(
    sites: pd.DataFrame,
    g_site: np.ndarray,
    g_day: np.ndarray,
    weather: pd.DataFrame,
    stations: pd.DataFrame,
    *,
    mode: str,
    horizons: tuple[int, ...],
    radius_km: float = RADIUS_KM,
    forecasts: pd.DataFrame | None = None,
) -> dict[str, np.ndarray]:
    """Weather columns for each grid row (site, issue day) under a mode; empty for mode none.

    forecasts (archived-forecast only): station_id, day and the elements as forecast for that day;
    with a lead_days column, horizon h takes only the forecasts made h days before their day.
    """
    if mode not in MODES:
        raise ValueError(f"weather mode must be one of {MODES}, got {mode!r}")
    if mode == NONE:
        return {}
    if mode == ARCHIVED and forecasts is None:
        raise ValueError("archived-forecast needs archived weather forecasts (a forecast API URL)")
    idx, km = match_stations(sites, stations, radius_km=radius_km)
    station_of_row = idx[g_site]
    observed = StationDays.of(weather, stations)

    def forecast_for(h: int) -> StationDays:
        """Target-day weather for horizon h: observed, or the archived forecasts made h days before."""
        if mode != ARCHIVED or forecasts is None:
            return observed
        if "lead_days" not in forecasts:  # one forecast per day (Open-Meteo's archive)
            return StationDays.of(forecasts, stations)
        return StationDays.of(forecasts[forecasts["lead_days"] == h], stations)  # none at a lead: missing

    def lookup(
        offset: int, prefix: str, table: StationDays = observed, station: np.ndarray = station_of_row
    ) -> dict[str, np.ndarray]:
        return derived_columns(prefix, table.at(station, g_day + offset))

    columns = {"wx_station_km": np.where(station_of_row >= 0, km[g_site], np.nan)}
    columns.update(lookup(0, "wx"))  # the issue day's observed weather: known at issue time
    summer = summer_weight(g_day)
    columns["wx_heat_season"] = columns["wx_tmax"] * summer
    # The issue day's observed weather upstream, and how it differs from here: a front on its way.
    up_idx, _ = match_upstream(sites, stations)
    columns.update(lookup(0, "wxup", station=up_idx[g_site]))
    columns["wxup_dtmax"] = columns["wxup_tmax"] - columns["wx_tmax"]
    columns["wxup_dtmin"] = columns["wxup_tmin"] - columns["wx_tmin"]
    if mode in (OBSERVED, ARCHIVED):
        for h in horizons:
            target = lookup(h, f"wxf{h}", forecast_for(h))
            target[f"wxf{h}_heat_season"] = target[f"wxf{h}_tmax"] * summer
            columns.update(target)
    return columns


def summer_weight(day: np.ndarray) -> np.ndarray:
    """0 in winter, 1 at midsummer, by day of year (northern hemisphere)."""
    doy = pd.to_datetime(_EPOCH + np.asarray(day).astype("timedelta64[D]")).dayofyear.to_numpy()
    return np.clip(-np.cos(2 * np.pi * (doy - 1) / 365.25), 0, None)


def derived_columns(prefix: str, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Model columns from daily elements (TMAX, TMIN, PRCP, AWND, WDF2, RHAV, ASLP in metric units)."""
    out = {f"{prefix}_{e.lower()}": np.asarray(raw[e], dtype=np.float64) for e in ELEMENTS}
    wd = np.deg2rad(out.pop(f"{prefix}_wdf2"))
    out[f"{prefix}_wind_u"] = -np.sin(wd)  # direction the wind blows from, as a unit vector
    out[f"{prefix}_wind_v"] = -np.cos(wd)
    out[f"{prefix}_trange"] = out[f"{prefix}_tmax"] - out[f"{prefix}_tmin"]
    # Stagnation: light wind and no rain, when PM2.5 builds up and ozone cooks.
    stagnant = ((out[f"{prefix}_awnd"] < 2.5) & (out[f"{prefix}_prcp"] < 1.0)).astype(float)
    stagnant[np.isnan(out[f"{prefix}_awnd"])] = np.nan
    out[f"{prefix}_stagnant"] = stagnant
    return out


def with_weather(
    frame: pd.DataFrame,
    weather: pd.DataFrame,
    stations: pd.DataFrame,
    *,
    mode: str,
    horizons: tuple[int, ...],
    radius_km: float = RADIUS_KM,
    forecasts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A feature frame (site_id, day, latitude, longitude, ...) with the weather columns of a mode added."""
    if mode == NONE:
        return frame
    sites = frame.groupby("site_id", sort=True, observed=True)[["latitude", "longitude"]].last().reset_index()
    # Each row's position in sites, by a hash lookup of the whole column (a dict's map goes value by value).
    codes = pd.Index(sites["site_id"]).get_indexer(frame["site_id"]).astype(np.int64, copy=False)
    columns = weather_features(
        sites, codes, frame["day"].to_numpy(dtype=np.int64), weather, stations,
        mode=mode, horizons=horizons, radius_km=radius_km, forecasts=forecasts,
    )  # fmt: skip
    # Added to a shallow copy, column by column: a concat copied the whole frame and the new columns
    # once more (national transform peak 1.64-1.68 -> 1.56 GB resident, docs/core.md). pandas copies
    # each array it is given: each is let go once copied, else all of them were held twice at the end
    # (the national transform's peak 0.16 GB lower).
    out = frame.copy(deep=False)
    for name in list(columns):
        out[name] = columns.pop(name)
    return out


def forecast_columns(
    rows: pd.DataFrame,
    stations: pd.DataFrame,
    forecasts: pd.DataFrame,
    *,
    horizon: int,
    radius_km: float = RADIUS_KM,
) -> dict[str, np.ndarray]:
    """The target-day weather columns (wxf{h}_*) of forecast rows from weather forecasts per station.

    rows: one per site (latitude, longitude, day = the issue day); forecasts: station_id, day and the
    daily elements. Each site takes its matched station's forecast, as in training.
    """
    idx, _ = match_stations(rows, stations, radius_km=radius_km)
    station_ids = np.where(idx >= 0, stations["station_id"].to_numpy(dtype=object)[np.maximum(idx, 0)], None)
    target_day = rows["day"].to_numpy(dtype=np.int64) + horizon
    table = forecasts.set_index(["station_id", "day"]).reindex(columns=ELEMENTS)
    table = table[~table.index.duplicated()]
    got = table.reindex(pd.MultiIndex.from_arrays([station_ids, target_day]))
    raw = {e: got[e].to_numpy(dtype=np.float64, copy=True) for e in ELEMENTS}
    out = derived_columns(f"wxf{horizon}", raw)
    out[f"wxf{horizon}_heat_season"] = out[f"wxf{horizon}_tmax"] * summer_weight(target_day)
    return out


def persistence_columns(rows: pd.DataFrame, *, horizon: int) -> dict[str, np.ndarray]:
    """The fallback when no forecast is at hand: the target day's weather taken to be the issue day's."""
    target_day = rows["day"].to_numpy(dtype=np.int64) + horizon
    out = {f"wxf{horizon}_{c.removeprefix('wx_')}": rows[c].to_numpy(dtype=np.float64, copy=True)
           for c in rows.columns if c.startswith("wx_") and c not in {"wx_station_km", "wx_heat_season"}}  # fmt: skip
    out[f"wxf{horizon}_heat_season"] = out[f"wxf{horizon}_tmax"] * summer_weight(target_day)
    return out


def columns_for_horizon(columns: list[str], horizon: int) -> list[str]:
    """The feature columns a model of this horizon may use: target-day weather of its own horizon only."""
    return [c for c in columns if not c.startswith("wxf") or c.startswith(f"wxf{horizon}_")]


def is_weather_file(name: str) -> bool:
    return name.removesuffix(".gz").endswith((".dly", ".csv"))


def combine_weather(
    files: Iterable[tuple[str, bytes]], known_stations: pd.DataFrame, limits: ArchiveLimits = DEFAULT_LIMITS
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Daily weather (station_id, day, elements), usable stations and counts from station files' bytes.

    known_stations: coordinates of stations whose files carry none (.dly files), station_id, latitude,
    longitude. A file that cannot be read (not daily weather, or an archive refused) is counted as
    skipped.
    """
    frames, metas, counts = [], [known_stations], {"files": 0, "flagged": 0, "out_of_bounds": 0, "skipped": 0}
    for file_name, data in files:
        name = file_name.removesuffix(".gz")
        try:
            if name.endswith(".dly"):
                wide, c = parse_ghcn_dly(file_name, data, limits)
                counts["flagged"] += c["flagged"]
                counts["out_of_bounds"] += c["out_of_bounds"]
            elif name.endswith(".csv"):
                content = _content(file_name, data, limits)
                parse = parse_hrrr_points if is_hrrr_points(content) else parse_ghcn_csv
                wide, meta = parse(file_name, content, limits)
                metas.append(meta)
            else:
                continue
        except WeatherError:
            counts["skipped"] += 1  # e.g. a monthly (GSOM) file: not daily weather
            continue
        frames.append(wide)
        counts["files"] += 1
    if not frames:
        raise WeatherError("no NOAA daily station file (.dly or daily-summaries CSV) among the weather files")
    weather = pd.concat(frames, ignore_index=True)
    # Several files may cover one station-day (a .dly and a CSV export): the first value of each wins.
    weather = weather.groupby(["station_id", "day"], as_index=False).first()
    stations = pd.concat(metas, ignore_index=True).drop_duplicates("station_id")
    # A station serves as a site's weather only with a year of temperatures: precipitation-only
    # gauges (CoCoRaHS) would otherwise win the nearest-station match and bring no temperature. A
    # model's grid point has every variable everywhere; extracts cover seasons (May-September), so it
    # needs HRRR_MIN_DAYS.
    coverage = weather.groupby("station_id")["TMAX"].count()
    need = np.where(coverage.index.str.startswith("HRRR:"), HRRR_MIN_DAYS, 365)
    stations = stations[stations["station_id"].isin(coverage[coverage.to_numpy() >= need].index)]
    return weather, stations.reset_index(drop=True), counts


def weather_dataset(weather: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """One table of daily weather with each station's coordinates (the processed weather dataset)."""
    return weather.merge(stations[["station_id", "latitude", "longitude"]], on="station_id", how="inner")


def split_weather(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The weather dataset as daily weather and the station table."""
    stations = frame.drop_duplicates("station_id")[["station_id", "latitude", "longitude"]].reset_index(drop=True)
    return frame.drop(columns=["latitude", "longitude"]), stations
