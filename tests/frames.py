"""Comparing frames in tests: pandas' assert_frame_equal, without its slow path when they are equal."""

from __future__ import annotations

import pandas as pd


def assert_same_frame(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """assert_frame_equal's verdict, quickly when the frames are the same.

    assert_frame_equal compares categoricals of Arrow-backed text one value at a time (the bundled
    sample's clean result, 77,119 rows: 4.3 s); DataFrame.equals compares their codes (4 ms) but takes
    categories equal up to their order, which is compared here with the columns' dtypes. Any difference
    goes to assert_frame_equal, which says where it is.
    """
    if (
        got.equals(expected)
        and got.columns.equals(expected.columns)
        and got.dtypes.equals(expected.dtypes)
        and all(
            list(got[c].cat.categories) == list(expected[c].cat.categories)
            for c in got.columns
            if isinstance(got[c].dtype, pd.CategoricalDtype)
        )
    ):
        return
    pd.testing.assert_frame_equal(got, expected)
