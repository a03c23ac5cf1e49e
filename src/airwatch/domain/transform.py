"""Transform: one daily value per site and pollutant, laid on a calendar, with the feature block.

Daily values: reported daily summaries are used as they are; hourly rows (AQS sampleData, AirData
hourly files, AirNow) are first aggregated by EPA's rules in the C++ core (PM2.5 24-hour average with
at least 18 hours, ozone MDA8 per 40 CFR 50 Appendix U) and only complete days are kept.

The site-day rule (docs/data.md): among the valid rows of a site and day, prefer reported daily values
over aggregates of hours, then the pollutant's parameters in order (PM2.5: 88101 FRM/FEM before
88502), then the sample duration that defines the daily statistic (24-hour, or 8-hour running for
ozone) over block averages and 1-hour rows, then the lowest POC.

Features come from the C++ kernels and use only values on or before the issue day: the site's own
series (lags, rolling statistics, EWMs, missing-data indicators, calendar), the distance-weighted mean
of the nearest other sites (neighbour features, k-d tree), and co-located pollutants and meteorology
measured at the site or, failing that, at the nearest site within a radius. The target of horizon h is
the value h days after the issue day. Episode features (whether a smoke or photochemical episode is
under way around the site: FeatureConfig.regional_neighbors) are available and off: measured without gain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from airwatch import core
from airwatch.domain.frames import per_category
from airwatch.domain.predict import usg_threshold
from airwatch.domain.schemas import HORIZONS, POLLUTANTS
from airwatch.domain.weather import with_weather
from airwatch.errors import NoDataError

_DURATION_RANK = {"": 0, "24 HOUR": 0, "8-HR RUN AVG BEGIN HOUR": 0, "24-HR BLK AVG": 1}
ONE_HOUR = "1 HOUR"
AGGREGATED = "aggregated from hours"  # sample_duration label of daily values made from hourly rows
AQS = "AQS"  # data_source of validated values (the other is AirNow's preliminary ones)


@dataclass(frozen=True)
class AuxiliarySeries:
    """A co-located series used as a feature: an AQS parameter's daily value at or near the site."""

    name: str
    parameters: tuple[int, ...]
    statistic: str  # "value" (the normalized daily value) for pollutants; "mean" for meteorology


# Other pollutants and AQS meteorology; each joins the site's series where measured.
AUXILIARY: tuple[AuxiliarySeries, ...] = (
    AuxiliarySeries("ozone", (44201,), "value"),
    AuxiliarySeries("pm25", (88101, 88502), "value"),
    AuxiliarySeries("no2", (42602,), "value"),
    AuxiliarySeries("co", (42101,), "value"),
    AuxiliarySeries("temperature", (62101,), "value"),
    AuxiliarySeries("wind_speed", (61103, 61101), "value"),
    AuxiliarySeries("humidity", (62201,), "value"),
    AuxiliarySeries("pressure", (64101,), "value"),
)


@dataclass(frozen=True)
class FeatureConfig:
    """Which features the kernels compute; part of the dataset version."""

    lags: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    mean_windows: tuple[int, ...] = (3, 7, 14, 30)
    std_windows: tuple[int, ...] = (7,)
    max_windows: tuple[int, ...] = (7,)
    ewm_alphas: tuple[float, ...] = (0.3, 0.1)
    calendar: bool = True
    horizons: tuple[int, ...] = HORIZONS  # the targets
    site_columns: tuple[str, ...] = field(default=("latitude", "longitude"))
    neighbors: int = 8
    neighbor_radius_km: float = 150.0
    # Episode features (smoke, photochemical events): the highest value and the fraction at or above
    # AQI 100 among the nearest sites of a wider region, and the site's own run of such days. Off (0):
    # on the development windows they lowered the published warning's CSI on two of three (docs/backtest.md,
    # "Episode features"); 16 sites within 400 km is the setting that was measured.
    regional_neighbors: int = 0
    regional_radius_km: float = 400.0
    auxiliary_radius_km: float = 50.0
    auxiliary_min_days: int = 30  # a site needs this many days of a series to serve as its source


# The observation columns feature_frame reads (the rest: raw keys, units, revision dates, flags, are the
# validate stage's); transform reads only these.
OBSERVATION_COLUMNS = ("site_id", "parameter", "poc", "day", "hour", "value", "sample_duration", "data_source",
                       "latitude", "longitude", "site_name")  # fmt: skip


