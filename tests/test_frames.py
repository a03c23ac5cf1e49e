"""The tests' frame comparison fails where pandas' would (tests/frames.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.frames import assert_same_frame


def test_equal_frames_pass_and_every_kind_of_difference_fails() -> None:
    frame = pd.DataFrame({"site": pd.Categorical(["a", "b", "a"], categories=["b", "a"]), "value": [1.0, 2.0, None]})
    assert_same_frame(frame, frame.copy())
    reordered = frame.assign(site=frame["site"].cat.reorder_categories(["a", "b"]))  # the same values
    changed = frame.assign(value=[1.0, 2.5, None])
    as_text = frame.assign(site=frame["site"].astype(str))
    for other in (reordered, changed, as_text, frame[["value", "site"]]):
        with pytest.raises(AssertionError):
            assert_same_frame(other, frame)
