"""Row selections that take the frame's columns as they go."""

from __future__ import annotations

import numpy as np
import pandas as pd

from airwatch.domain.frames import split_rows
from airwatch.domain.train import time_split


def a_frame(n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "site_id": pd.Categorical(rng.choice(["b", "a", "c"], n)),
            "day": np.arange(n, dtype=np.int32),
            "value": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2, 3, n)),
            "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(n), unit="D"),
        },
        index=pd.RangeIndex(10, 10 + n),  # not 0..n-1: the parts' index is fresh either way
    )
    frame["a"], frame["b"] = frame["value"] * 2, frame["value"] + 1  # a block of floats
    return frame


def test_handed_over_frames_split_as_copies_do_and_are_emptied() -> None:
    frame = a_frame()
    masks = (frame["value"].to_numpy() > 5, frame["value"].isna().to_numpy())
    expected = split_rows(frame, masks)
    handed = frame.copy()
    got = split_rows(handed, masks, consume=True)
    for a, b in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert len(handed.columns) == 0 and len(frame.columns) == 6  # only the handed-over frame is emptied


def test_time_split_of_a_handed_over_frame_is_the_same_split() -> None:
    frame = a_frame()
    frame["target_1"], frame["last_value"] = frame["value"].shift(-1), frame["value"]
    expected = time_split(frame, horizon=1, validation_days=100)
    got = time_split(frame.copy(), horizon=1, validation_days=100, consume=True)
    pd.testing.assert_frame_equal(got.train, expected.train)
    pd.testing.assert_frame_equal(got.validation, expected.validation)
    assert (got.validation_start, got.validation_end) == (expected.validation_start, expected.validation_end)
    assert list(expected.train.index) == list(range(len(expected.train)))
