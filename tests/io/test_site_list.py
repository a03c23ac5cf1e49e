"""The bundled AQS site list, loaded as the validate stage and backtests load it."""

from __future__ import annotations

import pandas as pd
import pytest

from airwatch.domain.sites import fill_coordinates
from airwatch.errors import InputError
from airwatch.io.files import bundled_site_list, load_site_list


def test_bundled_site_list_locates_the_sample_sites_files_leave_without(sample_observations: pd.DataFrame) -> None:
    """Some bundled Cook County rows write "." for coordinates (17-031-4006 in 2001); the site list has them."""
    site_list = load_site_list()
    assert site_list.source == str(bundled_site_list()) and len(site_list.sites) > 20000
    without = sample_observations["latitude"].isna()
    assert "170314006" in set(sample_observations.loc[without, "site_id"].astype(str))
    out, located = fill_coordinates(sample_observations, site_list.sites)
    assert "170314006" in located
    assert out["latitude"].notna().all() and out["longitude"].notna().all()
    rows = out["site_id"].astype(str) == "170314006"
    assert out.loc[rows & without, "latitude"].unique() == pytest.approx([42.027807])


def test_missing_site_list_is_named(tmp_path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.csv does not exist"):
        load_site_list(tmp_path / "nowhere.csv")