def _daily_from_hours(hourly: pd.DataFrame, pollutant: str) -> pd.DataFrame:
    """Complete days from hourly rows, per monitor, by EPA's rules (C++)."""
    if hourly.empty:
        return hourly
    keys = ["site_id", "parameter", "poc"]
    rows = hourly.sort_values([*keys, "day", "hour"], kind="stable").drop_duplicates([*keys, "day", "hour"])
    monitor = rows.groupby(keys, sort=False, observed=True).ngroup().to_numpy(dtype=np.int32)
    kernel = core.ozone_mda8 if pollutant == "ozone" else core.pm25_daily
    out = kernel(monitor, rows["day"], rows["hour"], rows["value"])
    first = rows.groupby(monitor, sort=True).head(1).reset_index(drop=True)
    meta = first.iloc[out.site].reset_index(drop=True)
    daily = meta.assign(
        day=out.day, hour=-1, value=out.value, obs_count=out.count.astype(np.float64), sample_duration=AGGREGATED
    )
    daily = daily[out.valid.astype(bool)]
    daily["date"] = (np.datetime64("1970-01-01", "D") + daily["day"].to_numpy().astype("timedelta64[D]")).astype(
        "datetime64[s]"
    )
    return daily.reset_index(drop=True)


def site_daily_values(observations: pd.DataFrame, pollutant: str, sites: np.ndarray | None = None) -> pd.DataFrame:
    """One row per (site, day) for a pollutant by the site-day rule; sites: of these sites only (None: every site)."""
    spec = POLLUTANTS[pollutant]
    wanted = observations[_of_sites(observations, sites) & observations["parameter"].isin(spec.parameters)]
    hourly = wanted["hour"] >= 0
    daily = wanted[~hourly]
    if pollutant == "ozone":
        # A daily summary of ozone's 1-hour values (AQS Data Mart has one beside the 8-hour one) gives the
        # day's highest hour, not its MDA8: not an ozone daily value (PM2.5's "1 HOUR" rows are daily means).
        daily = daily[daily["sample_duration"].astype(str) != ONE_HOUR]
    rows = pd.concat([daily, _daily_from_hours(wanted[hourly], pollutant)], ignore_index=True)
    if rows.empty:
        return rows
    rank = {p: i for i, p in enumerate(spec.parameters)}
    # AQS's validated values before AirNow's preliminary ones: when AQS publishes a day that AirNow
    # gave first, its value replaces AirNow's (the AirNow rows stay in the observations).
    duration = pd.Categorical(rows["sample_duration"])  # once for both of its ranks (a no-op if categorical)
    keys = pd.DataFrame({"site_id": rows["site_id"], "day": rows["day"],
                         "source_rank": per_category(rows["data_source"], lambda t: int(t != AQS)),
                         "aggregated": per_category(duration, lambda t: int(t == AGGREGATED)),
                         "param_rank": rows["parameter"].map(rank),
                         "duration_rank": per_category(duration, lambda t: _DURATION_RANK.get(t, 2)),
                         "poc": rows["poc"]})  # fmt: skip
    del duration
    # The keys alone are sorted and only the chosen rows taken: sorting the rows themselves put a sorted
    # copy of every column beside them (1,000 sites: the transform stage's peak).
    keys = keys.sort_values(list(keys.columns), kind="stable")
    first = ~keys.duplicated(["site_id", "day"], keep="first").to_numpy()
    chosen = rows.take(keys.index.to_numpy()[first]).reset_index(drop=True)  # rows: a RangeIndex (concat)
    del keys, rows
    chosen["site_id"] = chosen["site_id"].astype(str)
    return chosen


def auxiliary_daily(
    observations: pd.DataFrame, series: AuxiliarySeries, sites: np.ndarray | None = None
) -> pd.DataFrame:
    """Daily values of an auxiliary series per site: the mean over the site's monitors and POCs.

    sites: of these sites only (None: every site).
    """
    if series.name in POLLUTANTS:
        daily = site_daily_values(observations, series.name, sites)
        return daily[["site_id", "day", "value", "latitude", "longitude"]]
    rows = observations[_of_sites(observations, sites) & observations["parameter"].isin(series.parameters)
                        & (observations["hour"] < 0)]  # fmt: skip
    if rows.empty:
        return pd.DataFrame(columns=["site_id", "day", "value", "latitude", "longitude"])
    rows = rows.assign(site_id=rows["site_id"].astype(str))
    return rows.groupby(["site_id", "day"], as_index=False, observed=True).agg(
        value=("value", "mean"), latitude=("latitude", "last"), longitude=("longitude", "last")
    )


def site_table(daily: pd.DataFrame) -> pd.DataFrame:
    """Site metadata: the newest known coordinates and name of each site."""
    ordered = daily.sort_values(["site_id", "day"])
    meta = ordered.groupby("site_id", sort=True, observed=True).agg(
        latitude=("latitude", "last"), longitude=("longitude", "last"), site_name=("site_name", "last")
    )
    return meta.reset_index()


