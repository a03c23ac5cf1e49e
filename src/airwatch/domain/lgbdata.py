"""LightGBM's Dataset fed the input columns a block of rows at a time (the training rows of domain.train).

A module of its own so that LightGBM is imported only where a model is fitted: domain.train imports
this inside Rows.dataset, and a command that fits nothing (a repeated run) never imports LightGBM
and the scikit-learn it brings (3 s of the repeat's imports; docs/core.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from airwatch.domain import gbm
from airwatch.domain.train import BLOCK_ROWS

gbm.lightgbm()  # first, so that under the command line LightGBM comes without scikit-learn (domain/gbm.py)
import lightgbm as lgb  # noqa: E402
from lightgbm.basic import ZERO_THRESHOLD  # noqa: E402


class BlocksDataset(lgb.Dataset):
    """A Dataset built from InputBlocks with every parameter, as one built from a matrix is.

    LightGBM 4 builds a Dataset from a Sequence with only its dataset parameters (get_params): without
    the seed that picks the rows sampled for the bin edges, and without min_data_in_leaf, by which it
    leaves out inputs no split could use. A matrix is built with all of them. After construction the
    Dataset answers as any other (a Booster takes get_params' values into its own parameters).
    """

    _constructing = False

    def get_params(self) -> dict[str, Any]:
        return dict(self.params or {}) if self._constructing else super().get_params()

    def _Dataset__sample(self, *, seqs: list[lgb.Sequence], total_nrow: int) -> tuple[list[Any], list[Any]]:
        """The sampled rows LightGBM bins its edges from, as its Dataset.__sample gives them.

        Per input, the sampled values it bins (those not zero) and their positions in the sample. LightGBM's
        own asks the Sequence for each sampled row, one Python call a row (200,000 a national Dataset),
        stacks them into a matrix and filters a transposed copy: three copies of the sample at once, 0.18
        GB above the rest at the peak of a national refit (docs/core.md). Here each input's sampled values
        are gathered and filtered alone, and handed over sorted: LightGBM's bin search (BinMapper::FindBin)
        sorts each input's values in place first, with a merge sort that is slow on values in sampling
        order and quick on values already in order: a national horizon's Dataset took 0.46-0.51 s
        against 0.63-0.66 s, numpy's sort (0.05 s) included. The bins are the same, since they depend
        on the values, not their order; the positions stay in sample order, and after the bin search
        LightGBM reads only which positions an input has values at (feature bundling), never a value by
        its position. The models are the same to the bit (docs/core.md).
        """
        (seq,) = seqs
        assert isinstance(seq, InputBlocks)
        indices = self._create_sample_indices(total_nrow=total_nrow)
        positions = np.arange(len(indices), dtype=np.int32)
        values, where = [], []
        for column in seq.sampled(indices):
            kept = (np.abs(column) > ZERO_THRESHOLD) | np.isnan(column)
            if kept.all():  # an input with no zero: its gathered values, and the one array of positions
                values.append(np.sort(column))
                where.append(positions)
            else:
                values.append(np.sort(column[kept]))
                where.append(positions[kept])
        return values, where

    def _init_from_sample(
        self, sample_data: list[np.ndarray], sample_indices: list[np.ndarray], sample_cnt: int, total_nrow: int
    ) -> lgb.Dataset:
        """LightGBM's, then the sample let go: the bin edges are made from it.

        LightGBM's caller keeps the lists __sample gave it while it takes in every row, a block at a
        time (a national horizon's sample: up to 0.13 GB of values and positions). Emptied, not replaced:
        they are the caller's own.
        """
        super()._init_from_sample(sample_data, sample_indices, sample_cnt, total_nrow)
        sample_data.clear()
        sample_indices.clear()
        return self

    def construct(self) -> lgb.Dataset:
        self._constructing = True
        try:
            super().construct()
        finally:
            self._constructing = False
        # As from a frame without categoricals: the model's text then ends as before ("[]", not "null").
        if self.pandas_categorical is None:
            self.pandas_categorical = []
        return self


class InputBlocks(lgb.Sequence):
    """Input columns (at positions index, or all rows) served to LightGBM a block of rows at a time.

    LightGBM bins a Sequence from its sampled rows, then takes the rows a block at a time, so no float
    matrix of every row and input is made: from a frame it makes one, and one more when the frame's
    columns are not row-major (a national refit: 0.6 GB each). The bins and the Dataset are those of
    the whole matrix (the same sampled rows, the same values): the models are the same to the bit.
    """

    batch_size = BLOCK_ROWS

    def __init__(self, columns: list[np.ndarray], index: np.ndarray | None = None) -> None:
        self.columns, self.index = columns, index
        self.rows = len(index) if index is not None else len(columns[0]) if columns else 0

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, key: int | slice | list[int]) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.rows)
            if step != 1:
                raise IndexError("InputBlocks: only contiguous row ranges")
            return self._rows(start, stop)
        if isinstance(key, list):
            return self.take(np.asarray(key, dtype=np.int64))
        return self.take(np.array([int(key)]))[0]

    def sampled(self, rows: np.ndarray) -> Iterator[np.ndarray]:
        """Each input's values at these rows (positions of this sequence), one input at a time."""
        positions = self.index[rows] if self.index is not None else rows
        for column in self.columns:
            yield column[positions]

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The values of the rows at these positions (of this sequence), one row each."""
        return np.column_stack(list(self.sampled(rows))) if self.columns else np.empty((len(rows), 0))

    def _rows(self, start: int, stop: int) -> np.ndarray:
        block = np.empty((stop - start, len(self.columns)))
        positions = self.index[start:stop] if self.index is not None else None
        for j, column in enumerate(self.columns):
            block[:, j] = column[start:stop] if positions is None else column[positions]
        return block
