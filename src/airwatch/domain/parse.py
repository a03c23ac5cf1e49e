"""Parse EPA daily files into normalized observations.

Two layouts are recognised from their header: the AirData "Download Daily Data" tool export
(``Date``, ``Site ID`` or ``AQS_SITE_ID``, ``Daily Mean PM2.5 Concentration`` ...) and the AirData
pre-generated daily summary files (``State Code``, ``Date Local``, ``Arithmetic Mean`` ...). Every row
becomes one normalized row; values that cannot be parsed become missing and are caught by validation,
so no row is dropped here.
"""

from __future__ import annotations

import gzip
import io
import re

import numpy as np
import pandas as pd

from airwatch import _core


class ParseError(ValueError):
    """A file is not an EPA daily layout this parser knows; the message names the file."""


UNIT_CODES = {
    "ug/m3 lc": 0,
    "ug/m3 sc": 0,
    "micrograms/cubic meter (lc)": 0,
    "micrograms/cubic meter (25 c)": 0,
    "ppm": 1,
    "parts per million": 1,
    "ppb": 2,
    "parts per billion": 2,
}

_EPOCH = np.datetime64("1970-01-01", "D")


def decompress(name: str, data: bytes) -> bytes:
    """The bytes of a file, gunzipped when its name or magic says gzip."""
    if name.endswith(".gz") or data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    return data


