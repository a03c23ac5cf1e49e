from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airwatch.domain.validate import QuarantineThresholdError, enforce_threshold, validate_observations


def test_good_plus_quarantined_equals_input(sample_observations) -> None:
    frame = sample_observations.copy()
    frame.loc[0, "value"] = np.nan
    frame.loc[1, "value"] = 5000.0
    frame.loc[2, "site_code"] = -1
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)  # a duplicate key
    result = validate_observations(frame, max_day=20_000)
    assert len(result.valid) + len(result.quarantined) == len(frame)
    reasons = dict(zip(result.quarantined["raw_row"], result.quarantined["reasons"], strict=False))
    assert reasons[frame.loc[0, "raw_row"]] == "missing_value"
    assert "value_out_of_range" in result.reason_counts()
    assert result.reason_counts()["bad_site_id"] == 1
    assert result.reason_counts()["duplicate_key"] == 1


def test_future_dates_are_bad(sample_observations) -> None:
    result = validate_observations(sample_observations.head(100), max_day=0)
    assert len(result.valid) == 0
    assert set(result.quarantined["reasons"]) == {"bad_date"}


def test_threshold_fails_loudly(sample_observations) -> None:
    result = validate_observations(sample_observations.head(100), max_day=0)
    with pytest.raises(QuarantineThresholdError, match=r"100\.0%"):
        enforce_threshold(result, 0.05, source="test")
