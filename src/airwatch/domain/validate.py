"""Validation: every normalized row is checked by the C++ rules and ends up valid or quarantined.

Good plus quarantined always equals the input: a quarantined row keeps all its columns plus the
reason codes of every rule it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from airwatch import core
from airwatch.domain.archives import DEFAULT_LIMITS, ArchiveError, ArchiveLimits, gunzip
from airwatch.domain.frames import split_rows
from airwatch.domain.parse import (
    ParseError,
    concat_observations,
    parse_airnow_data,
    parse_airnow_peak,
    parse_aqs_daily,
    parse_aqs_sample,
    parse_daily_file,
)
from airwatch.domain.schemas import POLLUTANTS, PayloadKind
from airwatch.domain.sites import fill_coordinates
from airwatch.errors import AirWatchError

REASONS: list[tuple[int, str]] = [(int(bit), str(code)) for bit, code in core.reason_codes()]


NOT_A_PROBLEM = frozenset({"out_of_scope", "missing_value"})


class QuarantineThresholdError(AirWatchError, RuntimeError):
    """Too large a share of the input was quarantined for the run to go on."""


@dataclass(frozen=True)
class ValidationResult:
    """The split of one input into valid and quarantined rows."""

    valid: pd.DataFrame
    quarantined: pd.DataFrame

    @property
    def quarantined_share(self) -> float:
        """Share of rows quarantined for a data problem.

        Rows that are only out of scope (non-AQS sites) or only missing their value (an empty field, a
        JSON null: AQS reports hours without a measurement) are kept in quarantine but do not count;
        text that does not parse does.
        """
        total = len(self.valid) + len(self.quarantined)
        if len(self.quarantined) == 0:
            return 0.0
        reasons = self.quarantined["reasons"].str.split(";")
        problems = int(reasons.map(lambda r: not set(r) <= NOT_A_PROBLEM).sum())
        return problems / total if total else 0.0

    def reason_counts(self) -> dict[str, int]:
        if self.quarantined.empty:
            return {}
        exploded = self.quarantined["reasons"].str.split(";").explode()
        return {str(k): int(v) for k, v in exploded.value_counts().sort_index().items()}


def reason_names(mask: int) -> str:
    """The reason codes of a bit mask, joined with ';'."""
    return ";".join(code for bit, code in REASONS if mask & bit)


def series_codes(observations: pd.DataFrame) -> np.ndarray:
    """One integer per distinct (sample duration, pollutant standard, event type, hour): part of the key."""
    columns = ["sample_duration", "pollutant_standard", "event_type", "hour"]
    return pd.factorize(_key_codes(observations, columns)[0])[0].astype(np.int32)


def validate_observations(observations: pd.DataFrame, *, max_day: int, consume: bool = False) -> ValidationResult:
    """Split observations into valid and quarantined rows (max_day: the newest acceptable date).

    consume: take each column out of observations as it is split (the frame is left without columns),
    so that the rows are never held twice: 16 M observations are about 1.7 GB.
    """
    series = series_codes(observations)
    o = observations
    masks = core.validate_observations(
        o["site_code"], o["parameter"], o["poc"], o["day"], series, o["unit_code"], o["value"],
        o["percent_complete"], o["latitude"], o["longitude"], max_day=max_day, row_flags=o["row_flags"],
    )  # fmt: skip
    bad = masks != 0
    if not bad.any():
        return ValidationResult(observations.reset_index(drop=True), _none_of(observations).assign(reasons=""))
    valid, quarantined = split_rows(observations, (~bad, bad), consume=consume)
    uniq, inverse = np.unique(masks[bad], return_inverse=True)
    names = np.array([reason_names(int(m)) for m in uniq], dtype=object)
    quarantined["reasons"] = names[inverse] if len(uniq) else pd.Series(dtype=object)
    return ValidationResult(valid, quarantined)


def enforce_threshold(result: ValidationResult, max_share: float, *, source: str) -> None:
    """Fail loudly when more than max_share of the rows was quarantined."""
    if result.quarantined_share > max_share:
        raise QuarantineThresholdError(
            f"{source}: {len(result.quarantined)} of {len(result.valid) + len(result.quarantined)} rows "
            f"({result.quarantined_share:.1%}) quarantined, above the limit of {max_share:.1%}; "
            f"reasons: {result.reason_counts()}"
        )


def enforce_file_threshold(quarantined: int, total: int, max_share: float) -> None:
    """Fail when more than max_share of the input files could not be read at all."""
    if total and quarantined / total > max_share:
        raise QuarantineThresholdError(
            f"{quarantined} of {total} input files ({quarantined / total:.0%}) could not be read, above the "
            f"limit of {max_share:.0%}; `airwatch quarantine list` shows why"
        )


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the core's day numbers)."""
    return (day - date(1970, 1, 1)).days


