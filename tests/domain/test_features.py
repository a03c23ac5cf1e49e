"""The C++ grid and feature kernels against a straightforward pandas reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airwatch import _core, core

LAGS, MEANS, STDS, MAXES, EWMS = [0, 1, 3], [3, 7], [7], [7], [0.3]


def random_series(seed: int, sites: int = 4, days: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(sites):
        present = np.sort(rng.choice(days, size=rng.integers(1, days), replace=False))
        for d in present:
            rows.append((s, int(d) + 10_000, rng.gamma(2.0, 5.0) if rng.random() > 0.1 else np.nan))
    return pd.DataFrame(rows, columns=["site", "day", "value"])


def reference(frame: pd.DataFrame) -> pd.DataFrame:
    out = []
    for site, g in frame.groupby("site"):
        full = pd.DataFrame({"day": np.arange(g["day"].min(), g["day"].max() + 1)})
        full = full.merge(g[["day", "value"]], on="day", how="left")
        v = full["value"]
        cols = {"site": site, "day": full["day"]}
        for k in LAGS:
            cols[f"lag_{k}"] = v.shift(k)
        for w in MEANS:
            cols[f"mean_{w}"] = v.rolling(w, min_periods=(w + 1) // 2).mean()
        for w in STDS:
            cols[f"std_{w}"] = v.rolling(w, min_periods=max(2, (w + 1) // 2)).std()
        for w in MAXES:
            cols[f"max_{w}"] = v.rolling(w, min_periods=(w + 1) // 2).max()
        idx = pd.Series(np.where(v.notna(), np.arange(len(v)), np.nan)).ffill()
        for a in EWMS:
            cols[f"ewm_{a}"] = v.ewm(alpha=a, adjust=False, ignore_na=True).mean()
        cols["days_since_obs"] = np.arange(len(v)) - idx
        cols["last_value"] = v.ffill()
        padded = pd.concat([pd.Series([np.nan] * 6), v], ignore_index=True)
        cols["missing_7"] = padded.isna().astype(float).rolling(7).sum().iloc[6:].to_numpy()
        out.append(pd.DataFrame(cols))
    return pd.concat(out, ignore_index=True)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.filterwarnings("ignore")
def test_features_match_reference(seed: int) -> None:
    frame = random_series(seed)
    g_site, g_day, g_value = core.daily_grid(frame["site"], frame["day"], frame["value"])
    names, matrix = core.compute_features(g_site, g_day, g_value, LAGS, MEANS, STDS, MAXES, False, EWMS, 2)
    ours = pd.DataFrame(matrix, columns=names)
    ref = reference(frame)
    assert list(g_day) == list(ref["day"])
    for name in names:
        np.testing.assert_allclose(ours[name], ref[name], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=name)


def test_matrix_is_column_major_view_without_copy() -> None:
    site = np.zeros(5, dtype=np.int32)
    day = np.arange(5, dtype=np.int32)
    _, matrix = core.compute_features(site, day, np.arange(5.0), [0], [], [], [], False)
    assert matrix.flags.f_contiguous
    assert matrix.flags.owndata is False  # owned by the C++ buffer, not copied


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(core.CoreError, match="sorted"):
        core.daily_grid([1, 0], [0, 1], [1.0, 2.0])
    with pytest.raises(core.CoreError, match="length mismatch"):
        core.daily_grid([1], [0, 1], [1.0])
    with pytest.raises(core.CoreError, match="site"):
        core.daily_grid([1.5], [0], [1.0])  # not truncated to site 1
    with pytest.raises(core.CoreError, match="day"):
        core.daily_grid([1], [2**40], [1.0])  # does not fit int32
    with pytest.raises(TypeError):
        core.daily_grid(["a"], [0], [1.0])
    with pytest.raises(TypeError):  # the raw binding converts nothing
        _core.daily_grid(np.array([1.5]), np.array([0], dtype=np.int32), np.array([1.0]))
    s, d, v = core.daily_grid([], [], [])
    assert len(s) == len(d) == len(v) == 0
    assert s.dtype == np.int32 and v.dtype == np.float64


def test_metrics_match_numpy() -> None:
    rng = np.random.default_rng(3)
    f, o, r = rng.normal(size=100), rng.normal(size=100), rng.normal(size=100)
    f[5] = np.nan
    summary = core.error_summary(f, o)
    ok = ~np.isnan(f)
    assert summary.n == 99
    assert summary.rmse == pytest.approx(np.sqrt(np.mean((f[ok] - o[ok]) ** 2)), rel=1e-12)
    assert summary.bias == pytest.approx(np.mean(f[ok] - o[ok]), rel=1e-12)
    skill = core.rmse_skill(f, r, o)
    expected = 1 - np.sqrt(np.mean((f[ok] - o[ok]) ** 2) / np.mean((r[ok] - o[ok]) ** 2))
    assert skill == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("windows", [[], [3], [1, 10]])
def test_missing_windows_count_days_without_a_value(windows: list[int]) -> None:
    frame = random_series(3)
    g_site, g_day, g_value = core.daily_grid(frame["site"], frame["day"], frame["value"])
    names, matrix = core.compute_features(g_site, g_day, g_value, [0], [], [], [], False, [], 2, windows)
    assert [n for n in names if n.startswith("missing_")] == [f"missing_{w}" for w in windows]
    ours = pd.DataFrame(matrix, columns=names)
    for w in windows:
        expected = []
        for s in np.unique(g_site):
            v = pd.Series(g_value[g_site == s])
            padded = pd.concat([pd.Series([np.nan] * (w - 1)), v], ignore_index=True)  # before the first row: missing
            expected.append(padded.isna().astype(float).rolling(w).sum().iloc[w - 1 :].to_numpy())
        np.testing.assert_array_equal(ours[f"missing_{w}"], np.concatenate(expected))
