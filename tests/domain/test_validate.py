from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airwatch.domain import validate as rules
from airwatch.domain.parse import concat_observations
from airwatch.domain.schemas import PayloadKind
from airwatch.domain.validate import QuarantineThresholdError, enforce_threshold, validate_observations
from tests.frames import assert_same_frame


def test_good_plus_quarantined_equals_input(sample_observations) -> None:
    frame = sample_observations.copy()
    frame.loc[0, "value"] = np.nan
    frame.loc[1, "value"] = 5000.0
    frame.loc[4, "value"] = -50.0  # a little below zero is plausible near detection limits; this is not
    frame.loc[2, "site_code"] = -1
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)  # a duplicate key
    result = validate_observations(frame, max_day=20_000)
    assert len(result.valid) + len(result.quarantined) == len(frame)
    reasons = dict(zip(result.quarantined["raw_row"], result.quarantined["reasons"], strict=False))
    assert reasons[frame.loc[0, "raw_row"]] == "missing_value"
    assert result.reason_counts()["value_out_of_range"] == 2
    assert reasons[frame.loc[4, "raw_row"]] == "value_out_of_range"
    assert result.reason_counts()["bad_site_id"] == 1
    assert result.reason_counts()["duplicate_key"] == 1


def test_future_dates_are_bad(sample_observations) -> None:
    result = validate_observations(sample_observations.head(100), max_day=0)
    assert len(result.valid) == 0
    assert set(result.quarantined["reasons"]) == {"bad_date"}


def test_threshold_fails_loudly(sample_observations) -> None:
    result = validate_observations(sample_observations.head(100), max_day=0)
    with pytest.raises(QuarantineThresholdError, match=r"100\.0%"):
        enforce_threshold(result, 0.05, source="test")


AIRDATA_HEADER = (
    '"State Code","County Code","Site Num","Parameter Code","POC","Latitude","Longitude","Datum","Parameter Name",'
    '"Sample Duration","Pollutant Standard","Date Local","Units of Measure","Event Type","Observation Count",'
    '"Observation Percent","Arithmetic Mean","1st Max Value","1st Max Hour","AQI","Method Code","Method Name",'
    '"Local Site Name","Address","State Name","County Name","City Name","CBSA Name","Date of Last Change"'
)


def airdata_daily(rows: list[tuple[str, str, float, str]]) -> bytes:
    """An AirData daily PM2.5 file of (site number, day, value, date of last change) rows."""
    lines = [AIRDATA_HEADER] + [
        f'"17","031","{site}","88502",3,41.9,-87.7,"WGS84","PM2.5","24-HR BLK AVG","","{day}",'
        f'"Micrograms/cubic meter (LC)","None",1,100.0,{value},{value},0,"","731","m","n","a","IL","Cook","Chicago",'
        f'"Chicago","{changed}"'
        for site, day, value, changed in rows
    ]
    return ("\n".join(lines) + "\n").encode()


def test_the_newest_revision_wins_whatever_order_the_files_list_their_change_dates() -> None:
    """Two downloads list the same dates of last change in the same order; a row revised in the later one wins."""
    older = airdata_daily([("0001", "2019-07-01", 10.0, "2024-05-20"), ("0002", "2019-07-01", 11.0, "2023-01-01"),
                           ("0003", "2019-07-01", 12.0, "2023-01-01")])  # fmt: skip
    newer = airdata_daily([("0001", "2019-07-01", 10.0, "2024-05-20"), ("0002", "2019-07-01", 11.0, "2023-01-01"),
                           ("0003", "2019-07-01", 99.0, "2024-05-20")])  # fmt: skip
    parsed, rejected = rules.parse_payloads(
        [
            (PayloadKind.FILE, "raw/a/daily_88502_2019.csv", older),
            (PayloadKind.FILE, "raw/b/daily_88502_2019.csv", newer),
        ]
    )
    assert not rejected
    revised = rules.resolve_revisions(parsed)
    current = revised.current.set_index("site_id")["value"]
    assert current["170310003"] == 99.0 and len(revised.current) == 3
    old = revised.superseded.set_index("site_id").loc["170310003"]
    assert old["value"] == 12.0 and old["superseded_by"] == "raw/b/daily_88502_2019.csv"


