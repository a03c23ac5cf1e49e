"""Names shared by every stage: pollutants, their AQS parameters and the normalized columns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from airwatch.errors import InputError

HORIZONS = (1, 2, 3)  # the days after the issue day that are forecast


@dataclass(frozen=True)
class PollutantSpec:
    """A forecast target and how to get one value per site and day from AQS parameters."""

    name: str
    label: str
    parameters: tuple[int, ...]  # in order of preference when a site reports several
    units: str
    daily_statistic: str


POLLUTANTS: dict[str, PollutantSpec] = {
    "pm25": PollutantSpec("pm25", "PM2.5", (88101, 88502), "ug/m3", "24-hour mean"),
    "ozone": PollutantSpec("ozone", "Ozone", (44201,), "ppm", "daily maximum 8-hour average (MDA8)"),
}

# Columns of the normalized observations dataset (processed/observations).
OBSERVATION_COLUMNS: tuple[str, ...] = (
    "site_id",  # SSCCCNNNN, state + county + site number
    "site_code",  # the same as an integer, -1 when unparseable
    "parameter",
    "poc",
    "sample_duration",
    "pollutant_standard",
    "event_type",  # AQS exceptional-event handling: None, Included, Excluded
    "date",
    "day",  # days since 1970-01-01 (local standard time for AQS data)
    "hour",  # 0..23 for hourly values, -1 for daily values
    "value",
    "units",
    "unit_code",
    "aqi_reported",
    "obs_count",
    "percent_complete",
    "latitude",
    "longitude",
    "site_name",
    "data_source",  # AQS or AirNow (download-tool exports substitute AirNow where AQS has no data)
    "date_of_last_change",
    "row_flags",  # parser flags: 1 wrong number of fields, 2 a field that did not parse
    "raw_key",  # the raw object the row came from
    "raw_row",  # its 1-based data row in that object
)


def pollutant_of(parameter: int) -> str | None:
    """The forecast pollutant an AQS parameter code measures, if any."""
    for spec in POLLUTANTS.values():
        if parameter in spec.parameters:
            return spec.name
    return None


class PayloadKind(StrEnum):
    """What a raw payload is, which decides how it is parsed."""

    FILE = "file"  # an EPA file: AirData, download-tool export or AirNow peak file, told by name and header
    AQS_DAILY = "aqs-daily"  # AQS Data API dailyData JSON
    AQS_SAMPLE = "aqs-sample"  # AQS Data API sampleData JSON (hourly)
    AIRNOW = "airnow"  # AirNow API /aq/data/ JSON (hourly)


def pollutants_to_run(requested: list[str] | None, present: dict[str, int]) -> tuple[list[str], list[str]]:
    """The pollutants to forecast, and those asked for (or known, by default) that have no observation."""
    wanted = list(requested or POLLUTANTS)
    unknown = [p for p in wanted if p not in POLLUTANTS]
    if unknown:
        raise InputError(f"unknown pollutant(s) {', '.join(unknown)}; known: {', '.join(POLLUTANTS)}")
    return [p for p in wanted if present.get(p)], [p for p in wanted if not present.get(p)]
