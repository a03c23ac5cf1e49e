"""Parse EPA payloads into normalized observations, with the C++ CSV reader doing the heavy lifting.

Recognised from their header: AirData daily summary files (``daily_*``: ``Date Local``,
``Arithmetic Mean``) and AQS Data Mart daily summaries (the same columns, other names: ``Date (Local)``,
``First Maximum Value``, ``Duration Description``), AirData hourly files (``hourly_*``: ``Time Local``,
``Sample Measurement``),
and the "Download Daily Data" tool exports (``Date``, ``Site ID`` or ``AQS_SITE_ID``); AQS API
dailyData records are parsed by :func:`parse_aqs_daily`. Columns are found by name with case, spaces
and underscores ignored (:func:`normalize`), so the download tool's layouts all read alike: the
current one (2023-: ``Daily AQI Value``, ``Local Site Name``, ``Site Latitude``), the older upper-case
one (``DAILY_AQI_VALUE``, ``Site Name``, ``SITE_LATITUDE``) and the oldest (``AQS_SITE_ID``, no source
or site name). Every row becomes one normalized row:
values that cannot be parsed become missing and rows with the wrong number of fields are marked, so
validation can quarantine them with a reason; nothing is dropped here.
"""

from __future__ import annotations

import io
import itertools
import mmap
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from airwatch import core
from airwatch.core import ColumnKind, CoreError, CsvTable
from airwatch.domain.archives import BLOCK_BYTES, DEFAULT_LIMITS, ArchiveLimits, decompress, text_blocks
from airwatch.domain.frames import per_category


class ParseError(ValueError):
    """A file is not an EPA layout this parser knows; the message names the file."""


UNIT_CODES = {
    "ug/m3 lc": 0,
    "ug/m3 sc": 0,
    "micrograms/cubic meter (lc)": 0,
    "micrograms/cubic meter (25 c)": 0,
    "ppm": 1,
    "parts per million": 1,
    "ppb": 2,
    "parts per billion": 2,
    "degrees fahrenheit": 3,
    "knots": 4,
    "degrees compass": 5,
    "percent relative humidity": 6,
    "millibars": 7,
}

F64, I64, DATE, HOUR, DICT, SITE = (
    ColumnKind.FLOAT64, ColumnKind.INT64, ColumnKind.DATE, ColumnKind.HOUR, ColumnKind.DICTIONARY, ColumnKind.SITE_ID,
)  # fmt: skip
_EPOCH = np.datetime64("1970-01-01", "D")
DAILY = -1  # the hour of a daily value
OUT_OF_SCOPE = -2  # site code of a row about a non-AQS site (validation: out_of_scope)


Buffer = bytes | memoryview | mmap.mmap