def build_features(
    daily: pd.DataFrame,
    config: FeatureConfig | None = None,
    auxiliary: dict[str, pd.DataFrame] | None = None,
    episode_threshold: float | None = None,
) -> pd.DataFrame:
    """The feature frame: one row per site and issue day with features and horizon targets.

    auxiliary: daily series of other pollutants and meteorology by name (from auxiliary_daily).
    episode_threshold: the concentration of AQI 100 (predict.usg_threshold) for the episode features;
    None leaves them out.
    """
    config = config or FeatureConfig()
    sites = site_table(daily)
    # Each row's position in sites, by a hash lookup of the whole column (a dict's map goes value by value).
    codes = pd.Index(sites["site_id"]).get_indexer(daily["site_id"]).astype(np.int32)
    order = np.lexsort((daily["day"].to_numpy(), codes))
    g_site, g_day, g_value = core.daily_grid(
        codes[order], daily["day"].to_numpy()[order], daily["value"].to_numpy(dtype=np.float64)[order]
    )
    names, matrix = core.compute_features(
        g_site,
        g_day,
        g_value,
        config.lags,
        config.mean_windows,
        config.std_windows,
        config.max_windows,
        config.calendar,
        config.ewm_alphas,
        2,
    )
    frame = pd.DataFrame(matrix, columns=names, copy=False)
    frame.insert(0, "site_id", sites["site_id"].to_numpy()[g_site])
    frame.insert(1, "day", g_day)
    frame.insert(2, "date", (np.datetime64("1970-01-01", "D") + g_day.astype("timedelta64[D]")).astype("datetime64[s]"))
    frame.insert(3, "value", g_value)
    for column in config.site_columns:
        frame[column] = sites[column].to_numpy()[g_site]
    if config.neighbors > 0:
        mean, count = core.neighbor_mean(
            g_site, g_day, g_value, sites["latitude"], sites["longitude"], config.neighbors, config.neighbor_radius_km
        )
        frame["nb_mean_0"] = mean
        frame["nb_count_0"] = count.astype(np.float64)
        frame["nb_mean_1"] = _shift_within_site(g_site, mean, -1)
        frame["nb_delta"] = frame["nb_mean_0"] - frame["nb_mean_1"]
    if config.regional_neighbors > 0 and episode_threshold is not None:
        episode = core.regional_episode(
            g_site, g_day, g_value, sites["latitude"], sites["longitude"], config.regional_neighbors,
            config.regional_radius_km, episode_threshold,
        )  # fmt: skip
        frame["rg_max_0"] = episode.highest
        frame["rg_high_0"] = episode.high_fraction
        frame["rg_high_1"] = _shift_within_site(g_site, episode.high_fraction, -1)
        frame["high_run_0"] = episode.run
    for name, series in (auxiliary or {}).items():
        values, distance = _auxiliary_features(sites, g_site, g_day, series, config)
        frame[f"aux_{name}"] = values
        frame[f"aux_{name}_km"] = distance
    for h in config.horizons:
        frame[f"target_{h}"] = _shift_within_site(g_site, g_value, h)
    return frame


