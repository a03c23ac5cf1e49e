"""NOAA station files: both formats, flags, missing values, unit conversions, gaps; and station matching."""

from __future__ import annotations

import gzip
import random

import numpy as np
import pandas as pd
import pytest

from airwatch.domain import weather
from airwatch.domain.weather import (
    ARCHIVED,
    ELEMENTS,
    LAGGED,
    OBSERVED,
    StationDays,
    WeatherError,
    bearing_deg,
    columns_for_horizon,
    combine_weather,
    match_upstream,
    parse_ghcn_csv,
    parse_ghcn_dly,
    parse_hrrr_points,
    parse_nws_archive,
    weather_features,
)
from tests.conftest import FIXTURES

NOAA = FIXTURES / "noaa"


def dly_line(element: str, year: int, month: int, cells: dict[int, tuple[int, str]]) -> str:
    out = f"USW00094789{year:04d}{month:02d}{element}"
    for d in range(1, 32):
        value, qflag = cells.get(d, (-9999, " "))
        out += f"{value:5d} {qflag}{' ' if value == -9999 else 'W'}"
    return out


def test_dly_units_flags_missing_and_gaps() -> None:
    text = "\n".join(
        [
            dly_line("TMAX", 2019, 7, {1: (322, " "), 2: (301, "X"), 4: (280, " ")}),  # day 3 is a gap
            dly_line("PRCP", 2019, 7, {1: (254, " ")}),
            dly_line("AWND", 2019, 7, {1: (1377, " ")}),  # 137.7 m/s: out of physical bounds
            dly_line("SNOW", 2019, 7, {1: (0, " ")}),  # not requested
            dly_line("RHAV", 2019, 7, {1: (67, " "), 4: (104, " ")}),  # 104 %: out of bounds
            dly_line("ASLP", 2019, 7, {1: (10132, " "), 4: (1013, " ")}),  # tenths of hPa; 101.3 hPa is wrong
        ]
    )
    frame, counts = parse_ghcn_dly("x.dly.gz", gzip.compress(text.encode()))
    assert counts["flagged"] == 1 and counts["out_of_bounds"] == 3
    day1 = frame[frame["day"] == (np.datetime64("2019-07-01") - np.datetime64("1970-01-01")).astype(int)].iloc[0]
    assert day1["TMAX"] == pytest.approx(32.2) and day1["PRCP"] == pytest.approx(25.4) and np.isnan(day1["AWND"])
    assert day1["RHAV"] == pytest.approx(67.0) and day1["ASLP"] == pytest.approx(1013.2)
    day4 = frame.iloc[-1]
    assert day4["TMAX"] == pytest.approx(28.0) and np.isnan(day4["RHAV"]) and np.isnan(day4["ASLP"])
    assert len(frame) == 2  # days 1 and 4; the flagged day 2 and the gap on day 3 have no row


def test_csv_standard_units_are_converted() -> None:
    csv = (
        '"STATION","NAME","DATE","AWND","PRCP","SNOW","SNWD","TMAX","TMIN"\n'
        '"USW00094728","NY CITY CENTRAL PARK, NY US","2019-07-20","10.00","1.00","0.0","0.0","95",""\n'
        '"USW00094728","NY CITY CENTRAL PARK, NY US","2019-07-21","","","0.0","0.0","212","70"\n'
    )
    frame, meta = parse_ghcn_csv("cp.csv", csv.encode())
    assert frame.loc[0, "TMAX"] == pytest.approx(35.0)
    assert frame.loc[0, "PRCP"] == pytest.approx(25.4) and frame.loc[0, "AWND"] == pytest.approx(4.4704)
    assert np.isnan(frame.loc[0, "TMIN"])  # blank stays missing
    assert np.isnan(frame.loc[1, "TMAX"])  # 212 F (100 C) is outside physical bounds
    assert meta.empty  # this export has no coordinates


HRRR = NOAA / "hrrr_analysis_at_denver_ozone_sites_2021_2022"
HRRR_STATION = "HRRR:39.751184,-104.987625"


def hrrr_hours(part: str) -> list[dict[str, str]]:
    """The fixture's hourly rows, read with the csv module (not the parser under test)."""
    import csv

    with gzip.open(HRRR / f"hrrr_{part}_2021_07_01_03_one_site.csv.gz", "rt") as fh:
        return list(csv.DictReader(fh))