def parse_daily_file(name: str, data: bytes, *, raw_key: str | None = None) -> pd.DataFrame:
    """Normalized observations from one EPA daily CSV (gzipped or not)."""
    text = decompress(name, data)
    try:
        raw = pd.read_csv(io.BytesIO(text), dtype=str, keep_default_na=False, na_values=[], engine="c")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ParseError(f"{name}: not a readable CSV file: {exc}") from None
    columns = set(raw.columns)
    if "Date Local" in columns and "Arithmetic Mean" in columns:
        frame = _from_airdata(name, raw)
    elif "Date" in columns and ({"Site ID", "AQS_SITE_ID"} & columns):
        frame = _from_download_tool(name, raw)
    else:
        raise ParseError(
            f"{name}: unknown layout; expected an AirData daily summary or a download-tool export, "
            f"got columns {sorted(columns)[:8]}..."
        )
    frame["raw_key"] = raw_key or name
    frame["raw_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame


def _require(name: str, raw: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise ParseError(f"{name}: missing column(s) {missing}")


def _numbers(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.str.strip(), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _ints(series: pd.Series, missing: int = -1) -> np.ndarray:
    values = pd.to_numeric(series.str.strip(), errors="coerce")
    return values.fillna(missing).to_numpy(dtype=np.int64)


def _days(series: pd.Series, fmt: str) -> np.ndarray:
    dates = pd.to_datetime(series.str.strip(), format=fmt, errors="coerce")
    days = (dates.to_numpy(dtype="datetime64[D]") - _EPOCH).astype(np.int64)
    days[dates.isna().to_numpy()] = _core.MISSING_DAY
    return days.astype(np.int32)


def _site_codes(site_ids: pd.Series) -> tuple[pd.Series, np.ndarray]:
    cleaned = site_ids.str.replace("-", "", regex=False).str.strip()
    ok = cleaned.str.fullmatch(r"\d{9}").fillna(False).to_numpy()
    codes = np.full(len(cleaned), -1, dtype=np.int64)
    codes[ok] = cleaned[ok].astype(np.int64).to_numpy()
    return cleaned, codes


def _unit_codes(units: pd.Series) -> np.ndarray:
    return units.str.strip().str.lower().map(UNIT_CODES).fillna(-1).to_numpy(dtype=np.int32)


def _finish(frame: dict[str, object], n: int, site_ids: pd.Series, units: pd.Series) -> pd.DataFrame:
    cleaned, codes = _site_codes(site_ids)
    frame["site_id"] = cleaned.to_numpy()
    frame["site_code"] = codes
    frame["units"] = units.to_numpy()
    frame["unit_code"] = _unit_codes(units)
    out = pd.DataFrame(frame)
    days = out["day"].to_numpy()
    dates = (_EPOCH + np.where(days == _core.MISSING_DAY, 0, days).astype("timedelta64[D]")).astype("datetime64[s]")
    out["date"] = pd.Series(dates).where(days != _core.MISSING_DAY)
    return out


def _from_download_tool(name: str, raw: pd.DataFrame) -> pd.DataFrame:
    value_cols = [c for c in raw.columns if re.match(r"Daily .*Concentration", c)]
    if len(value_cols) != 1:
        raise ParseError(f"{name}: expected one 'Daily ... Concentration' column, found {value_cols}")
    site_col = "Site ID" if "Site ID" in raw.columns else "AQS_SITE_ID"
    _require(name, raw, ["POC", "UNITS", "AQS_PARAMETER_CODE", "SITE_LATITUDE", "SITE_LONGITUDE"])
    n = len(raw)
    empty = pd.Series([""] * n, dtype=str)
    frame: dict[str, object] = {
        "parameter": _ints(raw["AQS_PARAMETER_CODE"]).astype(np.int32),
        "poc": _ints(raw["POC"]).astype(np.int32),
        "sample_duration": empty.to_numpy(),
        "pollutant_standard": empty.to_numpy(),
        "event_type": empty.to_numpy(),
        "day": _days(raw["Date"], "%m/%d/%Y"),
        "value": _numbers(raw[value_cols[0]]),
        "aqi_reported": _numbers(raw.get("DAILY_AQI_VALUE", empty)),
        "obs_count": _numbers(raw.get("DAILY_OBS_COUNT", empty)),
        "percent_complete": _numbers(raw.get("PERCENT_COMPLETE", empty)),
        "latitude": _numbers(raw["SITE_LATITUDE"]),
        "longitude": _numbers(raw["SITE_LONGITUDE"]),
        "site_name": raw.get("Site Name", empty).to_numpy(),
        "data_source": raw.get("Source", pd.Series(["AQS"] * n, dtype=str)).to_numpy(),
        "date_of_last_change": empty.to_numpy(),
    }
    return _finish(frame, n, raw[site_col], raw["UNITS"])


def _from_airdata(name: str, raw: pd.DataFrame) -> pd.DataFrame:
    _require(
        name,
        raw,
        [
            "State Code",
            "County Code",
            "Site Num",
            "Parameter Code",
            "POC",
            "Units of Measure",
            "1st Max Value",
        ],
    )
    n = len(raw)
    empty = pd.Series([""] * n, dtype=str)
    parameter = _ints(raw["Parameter Code"]).astype(np.int32)
    # For ozone the daily summary's 1st Max Value of the 8-hour running average is the MDA8;
    # for PM2.5 the daily value is the arithmetic mean.
    value = np.where(parameter == 44201, _numbers(raw["1st Max Value"]), _numbers(raw["Arithmetic Mean"]))
    site_ids = raw["State Code"].str.zfill(2) + raw["County Code"].str.zfill(3) + raw["Site Num"].str.zfill(4)
    frame: dict[str, object] = {
        "parameter": parameter,
        "poc": _ints(raw["POC"]).astype(np.int32),
        "sample_duration": raw.get("Sample Duration", empty).to_numpy(),
        "pollutant_standard": raw.get("Pollutant Standard", empty).to_numpy(),
        "event_type": raw.get("Event Type", empty).to_numpy(),
        "day": _days(raw["Date Local"], "%Y-%m-%d"),
        "value": value,
        "aqi_reported": _numbers(raw.get("AQI", empty)),
        "obs_count": _numbers(raw.get("Observation Count", empty)),
        "percent_complete": _numbers(raw.get("Observation Percent", empty)),
        "latitude": _numbers(raw.get("Latitude", empty)),
        "longitude": _numbers(raw.get("Longitude", empty)),
        "site_name": raw.get("Local Site Name", empty).to_numpy(),
        "data_source": np.array(["AQS"] * n, dtype=object),
        "date_of_last_change": raw.get("Date of Last Change", empty).to_numpy(),
    }
    return _finish(frame, n, site_ids, raw["Units of Measure"])


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
        return pd.DataFrame(columns=[*_EMPTY_COLUMNS])
    raw = pd.DataFrame.from_records(rows)
    missing = [f for f in AQS_DAILY_FIELDS if f not in raw.columns]
    if missing:
        raise ParseError(f"{raw_key}: dailyData records lack field(s) {missing}")
    n = len(raw)

    def text(column: str) -> pd.Series:
        if column not in raw.columns:
            return pd.Series([""] * n, dtype=str)
        return raw[column].astype("string").fillna("").astype(str)

    def number(column: str) -> np.ndarray:
        if column not in raw.columns:
            return np.full(n, np.nan)
        return pd.to_numeric(raw[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)

    parameter = _ints(text("parameter_code")).astype(np.int32)
    value = np.where(parameter == 44201, number("first_max_value"), number("arithmetic_mean"))
    site_ids = text("state_code").str.zfill(2) + text("county_code").str.zfill(3) + text("site_number").str.zfill(4)
    frame: dict[str, object] = {
        "parameter": parameter,
        "poc": _ints(text("poc")).astype(np.int32),
        "sample_duration": text("sample_duration").to_numpy(),
        "pollutant_standard": text("pollutant_standard").to_numpy(),
        "event_type": text("event_type").to_numpy(),
        "day": _days(text("date_local"), "%Y-%m-%d"),
        "value": value,
        "aqi_reported": number("aqi"),
        "obs_count": number("observation_count"),
        "percent_complete": number("observation_percent"),
        "latitude": number("latitude"),
        "longitude": number("longitude"),
        "site_name": text("local_site_name").to_numpy(),
        "data_source": np.array(["AQS"] * n, dtype=object),
        "date_of_last_change": text("date_of_last_change").to_numpy(),
    }
    out = _finish(frame, n, site_ids, text("units_of_measure"))
    out["raw_key"] = raw_key
    out["raw_row"] = np.arange(1, n + 1, dtype=np.int64)
    return out


_EMPTY_COLUMNS = (
    "parameter", "poc", "sample_duration", "pollutant_standard", "event_type", "day", "value", "aqi_reported",
    "obs_count", "percent_complete", "latitude", "longitude", "site_name", "data_source", "date_of_last_change",
    "site_id", "site_code", "units", "unit_code", "date", "raw_key", "raw_row",
)  # fmt: skip
