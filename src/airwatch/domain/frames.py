"""Rows of a large frame selected without holding the frame and the selection whole side by side."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
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
