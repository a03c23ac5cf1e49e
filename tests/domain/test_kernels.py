"""The C++ aggregation, drift, metric and spatial kernels against plain references, random and real data."""

from __future__ import annotations

import gzip
import json
import math
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from airwatch import _core, core
from tests.conftest import FIXTURES

AQS_JSON = FIXTURES / "epa" / "aqs_api_json"


def recorded(response: str) -> list[dict]:
    """The rows of a recorded AQS API response (tests/fixtures/README.md)."""
    return json.loads(gzip.decompress((AQS_JSON / response).read_bytes()))["Data"]


def trunc3(v: float) -> float:
    return math.floor(v * 1000 + 1e-6) / 1000


def reference_mda8(hours: dict[tuple[int, int], float], day: int) -> tuple[float, int]:
    """Appendix U, written out plainly: 17 periods starting 07:00..23:00, 6+ valid hours each."""
    best, periods = math.nan, 0
    for start in range(7, 24):
        vals = []
        for k in range(8):
            d, h = day + (start + k) // 24, (start + k) % 24
            v = hours.get((d, h), math.nan)
            if not math.isnan(v):
                vals.append(trunc3(v))
        if len(vals) >= 6:
            avg = trunc3(sum(vals) / len(vals))
            periods += 1
            if math.isnan(best) or avg > best:
                best = avg
    return best, periods


hourly_rows = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 23),
              st.one_of(st.none(), st.floats(0, 0.12, allow_nan=False))),
    min_size=1, max_size=150, unique_by=lambda r: r[:3],
)  # fmt: skip


def as_arrays(rows):
    rows = sorted(rows, key=lambda r: r[:3])
    site = np.array([r[0] for r in rows], dtype=np.int32)
    day = np.array([r[1] for r in rows], dtype=np.int32)
    hour = np.array([r[2] for r in rows], dtype=np.int32)
    value = np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64)
    return site, day, hour, value


@settings(max_examples=200, deadline=None)
@given(hourly_rows)
def test_mda8_matches_reference(rows) -> None:
    site, day, hour, value = as_arrays(rows)
    out = core.ozone_mda8(site, day, hour, value, 1)
    for s, d, v, c in zip(out.site, out.day, out.value, out.count, strict=True):
        hours = {
            (int(dd), int(hh)): float(vv) for ss, dd, hh, vv in zip(site, day, hour, value, strict=True) if ss == s
        }
        best, periods = reference_mda8(hours, int(d))
        assert c == periods
        assert (math.isnan(v) and math.isnan(best)) or abs(v - best) < 1e-9


@settings(max_examples=200, deadline=None)
@given(hourly_rows)
def test_pm25_daily_matches_pandas(rows) -> None:
    site, day, hour, value = as_arrays(rows)
    out = core.pm25_daily(site, day, hour, value * 1000, 1)
    ref = (
        pd.DataFrame({"site": site, "day": day, "v": value * 1000}).groupby(["site", "day"])["v"].agg(["mean", "count"])
    )
    np.testing.assert_allclose(out.value, ref["mean"].to_numpy(), rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(out.count, ref["count"].to_numpy())
    np.testing.assert_array_equal(out.valid, (ref["count"] >= 18).to_numpy().astype(np.uint8))


def test_threads_give_identical_aggregates() -> None:
    rng = np.random.default_rng(1)
    n_sites, days = 60, 200
    site = np.repeat(np.arange(n_sites, dtype=np.int32), days * 24)
    day = np.tile(np.repeat(np.arange(days, dtype=np.int32), 24), n_sites)
    hour = np.tile(np.arange(24, dtype=np.int32), n_sites * days)
    value = np.where(rng.random(site.size) < 0.1, np.nan, rng.gamma(3, 0.012, site.size))
    for fn in (core.ozone_mda8, core.pm25_daily):
        a, b = fn(site, day, hour, value, 1), fn(site, day, hour, value, 2)
        for key in vars(a):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))


def test_aggregation_rejects_bad_input() -> None:
    i32 = np.array([0, 0], dtype=np.int32)
    with pytest.raises(core.CoreError, match="sorted"):
        core.ozone_mda8(i32, i32, np.array([3, 3], dtype=np.int32), np.array([0.1, 0.1]))
    with pytest.raises(core.CoreError, match="length mismatch"):
        core.pm25_daily(i32, i32, i32[:1], np.array([0.1, 0.1]))
    with pytest.raises(core.CoreError, match="hour"):
        core.pm25_daily(i32, i32, [0.0, 2.5], [0.1, 0.1])  # a fractional hour is not truncated to 2
    # The raw binding converts nothing: integer values where floats are expected are a TypeError.
    with pytest.raises(TypeError):
        _core.pm25_daily(i32, i32, i32, np.array([1, 2]))