def _auxiliary_features(
    sites: pd.DataFrame, g_site: np.ndarray, g_day: np.ndarray, series: pd.DataFrame, config: FeatureConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Each grid row's issue-day value of an auxiliary series, and the distance to where it came from.

    The source is the site itself or the nearest site within the radius that has enough of the series;
    NaN (and NaN distance) where none does.
    """
    n = len(g_site)
    if series.empty:
        return np.full(n, np.nan), np.full(n, np.nan)
    counts = series.groupby("site_id", observed=True)["value"].count()
    sources = series[series["site_id"].isin(counts[counts >= config.auxiliary_min_days].index)]
    if sources.empty:
        return np.full(n, np.nan), np.full(n, np.nan)
    meta = sources.groupby("site_id", observed=True).agg(latitude=("latitude", "last"), longitude=("longitude", "last"))
    meta = meta.dropna()
    nearest = core.nearest_sites(
        meta["latitude"], meta["longitude"], sites["latitude"], sites["longitude"], 1, config.auxiliary_radius_km
    )
    idx, km = nearest.site[:, 0], nearest.distance_km[:, 0]
    source_of_site = np.where(idx >= 0, idx, -1)
    source_ids = meta.index.to_numpy()
    lookup = sources.assign(src=pd.Categorical(sources["site_id"], categories=source_ids).codes)
    table = pd.Series(lookup["value"].to_numpy(), index=pd.MultiIndex.from_arrays([lookup["src"], lookup["day"]]))
    table = table[~table.index.duplicated()]
    row_source = source_of_site[g_site]
    keys = pd.MultiIndex.from_arrays([row_source, g_day])
    values = table.reindex(keys).to_numpy(dtype=np.float64, copy=True)
    values[row_source < 0] = np.nan
    return values, np.where(row_source >= 0, km[g_site], np.nan)


def _shift_within_site(site: np.ndarray, value: np.ndarray, h: int) -> np.ndarray:
    """Value h rows ahead (h < 0: behind) when that row is the same site; the grid is gap-free."""
    out = np.full(value.shape, np.nan)
    if h > 0 and h < len(value):
        same = site[h:] == site[:-h]
        out[:-h] = np.where(same, value[h:], np.nan)
    elif h < 0 and -h < len(value):
        k = -h
        same = site[:-k] == site[k:]
        out[k:] = np.where(same, value[:-k], np.nan)
    return out


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The model inputs of a feature frame (everything but keys, the raw value and targets)."""
    skip = {"site_id", "day", "date", "value", "value_source"}
    return [c for c in frame.columns if c not in skip and not c.startswith("target_")]


@dataclass(frozen=True)
class WeatherInput:
    """Station weather for the feature frame, and how it may be used (a mode of domain.weather)."""

    table: pd.DataFrame  # station_id, day and the daily elements
    stations: pd.DataFrame  # station_id, latitude, longitude
    mode: str
    radius_km: float
    forecasts: pd.DataFrame | None = None  # archived forecasts per station and day (archived-forecast)


def _value_source(frame: pd.DataFrame, daily: pd.DataFrame) -> pd.Categorical:
    """Where each grid day's value came from (AQS or AirNow); missing where the day has no value."""
    sources = daily.set_index(["site_id", "day"])["data_source"].astype(str)
    keys = pd.MultiIndex.from_arrays([frame["site_id"].astype(str), frame["day"]])
    return pd.Categorical(sources.reindex(keys).to_numpy())


@dataclass(frozen=True)
class Features:
    """A pollutant's feature frame and what went into it."""

    frame: pd.DataFrame
    site_days: int
    auxiliary: list[str]

    def sources(self) -> dict[str, int]:
        """Site-days by the source of their value (AQS, AirNow)."""
        return {str(k): int(v) for k, v in self.frame["value_source"].value_counts().items()}


def _of_sites(observations: pd.DataFrame, sites: np.ndarray | None) -> pd.Series | bool:
    return True if sites is None else observations["site_id"].isin(sites)


def sites_near(
    observations: pd.DataFrame, series: AuxiliarySeries, daily: pd.DataFrame, radius_km: float
) -> np.ndarray:
    """The sites of a series' observations with a position within radius_km of one of daily's (and a km more).

    Every site the series can be taken from for daily's sites (_auxiliary_features: the nearest
    within the radius, by the newest positions), and a margin: a national PM2.5 folder beside one
    ozone site had all its 1,400 sites' daily values made for the ozone site's features (1 s of the
    national run's transform).
    """
    rows = observations["parameter"].isin(series.parameters)
    positions = observations.loc[rows, ["site_id", "latitude", "longitude"]].drop_duplicates().dropna()
    targets = daily[["latitude", "longitude"]].drop_duplicates().dropna()
    near = core.nearest_sites(targets["latitude"], targets["longitude"], positions["latitude"],
                              positions["longitude"], 1, radius_km + 1.0)  # fmt: skip
    return np.unique(positions["site_id"].to_numpy()[near.site[:, 0] >= 0])


def feature_frame(
    observations: pd.DataFrame, pollutant: str, config: FeatureConfig, weather: WeatherInput | None = None
) -> Features:
    """Daily values by the site-day rule, the C++ feature block, co-located series and weather.

    The transform stage and the backtest both run this, so the backtest measures what production runs.
    """
    daily = site_daily_values(observations, pollutant)
    if daily.empty:
        raise NoDataError(f"no valid {pollutant} observations")
    # Each series of the sites near the pollutant's: the features are those of every site's series.
    auxiliary, present = {}, set(pd.unique(observations["parameter"]).tolist())
    for a in AUXILIARY:
        if a.name == pollutant or present.isdisjoint(a.parameters):  # no rows: no series, as before
            continue
        series = auxiliary_daily(observations, a, sites_near(observations, a, daily, config.auxiliary_radius_km))
        # None near: the series' columns stay (with no value) if it has days elsewhere, as with every site.
        if not series.empty or not auxiliary_daily(observations, a).empty:
            auxiliary[a.name] = series
    # The rows are not needed past here: a caller that hands over its only reference (the transform
    # stage) has them freed before the features and the weather are built (1,000 sites: 0.9 GB).
    del observations
    frame = build_features(daily, config, auxiliary, episode_threshold=usg_threshold(pollutant))
    frame["value_source"] = _value_source(frame, daily)
    site_days = len(daily)
    del daily
    if weather is not None:
        frame = with_weather(frame, weather.table, weather.stations, mode=weather.mode, horizons=config.horizons,
                             radius_km=weather.radius_km, forecasts=weather.forecasts)  # fmt: skip
    return Features(frame, site_days, sorted(auxiliary))