KEY_COLUMNS = ["site_id", "parameter", "poc", "sample_duration", "pollutant_standard", "event_type", "day", "hour"]


@dataclass(frozen=True)
class RevisionResult:
    """Observations with each key's newest revision kept and the older ones set aside."""

    current: pd.DataFrame
    superseded: pd.DataFrame


def resolve_revisions(observations: pd.DataFrame) -> RevisionResult:
    """Keep, per key, the row with the newest date of last change across raw objects.

    A row is superseded only by a row of another raw object (a later payload, or the same value
    fetched twice); rows repeating a key within one object stay for validation to flag as duplicates.
    Superseded rows keep their raw key and get the raw key of the row that replaced them.
    """
    if observations.empty:
        return RevisionResult(observations, observations.assign(superseded_by=pd.Series(dtype=str)))
    observations = observations.reset_index(drop=True)
    # Only the keys that more than one raw object holds can be revised: usually few rows (a year fetched
    # again), often none. They are found on one integer per key; only their rows are sorted and
    # grouped (grouping every row by the eight key columns cost more than the frame: 0.45 GB above
    # it at 4 M observations).
    rows = _keys_in_several_objects(observations)
    if not len(rows):
        none = _none_of(observations)
        return RevisionResult(observations, none.assign(superseded_by=none["raw_key"]))
    columns = [*KEY_COLUMNS, "date_of_last_change", "raw_key"]
    shared = observations.iloc[rows][columns]
    order = shared.sort_values(columns, ascending=[*([True] * len(KEY_COLUMNS)), False, False])
    winner_raw = order.groupby(KEY_COLUMNS, sort=False, dropna=False)["raw_key"].transform("first").sort_index()
    del order
    lost = (shared["raw_key"] != winner_raw).to_numpy()
    if not lost.any():
        return RevisionResult(observations, _none_of(observations).assign(superseded_by=winner_raw.iloc[:0].copy()))
    superseded = np.zeros(len(observations), dtype=bool)
    superseded[rows[lost]] = True
    current = observations.loc[~superseded]
    old = observations.loc[superseded].assign(superseded_by=winner_raw[lost])  # aligned on the row labels
    return RevisionResult(current.reset_index(drop=True), old.reset_index(drop=True))


def _none_of(frame: pd.DataFrame) -> pd.DataFrame:
    """No rows, in the frame's columns and types.

    A copy: frame.iloc[:0] is a view, which keeps every array of the frame alive for as long as it
    lives (the empty "superseded" rows held the whole parsed table, 1.6 GB at 16 M observations, while
    the valid rows were published).
    """
    return frame.iloc[:0].copy()


def _key_codes(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, int]:
    """One integer per row, equal where the columns' values are; and a bound above them, below 2**62.

    A missing value is a value. Each column's values are numbered on their own (a category's code, an
    integer's offset from the column's least) and combined arithmetically, without hashing: hashing
    16 M distinct keys took 9 s.
    """
    code, high = np.zeros(len(frame), dtype=np.int64), 1
    for column in columns:
        part, width = _value_codes(frame[column])
        if high * width >= 1 << 62:  # renumbered before the product could overflow
            code = pd.factorize(code)[0].astype(np.int64)
            high = int(code.max(initial=0)) + 1
        code, high = code * width + part, high * width
    return code, high


def _value_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """Codes in [0, width) equal where the values are (a missing value is a value); and width."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(dtype=np.int64) + 1, len(column.cat.categories) + 1  # missing: 0
    values = column.to_numpy()
    if np.issubdtype(values.dtype, np.integer) and len(values):  # no missing value; a day, an hour, a POC
        low, high = int(values.min()), int(values.max())
        if high - low < 1 << 31:
            return values.astype(np.int64) - low, high - low + 1
    codes = pd.factorize(column)[0].astype(np.int64) + 1  # -1 (missing) becomes 0
    return codes, int(codes.max(initial=0)) + 1


def _keys_in_several_objects(observations: pd.DataFrame) -> np.ndarray:
    """The positions of the rows whose key rows of another raw object also hold."""
    keys, high = _key_codes(observations, KEY_COLUMNS)
    objects, width = _value_codes(observations["raw_key"])
    if high * width >= 1 << 62:
        keys = pd.factorize(keys)[0].astype(np.int64)
    pairs = _distinct(keys * width + objects) // width  # the key of each (key, object) once, sorted
    shared = _distinct(pairs[1:][pairs[1:] == pairs[:-1]])
    if not len(shared):
        return np.empty(0, dtype=np.int64)
    at = np.minimum(np.searchsorted(shared, keys), len(shared) - 1)  # membership by binary search
    return np.flatnonzero(shared[at] == keys)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted.

    By sorting: numpy 2.4's np.unique hashes, 40 s for 16 M distinct integers against 0.4 s to sort.
    """
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