def test_hrrr_points_are_stations_with_local_standard_days() -> None:
    temp, wind = hrrr_hours("tempAndRH"), hrrr_hours("wind")
    frame, meta = parse_hrrr_points("t.csv.gz", (HRRR / "hrrr_tempAndRH_2021_07_01_03_one_site.csv.gz").read_bytes())
    winds, _ = parse_hrrr_points("w.csv.gz", (HRRR / "hrrr_wind_2021_07_01_03_one_site.csv.gz").read_bytes())
    assert meta.to_dict("records") == [{"station_id": HRRR_STATION, "latitude": 39.751184, "longitude": -104.987625}]
    day = (np.datetime64("2021-07-01") - np.datetime64("1970-01-01")).astype(int)
    # Denver at -105 degrees: MST, UTC-7. June 30 has 7 hours here (under 18: no value); July 1 and 2 all 24.
    assert frame["day"].tolist() == [day - 1, day, day + 1]
    assert frame.loc[0, ["TMAX", "TMIN", "RHAV"]].isna().all()
    for row, start in ((1, "2021-07-01 07"), (2, "2021-07-02 07")):
        begin = next(i for i, r in enumerate(temp) if r["time"].startswith(start))
        hours = temp[begin : begin + 24]
        kelvin = [float(r["t2m"]) for r in hours]
        assert frame.loc[row, "TMAX"] == pytest.approx(max(kelvin) - 273.15)
        assert frame.loc[row, "TMIN"] == pytest.approx(min(kelvin) - 273.15)
        assert frame.loc[row, "RHAV"] == pytest.approx(np.mean([float(r["r2"]) for r in hours]))
        blows = wind[begin : begin + 24]
        speeds = [np.hypot(float(r["u10"]), float(r["v10"])) for r in blows]
        assert winds.loc[row, "AWND"] == pytest.approx(np.mean(speeds))
        u, v = (float(blows[int(np.argmax(speeds))][c]) for c in ("u10", "v10"))
        # Where it blows from: a wind from the west (u > 0) is 270 degrees.
        assert winds.loc[row, "WDF2"] == pytest.approx(np.degrees(np.arctan2(-u, -v)) % 360)
    assert frame[["PRCP", "ASLP", "AWND"]].isna().all().all()  # not in this file


def test_hrrr_files_of_a_point_make_one_station_that_serves_after_a_season(monkeypatch: pytest.MonkeyPatch) -> None:
    files = [(p.name, p.read_bytes()) for p in sorted(HRRR.iterdir())]
    known = pd.DataFrame(columns=["station_id", "latitude", "longitude"])
    days, stations, counts = combine_weather(files, known)
    assert counts["files"] == 2 and counts["skipped"] == 0
    # Temperature from one file, wind from the other: one row per station-day.
    assert days[["TMAX", "AWND"]].notna().sum().tolist() == [2, 2] and days["station_id"].unique().tolist() == [
        HRRR_STATION
    ]
    assert stations.empty  # two days are not the HRRR_MIN_DAYS a point needs
    monkeypatch.setattr(weather, "HRRR_MIN_DAYS", 2)
    assert combine_weather(files, known)[1]["station_id"].tolist() == [HRRR_STATION]


def test_an_hrrr_extract_without_its_coordinates_is_a_weather_error_naming_it() -> None:
    with pytest.raises(WeatherError, match=r"x\.csv: not an HRRR point extract"):
        parse_hrrr_points("x.csv", b"time,point_latitude,t2m\n2021-07-01 00:00:00,39.7,300\n")


def test_dly_of_random_bytes_is_malformed_lines_not_an_exception() -> None:
    noise = random.Random(3).randbytes(200).replace(b"\n", b" ")  # one short line
    data = noise + b"\n" + dly_line("TMAX", 2019, 7, {1: (322, " ")}).encode()
    bad_id = b"\xe9" + dly_line("TMAX", 2019, 8, {1: (322, " ")}).encode()[1:]
    frame, counts = parse_ghcn_dly("r.dly", data + b"\n" + bad_id)
    assert counts["malformed_lines"] == 2
    assert list(frame["station_id"]) == ["USW00094789"]


