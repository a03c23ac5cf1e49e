"""The Python face of the C++ core: the only module that imports ``airwatch._core``.

The bindings take contiguous 1-D arrays of one exact dtype each and return tuples in a fixed order;
this module converts array-likes to those dtypes in one place (:func:`_array`), names the results
(frozen dataclasses and named tuples), and re-exports the core's own types: :class:`ColumnKind` (how
:func:`read_csv` converts a column) and :class:`CoreError` (a ``ValueError``, raised for every bad
input the C++ side reports: unsorted or repeated keys, length mismatches, malformed text).

A conversion never changes a value: integers that do not fit the kernel's type, or floats with a
fraction where whole numbers (days, hours, codes) are expected, raise CoreError rather than being
truncated; text or datetimes where numbers are expected raise TypeError.
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from airwatch import _core
from airwatch._core import ColumnKind, CoreError

__all__ = [
    "MISSING_DAY",
    "SOURCE_DIGEST",
    "CategoryScores",
    "ColumnKind",
    "CoreError",
    "CsvTable",
    "DailyAggregate",
    "DailyGrid",
    "Dictionary",
    "Drift",
    "DriftColumns",
    "ErrorSummary",
    "Features",
    "Forest",
    "GhcnDaily",
    "Nearest",
    "NeighborMean",
    "RidgeImputation",
    "RidgeRows",
    "aqi",
    "aqi_category",
    "category_names",
    "category_scores",
    "compute_features",
    "daily_grid",
    "drift",
    "drift_columns",
    "error_summary",
    "nearest_sites",
    "neighbor_mean",
    "ozone_mda8",
    "parse_ghcn_dly",
    "pm25_daily",
    "read_csv",
    "reason_codes",
    "regional_episode",
    "rmse_skill",
    "validate_observations",
]

MISSING_DAY: Final[int] = _core.MISSING_DAY  # the day of an unparseable date
# SHA-256 (hex) of the C++ sources the loaded core was compiled from: part of a dataset's code version,
# since a rebuilt core can change the data while the git commit (uncommitted edits) stays the same.
SOURCE_DIGEST: Final[str] = _core.SOURCE_DIGEST

Bytes = bytes | bytearray | memoryview | mmap.mmap | npt.NDArray[np.uint8]


def _array(values: npt.ArrayLike, dtype: type[np.generic], name: str) -> npt.NDArray[Any]:
    """Values as the contiguous array of dtype a kernel takes, without changing any value."""
    a = np.asarray(values)
    target = np.dtype(dtype)
    if a.dtype == target:
        return np.ascontiguousarray(a)
    if a.size == 0 or np.can_cast(a.dtype, target, casting="safe"):
        return np.ascontiguousarray(a, dtype=target)
    if a.dtype.kind not in "biufO":
        raise TypeError(f"{name}: expected numbers ({target}), got {a.dtype}")
    try:
        with np.errstate(invalid="ignore"):  # NaN to an integer: caught by the comparison below
            converted = np.ascontiguousarray(a.astype(target))
    except (TypeError, ValueError) as exc:  # object arrays holding text or None
        raise TypeError(f"{name}: expected numbers ({target}), got {a.dtype}: {exc}") from None
    if target.kind in "iu" and not np.array_equal(converted, a):
        # A day number of 1.5, a NaN or an out-of-range code would otherwise be silently truncated.
        raise CoreError(f"{name}: {a.dtype} values that are not whole numbers within {target}")
    return converted


def _f64(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    return _array(values, np.float64, name)


def _i32(values: npt.ArrayLike, name: str) -> npt.NDArray[np.int32]:
    return _array(values, np.int32, name)


def _bytes(data: Bytes) -> npt.NDArray[np.uint8]:
    """A uint8 view of a file's bytes (bytes, a memory-mapped file or an array): never a copy."""
    if isinstance(data, np.ndarray):
        return _array(data, np.uint8, "data")
    return np.frombuffer(data, dtype=np.uint8)


# --- AQI ---


