"""
AirWatch C++ core: EPA AQI, validation rules, daily-series features and forecast metrics.
"""

from collections.abc import Sequence
import enum
from typing import Annotated

import numpy
from numpy.typing import NDArray


class CoreError(ValueError):
    pass

class ColumnKind(enum.Enum):
    """How read_csv converts a column."""

    FLOAT64 = 0
    """NaN when empty, '.' or not a number"""

    INT64 = 1
    """-1 when empty or not an integer"""

    DATE = 2
    """
    days since 1970-01-01 (YYYY-MM-DD or MM/DD/YYYY); MISSING_DAY if invalid
    """

    HOUR = 3
    """HH:MM to 0..23; -1 when invalid"""

    DICTIONARY = 4
    """codes into the distinct strings, in order of first appearance"""

    SITE_ID = 5
    """9 digits, dashes ignored, as SSCCCNNNN; -1 when invalid"""

class Forest:
    """A LightGBM tree ensemble, checked and laid out for forest_predict."""

    @property
    def inputs(self) -> int: ...

def forest(feature: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], threshold: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], decision: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], left: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], right: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], leaf_value: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], node_start: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)], leaf_start: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)], inputs: int) -> Forest:
    """
    A Forest from LightGBM's tree arrays, every tree's after the one before (node_start, leaf_start: each tree's first node and leaf, and their counts at the end). CoreError when they do not form trees over `inputs` columns or a split is categorical.
    """

def forest_predict(forest: Forest, columns: Sequence[Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)]], threads: int = ...) -> Annotated[NDArray[numpy.float64], dict(shape=(None,))]:
    """
    The forest's raw forecast of each row, as LightGBM's Booster.predict makes it (to the bit), from one float64 column per input.
    """

def ridge_imputation(columns: Sequence[Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)]], index: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = ..., weights: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = ..., threads: int = ...) -> tuple[Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.int64], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))]]:
    """
    A ridge fit's imputation and design sums over the rows (index: their positions in the columns; None: every row): (fill: each input's median, flagged: the inputs with a missing value, sums and weighted_sums: per design column, inputs then indicators).
    """

def ridge_block(columns: Sequence[Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)]], index: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)] | None, weights: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)] | None, fill: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], flagged: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)], mean: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], weighted_mean: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], start: int, z: Annotated[NDArray[numpy.float64], dict(shape=(None, None), order='F', device='cpu')]) -> Annotated[NDArray[numpy.float64], dict(shape=(None,))]:
    """
    Into z (column-major, as many rows as it has, a column per design column): the design's rows from start on, less weighted_mean and times the square roots of their weights. Returns each design column's squared deviations from mean over those rows.
    """

def aqi(pollutant: str, concentration: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> Annotated[NDArray[numpy.int32], dict(shape=(None,))]:
    """
    Daily AQI per value (int32, -1 where missing). pollutant: 'pm25' (24-h mean, ug/m3, 2024 breakpoints) or 'ozone' (MDA8, ppm, 2015 breakpoints); values are truncated as EPA requires.
    """

def aqi_category(aqi: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> Annotated[NDArray[numpy.int32], dict(shape=(None,))]:
    """AQI category index 0..5 (Good..Hazardous), -1 where missing."""

def category_names() -> list[str]:
    """Names of the AQI categories, by index."""

def daily_grid(site: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], day: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], value: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> tuple[Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))]]:
    """
    Lays observations sorted by (site, day) on a gap-free daily calendar per site (NaN for missing days).
    """

def compute_features(site: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], day: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], value: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], lags: Sequence[int], mean_windows: Sequence[int], std_windows: Sequence[int], max_windows: Sequence[int], calendar: bool = ..., ewm_alphas: Sequence[float] = ..., threads: int = ..., missing_windows: Sequence[int] = ...) -> tuple[list[str], Annotated[NDArray[numpy.float64], dict(shape=(None, None), order='F')]]:
    """
    Feature block for each row of a daily grid, from values on or before the row's day. Returns (names, matrix) with matrix of shape (rows, features), column-major.
    """

def error_summary(forecast: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], observed: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> tuple[int, float, float, float]:
    """(n, rmse, mae, bias) over the pairs where both values exist."""

def rmse_skill(forecast: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], reference: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], observed: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)]) -> float:
    """1 - rmse(forecast)/rmse(reference) over the days all three exist."""

def validate_observations(site: Annotated[NDArray[numpy.int64], dict(shape=(None,), order='C', device='cpu', writable=False)], parameter: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], poc: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], day: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], series: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], unit: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], value: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], percent_complete: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], latitude: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], longitude: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], max_day: int, row_flags: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = ...) -> Annotated[NDArray[numpy.uint32], dict(shape=(None,))]:
    """
    Reason bit mask per row (0 = valid); row_flags (uint8, optional) from read_csv: 1 wrong field count, 2 unparseable text.
    """