def _resolve_by_grouping_every_row(observations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """resolve_revisions as it was before it narrowed the grouping to keys held by several objects."""
    observations = observations.reset_index(drop=True)
    columns = [*rules.KEY_COLUMNS, "date_of_last_change", "raw_key"]
    order = observations[columns].sort_values(columns, ascending=[*([True] * len(rules.KEY_COLUMNS)), False, False])
    winner = order.groupby(rules.KEY_COLUMNS, sort=False, dropna=False)["raw_key"].transform("first").sort_index()
    superseded = (observations["raw_key"] != winner).to_numpy()
    old = observations.loc[superseded].assign(superseded_by=winner[superseded])
    return observations.loc[~superseded].reset_index(drop=True), old.reset_index(drop=True)


@pytest.mark.parametrize("seed", range(6))
def test_revisions_found_on_keys_held_by_several_objects_equal_grouping_every_row(seed: int) -> None:
    """Random observations in the parsed columns' types: keys shared by objects or not, repeated within
    one object, missing key parts, tied dates of last change."""
    rng = np.random.default_rng(seed)
    n = 3000
    cat = lambda values: pd.Categorical(rng.choice(values, n))  # noqa: E731
    frame = pd.DataFrame({
        "site_id": cat(["060370002", "170310001", "360810124"]),
        "parameter": rng.choice([44201, 88101], n).astype(np.int32),
        "poc": rng.integers(1, 3, n).astype(np.int32),
        "sample_duration": cat(["1 HOUR", "24 HOUR"]),
        "pollutant_standard": cat(["PM25 24-hour 2012", "Ozone 8-hour 2015"]),
        "event_type": pd.Categorical(rng.choice(["None", "Included", None], n)),
        "day": rng.integers(18000, 18000 + (20 if seed % 2 else 400), n).astype(np.int32),
        "hour": rng.integers(-1, 2, n).astype(np.int32),
        "date_of_last_change": cat(["2023-01-01", "2024-05-20", "2024-06-30"]),
        "raw_key": cat([f"raw/epa-daily/{k}.csv" for k in "abcd"] if seed else ["raw/epa-daily/a.csv"]),
        "value": rng.random(n),
    })  # fmt: skip
    revised = rules.resolve_revisions(frame)
    current, superseded = _resolve_by_grouping_every_row(frame)
    assert_same_frame(revised.current, current)
    assert_same_frame(revised.superseded, superseded)
    if seed:
        assert len(superseded)  # the data did exercise revisions


def _held_bytes(frame: pd.DataFrame) -> int:
    """Bytes of the arrays a frame's columns are views of (an empty view of a big frame holds all of it)."""
    total = 0
    for column in frame.columns:
        series = frame[column]
        array = series.cat.codes.to_numpy() if isinstance(series.dtype, pd.CategoricalDtype) else series.to_numpy()
        while isinstance(array.base, np.ndarray):
            array = array.base
        total += array.nbytes
    return total


def test_empty_results_hold_none_of_the_input(sample_observations) -> None:
    """No superseded or quarantined rows must not keep the parsed table alive beside the valid rows."""
    valid = validate_observations(sample_observations, max_day=40_000).valid  # the sample's good rows
    assert len(valid) > 10_000 and _held_bytes(valid) > 1_000_000
    result = validate_observations(valid, max_day=40_000)
    assert result.quarantined.empty and _held_bytes(result.quarantined) == 0
    revised = rules.resolve_revisions(valid)  # one raw object per key: nothing superseded
    assert revised.superseded.empty and _held_bytes(revised.superseded) == 0


def test_clean_handed_the_parsed_rows_splits_them_without_holding_them_twice(sample_observations) -> None:
    """consume=True gives clean's result and leaves the parsed frame without columns (its arrays can go)."""
    frame = concat_observations([sample_observations])  # as parsed: text categorical
    frame.loc[0, "value"] = np.nan  # a quarantined row
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)  # a duplicate key
    expected = rules.clean(frame.copy(), pd.DataFrame(columns=["site_id", "latitude", "longitude"]), max_day=20_000)
    handed = frame.copy()
    got = rules.clean(handed, pd.DataFrame(columns=["site_id", "latitude", "longitude"]), max_day=20_000, consume=True)
    assert_same_frame(got.result.valid, expected.result.valid)
    assert_same_frame(got.result.quarantined, expected.result.quarantined)
    assert len(handed.columns) == 0 and len(got.result.quarantined) == 2  # emptied: its arrays can go
