"""Smoke days: NOAA Hazard Mapping System (HMS) smoke density over AQS sites, to score forecasts apart.

HMS analysts draw the smoke plumes seen from satellites each day as light, medium or heavy polygons.
Merged with monitoring sites, that gives a daily flag per site (the CSN speciation merge in
../shared/data/epa/csn_speciation_hms_smoke_flags_california: `Site.Code` "06-019-0008", `Date`, and
0/1 columns `light`, `med`, `heavy`). The backtest uses it to say how forecasts do on smoke days, the
regime the episode features are for, apart from the other days.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from airwatch.domain.archives import DEFAULT_LIMITS, ArchiveLimits, decompress
from airwatch.domain.parse import ParseError

FLAG_COLUMNS = ("Site.Code", "Date", "light", "med", "heavy")
# Regimes of a site-day by the densest smoke over it; days without a flag row are in none of them.
NO_SMOKE, LIGHT, MEDIUM_HEAVY = "no_smoke", "light_smoke", "medium_heavy_smoke"


def parse_smoke_flags(name: str, data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """site_id (SSCCCNNNN), day (days since 1970-01-01) and density (0 none, 1 light, 2 medium, 3 heavy).

    Rows with none of the three flags given are dropped (no HMS analysis that day); repeated site-days
    keep their densest flag.
    """
    try:
        frame = pd.read_csv(io.BytesIO(bytes(decompress(name, data, limits))), usecols=list(FLAG_COLUMNS),
                            dtype={"Site.Code": str, "Date": str})  # fmt: skip
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"{name}: not a table of HMS smoke flags (columns {', '.join(FLAG_COLUMNS)}): {exc}") from None
    parts = frame["Site.Code"].str.fullmatch(r"(\d{2})-(\d{3})-(\d{4})")
    days = pd.to_datetime(frame["Date"], format="%Y-%m-%d", errors="coerce")
    bad = ~parts | days.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ParseError(f"{name}: row {row + 2}: site {frame['Site.Code'].iloc[row]!r} or date "
                         f"{frame['Date'].iloc[row]!r} is not SS-CCC-NNNN / YYYY-MM-DD")  # fmt: skip
    flags = frame[["light", "med", "heavy"]].apply(pd.to_numeric, errors="coerce")
    known = flags.notna().any(axis=1).to_numpy()
    density = np.select([flags["heavy"] > 0, flags["med"] > 0, flags["light"] > 0], [3, 2, 1], 0)
    out = pd.DataFrame(
        {
            "site_id": frame["Site.Code"].str.replace("-", "", regex=False).to_numpy(dtype=object),
            "day": days.to_numpy("datetime64[D]").astype(np.int64),
            "density": density.astype(np.int8),
        }
    )[known]
    out = out.sort_values("density", kind="stable").drop_duplicates(["site_id", "day"], keep="last")
    return out.sort_values(["site_id", "day"]).reset_index(drop=True)


def smoke_regime(predictions: pd.DataFrame, flags: pd.DataFrame) -> pd.Series:
    """Each forecast's regime by the smoke over its site on its target day (date + horizon); NaN without a flag."""
    target = pd.to_datetime(predictions["date"]).to_numpy("datetime64[D]").astype(np.int64)
    target = target + predictions["horizon"].to_numpy(dtype=np.int64)
    table = flags.set_index(["site_id", "day"])["density"]
    keys = pd.MultiIndex.from_arrays([predictions["site_id"].astype(str).to_numpy(), target])
    density = table.reindex(keys).to_numpy(dtype=np.float64)
    labels = np.select([density >= 2, density == 1, density == 0], [MEDIUM_HEAVY, LIGHT, NO_SMOKE], "")
    return pd.Series(labels, index=predictions.index).replace("", np.nan)
