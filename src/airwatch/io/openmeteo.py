"""Client of Open-Meteo's forecast and historical-forecast APIs (no key): daily weather for a point.

Returns the same daily elements and metric units as the NOAA station parser (TMAX, TMIN in degrees C,
PRCP in mm, AWND in m/s, WDF2 in degrees, RHAV in %, ASLP in hPa), so a forecast can stand where
observed weather stood in training. Retries with exponential backoff and jitter on 5xx, timeouts,
broken connections and damaged bodies; a 4xx is an error carrying Open-Meteo's reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import httpx
import numpy as np
import pandas as pd

from airwatch.domain.weather import match_stations
from airwatch.errors import AirWatchError
from airwatch.io.retry import Pacer, get_json, with_retries
from airwatch.settings import WeatherSettings

log = logging.getLogger(__name__)
DAILY = {
    "temperature_2m_max": "TMAX",
    "temperature_2m_min": "TMIN",
    "precipitation_sum": "PRCP",
    "wind_speed_10m_mean": "AWND",
    "wind_direction_10m_dominant": "WDF2",
    "relative_humidity_2m_mean": "RHAV",
    "pressure_msl_mean": "ASLP",
}
_EPOCH = np.datetime64("1970-01-01", "D")


class OpenMeteoError(AirWatchError, RuntimeError):
    """A request failed for good; the message names it and gives Open-Meteo's reason."""


@dataclass
class OpenMeteoClient:
    base_url: str = "https://api.open-meteo.com"
    historical_base_url: str = "https://historical-forecast-api.open-meteo.com"
    max_retries: int = 4
    backoff: float = 1.0
    timeout: float = 30.0
    min_interval: float = 0.2
    _pacer: Pacer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pacer = Pacer(self.min_interval)

    @classmethod
    def from_settings(cls, weather: WeatherSettings, base_url: str) -> OpenMeteoClient:
        return cls(base_url=base_url, historical_base_url=base_url, max_retries=weather.max_retries,
                   backoff=weather.backoff_seconds, timeout=weather.timeout_seconds,
                   min_interval=weather.min_interval_seconds)  # fmt: skip

    def daily(
        self, latitude: float, longitude: float, start: date, end: date, *, archived: bool = False
    ) -> pd.DataFrame:
        """Daily forecast (or, archived, the forecast issued at the time) for local days start..end."""
        base = self.historical_base_url if archived else self.base_url
        params = {
            "latitude": f"{latitude:.4f}",
            "longitude": f"{longitude:.4f}",
            "daily": ",".join(DAILY),
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "timezone": "auto",
            "wind_speed_unit": "ms",
        }
        description = f"{base}/v1/forecast?" + "&".join(f"{k}={v}" for k, v in params.items())
        payload = self._get(f"{base.rstrip('/')}/v1/forecast", params, description)
        try:
            daily = payload["daily"]
            frame = pd.DataFrame({"date": pd.to_datetime(daily["time"])})
            for source, element in DAILY.items():
                frame[element] = pd.to_numeric(pd.Series(daily.get(source, [None] * len(frame))), errors="coerce")
        except (KeyError, TypeError, ValueError) as exc:
            raise OpenMeteoError(f"{description}: unexpected response ({exc})") from None
        frame["day"] = (frame["date"].to_numpy(dtype="datetime64[D]") - _EPOCH).astype(np.int64)
        return frame.drop(columns="date")

    def station_forecasts(
        self, stations: pd.DataFrame, start: date, end: date, *, archived: bool = False
    ) -> pd.DataFrame:
        """Daily forecasts (station_id, day, elements) at each station (station_id, latitude, longitude).

        Long ranges are asked a year at a time, one request per station and year.
        """
        frames = []
        for station in stations.itertuples(index=False):
            first = start
            while first <= end:
                last = min(end, date(first.year, 12, 31))
                daily = self.daily(float(station.latitude), float(station.longitude), first, last, archived=archived)
                frames.append(daily.assign(station_id=station.station_id))
                first = date(first.year + 1, 1, 1)
        columns = ["station_id", "day", *DAILY.values()]
        return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)

    def _get(self, url: str, params: dict[str, str], description: str) -> dict:  # type: ignore[type-arg]
        return with_retries(
            lambda: self._get_once(url, params, description),
            retries=self.max_retries,
            backoff=self.backoff,
            describe=f"Open-Meteo {description}",
            give_up=OpenMeteoError,
        )

    def _get_once(self, url: str, params: dict[str, str], description: str) -> dict:  # type: ignore[type-arg]
        self._pacer.wait()
        code, payload = get_json(
            lambda: httpx.get(url, params=params, timeout=self.timeout), describe=description, error=OpenMeteoError
        )
        if code >= 400 or (isinstance(payload, dict) and payload.get("error")):
            reason = payload.get("reason", "") if isinstance(payload, dict) else ""
            raise OpenMeteoError(f"{description}: HTTP {code}: {reason}")
        return payload


def site_forecasts(
    client: OpenMeteoClient | None,
    sites: pd.DataFrame,
    stations: pd.DataFrame,
    *,
    radius_km: float,
    start: date,
    end: date,
    archived: bool = False,
) -> tuple[pd.DataFrame | None, str]:
    """Forecasts for days start..end at the stations matched to sites, or None and why there are none.

    archived: the forecasts issued at the time (historical-forecast API), for backtests.
    """
    if client is None:
        return None, "no forecast API configured (AIRWATCH_WEATHER__FORECAST_URL)"
    idx, _ = match_stations(sites, stations, radius_km=radius_km)
    matched = stations.iloc[sorted(set(idx[idx >= 0].tolist()))]
    if not len(matched):
        return None, f"no weather station within {radius_km:g} km of any site"
    try:
        return client.station_forecasts(matched, start, end, archived=archived), ""
    except OpenMeteoError as exc:
        return None, f"forecast API failed: {exc}"