def test_csv_that_is_not_text_is_a_weather_error_naming_it() -> None:
    with pytest.raises(WeatherError, match=r"^w\.csv: not a text CSV file"):
        parse_ghcn_csv("w.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_real_files_agree_across_formats() -> None:
    """O'Hare: the .dly file and the CDO CSV export give the same TMAX (README: 6138 of 6138 days; in the
    fixtures' 2015-2016 slice, the 659 days both have, up to the .dly file's last TMAX on 2016-10-21)."""
    dly, _ = parse_ghcn_dly(
        "o.dly.gz", (NOAA / "ghcnd_dly_chicago_ohare_il" / "USW00094846_TMAX_2015_2016.dly.gz").read_bytes()
    )
    csv, meta = parse_ghcn_csv(
        "o.csv.gz", (NOAA / "ghcnd_daily_csv_chicago_il" / "Ohare_temp_2015_2016.csv.gz").read_bytes()
    )
    both = dly.merge(csv, on=["station_id", "day"], suffixes=("_dly", "_csv")).dropna(subset=["TMAX_dly", "TMAX_csv"])
    assert len(both) == 659
    # The CSV rounds to whole degrees F; 0.5 F is 0.28 C.
    assert (both["TMAX_dly"] - both["TMAX_csv"]).abs().max() < 0.3
    assert meta.iloc[0]["latitude"] == pytest.approx(41.995, abs=0.01)


def test_weather_features_modes_and_no_station() -> None:
    sites = pd.DataFrame({"site_id": ["a", "b"], "latitude": [40.74, 10.0], "longitude": [-73.82, 10.0]})
    stations = pd.DataFrame({"station_id": ["S"], "latitude": [40.64], "longitude": [-73.76]})
    days = np.arange(100, 110)
    weather = pd.DataFrame({"station_id": "S", "day": days, "TMAX": days * 1.0, "TMIN": 0.0, "PRCP": 0.0,
                            "AWND": 1.0, "WDF2": 90.0})  # fmt: skip
    g_site = np.array([0] * 5 + [1] * 5)
    g_day = np.array([100, 101, 102, 103, 104] * 2)
    lagged = weather_features(sites, g_site, g_day, weather, stations, mode=LAGGED, horizons=(1, 2))
    assert lagged["wx_tmax"][:5].tolist() == [100, 101, 102, 103, 104]  # the issue day's own weather
    assert np.isnan(lagged["wx_tmax"][5:]).all() and np.isnan(lagged["wx_station_km"][5:]).all()
    assert not any(k.startswith("wxf") for k in lagged)
    assert lagged["wx_stagnant"][0] == 1.0 and lagged["wx_wind_u"][0] == pytest.approx(-1.0)
    observed = weather_features(sites, g_site, g_day, weather, stations, mode=OBSERVED, horizons=(1, 2))
    assert observed["wxf2_tmax"][:5].tolist() == [102, 103, 104, 105, 106]  # the target day's weather
    assert columns_for_horizon(list(observed), 1) == [c for c in observed if not c.startswith("wxf2")]


def reindexed(
    frame: pd.DataFrame, stations: pd.DataFrame, station: np.ndarray, day: np.ndarray
) -> dict[str, np.ndarray]:
    """The lookup as a two-level reindex made it (the code before StationDays): the reference."""
    codes = pd.Categorical(frame["station_id"], categories=stations["station_id"]).codes
    table = frame.assign(code=codes).set_index(["code", "day"]).reindex(columns=ELEMENTS)
    got = table[~table.index.duplicated()].reindex(pd.MultiIndex.from_arrays([station, day]))
    raw = {e: got[e].to_numpy(dtype=np.float64, copy=True) for e in ELEMENTS}
    for v in raw.values():
        v[station < 0] = np.nan
    return raw


def test_station_days_look_up_what_a_reindex_by_station_and_day_did() -> None:
    rng = np.random.default_rng(5)
    stations = pd.DataFrame({"station_id": ["A", "B", "C", "D"]})
    rows = 400
    frame = pd.DataFrame({
        "station_id": rng.choice(["A", "B", "C", "X"], rows),  # X: a station not listed (left out)
        "day": rng.integers(-3, 40, rows),  # repeated station-days: the first row of each counts
        **{e: rng.normal(size=rows) for e in ELEMENTS if e not in ("RHAV", "ASLP")},  # two elements absent
    })  # fmt: skip
    frame.loc[rng.random(rows) < 0.2, "TMAX"] = np.nan
    station = rng.integers(-1, 4, 1000)  # -1: a row with no station; 3 (D): a station without data
    day = rng.integers(-10, 50, 1000)  # days before, inside and after the table's
    got = StationDays.of(frame, stations).at(station, day)
    want = reindexed(frame, stations, station, day)
    assert list(got) == ELEMENTS
    for e in ELEMENTS:
        np.testing.assert_array_equal(got[e], want[e], err_msg=e)
    assert not np.isnan(got["TMIN"]).all() and np.isnan(got["RHAV"]).all()
    # No rows at all, or none of a listed station: every value missing.
    for empty in (frame.iloc[:0], frame[frame["station_id"] == "X"]):
        assert all(
            np.isnan(v).all() and len(v) == 1000 for v in StationDays.of(empty, stations).at(station, day).values()
        )


# Real coordinates: a Chicago site, O'Hare, Minneapolis-Crystal (575 km north-west), Midway (close,
# south-east), Denver (1,400 km west: beyond a day's drift), Miami (south-east).
CHICAGO = pd.DataFrame({"site_id": ["chicago"], "latitude": [41.9], "longitude": [-87.7]})
STATIONS = pd.DataFrame(
    {
        "station_id": ["OHARE", "MSP", "MIDWAY", "DEN", "MIA"],
        "latitude": [41.995, 45.062, 41.786, 39.833, 25.788],
        "longitude": [-87.9336, -93.354, -87.752, -104.658, -80.317],
    }
)


def test_bearing_points_clockwise_from_north() -> None:
    lat, lon = np.zeros(4), np.zeros(4)
    got = bearing_deg(lat, lon, np.array([1.0, 0.0, -1.0, 0.0]), np.array([0.0, 1.0, 0.0, -1.0]))
    assert got == pytest.approx([0.0, 90.0, 180.0, 270.0])


def test_upstream_is_the_nearest_station_a_day_west() -> None:
    idx, km = match_upstream(CHICAGO, STATIONS)
    assert STATIONS["station_id"][idx[0]] == "MSP" and km[0] == pytest.approx(575, abs=5)
    # Nothing in the ring and sector: no upstream station (east of Chicago there is only Miami).
    east = pd.DataFrame({"site_id": ["x"], "latitude": [25.0], "longitude": [-70.0]})
    assert match_upstream(east, STATIONS)[0].tolist() == [-1]
    # A site without coordinates has none either.
    nowhere = pd.DataFrame({"site_id": ["y"], "latitude": [np.nan], "longitude": [np.nan]})
    assert match_upstream(nowhere, STATIONS)[0].tolist() == [-1]


def test_upstream_features_are_the_issue_days_weather_there() -> None:
    days = np.arange(100, 106)
    weather = pd.concat(
        [
            pd.DataFrame({"station_id": "OHARE", "day": days, "TMAX": 30.0, "TMIN": 20.0, "PRCP": 0.0,
                          "AWND": 2.0, "WDF2": 180.0}),
            pd.DataFrame({"station_id": "MSP", "day": days, "TMAX": days - 80.0, "TMIN": 5.0, "PRCP": 3.0,
                          "AWND": 6.0, "WDF2": 315.0}),
        ]
    )  # fmt: skip
    g_day = np.array([101, 102, 103])
    stations = STATIONS[STATIONS["station_id"] != "MIDWAY"].reset_index(drop=True)  # O'Hare is the local one
    cols = weather_features(CHICAGO, np.zeros(3, dtype=np.int64), g_day, weather, stations, mode=LAGGED, horizons=(1,))
    assert cols["wxup_tmax"].tolist() == [21.0, 22.0, 23.0]  # the issue day's, never the target day's
    assert cols["wxup_dtmax"].tolist() == [-9.0, -8.0, -7.0]  # colder upstream: a cold front coming
    assert cols["wxup_dtmin"].tolist() == [-15.0] * 3
    assert cols["wxup_prcp"].tolist() == [3.0] * 3 and cols["wx_tmax"].tolist() == [30.0] * 3


NWS = NOAA / "nws_forecasts_2021_2022"


def nws_archive():  # type: ignore[no-untyped-def]
    archive, cities = NWS / "email_data_reorganized_denver_colorado_springs.csv.gz", NWS / "cities.csv.gz"
    return parse_nws_archive(archive.name, archive.read_bytes(), cities.name, cities.read_bytes())


def f_to_c(f: float) -> float:
    return (f - 32.0) / 1.8


def day_of(text: str) -> int:
    return int((np.datetime64(text) - np.datetime64("1970-01-01")).astype(int))


def test_nws_archive_forecasts_keep_their_lead_and_observations_are_the_next_mornings_report() -> None:
    a = nws_archive()
    assert set(a.stations["station_id"]) == {"NWS:DENVER_CO", "NWS:COLORADO_SPGS_CO"}
    denver = a.stations.set_index("station_id").loc["NWS:DENVER_CO"]
    assert (denver["latitude"], denver["longitude"]) == (39.71, -104.76)
    # The archive's line "2021-02-01","DENVER","CO",57,31,57,31,58,31,58,31,23,59,27,59 (degrees F):
    # forecast_hi_2_prev_PM 57, forecast_lo/hi_prev_AM 31/57, forecast_lo/hi_prev_PM 31/58, ...,
    # actual_lo/hi_current_PM 23/59, actual_lo/hi_next_AM 27/59.
    f = a.forecasts.set_index(["station_id", "day", "lead_days"])
    one, two = f.loc[("NWS:DENVER_CO", day_of("2021-02-01"), 1)], f.loc[("NWS:DENVER_CO", day_of("2021-02-01"), 2)]
    assert one["TMAX"] == pytest.approx(f_to_c(58)) and one["TMIN"] == pytest.approx(f_to_c(31))
    assert two["TMAX"] == pytest.approx(f_to_c(57)) and np.isnan(two["TMIN"])  # no two-day low in the archive
    assert set(a.forecasts["lead_days"]) == {1, 2}  # no three-day lead
    o = a.observed.set_index(["station_id", "day"]).loc[("NWS:DENVER_CO", day_of("2021-02-01"))]
    assert o["TMAX"] == pytest.approx(f_to_c(59)) and o["TMIN"] == pytest.approx(f_to_c(27))
    # "2021-01-31","DENVER","CO",NA,25,50,24,50,...: no two-day forecast that day, the one-day one is there.
    assert ("NWS:DENVER_CO", day_of("2021-01-31"), 2) not in f.index
    assert f.loc[("NWS:DENVER_CO", day_of("2021-01-31"), 1)]["TMAX"] == pytest.approx(f_to_c(50))


def test_nws_archive_of_another_layout_is_a_weather_error_naming_it() -> None:
    cities = NWS / "cities.csv.gz"
    with pytest.raises(WeatherError, match=r"not_it\.csv: not the NWS forecast archive's layout"):
        parse_nws_archive("not_it.csv", b"date,city,state,x\n2021-01-01,A,B,1\n", cities.name, cities.read_bytes())


def test_archived_forecast_features_take_only_forecasts_made_on_the_issue_day() -> None:
    """Day+h's target-day columns come from the forecast made h days before the target: on the issue day."""
    a = nws_archive()
    site = pd.DataFrame({"site_id": ["x"], "latitude": [39.75], "longitude": [-104.9]})  # 13 km from the city
    g_day = np.array([day_of("2021-01-31")])
    got = weather_features(site, np.array([0]), g_day, a.observed, a.stations, mode=ARCHIVED, horizons=(1, 2, 3),
                           forecasts=a.forecasts)  # fmt: skip
    assert got["wxf1_tmax"][0] == pytest.approx(f_to_c(58))  # 2021-02-01's high as forecast on 01-31 PM
    # 2021-02-02's high as forecast on 01-31 PM: that day's forecast_hi_2_prev_PM.
    row = a.forecasts.set_index(["station_id", "day", "lead_days"]).loc[("NWS:DENVER_CO", day_of("2021-02-02"), 2)]
    assert got["wxf2_tmax"][0] == pytest.approx(row["TMAX"]) and row["TMAX"] != pytest.approx(f_to_c(58))
    earlier = weather_features(site, np.array([0]), g_day - 1, a.observed, a.stations, mode=ARCHIVED, horizons=(2,),
                               forecasts=a.forecasts)  # fmt: skip
    assert earlier["wxf2_tmax"][0] == pytest.approx(f_to_c(57))  # 2021-02-01's, as forecast on 01-30 PM
    assert np.isnan(got["wxf3_tmax"][0])  # no forecast three days ahead in the archive: missing, not a later one
    observed = a.observed.set_index(["station_id", "day"])
    assert got["wx_tmax"][0] == pytest.approx(observed.loc[("NWS:DENVER_CO", g_day[0]), "TMAX"])  # issue day
    perfect = weather_features(site, np.array([0]), g_day, a.observed, a.stations, mode=OBSERVED, horizons=(1,))
    assert perfect["wxf1_tmax"][0] == pytest.approx(f_to_c(59))  # the observed high of 2021-02-01