def test_mda8_and_daily_mean_match_aqs_on_real_responses() -> None:
    """Birmingham, AL, 2015-05-01/02 (bybox): hourly sampleData against AQS's own dailyData."""
    sample = pd.DataFrame(recorded("bybox/aqs/sampleData/byBox-797bad.json.gz"))
    daily = pd.DataFrame(recorded("bybox/aqs/dailyData/byBox-797bad.json.gz"))
    sample["site"] = (sample["state_code"] + sample["county_code"] + sample["site_number"]).astype(int)
    sample["day"] = (pd.to_datetime(sample["date_local"]) - pd.Timestamp("1970-01-01")).dt.days
    sample["hour"] = sample["time_local"].str[:2].astype(int)
    sample = sample.sort_values(["site", "day", "hour"])
    kinds = (("site", np.int32), ("day", np.int32), ("hour", np.int32), ("sample_measurement", np.float64))
    args = [sample[c].to_numpy(dtype=t) for c, t in kinds]
    mda8 = pd.DataFrame(vars(core.ozone_mda8(*args, 1)))
    means = pd.DataFrame(vars(core.pm25_daily(*args, 1)))  # the same 24-hour mean kernel, on the ozone hours
    daily["site"] = (daily["state_code"] + daily["county_code"] + daily["site_number"]).astype(int)
    daily["day"] = (pd.to_datetime(daily["date_local"]) - pd.Timestamp("1970-01-01")).dt.days
    checked = 0
    for _, row in daily.iterrows():
        m = mda8[(mda8["site"] == row["site"]) & (mda8["day"] == row["day"])]
        if m.empty:
            continue
        if row["pollutant_standard"] == "Ozone 8-hour 2015" and m["max_hour"].iloc[0] <= 16:
            # Periods starting after 16:00 need hours of the next day, outside this response.
            assert m["value"].iloc[0] == pytest.approx(row["first_max_value"], abs=1e-12)
            checked += 1
        if row["sample_duration"] == "1 HOUR":
            a = means[(means["site"] == row["site"]) & (means["day"] == row["day"])]
            assert a["value"].iloc[0] == pytest.approx(row["arithmetic_mean"], abs=1e-6)
            checked += 1
    assert checked >= 10


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=1, max_size=80), st.lists(st.floats(-50, 50), min_size=1, max_size=80))
def test_ks_and_wasserstein_match_scipy(a, b) -> None:
    ra, rb = np.array(a), np.array(b)
    d = core.drift(ra, rb, 5) if len(np.unique(ra)) > 1 else None
    with np.errstate(divide="ignore", invalid="ignore"):  # the statistic only: its p-value is not read
        ks = stats.ks_2samp(ra, rb, method="asymp").statistic
    w = stats.wasserstein_distance(ra, rb)
    got = core.drift(ra, rb, 2)
    assert got.ks == pytest.approx(ks, abs=1e-12)
    assert got.wasserstein == pytest.approx(w, rel=1e-9, abs=1e-9)
    if d is not None:
        assert np.isfinite(d.psi) and d.psi >= 0


def test_psi_matches_a_plain_computation() -> None:
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(size=5000), rng.normal(0.3, 1.2, size=3000)
    got = core.drift(ref, cur, 10)
    edges = np.quantile(ref, np.linspace(0, 1, 11)[1:-1])
    r = np.bincount(np.digitize(ref, edges, right=True), minlength=10) / ref.size
    c = np.bincount(np.digitize(cur, edges, right=True), minlength=10) / cur.size
    r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
    np.testing.assert_allclose(got.edges, edges, rtol=1e-12)
    assert got.psi == pytest.approx(np.sum((c - r) * np.log(c / r)), rel=1e-9)
    with pytest.raises(core.CoreError, match="empty"):
        core.drift(np.array([np.nan]), cur)


def test_drift_columns_equals_drift_of_each_column() -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.gamma(2, 5, (4000, 5)), rng.gamma(2, 5, (700, 5)) + np.arange(5)
    ref[rng.random(ref.shape) < 0.1] = np.nan
    cur[:, 3] = np.nan  # nothing to compare: NaN statistics, not an error
    got = core.drift_columns(ref, pd.DataFrame(cur), bins=8, threads=2)  # C-ordered and a frame: converted
    assert got.edges.shape == (5, 7)
    for j in range(5):
        assert got.n_reference[j] == np.isfinite(ref[:, j]).sum()
        assert got.n_current[j] == np.isfinite(cur[:, j]).sum()
        if j == 3:
            assert np.isnan([got.psi[j], got.ks[j], got.wasserstein[j]]).all() and np.isnan(got.edges[j]).all()
            continue
        one = core.drift(ref[:, j], cur[:, j], 8)
        assert (got.psi[j], got.ks[j], got.wasserstein[j]) == (one.psi, one.ks, one.wasserstein)
        np.testing.assert_array_equal(got.edges[j, : len(one.edges)], one.edges)
    with pytest.raises(core.CoreError, match="column mismatch"):
        core.drift_columns(ref, cur[:, :2])
    with pytest.raises(core.CoreError, match="2-D"):
        core.drift_columns(ref[:, 0], cur[:, 0])


