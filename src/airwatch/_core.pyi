"""Type stubs of the C++ core (cpp/bindings/module.cpp)."""

from typing import Any

import numpy as np
import numpy.typing as npt

MISSING_DAY: int

def aqi(pollutant: str, concentration: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]: ...
def aqi_category(aqi: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]: ...
def category_names() -> list[str]: ...
def daily_grid(
    site: npt.NDArray[np.int32], day: npt.NDArray[np.int32], value: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float64]]: ...
def compute_features(
    site: npt.NDArray[np.int32],
    day: npt.NDArray[np.int32],
    value: npt.NDArray[np.float64],
    lags: list[int],
    mean_windows: list[int],
    std_windows: list[int],
    max_windows: list[int],
    calendar: bool = True,
    ewm_alphas: list[float] = ...,
    threads: int = 2,
    missing_windows: list[int] = ...,
) -> tuple[list[str], npt.NDArray[np.float64]]: ...
def error_summary(forecast: npt.NDArray[np.float64], observed: npt.NDArray[np.float64]) -> dict[str, float]: ...
def rmse_skill(
    forecast: npt.NDArray[np.float64], reference: npt.NDArray[np.float64], observed: npt.NDArray[np.float64]
) -> float: ...
def validate_observations(
    site: npt.NDArray[np.int64],
    parameter: npt.NDArray[np.int32],
    poc: npt.NDArray[np.int32],
    day: npt.NDArray[np.int32],
    series: npt.NDArray[np.int32],
    unit: npt.NDArray[np.int32],
    value: npt.NDArray[np.float64],
    percent_complete: npt.NDArray[np.float64],
    latitude: npt.NDArray[np.float64],
    longitude: npt.NDArray[np.float64],
    max_day: int,
    row_flags: npt.NDArray[np.uint8] | None = None,
) -> npt.NDArray[np.uint32]: ...
def reason_codes() -> list[tuple[int, str]]: ...
def read_csv(
    data: npt.NDArray[np.uint8], columns: list[tuple[str, int]], threads: int = 2
) -> tuple[int, list[str], dict[str, Any], npt.NDArray[np.uint8]]: ...
def pm25_daily(
    site: npt.NDArray[np.int32],
    day: npt.NDArray[np.int32],
    hour: npt.NDArray[np.int32],
    value: npt.NDArray[np.float64],
    threads: int = 2,
) -> dict[str, Any]: ...
def ozone_mda8(
    site: npt.NDArray[np.int32],
    day: npt.NDArray[np.int32],
    hour: npt.NDArray[np.int32],
    value: npt.NDArray[np.float64],
    threads: int = 2,
) -> dict[str, Any]: ...
def category_scores(
    pollutant: str, forecast: npt.NDArray[np.float64], observed: npt.NDArray[np.float64], threshold_category: int = 2
) -> dict[str, float]: ...
def drift(reference: npt.NDArray[np.float64], current: npt.NDArray[np.float64], bins: int = 10) -> dict[str, Any]: ...
def nearest_sites(
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    query_lat: npt.NDArray[np.float64],
    query_lon: npt.NDArray[np.float64],
    k: int,
    radius_km: float,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]: ...
def neighbor_mean(
    site: npt.NDArray[np.int32],
    day: npt.NDArray[np.int32],
    value: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    k: int,
    radius_km: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]: ...
def parse_ghcn_dly(data: npt.NDArray[np.uint8], elements: list[str]) -> dict[str, Any]: ...