@dataclass(frozen=True)
class Rejected:
    """A whole payload that could not be read, and why."""

    key: str
    reason: str


def parse_payload(kind: PayloadKind, key: str, data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """Normalized observations of one raw payload (API JSON, AirNow peak file or EPA CSV)."""
    if kind == PayloadKind.FILE:
        if "-peak" in key.rsplit("/", 1)[-1]:
            return parse_airnow_peak(key, data, raw_key=key, limits=limits)
        return parse_daily_file(key, data, raw_key=key, limits=limits)
    payload = json.loads(gunzip(key, data, limits) if data[:2] == b"\x1f\x8b" else data)
    if kind == PayloadKind.AIRNOW:
        return parse_airnow_data(payload, raw_key=key)
    records = payload.get("Data") or []
    if kind == PayloadKind.AQS_SAMPLE:
        return parse_aqs_sample(records, raw_key=key)
    return parse_aqs_daily(records, raw_key=key)


def parse_payloads(
    payloads: Iterable[tuple[PayloadKind, str, bytes]], limits: ArchiveLimits = DEFAULT_LIMITS
) -> tuple[pd.DataFrame, list[Rejected]]:
    """Observations of every payload that can be read, and the payloads that cannot, with the reason.

    A payload that is not an EPA layout, is damaged, is not text at all, or is an archive that is
    hostile (a bomb past the limits, unsafe member paths, nesting) is rejected as a whole; the others
    go on, so one bad file never blocks the rest.
    """
    frames, rejected = [], []
    for kind, key, data in payloads:
        try:
            frame = parse_payload(kind, key, data, limits)
        except MemoryError:
            raise
        except Exception as exc:  # any failure to read a payload is that payload's problem
            rejected.append(Rejected(key, _reason(key, exc)))
            continue
        if len(frame):
            frames.append(frame)
    return concat_observations(frames, consume=True), rejected


def as_published(observations: pd.DataFrame) -> pd.DataFrame:
    """Observations with their categorical text columns as plain text, as every stage reads them."""
    text = [c for c in observations.columns if isinstance(observations[c].dtype, pd.CategoricalDtype)]
    return observations.astype(dict.fromkeys(text, "str")) if text else observations


def _reason(key: str, exc: Exception) -> str:
    message = str(exc).removeprefix(f"{key}: ")
    if isinstance(exc, ParseError | ArchiveError):
        return message
    if isinstance(exc, UnicodeDecodeError):
        return "not text (bytes that are not UTF-8)"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {message}"
    return f"{type(exc).__name__}: {message}"


@dataclass(frozen=True)
class Cleaned:
    """Parsed observations after revisions, site coordinates and the row rules."""

    result: ValidationResult
    superseded: pd.DataFrame
    located: list[str]  # sites whose coordinates came from the site list

    @property
    def rows(self) -> int:
        return len(self.result.valid) + len(self.result.quarantined)


def clean(parsed: pd.DataFrame, sites: pd.DataFrame, *, max_day: int, consume: bool = False) -> Cleaned:
    """Keep each key's newest revision, fill missing coordinates from the site list, apply the rules.

    The validate stage and the backtest both run this, so the backtest measures what production runs.
    consume: the caller hands parsed over; it is emptied as its rows are split (validate_observations).
    """
    revisions = resolve_revisions(parsed)
    observations, located = fill_coordinates(revisions.current, sites)
    superseded = revisions.superseded
    del revisions
    if consume:  # the current rows share parsed's arrays (copy on write): parsed must let them go
        for column in list(parsed.columns):
            del parsed[column]
    # Splitting takes the columns out of the current rows' frame, the caller's only when handed over.
    own = consume or observations is not parsed
    return Cleaned(validate_observations(observations, max_day=max_day, consume=own), superseded, located)


def pollutant_counts(observations: pd.DataFrame) -> dict[str, int]:
    """Rows of each forecast pollutant's AQS parameters (the pollutants a run can forecast)."""
    if observations.empty:
        return {}
    counts = observations["parameter"].value_counts()
    present = {name: int(counts.reindex(list(spec.parameters)).fillna(0).sum()) for name, spec in POLLUTANTS.items()}
    return {name: n for name, n in present.items() if n}