def reason_codes() -> list[tuple[int, str]]:
    """(bit, code) of every validation rule."""

def read_csv(data: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], columns: Sequence[tuple[str, ColumnKind]], threads: int = ...) -> tuple[int, list[str], dict[str, object], Annotated[NDArray[numpy.uint8], dict(shape=(None,))]]:
    """
    Read the named columns of a CSV (a uint8 array over the bytes, e.g. np.frombuffer of bytes or mmap). Returns (rows, header, {name: array or (codes, categories)}, row_flags); absent columns are left out of the dict.
    """

def pm25_daily(site: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], day: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], hour: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], value: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], threads: int = ...) -> tuple[Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.uint8], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))]]:
    """
    PM2.5 24-hour averages from hourly rows sorted by (site, day, hour): (site, day, value, count (valid hours), valid (>= 18 hours), max_hour).
    """

def ozone_mda8(site: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], day: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], hour: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], value: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], threads: int = ...) -> tuple[Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.uint8], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))]]:
    """
    Ozone MDA8 (40 CFR 50 Appendix U, 2015) from hourly ppm rows sorted by (site, day, hour): (site, day, value, count (valid 8-hour periods of 17), valid, max_hour).
    """

def category_scores(pollutant: str, forecast: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], observed: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], threshold_category: int = ...) -> tuple[int, float, int, float, float]:
    """
    (n, hit_rate, events, pod, far): AQI-category hit rate, and POD/FAR for days at or above threshold_category (2 = USG).
    """

def verify_groups(pollutant: str, group: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], groups: int, forecast: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], observed: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], persistence: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = ..., climatology: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = ..., lower: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = ..., upper: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)] | None = ..., event_category: int = ...) -> dict[str, object]:
    """
    Forecast verification per group: a dict of per-group arrays (n, bias, mae, rmse, corr, skill against persistence and climatology, interval coverage, category hit and within-one rates, the 2x2 contingency of category >= event_category with POD, false-alarm ratio, CSI, frequency bias and HSS) and 'confusion', groups x 6 x 6 counts flattened.
    """

def drift(reference: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], current: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], bins: int = ...) -> tuple[float, float, float, Annotated[NDArray[numpy.float64], dict(shape=(None,))]]:
    """
    (psi, ks, wasserstein, edges): PSI over reference-quantile bins, Kolmogorov-Smirnov statistic and Wasserstein-1 distance.
    """

def drift_columns(reference: Annotated[NDArray[numpy.float64], dict(shape=(None, None), order='F', device='cpu', writable=False)], current: Annotated[NDArray[numpy.float64], dict(shape=(None, None), order='F', device='cpu', writable=False)], bins: int = ..., threads: int = ...) -> tuple[Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.int64], dict(shape=(None,))], Annotated[NDArray[numpy.int64], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None, None))]]:
    """
    Per column of two column-major matrices (rows, features): (psi, ks, wasserstein, n_reference, n_current, edges), edges of shape (features, bins - 1), NaN-padded; each column sorted once, columns shared between threads. A column empty on either side gets NaN statistics.
    """

def nearest_sites(lat: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], lon: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], query_lat: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], query_lon: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], k: int, radius_km: float) -> tuple[Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))]]:
    """
    k nearest sites within radius_km of each query point (k-d tree): (index, distance_km), each (queries * k), -1/NaN padded.
    """

def neighbor_mean(site: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], day: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], value: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], lat: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], lon: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], k: int, radius_km: float) -> tuple[Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))]]:
    """
    Inverse-distance weighted mean of the k nearest other sites' values on each grid row's day, and how many contributed.
    """

def regional_episode(site: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], day: Annotated[NDArray[numpy.int32], dict(shape=(None,), order='C', device='cpu', writable=False)], value: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], lat: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], lon: Annotated[NDArray[numpy.float64], dict(shape=(None,), order='C', device='cpu', writable=False)], k: int, radius_km: float, threshold: float) -> tuple[Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))]]:
    """
    On each grid row's day, the highest value of the k nearest other sites within radius_km and the fraction of them at or above threshold (NaN when none has a value), and the site's run of consecutive days at or above threshold up to that day (NaN without a value).
    """

def parse_ghcn_dly(data: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], elements: Sequence[str]) -> tuple[list[str], Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.int32], dict(shape=(None,))], Annotated[NDArray[numpy.float64], dict(shape=(None,))], int, int, int, int]:
    """
    NOAA GHCN-Daily .dly text (uint8 array) to long rows in metric units: (stations, station, day, element, value, missing, flagged, out_of_bounds, malformed_lines); flagged (QFLAG), missing (-9999) and out-of-bounds values are dropped and counted.
    """

MISSING_DAY: int = ...

SOURCE_DIGEST: str = ...
