"""HMS smoke flags per site and day, and forecasts scored by the smoke over their site."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from airwatch.domain.backtest import by_label
from airwatch.domain.parse import ParseError
from airwatch.domain.smoke import LIGHT, MEDIUM_HEAVY, NO_SMOKE, parse_smoke_flags, smoke_regime
from tests.conftest import FIXTURES

CSN = (
    FIXTURES / "epa" / "csn_speciation_hms_smoke_flags_california" / "csn_pm25_speciation_hms_2018_11_two_sites.csv.gz"
)


def day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def test_flags_of_the_csn_merge_one_row_per_site_day_with_the_densest_smoke() -> None:
    flags = parse_smoke_flags(CSN.name, CSN.read_bytes())
    table = flags.set_index(["site_id", "day"])["density"]
    assert not table.index.duplicated().any()  # the merge repeats rows (one per species file)
    assert table[("060190011", day("2018-11-10"))] == 3  # light, med and heavy all set: heavy
    assert table[("060190011", day("2018-11-16"))] == 1
    assert table[("060190011", day("2018-11-13"))] == 0
    assert table[("060070008", day("2018-11-04"))] == 0
    assert ("060190011", day("2018-11-28")) not in table.index  # NA flags: no analysis that day
    assert len(flags) == 11  # 2 + 9 site-days with flags


def test_bad_flags_are_refused_naming_the_file_and_row() -> None:
    text = gzip.decompress(CSN.read_bytes()).decode()
    header, first, *_ = text.splitlines()
    with pytest.raises(ParseError, match=r"flags\.csv: row 2: site '06-19-11'"):
        parse_smoke_flags("flags.csv", f'{header}\n"06-19-11"{first[first.index(",") :]}\n'.encode())
    with pytest.raises(ParseError, match=r"flags\.csv: not a table of HMS smoke flags .*heavy"):
        parse_smoke_flags("flags.csv", b"site,date,value\n1,2,3\n")


def test_forecasts_take_the_smoke_of_their_target_day() -> None:
    flags = parse_smoke_flags(CSN.name, CSN.read_bytes())
    # Issued 2018-11-09 for day+1 (the 10th: heavy), 2018-11-14 for day+2 (the 16th: light), 2018-11-12
    # for day+1 (the 13th: none), and a day without a flag row.
    p = pd.DataFrame(
        {
            "site_id": ["060190011", "060190011", "060190011", "060190011"],
            "date": pd.to_datetime(["2018-11-09", "2018-11-14", "2018-11-12", "2018-11-11"]),
            "horizon": [1, 2, 1, 1],
        }
    )
    regime = smoke_regime(p, flags)
    assert regime.iloc[:3].tolist() == [MEDIUM_HEAVY, LIGHT, NO_SMOKE] and pd.isna(regime.iloc[3])


def test_scores_by_label_leave_out_the_unlabelled() -> None:
    rng = np.random.default_rng(0)
    n = 60
    observed = rng.gamma(3, 10, n)
    p = pd.DataFrame(
        {
            "site_id": np.repeat(["a", "b"], n // 2),
            "date": pd.Timestamp("2018-11-01") + pd.to_timedelta(np.tile(np.arange(n // 2), 2), unit="D"),
            "horizon": 1,
            "observed": observed,
            "forecast": observed + rng.normal(0, 2, n),
            "persistence": observed + rng.normal(0, 5, n),
            "climatology": np.full(n, observed.mean()),
        }
    )
    labels = pd.Series(np.where(np.arange(n) % 3 == 0, "x", np.where(np.arange(n) % 3 == 1, "y", None)))
    scores = by_label("pm25", p, labels, {"seed": 1, "resamples": 50, "block_days": 7})
    assert list(scores) == ["x", "y"]
    assert scores["x"]["n_forecasts"] == 20 and scores["y"]["n_forecasts"] == 20
    rows = (labels == "x").to_numpy()
    y, f, r = (p.loc[rows, c].to_numpy() for c in ("observed", "forecast", "persistence"))
    rmse = float(np.sqrt(np.mean((f - y) ** 2)))
    assert scores["x"]["rmse"] == pytest.approx(rmse, rel=1e-12)
    assert scores["x"]["skill_vs_persistence"] == pytest.approx(1 - rmse / np.sqrt(np.mean((r - y) ** 2)), rel=1e-9)