def test_category_scores_match_python() -> None:
    rng = np.random.default_rng(5)
    obs, fc = rng.gamma(2, 12, 2000), rng.gamma(2, 12, 2000)
    got = core.category_scores("pm25", fc, obs, 2)
    co, cf = core.aqi_category(core.aqi("pm25", obs)), core.aqi_category(core.aqi("pm25", fc))
    hits, misses, fa = np.sum((cf >= 2) & (co >= 2)), np.sum((cf < 2) & (co >= 2)), np.sum((cf >= 2) & (co < 2))
    assert got.hit_rate == pytest.approx(np.mean(co == cf))
    assert got.pod == pytest.approx(hits / (hits + misses))
    assert got.far == pytest.approx(fa / (hits + fa))


def haversine(lat1, lon1, lat2, lon2):
    p = np.pi / 180
    a = np.sin((lat2 - lat1) * p / 2) ** 2 + np.cos(lat1 * p) * np.cos(lat2 * p) * np.sin((lon2 - lon1) * p / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def test_nearest_sites_on_real_site_list() -> None:
    # The package's copy of shared/data/epa/airdata_site_metadata/aqs_sites.csv.gz (src/airwatch/reference).
    site_list = resources.files("airwatch") / "reference" / "aqs_sites.csv.gz"
    sites = pd.read_csv(str(site_list), usecols=["Latitude", "Longitude"])
    sites = sites[(sites["Latitude"] != 0) & sites["Latitude"].between(24, 50) & sites["Longitude"].between(-125, -66)]
    lat, lon = (sites[c].to_numpy(dtype=np.float64) for c in ("Latitude", "Longitude"))
    q_lat, q_lon = np.array([40.73614, 41.7]), np.array([-73.82153, -87.7])  # Queens College, Chicago
    index, dist = core.nearest_sites(lat, lon, q_lat, q_lon, 8, 25.0)
    assert index.shape == dist.shape == (2, 8)
    for qi in range(2):
        d = haversine(q_lat[qi], q_lon[qi], lat, lon)
        order = np.argsort(d, kind="stable")[:8]
        np.testing.assert_allclose(dist[qi], d[order], rtol=1e-9)
        np.testing.assert_allclose(d[index[qi]], d[order], rtol=1e-9)


def test_neighbor_mean_matches_brute_force() -> None:
    rng = np.random.default_rng(2)
    n_sites, days = 30, 20
    lat, lon = rng.uniform(40, 41, n_sites), rng.uniform(-75, -74, n_sites)
    site = np.repeat(np.arange(n_sites, dtype=np.int32), days)
    day = np.tile(np.arange(days, dtype=np.int32), n_sites)
    value = np.where(rng.random(site.size) < 0.2, np.nan, rng.gamma(2, 5, site.size))
    mean, count = core.neighbor_mean(site, day, value, lat, lon, 4, 60.0)
    grid = value.reshape(n_sites, days)
    for s in range(n_sites):
        d = haversine(lat[s], lon[s], lat, lon)
        d[s] = np.inf
        near = [j for j in np.argsort(d)[:4] if d[j] <= 60]
        for t in range(days):
            vals = [(grid[j, t], 1 / max(d[j], 1)) for j in near if not np.isnan(grid[j, t])]
            i = s * days + t
            assert count[i] == len(vals)
            if vals:
                assert mean[i] == pytest.approx(sum(v * w for v, w in vals) / sum(w for _, w in vals), rel=1e-9)


def test_regional_episode_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    n_sites, days, threshold = 30, 20, 12.0
    lat, lon = rng.uniform(40, 43, n_sites), rng.uniform(-76, -73, n_sites)
    site = np.repeat(np.arange(n_sites, dtype=np.int32), days)
    day = np.tile(np.arange(days, dtype=np.int32), n_sites)
    value = np.where(rng.random(site.size) < 0.2, np.nan, rng.gamma(2, 6, site.size))
    value[5] = threshold  # at the threshold counts as at or above
    episode = core.regional_episode(site, day, value, lat, lon, 6, 150.0, threshold)
    grid = value.reshape(n_sites, days)
    for s in range(n_sites):
        d = haversine(lat[s], lon[s], lat, lon)
        d[s] = np.inf
        near = [j for j in np.argsort(d)[:6] if d[j] <= 150]
        run = 0.0
        for t in range(days):
            i = s * days + t
            vals = [grid[j, t] for j in near if not np.isnan(grid[j, t])]
            if vals:
                assert episode.highest[i] == max(vals)
                assert episode.high_fraction[i] == pytest.approx(np.mean(np.array(vals) >= threshold), abs=1e-15)
            else:
                assert np.isnan(episode.highest[i]) and np.isnan(episode.high_fraction[i])
            own = grid[s, t]
            run = np.nan if np.isnan(own) else (0.0 if own < threshold else (0.0 if np.isnan(run) else run) + 1)
            assert episode.run[i] == run or (np.isnan(run) and np.isnan(episode.run[i]))
    assert np.nanmax(episode.run) >= 2  # runs longer than a day occur, so the recurrence is exercised
