"""Large frames: rows taken apart, and values worked out per distinct text, at a column's cost.

Rows are selected without holding the frame and the selection whole side by side; a value of each
row's text is worked out once per distinct text rather than once per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from airwatch import memory


def split_rows(frame: pd.DataFrame, masks: Sequence[np.ndarray], *, consume: bool = False) -> list[pd.DataFrame]:
    """The rows of each boolean mask, in order, each with a fresh index.

    consume: take each column out of frame as it is split (the frame is left without columns), so the
    frame and its parts are never held whole side by side; at most one column more. What the caller
    hands over this way it must not use again.
    """
    if not consume:
        return [frame.loc[mask].reset_index(drop=True) for mask in masks]
    parts: list[dict[str, pd.Series]] = [{} for _ in masks]
    for column in list(frame.columns):
        values = frame.pop(column)
        for part, mask in zip(parts, masks, strict=True):
            part[column] = values[mask].reset_index(drop=True)
        del values
        memory.release()  # a column read from Parquet is freed into Arrow's pool, which numpy cannot reuse
    return [pd.DataFrame(part, copy=False) for part in parts]


def per_category(
    values: pd.Series | pd.Categorical, value_of: Callable[[str], object], dtype: npt.DTypeLike | None = None
) -> np.ndarray:
    """value_of each row's text, worked out once per distinct text (a missing one as "nan").

    A column of millions of rows made text costs a string per row (the national site-day rule: 1.1 s
    of its 1.7 s); its categories are a handful.
    """
    cat = values.array if isinstance(values, pd.Series) else values
    if not isinstance(cat, pd.Categorical):
        cat = pd.Categorical(cat)
    table = np.array([*(value_of(str(t)) for t in cat.categories), value_of("nan")], dtype=dtype)
    return table[np.asarray(cat.codes)]  # a missing value's code, -1, takes the last entry