def parse_daily_file(
    name: str,
    data: Buffer,
    *,
    raw_key: str | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    block_bytes: int = BLOCK_BYTES,
) -> pd.DataFrame:
    """Normalized observations from one EPA CSV file (plain, gzipped or zipped).

    The text is decompressed and parsed a block of lines at a time (archives.text_blocks), so a large
    file's whole text is never held beside its rows; the blocks' rows are the file's, in order.
    """
    blocks = (np.frombuffer(b, dtype=np.uint8) for b in text_blocks(name, data, limits, block_bytes))
    first = next(blocks, np.zeros(0, dtype=np.uint8))
    try:
        header = _header(first)
    except CoreError as exc:
        raise ParseError(f"{name}: {exc}") from None
    layout: Callable[[str, np.ndarray, list[str]], pd.DataFrame]
    names = {_key(h) for h in header}
    if {"datelocal", "arithmeticmean"} <= names:
        layout = _from_airdata_daily
    elif {"datelocal", "samplemeasurement"} <= names:
        layout = _from_airdata_hourly
    elif "date" in names and _key("Site ID") in names:
        layout = _from_download_tool
    else:
        raise ParseError(
            f"{name}: unknown layout; expected an AirData daily or hourly file or a download-tool export, "
            f"got columns {header[:8]}..."
        )
    header_line = first[: _line_end(first)]
    frames, rows = [], 0
    for i, text in enumerate(itertools.chain([first], blocks)):
        try:
            frame = layout(name, text if i == 0 else np.concatenate([header_line, text]), header)
        except CoreError as exc:  # from the C++ reader (an unterminated quote, naming the row); not ParseError,
            raise ParseError(f"{name}: {_rows_after(str(exc), rows)}") from None  # which already names the file
        rows += len(frame)
        frames.append(frame)
    frame = frames[0] if len(frames) == 1 else concat_observations(frames, consume=True)
    frame["raw_key"] = _constant(raw_key or name, len(frame))
    frame["raw_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame


def _line_end(text: np.ndarray) -> int:
    newlines = np.flatnonzero(text[:65536] == ord("\n"))
    return int(newlines[0]) + 1 if len(newlines) else len(text)


def _rows_after(message: str, rows: int) -> str:
    """A reader's message about a block's data row N as one about the file's row rows + N."""
    return re.sub(r"data row (\d+)", lambda m: f"data row {rows + int(m.group(1))}", message) if rows else message


def concat_observations(frames: list[pd.DataFrame], *, consume: bool = False) -> pd.DataFrame:
    """Parsed observations of several payloads as one frame, text columns categorical with sorted categories.

    pd.concat keeps a categorical column only when every frame has the same categories, in the same
    order, and makes plain strings of it otherwise: 281 bytes a row instead of 102 on AirData files
    (the raw key, units, site name, dates of last change repeated on every row), copied several
    times over by validation. And where it does keep one, the categories are in each file's order of
    appearance, so sorting by the column does not sort its text: the newest date of last change was
    not always first, and an older revision could win (resolve_revisions). Categories sorted here
    sort as the text does.

    consume: take each column out of the frames as it is joined (they are left without columns), so
    that the frames and the result are never held whole side by side (16 M rows are about 1.7 GB).
    """
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    if not consume:
        frames = [f.copy(deep=False) for f in frames]
    columns = list(dict.fromkeys(c for f in frames for c in f.columns))
    text = {c for c in columns if any(isinstance(f[c].dtype, pd.CategoricalDtype) for f in frames if c in f)}

    def take(frame: pd.DataFrame, column: str) -> pd.Series:
        if column in frame:
            return frame.pop(column).reset_index(drop=True)
        return pd.Series(np.nan, index=pd.RangeIndex(len(frame)), dtype=object if column in text else np.float64)

    out: dict[str, object] = {}
    for column in columns:
        parts = [take(f, column) for f in frames]
        if column in text:
            out[column] = union_categoricals([p.astype("category").array for p in parts], sort_categories=True)
        else:
            out[column] = pd.concat(parts, ignore_index=True)
        del parts
    return pd.DataFrame(out, copy=False)


def _header(text: np.ndarray) -> list[str]:
    return core.read_csv(text[: _line_end(text)], [], 1).header


def normalize(name: str) -> str:
    """A column name as layouts are matched: without case, spaces or underscores.

    EPA has renamed columns between exports only in these ways ("DAILY_AQI_VALUE" became "Daily AQI
    Value"), so "Daily AQI Value" == "DAILY_AQI_VALUE" == "daily aqi value".
    """
    return re.sub(r"[\s_]+", "", name).lower()


# Different names EPA has given one column, the name the layouts below use first. AQS's own name for
# AirData's "Site Num" is "site_number" (API responses, and the CSV exports made of them).
# AQS Data Mart's daily summaries are AirData's daily files with other column names.
_SAME_COLUMN = (("Site ID", "AQS_SITE_ID"), ("Local Site Name", "Site Name"), ("Site Num", "Site Number"),
                ("Date Local", "Date (Local)"), ("Sample Duration", "Duration Description"),
                ("Event Type", "Exceptional Data Type"), ("1st Max Value", "First Maximum Value"))  # fmt: skip
_ALIAS = {normalize(other): normalize(names[0]) for names in _SAME_COLUMN for other in names[1:]}


def _key(name: str) -> str:
    key = normalize(name)
    return _ALIAS.get(key, key)


def _read(
    name: str, text: np.ndarray, header: list[str], spec: list[tuple[str, ColumnKind]], required: list[str]
) -> CsvTable:
    """The spec's columns, keyed by the spec's names whatever the file calls them."""
    in_file: dict[str, str] = {}
    for h in header:
        in_file.setdefault(_key(h), h)
    missing = [c for c in required if _key(c) not in in_file]
    if missing:
        raise ParseError(f"{name}: missing column(s) {missing}")
    found = {c: in_file[_key(c)] for c, _ in spec if _key(c) in in_file}
    table = core.read_csv(text, [(found[c], kind) for c, kind in spec if c in found], 2)
    columns = {c: table.columns[h] for c, h in found.items() if h in table.columns}
    return CsvTable(table.rows, table.header, columns, table.row_flags)


def _constant(value: str, n: int) -> pd.Categorical:
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def _category(table: CsvTable, column: str, n: int) -> pd.Categorical:
    if column not in table:
        return _constant("", n)
    d = table.dictionary(column)
    return pd.Categorical.from_codes(d.codes, categories=d.categories)


def _f64(table: CsvTable, column: str, n: int) -> np.ndarray:
    return table.array(column) if column in table else np.full(n, np.nan)


def _unit_codes(units: pd.Categorical) -> np.ndarray:
    return per_category(units, lambda t: UNIT_CODES.get(t.strip().lower(), -1), np.int32)


def _site_code(state: np.ndarray, county: np.ndarray, site: np.ndarray) -> np.ndarray:
    ok = (state >= 0) & (state < 100) & (county >= 0) & (county < 1000) & (site >= 0) & (site < 10000)
    return np.where(ok, state * 10_000_000 + county * 10_000 + site, -1).astype(np.int64)


def _finish(
    columns: dict[str, object], site_code: np.ndarray, units: pd.Categorical, row_flags: np.ndarray
) -> pd.DataFrame:
    out = pd.DataFrame(columns, copy=False)  # no consolidation copy of the C++ arrays
    out["site_code"] = site_code
    # Format each distinct site once (a file has a few hundred sites and up to millions of rows).
    uniq, inverse = np.unique(site_code, return_inverse=True)
    labels = [f"{c:09d}" if c >= 0 else f"<invalid {c}>" for c in uniq]
    out["site_id"] = pd.Categorical.from_codes(inverse.astype(np.int32), categories=labels)
    out["units"] = units
    out["unit_code"] = _unit_codes(units)
    days = out["day"].to_numpy()
    missing = days == core.MISSING_DAY
    out["date"] = pd.Series(
        (_EPOCH + np.where(missing, 0, days).astype("timedelta64[D]")).astype("datetime64[s]")
    ).where(~missing)
    out["row_flags"] = row_flags
    return out


def _from_download_tool(name: str, text: np.ndarray, header: list[str]) -> pd.DataFrame:
    value_cols = [c for c in header if re.fullmatch(r"daily.*concentration", normalize(c))]
    if len(value_cols) != 1:
        raise ParseError(f"{name}: expected one 'Daily ... Concentration' column, found {value_cols}")
    spec = [
        ("Date", DATE), ("Site ID", SITE), ("POC", I64), (value_cols[0], F64), ("Units", DICT),
        ("Daily AQI Value", F64), ("Daily Obs Count", F64), ("Percent Complete", F64), ("AQS Parameter Code", I64),
        ("Site Latitude", F64), ("Site Longitude", F64), ("Local Site Name", DICT), ("Source", DICT),
    ]  # fmt: skip
    d = _read(name, text, header, spec, ["POC", "Units", "AQS Parameter Code", "Site Latitude", "Site Longitude"])
    n, ok = d.rows, d.row_flags
    source = _category(d, "Source", n) if "Source" in d else _constant("AQS", n)
    columns: dict[str, object] = {
        "parameter": d.array("AQS Parameter Code").astype(np.int32),
        "poc": d.array("POC").astype(np.int32),
        "sample_duration": _constant("", n),
        "pollutant_standard": _constant("", n),
        "event_type": _constant("", n),
        "day": d.array("Date"),
        "hour": np.full(n, DAILY, dtype=np.int32),
        "value": d.array(value_cols[0]),
        "aqi_reported": _f64(d, "Daily AQI Value", n),
        "obs_count": _f64(d, "Daily Obs Count", n),
        "percent_complete": _f64(d, "Percent Complete", n),
        "latitude": d.array("Site Latitude"),
        "longitude": d.array("Site Longitude"),
        "site_name": _category(d, "Local Site Name", n),
        "data_source": source,
        "date_of_last_change": _constant("", n),
    }
    return _finish(columns, d.array("Site ID"), _category(d, "Units", n), ok)


_AIRDATA_COMMON = [
    ("State Code", I64), ("County Code", I64), ("Site Num", I64), ("Parameter Code", I64), ("POC", I64),
    ("Latitude", F64), ("Longitude", F64), ("Date Local", DATE), ("Units of Measure", DICT),
    ("Date of Last Change", DICT),
]  # fmt: skip
_AIRDATA_REQUIRED = ["State Code", "County Code", "Site Num", "Parameter Code", "POC", "Units of Measure", "Date Local"]


def _from_airdata_daily(name: str, text: np.ndarray, header: list[str]) -> pd.DataFrame:
    spec = [
        *_AIRDATA_COMMON, ("Sample Duration", DICT), ("Pollutant Standard", DICT), ("Event Type", DICT),
        ("Observation Count", F64), ("Observation Percent", F64), ("Arithmetic Mean", F64), ("1st Max Value", F64),
        ("AQI", F64), ("Local Site Name", DICT),
    ]  # fmt: skip
    d = _read(name, text, header, spec, [*_AIRDATA_REQUIRED, "1st Max Value", "Arithmetic Mean"])
    n, ok = d.rows, d.row_flags
    parameter = d.array("Parameter Code").astype(np.int32)
    # For ozone the daily summary's 1st Max Value of the 8-hour running average is the MDA8;
    # for PM2.5 the daily value is the arithmetic mean.
    value = np.where(parameter == 44201, d.array("1st Max Value"), d.array("Arithmetic Mean"))
    columns: dict[str, object] = {
        "parameter": parameter,
        "poc": d.array("POC").astype(np.int32),
        "sample_duration": _category(d, "Sample Duration", n),
        "pollutant_standard": _category(d, "Pollutant Standard", n),
        "event_type": _category(d, "Event Type", n),
        "day": d.array("Date Local"),
        "hour": np.full(n, DAILY, dtype=np.int32),
        "value": value,
        "aqi_reported": _f64(d, "AQI", n),
        "obs_count": _f64(d, "Observation Count", n),
        "percent_complete": _f64(d, "Observation Percent", n),
        "latitude": _f64(d, "Latitude", n),
        "longitude": _f64(d, "Longitude", n),
        "site_name": _category(d, "Local Site Name", n),
        "data_source": _constant("AQS", n),
        "date_of_last_change": _category(d, "Date of Last Change", n),
    }
    site = _site_code(d.array("State Code"), d.array("County Code"), d.array("Site Num"))
    return _finish(columns, site, _category(d, "Units of Measure", n), ok)


def _from_airdata_hourly(name: str, text: np.ndarray, header: list[str]) -> pd.DataFrame:
    spec = [*_AIRDATA_COMMON, ("Time Local", HOUR), ("Sample Measurement", F64)]
    d = _read(name, text, header, spec, [*_AIRDATA_REQUIRED, "Time Local", "Sample Measurement"])
    n, ok = d.rows, d.row_flags
    columns: dict[str, object] = {
        "parameter": d.array("Parameter Code").astype(np.int32),
        "poc": d.array("POC").astype(np.int32),
        "sample_duration": _constant("1 HOUR", n),
        "pollutant_standard": _constant("", n),
        "event_type": _constant("", n),
        "day": d.array("Date Local"),
        "hour": d.array("Time Local"),
        "value": d.array("Sample Measurement"),
        "aqi_reported": np.full(n, np.nan),
        "obs_count": np.ones(n),
        "percent_complete": np.full(n, np.nan),
        "latitude": _f64(d, "Latitude", n),
        "longitude": _f64(d, "Longitude", n),
        "site_name": _constant("", n),
        "data_source": _constant("AQS", n),
        "date_of_last_change": _category(d, "Date of Last Change", n),
    }
    site = _site_code(d.array("State Code"), d.array("County Code"), d.array("Site Num"))
    return _finish(columns, site, _category(d, "Units of Measure", n), ok)


AQS_DAILY_FIELDS = (
    "state_code",
    "county_code",
    "site_number",
    "parameter_code",
    "poc",
    "date_local",
    "units_of_measure",
)


def parse_aqs_daily(rows: list[dict[str, object]], *, raw_key: str) -> pd.DataFrame:
    """Normalized observations from the records of an AQS API dailyData response."""
    if not rows:
        return pd.DataFrame(columns=list(_EMPTY_COLUMNS))
    raw = pd.DataFrame.from_records(rows)
    missing = [f for f in AQS_DAILY_FIELDS if f not in raw.columns]
    if missing:
        raise ParseError(f"{raw_key}: dailyData records lack field(s) {missing}")
    n = len(raw)

    def text(column: str) -> pd.Categorical:
        values = raw[column].astype("string").fillna("") if column in raw.columns else pd.Series([""] * n)
        return pd.Categorical(values.astype(str))

    def number(column: str) -> np.ndarray:
        if column not in raw.columns:
            return np.full(n, np.nan)
        return pd.to_numeric(raw[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)

    def integer(column: str) -> np.ndarray:
        return np.nan_to_num(number(column), nan=-1).astype(np.int64)

    parameter = integer("parameter_code").astype(np.int32)
    value = np.where(parameter == 44201, number("first_max_value"), number("arithmetic_mean"))
    days = pd.to_datetime(raw["date_local"], format="%Y-%m-%d", errors="coerce")
    source_value = raw["first_max_value" if "first_max_value" in raw.columns else "arithmetic_mean"]
    source_value = source_value.where(parameter == 44201, raw.get("arithmetic_mean", source_value))
    unparseable = (source_value.notna().to_numpy() & np.isnan(value)) | (
        raw["date_local"].notna() & days.isna()
    ).to_numpy()
    day = (days.to_numpy(dtype="datetime64[D]") - _EPOCH).astype(np.int64)
    day[days.isna().to_numpy()] = core.MISSING_DAY
    columns: dict[str, object] = {
        "parameter": parameter,
        "poc": integer("poc").astype(np.int32),
        "sample_duration": text("sample_duration"),
        "pollutant_standard": text("pollutant_standard"),
        "event_type": text("event_type"),
        "day": day.astype(np.int32),
        "hour": np.full(n, DAILY, dtype=np.int32),
        "value": value,
        "aqi_reported": number("aqi"),
        "obs_count": number("observation_count"),
        "percent_complete": number("observation_percent"),
        "latitude": number("latitude"),
        "longitude": number("longitude"),
        "site_name": text("local_site_name"),
        "data_source": _constant("AQS", n),
        "date_of_last_change": text("date_of_last_change"),
    }
    site = _site_code(integer("state_code"), integer("county_code"), integer("site_number"))
    out = _finish(columns, site, text("units_of_measure"), np.where(unparseable, 2, 0).astype(np.uint8))
    out["raw_key"] = _constant(raw_key, n)
    out["raw_row"] = np.arange(1, n + 1, dtype=np.int64)
    return out


def parse_aqs_sample(rows: list[dict[str, object]], *, raw_key: str) -> pd.DataFrame:
    """Normalized hourly observations from the records of an AQS API sampleData response (local time)."""
    if not rows:
        return pd.DataFrame(columns=list(_EMPTY_COLUMNS))
    hourly = []
    for r in rows:
        time_local = str(r.get("time_local") or "")
        measured = r.get("sample_measurement")
        hour = int(time_local[:2]) if time_local[:2].isdigit() else -1
        hourly.append({**r, "arithmetic_mean": measured, "first_max_value": measured, "_hour": hour})
    out = parse_aqs_daily(hourly, raw_key=raw_key)
    out["hour"] = np.array([h["_hour"] for h in hourly], dtype=np.int32)
    out["obs_count"] = 1.0
    return out


_EMPTY_COLUMNS = (
    "parameter", "poc", "sample_duration", "pollutant_standard", "event_type", "day", "hour", "value", "aqi_reported",
    "obs_count", "percent_complete", "latitude", "longitude", "site_name", "data_source", "date_of_last_change",
    "site_code", "site_id", "units", "unit_code", "date", "row_flags", "raw_key", "raw_row",
)  # fmt: skip


# AirNow parameter names -> (AQS parameter, AQS units, factor from AirNow's units, sample duration).
AIRNOW_PARAMETERS: dict[str, tuple[int, str, float, str]] = {
    "OZONE": (44201, "ppm", 0.001, "1 HOUR"),
    "OZONE-8HR": (44201, "ppm", 0.001, "8-HR RUN AVG BEGIN HOUR"),
    "OZONE-1HR": (44201, "ppm", 0.001, "1 HOUR"),
    "PM2.5": (88502, "ug/m3 LC", 1.0, "1 HOUR"),
    "PM2.5-24HR": (88502, "ug/m3 LC", 1.0, "24 HOUR"),
    "PM10": (81102, "ug/m3 LC", 1.0, "1 HOUR"),
    "PM10-24HR": (81102, "ug/m3 LC", 1.0, "24 HOUR"),
    "CO": (42101, "ppm", 1.0, "1 HOUR"),
    "CO-8HR": (42101, "ppm", 1.0, "8-HR RUN AVG END HOUR"),
    "NO2": (42602, "ppb", 1.0, "1 HOUR"),
    "SO2": (42401, "ppb", 1.0, "1 HOUR"),
    "SO2-24HR": (42401, "ppb", 1.0, "24 HOUR"),
}


def _airnow_frame(
    site: list[str], country_ok: np.ndarray, names: list[str], values: np.ndarray, days: np.ndarray,
    hours: np.ndarray, lat: np.ndarray, lon: np.ndarray, site_names: list[str], raw_key: str,
    missing_text: np.ndarray,
) -> pd.DataFrame:  # fmt: skip
    n = len(site)
    spec = [AIRNOW_PARAMETERS.get(str(p).upper(), (-1, "", np.nan, "")) for p in names]
    parameter = np.array([s[0] for s in spec], dtype=np.int32)
    factor = np.array([s[2] for s in spec], dtype=np.float64)
    value = np.where(values <= -999, np.nan, values) * factor  # -999 is AirNow's missing value
    code = np.array([int(s) if len(s) == 9 and s.isdigit() else -1 for s in site], dtype=np.int64)
    code = np.where(country_ok, code, OUT_OF_SCOPE)  # Canadian and Mexican ids are not AQS sites
    columns: dict[str, object] = {
        "parameter": parameter,
        "poc": np.zeros(n, dtype=np.int32),  # AirNow gives no POC
        "sample_duration": pd.Categorical([s[3] for s in spec]),
        "pollutant_standard": _constant("", n),
        "event_type": _constant("", n),
        "day": days.astype(np.int32),
        "hour": hours.astype(np.int32),
        "value": value,
        "aqi_reported": np.full(n, np.nan),
        "obs_count": np.full(n, np.nan),
        "percent_complete": np.full(n, np.nan),
        "latitude": lat,
        "longitude": lon,
        "site_name": pd.Categorical(site_names),
        "data_source": _constant("AirNow", n),
        "date_of_last_change": _constant("", n),
    }
    flags = np.where(np.isnan(values) & ~missing_text, 2, 0).astype(np.uint8)
    out = _finish(columns, code, pd.Categorical([s[1] for s in spec]), flags)
    out["raw_key"] = _constant(raw_key, n)
    out["raw_row"] = np.arange(1, n + 1, dtype=np.int64)
    return out


def parse_airnow_data(rows: list[dict[str, object]], *, raw_key: str) -> pd.DataFrame:
    """Normalized hourly observations from AirNow ``/aq/data/`` records (local standard time)."""
    if not rows:
        return pd.DataFrame(columns=list(_EMPTY_COLUMNS))
    raw = pd.DataFrame.from_records(rows)
    utc = pd.to_datetime(raw["UTC"], format="%Y-%m-%dT%H:%M", errors="coerce")
    # AQS days are local standard time; AirNow's records carry UTC hours and no offset. The offset is
    # taken from the longitude (15 degrees an hour), right for most US sites (docs/core.md).
    lon = pd.to_numeric(raw["Longitude"], errors="coerce").fillna(0.0)
    local = utc + pd.to_timedelta(np.round(lon.to_numpy() / 15.0), unit="h")
    day = (local.dt.floor("D").to_numpy(dtype="datetime64[D]") - _EPOCH).astype(np.int64)
    day[utc.isna().to_numpy()] = core.MISSING_DAY
    intl = raw.get("IntlAQSCode", pd.Series([""] * len(raw))).astype(str)
    return _airnow_frame(
        raw["FullAQSCode"].astype(str).str.zfill(9).tolist(),
        (intl.str.startswith("840") | (intl == "")).to_numpy(),
        raw["Parameter"].astype(str).tolist(),
        pd.to_numeric(raw["Value"], errors="coerce").to_numpy(dtype=np.float64),
        day,
        local.dt.hour.fillna(-1).to_numpy(),
        pd.to_numeric(raw["Latitude"], errors="coerce").to_numpy(dtype=np.float64),
        pd.to_numeric(raw["Longitude"], errors="coerce").to_numpy(dtype=np.float64),
        raw.get("SiteName", pd.Series([""] * len(raw))).astype(str).tolist(),
        raw_key,
        raw["Value"].isna().to_numpy(),
    )


def parse_airnow_peak(
    name: str, data: Buffer, *, raw_key: str | None = None, limits: ArchiveLimits = DEFAULT_LIMITS
) -> pd.DataFrame:
    """Normalized daily observations from an AirNow daily peak file (``YYYYMMDD-peak.dat``, v1 or v2)."""
    text = bytes(decompress(name, data, limits)).decode("latin-1")
    raw = pd.read_csv(io.StringIO(text), sep="|", header=None, dtype=str, keep_default_na=False, quoting=3)
    if raw.shape[1] not in (8, 13):
        raise ParseError(f"{name}: expected 8 (v1) or 13 (v2) '|' fields per line, found {raw.shape[1]}")
    dates = pd.to_datetime(raw[0], format="%m/%d/%y", errors="coerce")
    day = (dates.to_numpy(dtype="datetime64[D]") - _EPOCH).astype(np.int64)
    day[dates.isna().to_numpy()] = core.MISSING_DAY
    site = raw[1].str.strip()
    us = ~site.str.startswith("000") & ~site.str.startswith("80") & ~site.str.fullmatch(r"\d{9}").eq(False)
    n = len(raw)
    lat = pd.to_numeric(raw[10], errors="coerce").to_numpy(np.float64) if raw.shape[1] == 13 else np.full(n, np.nan)
    lon = pd.to_numeric(raw[11], errors="coerce").to_numpy(np.float64) if raw.shape[1] == 13 else np.full(n, np.nan)
    return _airnow_frame(
        site.tolist(), us.to_numpy(), raw[3].str.strip().tolist(),
        pd.to_numeric(raw[5], errors="coerce").to_numpy(dtype=np.float64), day, np.full(n, DAILY), lat, lon,
        raw[2].str.strip().tolist(), raw_key or name, raw[5].str.strip().isin(["", "."]).to_numpy(),
    )  # fmt: skip