def aqi(pollutant: str, concentration: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """Daily AQI per value, -1 where missing; pollutant 'pm25' (ug/m3, 24-h mean) or 'ozone' (ppm, MDA8)."""
    return _core.aqi(pollutant, _f64(concentration, "concentration"))


def aqi_category(aqi_values: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """AQI category index 0..5 (Good..Hazardous), -1 where missing."""
    return _core.aqi_category(_i32(aqi_values, "aqi"))


def category_names() -> list[str]:
    """Names of the AQI categories, by index."""
    return _core.category_names()


# --- Daily grid and features ---


class DailyGrid(NamedTuple):
    """One row per site and day from the site's first to its last observation; NaN on days without one."""

    site: npt.NDArray[np.int32]
    day: npt.NDArray[np.int32]
    value: npt.NDArray[np.float64]


def daily_grid(site: npt.ArrayLike, day: npt.ArrayLike, value: npt.ArrayLike) -> DailyGrid:
    """Observations sorted by (site, day), one per site and day, on a gap-free calendar per site."""
    return DailyGrid(*_core.daily_grid(_i32(site, "site"), _i32(day, "day"), _f64(value, "value")))


class Features(NamedTuple):
    names: list[str]
    matrix: npt.NDArray[np.float64]  # (grid rows, features), column-major; owned by the C++ allocation


def compute_features(
    site: npt.ArrayLike,
    day: npt.ArrayLike,
    value: npt.ArrayLike,
    lags: Sequence[int],
    mean_windows: Sequence[int],
    std_windows: Sequence[int],
    max_windows: Sequence[int],
    calendar: bool = True,
    ewm_alphas: Sequence[float] = (),
    threads: int = 2,
    missing_windows: Sequence[int] = (7,),
) -> Features:
    """The feature block of each daily-grid row, from values on or before the row's day."""
    names, matrix = _core.compute_features(
        _i32(site, "site"), _i32(day, "day"), _f64(value, "value"), list(lags), list(mean_windows),
        list(std_windows), list(max_windows), calendar, list(ewm_alphas), threads, list(missing_windows),
    )  # fmt: skip
    return Features(names, matrix)


# --- Verification metrics and drift ---


@dataclass(frozen=True)
class ErrorSummary:
    n: int  # pairs where both values exist
    rmse: float  # NaN when n == 0
    mae: float
    bias: float  # mean(forecast - observed)


def error_summary(forecast: npt.ArrayLike, observed: npt.ArrayLike) -> ErrorSummary:
    """RMSE, MAE and bias over the pairs where both values exist."""
    return ErrorSummary(*_core.error_summary(_f64(forecast, "forecast"), _f64(observed, "observed")))


def rmse_skill(forecast: npt.ArrayLike, reference: npt.ArrayLike, observed: npt.ArrayLike) -> float:
    """1 - rmse(forecast) / rmse(reference) over the days where all three exist."""
    return _core.rmse_skill(_f64(forecast, "forecast"), _f64(reference, "reference"), _f64(observed, "observed"))


@dataclass(frozen=True)
class CategoryScores:
    n: int  # pairs with both values
    hit_rate: float  # share of pairs whose forecast category equals the observed one
    events: int  # observed days at or above the threshold category
    pod: float  # probability of detection
    far: float  # false-alarm ratio


def category_scores(
    pollutant: str, forecast: npt.ArrayLike, observed: npt.ArrayLike, threshold_category: int = 2
) -> CategoryScores:
    """AQI-category hit rate, and POD/FAR for days at or above threshold_category (2 = USG)."""
    return CategoryScores(
        *_core.category_scores(pollutant, _f64(forecast, "forecast"), _f64(observed, "observed"), threshold_category)
    )


VERIFICATION_SCORES = ("n", "bias", "mae", "rmse", "corr", "n_persistence", "skill_vs_persistence", "n_climatology",
                       "skill_vs_climatology", "n_interval", "interval_coverage", "n_category", "category_hit_rate",
                       "within_one_category", "hits", "false_alarms", "misses", "correct_negatives", "pod", "far",
                       "csi", "frequency_bias", "hss")  # fmt: skip


@dataclass(frozen=True, eq=False)
class GroupVerification:
    """The verification set per group: scores[name] is one value per group (names: VERIFICATION_SCORES).

    far is the false-alarm ratio, false alarms / forecast events (not the false-alarm rate);
    confusion[g, f, o] counts pairs of group g forecast in AQI category f and observed in o.
    """

    scores: dict[str, npt.NDArray[Any]]
    confusion: npt.NDArray[np.int64]  # (groups, 6, 6)


def verify_groups(
    pollutant: str,
    group: npt.ArrayLike,
    groups: int,
    forecast: npt.ArrayLike,
    observed: npt.ArrayLike,
    *,
    persistence: npt.ArrayLike | None = None,
    climatology: npt.ArrayLike | None = None,
    lower: npt.ArrayLike | None = None,
    upper: npt.ArrayLike | None = None,
    event_category: int = 2,
) -> GroupVerification:
    """The verification set per group, in one pass over the pairs.

    Bias, MAE, RMSE, correlation, skill against persistence and climatology, interval coverage, AQI
    category hit and within-one rates, and the contingency of AQI above 100 (event_category 2) with POD,
    false-alarm ratio, CSI, frequency bias and Heidke skill. group: each pair's group, 0..groups-1. A
    pair counts where forecast and observation exist; each skill is scored on the pairs where its
    reference exists too.
    """
    references = {"persistence": persistence, "climatology": climatology, "lower": lower, "upper": upper}
    optional = {name: None if values is None else _f64(values, name) for name, values in references.items()}
    out = _core.verify_groups(pollutant, _i32(group, "group"), int(groups), _f64(forecast, "forecast"),
                              _f64(observed, "observed"), optional["persistence"], optional["climatology"],
                              optional["lower"], optional["upper"], event_category)  # fmt: skip
    confusion = np.asarray(out.pop("confusion")).reshape(int(groups), 6, 6)
    return GroupVerification({name: np.asarray(out[name]) for name in VERIFICATION_SCORES}, confusion)


@dataclass(frozen=True, eq=False)
class Drift:
    psi: float  # population stability index over the reference-quantile bins
    ks: float  # two-sample Kolmogorov-Smirnov statistic
    wasserstein: float  # Wasserstein-1 distance
    edges: npt.NDArray[np.float64]  # the interior bin edges of the PSI


def drift(reference: npt.ArrayLike, current: npt.ArrayLike, bins: int = 10) -> Drift:
    """Drift of current from reference (NaNs ignored); CoreError when either is empty."""
    return Drift(*_core.drift(_f64(reference, "reference"), _f64(current, "current"), bins))


@dataclass(frozen=True, eq=False)
class DriftColumns:
    """Drift per column (feature); NaN statistics where a column has no value on either side."""

    psi: npt.NDArray[np.float64]
    ks: npt.NDArray[np.float64]
    wasserstein: npt.NDArray[np.float64]
    n_reference: npt.NDArray[np.int64]  # non-NaN values the statistics were computed from
    n_current: npt.NDArray[np.int64]
    edges: npt.NDArray[np.float64]  # (columns, bins - 1): each column's PSI edges, NaN-padded where merged


def _f64_columns(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    """A 2-D float64 array with each column contiguous (Fortran order): the drift kernel's layout."""
    a = np.asarray(values)
    if a.ndim != 2:
        raise CoreError(f"{name}: expected a 2-D array (rows, columns), got {a.ndim}-D")
    if a.dtype != np.float64:
        a = _array(a, np.float64, name)
    return np.asfortranarray(a)


def drift_columns(reference: npt.ArrayLike, current: npt.ArrayLike, bins: int = 10, threads: int = 2) -> DriftColumns:
    """Drift of each column of current (rows, columns) from the same column of reference, NaNs ignored.

    The same statistics as :func:`drift`, column by column, in one call: each sample sorted once, the
    columns shared between threads, the GIL released.
    """
    ref, cur = _f64_columns(reference, "reference"), _f64_columns(current, "current")
    return DriftColumns(*_core.drift_columns(ref, cur, bins, threads))


# --- Validation ---


def reason_codes() -> list[tuple[int, str]]:
    """(bit, code) of every validation rule, in bit order."""
    return _core.reason_codes()


def validate_observations(
    site: npt.ArrayLike,
    parameter: npt.ArrayLike,
    poc: npt.ArrayLike,
    day: npt.ArrayLike,
    series: npt.ArrayLike,
    unit: npt.ArrayLike,
    value: npt.ArrayLike,
    percent_complete: npt.ArrayLike,
    latitude: npt.ArrayLike,
    longitude: npt.ArrayLike,
    *,
    max_day: int,
    row_flags: npt.ArrayLike | None = None,
) -> npt.NDArray[np.uint32]:
    """Reason bit mask per row (0 = valid); row_flags as read_csv gives them."""
    return _core.validate_observations(
        _array(site, np.int64, "site"), _i32(parameter, "parameter"), _i32(poc, "poc"), _i32(day, "day"),
        _i32(series, "series"), _i32(unit, "unit"), _f64(value, "value"),
        _f64(percent_complete, "percent_complete"), _f64(latitude, "latitude"), _f64(longitude, "longitude"),
        int(max_day), None if row_flags is None else _array(row_flags, np.uint8, "row_flags"),
    )  # fmt: skip


# --- Reading files ---


@dataclass(frozen=True, eq=False)
class Dictionary:
    """A dictionary-encoded text column: codes into categories (distinct values, in order of first appearance)."""

    codes: npt.NDArray[np.int32]
    categories: list[str]


@dataclass(frozen=True, eq=False)
class CsvTable:
    rows: int
    header: list[str]
    columns: dict[str, npt.NDArray[Any] | Dictionary]  # the requested columns the header has
    row_flags: npt.NDArray[np.uint8]  # 1: wrong field count; 2: text that does not parse as its kind

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def array(self, name: str) -> npt.NDArray[Any]:
        """A numeric, date, hour or site-id column (KeyError when the file lacks it)."""
        column = self.columns[name]
        if isinstance(column, Dictionary):
            raise TypeError(f"column {name!r} was read as a dictionary")
        return column

    def dictionary(self, name: str) -> Dictionary:
        """A column read as ColumnKind.DICTIONARY (KeyError when the file lacks it)."""
        column = self.columns[name]
        if not isinstance(column, Dictionary):
            raise TypeError(f"column {name!r} was not read as a dictionary")
        return column


def read_csv(data: Bytes, columns: Sequence[tuple[str, ColumnKind]] = (), threads: int = 2) -> CsvTable:
    """The named columns of a CSV file's bytes, typed by kind; columns the header lacks are left out."""
    rows, header, raw, row_flags = _core.read_csv(_bytes(data), list(columns), threads)
    typed: dict[str, npt.NDArray[Any] | Dictionary] = {}
    for name, column in raw.items():
        typed[name] = Dictionary(*column) if isinstance(column, tuple) else cast(npt.NDArray[Any], column)
    return CsvTable(rows, header, typed, row_flags)


@dataclass(frozen=True, eq=False)
class GhcnDaily:
    stations: list[str]  # distinct station ids, in order of first appearance
    station: npt.NDArray[np.int32]  # index into stations
    day: npt.NDArray[np.int32]  # days since 1970-01-01
    element: npt.NDArray[np.int32]  # index into the requested elements
    value: npt.NDArray[np.float64]  # metric units
    missing: int  # -9999 cells, and days a month does not have
    flagged: int  # cells with a quality flag (dropped)
    out_of_bounds: int  # cells outside physical bounds (dropped)
    malformed_lines: int


def parse_ghcn_dly(data: Bytes, elements: Sequence[str]) -> GhcnDaily:
    """NOAA GHCN-Daily .dly text as long rows (station, day, element, value) in metric units."""
    return GhcnDaily(*_core.parse_ghcn_dly(_bytes(data), list(elements)))


# --- Aggregation of hours ---


@dataclass(frozen=True, eq=False)
class DailyAggregate:
    site: npt.NDArray[np.int32]
    day: npt.NDArray[np.int32]
    value: npt.NDArray[np.float64]  # NaN when no statistic can be computed
    count: npt.NDArray[np.int32]  # valid hours (PM2.5) or valid 8-hour periods of the 17 (ozone)
    valid: npt.NDArray[np.uint8]  # meets EPA's completeness rule (ozone: or exceeds the standard)
    max_hour: npt.NDArray[np.int32]  # ozone: start of the first maximum 8-hour period; -1 otherwise


def pm25_daily(
    site: npt.ArrayLike, day: npt.ArrayLike, hour: npt.ArrayLike, value: npt.ArrayLike, threads: int = 2
) -> DailyAggregate:
    """PM2.5 24-hour averages from hourly rows sorted by (site, day, hour); valid with >= 18 hours."""
    return DailyAggregate(
        *_core.pm25_daily(_i32(site, "site"), _i32(day, "day"), _i32(hour, "hour"), _f64(value, "value"), threads)
    )


def ozone_mda8(
    site: npt.ArrayLike, day: npt.ArrayLike, hour: npt.ArrayLike, value: npt.ArrayLike, threads: int = 2
) -> DailyAggregate:
    """Ozone MDA8 (40 CFR 50 Appendix U) from hourly ppm rows sorted by (site, day, hour)."""
    return DailyAggregate(
        *_core.ozone_mda8(_i32(site, "site"), _i32(day, "day"), _i32(hour, "hour"), _f64(value, "value"), threads)
    )


# --- Spatial ---


class Nearest(NamedTuple):
    site: npt.NDArray[np.int32]  # (queries, k): site index, nearest first; -1 where fewer than k in range
    distance_km: npt.NDArray[np.float64]  # (queries, k); NaN where site is -1


def nearest_sites(
    lat: npt.ArrayLike, lon: npt.ArrayLike, query_lat: npt.ArrayLike, query_lon: npt.ArrayLike, k: int, radius_km: float
) -> Nearest:
    """The k nearest sites within radius_km of each query point (k-d tree, great-circle distance)."""
    q_lat = _f64(query_lat, "query_lat")
    index, distance = _core.nearest_sites(
        _f64(lat, "lat"), _f64(lon, "lon"), q_lat, _f64(query_lon, "query_lon"), k, radius_km
    )
    return Nearest(index.reshape(len(q_lat), k), distance.reshape(len(q_lat), k))


class RegionalEpisode(NamedTuple):
    highest: npt.NDArray[np.float64]  # the highest neighbour value that day
    high_fraction: npt.NDArray[np.float64]  # the fraction of reporting neighbours at or above the threshold
    run: npt.NDArray[np.float64]  # consecutive days the site itself has been at or above it


def regional_episode(
    site: npt.ArrayLike, day: npt.ArrayLike, value: npt.ArrayLike, lat: npt.ArrayLike, lon: npt.ArrayLike, k: int,
    radius_km: float, threshold: float,
) -> RegionalEpisode:  # fmt: skip
    """Whether an episode is under way around each daily-grid row's site and day, and at the site."""
    return RegionalEpisode(*_core.regional_episode(*_grid(site, day, value, lat, lon), k, radius_km, threshold))


def _grid(
    site: npt.ArrayLike, day: npt.ArrayLike, value: npt.ArrayLike, lat: npt.ArrayLike, lon: npt.ArrayLike
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float64], npt.NDArray[np.float64],
           npt.NDArray[np.float64]]:  # fmt: skip
    """A daily grid's columns and its sites' coordinates as the neighbour kernels take them."""
    return _i32(site, "site"), _i32(day, "day"), _f64(value, "value"), _f64(lat, "lat"), _f64(lon, "lon")


class NeighborMean(NamedTuple):
    mean: npt.NDArray[np.float64]
    neighbors: npt.NDArray[np.int32]  # how many neighbours had a value that day


def neighbor_mean(
    site: npt.ArrayLike,
    day: npt.ArrayLike,
    value: npt.ArrayLike,
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    k: int,
    radius_km: float,
) -> NeighborMean:
    """Inverse-distance weighted mean of the k nearest other sites' values on each daily-grid row's day."""
    return NeighborMean(*_core.neighbor_mean(*_grid(site, day, value, lat, lon), k, radius_km))


# LightGBM objectives whose prediction is the trees' raw sum (no link function applied to it).
_RAW_OBJECTIVES: Final = ("regression", "regression_l1", "quantile", "huber", "fair")


@dataclass(frozen=True, eq=False)
class Forest:
    """A LightGBM regression model's trees, predicted by the core (the same numbers as Booster.predict).

    features: the model's inputs, in order (the columns predict takes).
    """

    features: tuple[str, ...]
    trees: _core.Forest

    @classmethod
    def from_lightgbm(cls, text: str) -> Forest:
        """The trees of a model in LightGBM's text format (Booster.model_to_string).

        CoreError when the model is not one this predictor computes exactly as LightGBM does: more than
        one tree an iteration, an objective with a link function, linear trees or categorical splits.
        """
        header, _, body = text.partition("\nTree=")
        lines = header.splitlines()
        meta = dict(line.split("=", 1) for line in lines if "=" in line)
        objective = meta.get("objective", "").split(" ")
        if meta.get("num_tree_per_iteration", "1") != "1" or "average_output" in lines:
            raise CoreError("forest: only a single-output boosted model can be read")
        if objective[0] not in _RAW_OBJECTIVES or "sqrt" in objective:
            raise CoreError(f"forest: objective {meta.get('objective')!r} is not a raw regression")
        features = tuple(meta.get("feature_names", "").split(" "))
        if int(meta.get("max_feature_idx", "-1")) + 1 != len(features):
            raise CoreError("forest: max_feature_idx does not match feature_names")
        arrays: dict[str, list[str]] = {k: [] for k in ("split_feature", "threshold", "decision_type", "left_child",
                                                         "right_child", "leaf_value")}  # fmt: skip
        node_start, leaf_start = [0], [0]
        for tree in body.split("end of trees")[0].split("\nTree="):
            fields = dict(line.split("=", 1) for line in tree.splitlines() if "=" in line)
            if fields.get("is_linear", "0") != "0" or fields.get("num_cat", "0") != "0":
                raise CoreError("forest: linear trees and categorical splits cannot be read")
            for key, values in arrays.items():
                values += fields.get(key, "").split()
            leaves = int(fields["num_leaves"])
            node_start.append(node_start[-1] + leaves - 1)
            leaf_start.append(leaf_start[-1] + leaves)
        trees = _core.forest(
            np.array(arrays["split_feature"], dtype=np.int32),
            np.array(arrays["threshold"], dtype=np.float64),
            np.array(arrays["decision_type"], dtype=np.uint8),
            np.array(arrays["left_child"], dtype=np.int32),
            np.array(arrays["right_child"], dtype=np.int32),
            np.array(arrays["leaf_value"], dtype=np.float64),
            np.array(node_start, dtype=np.int64),
            np.array(leaf_start, dtype=np.int64),
            len(features),
        )
        return cls(features, trees)

    def predict(self, columns: Sequence[npt.ArrayLike], threads: int = 2) -> npt.NDArray[np.float64]:
        """The raw forecast of each row from one column per feature, in the order of `features`."""
        if len(columns) != len(self.features):
            raise CoreError(f"forest: {len(columns)} columns for {len(self.features)} features")
        arrays = [_f64(c, f) for c, f in zip(columns, self.features, strict=True)]
        return _core.forest_predict(self.trees, arrays, threads)


# --- Ridge regression's passes over the rows ---


@dataclass(frozen=True)
class RidgeImputation:
    """A ridge fit's median imputation and its design's sums.

    The design: the inputs, imputed, then one missing-value indicator per flagged input. fill: each
    input's median over the rows (0 when it has no value); flagged: the inputs with a missing value, in
    order; sums, weighted_sums: per design column (each row's value times its weight).
    """

    fill: npt.NDArray[np.float64]
    flagged: npt.NDArray[np.int64]
    sums: npt.NDArray[np.float64]
    weighted_sums: npt.NDArray[np.float64]


class RidgeRows:
    """A ridge fit's rows, read by the core where they are.

    The input columns, the rows' positions in them (None: every row) and one weight a row (None: all
    1), converted once and used for every pass.
    """

    def __init__(
        self,
        columns: Sequence[npt.ArrayLike],
        index: npt.ArrayLike | None = None,
        weights: npt.ArrayLike | None = None,
    ) -> None:
        self.columns = [_f64(c, f"column {j}") for j, c in enumerate(columns)]
        self.index = None if index is None else _array(index, np.int64, "index")
        self.weights = None if weights is None else _f64(weights, "weights")

    def imputation(self, threads: int = 2) -> RidgeImputation:
        """Each input's median (numpy.median's) and the design's sums; the same with any number of threads."""
        return RidgeImputation(*_core.ridge_imputation(self.columns, self.index, self.weights, threads))

    def block(
        self,
        fill: npt.ArrayLike,
        flagged: npt.ArrayLike,
        mean: npt.ArrayLike,
        weighted_mean: npt.ArrayLike,
        start: int,
        z: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64]:
        """Design rows from start on into z, centered, weighted; each column's squared deviations.

        The design of an imputation (fill, flagged: a fit's, RidgeImputation's or a fitted model's). z: a
        column-major float64 array, as many rows as are wanted by a column per design column, written
        over: the rows less weighted_mean and times the square roots of their weights (1 without
        weights). Returned: each design column's squared deviations from mean over those rows. The
        caller keeps z for the next block: a new block's pages each time cost more than making it
        (docs/core.md).
        """
        return _core.ridge_block(self.columns, self.index, self.weights, _f64(fill, "fill"),
                                 _array(flagged, np.int64, "flagged"), _f64(mean, "mean"),
                                 _f64(weighted_mean, "weighted_mean"), start, z)  # fmt: skip
