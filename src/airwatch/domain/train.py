"""Training: a time-ordered split, the candidate models and their scores.

Every candidate predicts the next day's value from one feature frame. The learned candidates fit the
change from persistence (target - last_value), which the forecasting notes found better than the level
on smoke-driven PM2.5; their prediction adds persistence back. They weight training rows by recency
(a half-life in years): emissions, and with them how ozone and PM2.5 answer the weather, change over
decades, and a pooled training set may hold one area's 1980s beside another's last year.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from airwatch import core, memory
from airwatch.domain import gbm
from airwatch.domain.boosting import (
    LIGHTGBM_LEARNING_RATE,
    LIGHTGBM_MAX_ROWS,
    LIGHTGBM_SAMPLE_ROWS,
    QUANTILE_MAX_ROWS,
    QUANTILE_SAMPLE_ROWS,
)
from airwatch.domain.frames import split_rows

if TYPE_CHECKING:
    import lightgbm as lgb

PERSISTENCE = "persistence"
CLIMATOLOGY = "climatology"
RIDGE = "ridge"
LIGHTGBM = "lightgbm"
BLEND = "blend"
BASELINES = (PERSISTENCE, CLIMATOLOGY)


class Forecaster(Protocol):
    """What every candidate offers."""

    name: str
    params: dict[str, Any]
    # The feature frame's key columns the model reads, besides its inputs, the targets, the day and
    # persistence (refit_columns reads no other).
    key_columns: ClassVar[tuple[str, ...]]

    def fit(self, frame: pd.DataFrame, target: np.ndarray) -> Forecaster: ...

    def fit_rows(self, rows: Rows) -> Forecaster: ...

    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...


def recency_weights(day: np.ndarray, half_life_years: float) -> np.ndarray | None:
    """Row weights halving every half_life_years back from the newest day; None (equal) for 0."""
    if half_life_years <= 0:
        return None
    day = np.asarray(day, dtype=np.float64)
    return np.power(0.5, (day.max() - day) / (365.25 * half_life_years))


@dataclass
class Persistence:
    """Tomorrow equals the newest observed value."""

    name: str = PERSISTENCE
    params: dict[str, Any] = field(default_factory=dict)
    key_columns: ClassVar[tuple[str, ...]] = ()

    def fit(self, frame: pd.DataFrame, target: np.ndarray) -> Persistence:
        return self

    def fit_rows(self, rows: Rows) -> Persistence:
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["last_value"].to_numpy(dtype=np.float64)


@dataclass
class Climatology:
    """The training mean of the site for the target's calendar month (falling back to all sites)."""

    name: str = CLIMATOLOGY
    params: dict[str, Any] = field(default_factory=lambda: {"by": "site, target month"})
    key_columns: ClassVar[tuple[str, ...]] = ("site_id", "date")  # by site and the target's month
    horizon: int = 1
    table_: pd.Series | None = None
    month_: pd.Series | None = None
    overall_: float = float("nan")

    def _target_month(self, frame: pd.DataFrame) -> np.ndarray:
        return (pd.to_datetime(frame["date"]) + pd.Timedelta(days=self.horizon)).dt.month.to_numpy()

    def fit(self, frame: pd.DataFrame, target: np.ndarray) -> Climatology:
        data = pd.DataFrame(
            {"site_id": frame["site_id"].astype(str).to_numpy(), "month": self._target_month(frame), "y": target}
        )
        data = data.dropna(subset=["y"])
        self.table_ = data.groupby(["site_id", "month"])["y"].mean()
        self.month_ = data.groupby("month")["y"].mean()
        self.overall_ = float(data["y"].mean()) if len(data) else float("nan")
        return self

    def fit_rows(self, rows: Rows) -> Climatology:
        return self.fit(rows.frame, rows.target)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        assert self.table_ is not None and self.month_ is not None, "fit first"
        months = self._target_month(frame)
        keys = pd.MultiIndex.from_arrays([frame["site_id"].astype(str).to_numpy(), months])
        by_site = self.table_.reindex(keys).to_numpy(dtype=np.float64, copy=True)
        by_month = self.month_.reindex(months).to_numpy(dtype=np.float64)
        return np.where(np.isnan(by_site), np.where(np.isnan(by_month), self.overall_, by_month), by_site)


# Rows a ridge fit or a prediction turns into a design matrix at a time: the whole matrix of a national
# training set (1.4 M rows, inputs plus missing-value indicators) is over a GB, and its scaling and
# centering each made another.
BLOCK_ROWS = 1 << 16
# Ridge's fit: half a block, as two threads each hold one (RidgeForm.fit; 26 MB on a national refit).
RIDGE_BLOCK_ROWS = BLOCK_ROWS // 2
PREDICT_ROWS = BLOCK_ROWS  # ridge forecasts a block of rows at a time (a national training side is a GB)


def _row_blocks(n: int, size: int | None = None) -> list[slice]:
    size = size or BLOCK_ROWS
    return [slice(a, min(a + size, n)) for a in range(0, n, size)]


# The parameters that shape LightGBM's binned Dataset: models agreeing on them (and on their rows,
# inputs and weights) can train on one Dataset. seed decides which rows sample the bin edges.
_DATASET_PARAMS = ("max_bin", "min_child_samples", "force_col_wise", "seed")
MAX_BAG_ROWS = "max_bag_rows"  # a model parameter of ours, not LightGBM's (DeltaModel.booster_params)
SAMPLE_ROWS = "sample_rows"  # ours too: LightGBM trains on a fixed sample of at most this many rows (Rows.sample)
SUBSAMPLE_ROWS = "subsample_rows"  # ours: of that sample, a fixed sample of at most this many (the quantile models)
_OURS = ("n_estimators", MAX_BAG_ROWS, SAMPLE_ROWS, SUBSAMPLE_ROWS)  # model parameters LightGBM is not given


_BLAS_LIMITED = threading.Lock()


@contextmanager
def _blas_alone(active: bool) -> Iterator[None]:
    """BLAS (OpenBLAS, numpy's) on one thread a call while active, as it was before afterwards.

    Ridge's blocks are worked on by several threads at once, each with its own products; OpenBLAS's
    threads for each of those calls left two threads little faster than one (national day+1 rows: 1.51
    s against 1.70 s; 1.07 s with BLAS on one thread a call; docs/core.md). The limit is the
    process's, so one such section at a time (a lock), which puts back the count it found.
    """
    if not active:
        yield
        return
    from threadpoolctl import threadpool_limits

    with _BLAS_LIMITED, threadpool_limits(limits=1, user_api="blas"):
        yield


def fixed_sample(n: int, rows: int, seed: int) -> np.ndarray:
    """Positions of a fixed sample of `rows` of n, in order: uniform, without replacement, by the seed."""
    return np.sort(np.random.default_rng(seed).choice(n, size=rows, replace=False))


class Rows:
    """Training rows prepared once for several models.

    They hold the change from persistence, the recency weights and LightGBM's binned Dataset per
    input list, each built on first use.

    Binning a national feature matrix costs seconds; the point model and both quantiles of a horizon
    learn from the same rows, so they bin them once (from the columns a block at a time: InputBlocks).
    index: the rows' positions in frame (None: every row). The models then read those rows of the
    columns they use, and no copy of the frame's selected rows, all its columns, is made (refitting
    a national frame, a GB a horizon).
    """

    def __init__(self, frame: pd.DataFrame, target: np.ndarray, index: np.ndarray | None = None) -> None:
        self.source = frame
        self.index = index
        self.target = target
        self.delta = target - self.column("last_value")
        self._frame: pd.DataFrame | None = None
        self._weights: dict[float, np.ndarray | None] = {}
        self._datasets: dict[tuple[Any, ...], lgb.Dataset] = {}

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as a frame of their own (made on first use, for the models that want one)."""
        if self._frame is None:
            self._frame = self.source if self.index is None else self.source.take(self.index)
        return self._frame

    def column(self, name: str) -> np.ndarray:
        """The rows' values of one column, as float64."""
        values = self.source[name].to_numpy(dtype=np.float64)
        return values if self.index is None else values[self.index]

    def weights(self, half_life_years: float) -> np.ndarray | None:
        if half_life_years not in self._weights:
            self._weights[half_life_years] = recency_weights(self.column("day"), half_life_years)
        return self._weights[half_life_years]

    def sample(self, rows: int, seed: int) -> np.ndarray:
        """Positions among these rows of a fixed sample of `rows` of them, in order: uniform, without replacement.

        The same rows, size and seed give the same sample, so the models of a horizon share it (and its
        binned Dataset).
        """
        return fixed_sample(len(self.delta), rows, seed)

    def dataset(self, model: DeltaModel, params: dict[str, Any], sample: int = 0, subsample: int = 0) -> lgb.Dataset:
        """LightGBM's binned Dataset of these rows for model's inputs; sample: of a fixed sample of so many (0: all).

        subsample: of a fixed sample of so many of those rows (0: all of them), drawn from them as the
        sample is drawn from the rows: a subset of their Dataset, with its bins (no second binning).
        """
        sample = sample if 0 < sample < len(self.delta) else 0
        key = (tuple(model.features), model.half_life_years, sample, *(params.get(k) for k in _DATASET_PARAMS))
        data = self._binned(key, model, params, sample)
        of = sample or len(self.delta)
        if not 0 < subsample < of:
            return data
        if (key, subsample) not in self._datasets:
            chosen = fixed_sample(of, subsample, int(params["seed"]))
            self._datasets[key, subsample] = data.subset(chosen.astype(np.int32), params=params).construct()
        return self._datasets[key, subsample]

    def _binned(self, key: tuple[Any, ...], model: DeltaModel, params: dict[str, Any], sample: int) -> lgb.Dataset:
        if key not in self._datasets:
            # LightGBM (with scikit-learn, which it imports) only where a model is fitted: a command that
            # fits nothing (a repeated run) does not import it (docs/core.md).
            from airwatch.domain.lgbdata import BlocksDataset, InputBlocks

            index, delta, weight = self.index, self.delta, self.weights(model.half_life_years)
            if sample:
                chosen = self.sample(sample, int(params["seed"]))
                index = chosen if index is None else index[chosen]
                delta, weight = delta[chosen], None if weight is None else weight[chosen]
            inputs = InputBlocks([self.source[name].to_numpy(dtype=np.float64) for name in model.features], index)
            data = BlocksDataset([inputs], delta, weight=weight,
                                  feature_name=list(model.features), params=params, free_raw_data=True)  # fmt: skip
            self._datasets[key] = data.construct()
            # LightGBM sampled and binned the rows in its threads, whose arenas keep what they freed:
            # 0.15 GB on a national horizon, under the boosting that follows (docs/core.md).
            memory.trim()
        return self._datasets[key]


@dataclass(frozen=True)
class StoredTrees:
    """A LightGBM model read back from its text (the registry's file), without LightGBM.

    What predicts it is the core's walk of its trees (DeltaModel.trees), so serving a champion builds
    no LightGBM Booster (its trees parsed into LightGBM's memory, its OpenMP threads started) only to
    write the same text back out for the core: the national predict stage peaked 1-5% lower (docs/core.md).
    """

    text: str


@dataclass
class DeltaModel:
    """A learned model of the change from persistence on the feature columns.

    Once fitted it predicts through its exported form, the one the registry stores: LightGBM's native
    Booster, or ridge's affine map (imputation, scaling and coefficients folded into arrays). So the
    scores of training are the scores of the model that is served. A Booster's trees are predicted by
    the C++ core (core.Forest, read from the Booster's own text): LightGBM's numbers to the bit, from the
    frame's columns as they are, faster than LightGBM's own predict (docs/core.md).
    """

    name: str
    features: list[str]
    params: dict[str, Any]
    seed: int
    half_life_years: float
    threads: int = 2
    form_: Any = None  # a LightGBM Booster (fitted here), StoredTrees (read back) or a RidgeForm
    # The form (Booster or StoredTrees) the core's trees were read from, and those trees (DeltaModel.trees).
    trees_: tuple[Any, core.Forest] | None = field(default=None, init=False, repr=False, compare=False)
    key_columns: ClassVar[tuple[str, ...]] = ()

    def fit(self, frame: pd.DataFrame, target: np.ndarray) -> DeltaModel:
        return self.fit_rows(Rows(frame, target))

    def fit_rows(self, rows: Rows) -> DeltaModel:
        """Fit on prepared rows.

        LightGBM trains on the rows' binned Dataset for its inputs, shared by every LightGBM model of
        the same rows and inputs (a horizon's point model and quantiles); with sample_rows, of a fixed
        sample of at most that many of the rows.
        """
        if self.name == RIDGE:
            self.form_ = RidgeForm.fit(rows.source, self.features, rows.delta, rows.weights(self.half_life_years),
                                       float(self.params.get("alpha", 1.0)), index=rows.index,
                                       threads=self.threads)  # fmt: skip
            return self
        if not (self.name == LIGHTGBM or self.name.startswith(LIGHTGBM + "_q")):
            raise ValueError(f"unknown learned candidate {self.name!r}")
        lgb = gbm.lightgbm()
        sample = min(len(rows.delta), self.params.get(SAMPLE_ROWS) or len(rows.delta))
        subsample = min(sample, self.params.get(SUBSAMPLE_ROWS) or sample)
        params = self.booster_params(subsample)

        def boost() -> Any:
            data = rows.dataset(self, params, sample, subsample)
            return lgb.train(params, data, num_boost_round=self.params["n_estimators"])

        # On more than one thread, from LightGBM's own thread (domain/gbm.py: one OpenMP pool a process).
        self.form_ = boost() if self.threads == 1 else gbm.on_thread(boost)
        return self

    def booster_params(self, rows: int) -> dict[str, Any]:
        """LightGBM's parameters for this model on this many rows, as LGBMRegressor would pass them.

        max_bag_rows (the quantile models; the point models under AIRWATCH_TRAIN__LIGHTGBM_MAX_ROWS) lowers
        the bagged share so that at most that many rows are in a round's bag; fewer rows than that over
        the share fit as without it.
        """
        params = {k: v for k, v in self.params.items() if k not in _OURS}
        if (cap := self.params.get(MAX_BAG_ROWS)) and rows * params.get("subsample", 1.0) > cap:
            params["subsample"] = cap / rows
        return {"objective": "regression", **params, "seed": self.seed, "deterministic": True,
                "num_threads": self.threads, "verbose": -1}  # fmt: skip

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if isinstance(self.form_, RidgeForm):
            delta = self.form_.predict(frame, self.features)
        else:
            delta = self.trees().predict([frame[c].to_numpy(dtype=np.float64) for c in self.features], self.threads)
        return frame["last_value"].to_numpy(dtype=np.float64) + delta

    def __getstate__(self) -> dict[str, Any]:
        # The core's trees are not pickled (a copy reads them again from its Booster when it predicts).
        return {**self.__dict__, "trees_": None}

    def model_text(self) -> str:
        """The LightGBM model's text: as read back (StoredTrees), or written by the fitted Booster."""
        form = self.form_
        # A Booster writes its text on every core: from LightGBM's own thread (domain/gbm.py).
        return form.text if isinstance(form, StoredTrees) else gbm.on_thread(form.model_to_string)

    def trees(self) -> core.Forest:
        """The LightGBM model's trees as the core predicts them (read once per fitted or stored model)."""
        if self.trees_ is None or self.trees_[0] is not self.form_:
            forest = core.Forest.from_lightgbm(self.model_text())
            if list(forest.features) != list(self.features):
                raise ValueError(f"{self.name}: the Booster's inputs {forest.features} are not {self.features}")
            self.trees_ = (self.form_, forest)
        return self.trees_[1]


@dataclass(frozen=True)
class RidgeForm:
    """Ridge regression on median-imputed inputs with missing-value indicators, standardized.

    fill: each input's imputed value (training median); flagged: the inputs that had missing values in
    training, each with a missing-value indicator column; mean, scale: the scaler's, over the inputs
    then the indicators; coef, intercept: the ridge's.
    """

    fill: np.ndarray
    flagged: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        features: list[str],
        target: np.ndarray,
        weights: np.ndarray | None,
        alpha: float,
        *,
        index: np.ndarray | None = None,
        threads: int = 1,
    ) -> RidgeForm:
        """What scikit-learn's median imputer (with missing-value indicators), standard scaler and ridge fit.

        The same model, its sums taken in two passes over the rows, without the design matrix ever made
        whole: the core (core.RidgeRows) takes the medians and the design columns' plain and weighted
        sums, then makes the design a block of rows at a time, centered by the weighted means and scaled
        by the weights' square roots, with each column's squared deviations; BLAS adds the block's
        cross-products. Standardizing scales that cross-product matrix by the columns' deviations, so it
        is done on the matrix (inputs squared) rather than on every row: scikit-learn's coefficients and
        forecasts to rounding (1e-12 apart; docs/core.md). index: the rows' positions in frame (None:
        every row). threads: the core's workers (a column each) and how many blocks are worked on at
        once; the core lets go of the GIL, and BLAS runs one thread a call meanwhile (_blas_alone). Each
        block's sums are its own and are added in block order, and each column's median and sums are
        one worker's, so the fit is the same to the bit with any number of threads.
        """
        columns = [frame[c].to_numpy(dtype=np.float64) for c in features]  # views where the frame's are
        n = len(frame) if index is None else len(index)
        rows = core.RidgeRows(columns, index, weights)
        blocks = _row_blocks(n, RIDGE_BLOCK_ROWS)
        workers = max(1, min(threads, len(blocks)))
        imputation = rows.imputation(threads)
        fill, flagged = imputation.fill, imputation.flagged
        width = len(columns) + len(flagged)
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        mean, weighted_mean = imputation.sums / n, imputation.weighted_sums / w.sum()
        # Ridge with an intercept and row weights: center by the weighted means, scale rows by the square
        # roots of the weights, solve the normal equations (Cholesky), as scikit-learn's dense solver does.
        y_offset = np.average(target, weights=w)
        yw = (target - y_offset) * np.sqrt(w)

        made = threading.local()  # each thread's block, made once: a new one's pages cost more than filling it

        def second(b: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            z = getattr(made, "z", None)
            if z is None or len(z) != b.stop - b.start:
                z = made.z = np.empty((b.stop - b.start, width), order="F")
            block_squares = rows.block(fill, flagged, mean, weighted_mean, b.start, z)
            return block_squares, z.T @ z, z.T @ yw[b]

        squares, gram, rhs = np.zeros(width), np.zeros((width, width)), np.zeros(width)
        with _blas_alone(workers > 1), ThreadPoolExecutor(max_workers=workers) as pool:
            # map hands back each block's sums in block order; a block is let go once summed, so as many
            # blocks are held as there are threads.
            for block_squares, block_gram, block_rhs in pool.map(second, blocks):
                squares += block_squares
                gram += block_gram
                rhs += block_rhs
        if workers > 1:
            # What the pool's threads freed stays in their new arenas, under the binning that follows in
            # a blend (60 MB under the national refit's first; docs/core.md): handed back now.
            memory.trim()
        var = squares / n
        constant = var <= n * np.finfo(np.float64).eps * var + (n * mean * np.finfo(np.float64).eps) ** 2
        scale = np.where(constant, 1.0, np.sqrt(var))
        # The standardized rows' cross-products: each input divided by its scale.
        gram /= np.outer(scale, scale)
        rhs /= scale
        gram.flat[:: width + 1] += alpha
        import scipy.linalg

        coef = scipy.linalg.solve(gram, rhs, assume_a="pos", overwrite_a=True)
        z_offset = (weighted_mean - mean) / scale
        return cls(fill, flagged, mean, scale, coef, float(y_offset - z_offset @ coef))

    def predict(self, frame: pd.DataFrame, features: Sequence[str] | None = None) -> np.ndarray:
        """The forecasts of the frame's rows from its columns `features` (default: all), the inputs in order.

        The design is the fit's (the core's, core.RidgeRows), made PREDICT_ROWS rows at a time from the
        columns where they are, less the means: the inputs of a national training side are a GB as one
        matrix.
        """
        names = list(frame.columns) if features is None else list(features)
        rows = core.RidgeRows([frame[c].to_numpy(dtype=np.float64) for c in names])
        out, z = np.empty(len(frame)), None
        for block in _row_blocks(len(frame), PREDICT_ROWS):
            if z is None or len(z) != block.stop - block.start:
                z = np.empty((block.stop - block.start, len(names) + len(self.flagged)), order="F")
            rows.block(self.fill, self.flagged, self.mean, self.mean, block.start, z)  # no weights: less the means
            z /= self.scale
            out[block] = z @ self.coef + self.intercept
        return out


@dataclass
class Blend:
    """The mean of the ridge and LightGBM forecasts.

    Their errors differ (a linear response to weather and lags against thresholds and interactions),
    so the average beats either on days neither owns.
    """

    features: list[str]
    params: dict[str, Any]
    seed: int
    half_life_years: float
    threads: int = 2
    name: str = BLEND
    members_: list[DeltaModel] = field(default_factory=list)
    key_columns: ClassVar[tuple[str, ...]] = ()

    def fit(self, frame: pd.DataFrame, target: np.ndarray) -> Blend:
        return self.fit_rows(Rows(frame, target))

    def fit_rows(self, rows: Rows) -> Blend:
        ridge = {"alpha": self.params["ridge_alpha"]}
        trees = self._trees()
        hl, t = self.half_life_years, self.threads
        self.members_ = [
            DeltaModel(RIDGE, self.features, ridge, self.seed, hl, t).fit_rows(rows),
            DeltaModel(LIGHTGBM, self.features, trees, self.seed, hl, t).fit_rows(rows),
        ]
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.mean([m.predict(frame) for m in self.members_], axis=0)

    def _trees(self) -> dict[str, Any]:
        # Blends saved before the rate was a setting name none; they were fitted at 0.03 (and no bag cap).
        p = self.params
        rate, cap = p.get("lightgbm_learning_rate", 0.03), p.get("lightgbm_max_rows", 0)
        return lightgbm_params(p["lightgbm_rounds"], rate, cap, p.get("lightgbm_sample_rows", 0))

    def of(self, fitted: list[Forecaster]) -> Blend:
        """The blend of members already fitted as candidates of their own (the same fits, not repeated)."""
        ridge = next(c for c in fitted if c.name == RIDGE)
        trees = next(c for c in fitted if c.name == LIGHTGBM)
        assert isinstance(ridge, DeltaModel) and isinstance(trees, DeltaModel)
        assert ridge.params == {"alpha": self.params["ridge_alpha"]}, "the blend's ridge is the ridge candidate"
        assert trees.params == self._trees(), "and its LightGBM the LightGBM one"
        self.members_ = [ridge, trees]
        return self


def lightgbm_params(
    rounds: int, learning_rate: float = LIGHTGBM_LEARNING_RATE, max_rows: int = 0, sample_rows: int = 0
) -> dict[str, Any]:
    """LightGBM's parameters.

    max_rows: at most this many rows in a round's bag (0: half of every row); sample_rows: trained on a
    fixed sample of at most this many rows (0: on every row).
    """
    # Small trees and large leaves: chosen on development windows before the reported backtest periods
    # (Cook County 2000, Queens 2018), where they beat 31 leaves at 0.05.
    # Named only when set: a model without them is the model fitted before they existed.
    cap = ({MAX_BAG_ROWS: max_rows} if max_rows else {}) | ({SAMPLE_ROWS: sample_rows} if sample_rows else {})
    return cap | {
        "n_estimators": rounds,
        "learning_rate": learning_rate,
        "num_leaves": 15,
        "min_child_samples": 100,
        "subsample": 0.5,
        "subsample_freq": 1,
        "colsample_bytree": 0.7,
        "reg_lambda": 1.0,
        "max_bin": 63,
        # Without a fixed layout LightGBM times row- and column-wise histograms on each new dataset
        # and keeps the faster, so a busy machine could change the sums and the model; fixing it
        # makes deterministic=True hold. Column-wise: with bags of at most 50,000 rows a round it built
        # the national refit's nine models in 11.3 s against 12.3 s row-wise, the same trees to the bit
        # (docs/core.md, "Ridge's passes in the core, and four more cuts of the national run").
        "force_col_wise": True,
    }


def make_candidates(
    features: list[str],
    *,
    seed: int,
    lightgbm_rounds: int,
    lightgbm_learning_rate: float = LIGHTGBM_LEARNING_RATE,
    lightgbm_max_rows: int = LIGHTGBM_MAX_ROWS,
    lightgbm_sample_rows: int = LIGHTGBM_SAMPLE_ROWS,
    horizon: int = 1,
    half_life_years: float,
    threads: int = 2,
) -> list[Forecaster]:
    """The candidate set, in a fixed order. threads: LightGBM's (1 when tasks already run in parallel)."""
    hl, rate, cap, sample = half_life_years, lightgbm_learning_rate, lightgbm_max_rows, lightgbm_sample_rows
    blend = {"ridge_alpha": 1.0, "lightgbm_rounds": lightgbm_rounds, "lightgbm_learning_rate": rate}
    # Named only when set: a blend without them is the blend fitted before the settings existed.
    if cap:
        blend["lightgbm_max_rows"] = cap
    if sample:
        blend["lightgbm_sample_rows"] = sample
    return [
        Persistence(),
        Climatology(horizon=horizon),
        DeltaModel(RIDGE, features, {"alpha": 1.0}, seed, hl, threads),
        DeltaModel(LIGHTGBM, features, lightgbm_params(lightgbm_rounds, rate, cap, sample), seed, hl, threads),
        Blend(features, blend, seed, hl, threads),
    ]


QUANTILES = (0.1, 0.9)  # the published 80% interval


def make_quantile(
    features: list[str],
    alpha: float,
    *,
    seed: int,
    rounds: int,
    rate: float,
    half_life_years: float,
    threads: int = 2,
    max_rows: int = QUANTILE_MAX_ROWS,
    sample_rows: int = LIGHTGBM_SAMPLE_ROWS,
    subsample_rows: int = QUANTILE_SAMPLE_ROWS,
) -> DeltaModel:
    """LightGBM for one quantile of the change from persistence (the 80% interval uses 0.1 and 0.9).

    max_rows: at most this many rows in a round's bag (0: half the rows however many, as before);
    sample_rows: the point models' fixed sample of at most this many rows (0: every row), which the
    quantile's rows are drawn from: subsample_rows, at most so many of them (0: all of them).
    """
    params = {**lightgbm_params(rounds, rate, 0), "objective": "quantile", "alpha": alpha}
    if max_rows:
        params[MAX_BAG_ROWS] = max_rows
    if sample_rows:
        params[SAMPLE_ROWS] = sample_rows
    if subsample_rows:  # named only when set: a model without it is the model fitted before it existed
        params[SUBSAMPLE_ROWS] = subsample_rows
    return DeltaModel(f"{LIGHTGBM}_q{int(alpha * 100)}", features, params, seed, half_life_years, threads)


@dataclass(frozen=True)
class Split:
    """A time-ordered split by target date: validation is the final window, training all before it."""

    train: pd.DataFrame
    validation: pd.DataFrame
    validation_start: pd.Timestamp
    validation_end: pd.Timestamp


def usable_rows(frame: pd.DataFrame, horizon: int) -> np.ndarray:
    """Which rows can be learned from and scored for a horizon: target and persistence both known."""
    return (frame[f"target_{horizon}"].notna() & frame["last_value"].notna()).to_numpy()


def time_split(frame: pd.DataFrame, *, horizon: int, validation_days: int, consume: bool = False) -> Split:
    """Rows that can be scored (target and persistence known), split by the target's date.

    consume: the caller hands the frame over; it is emptied as the sides are taken (frames.split_rows).
    """
    # Masks over the whole frame, so that each side is the one copy of its rows (a national frame is a GB).
    usable = usable_rows(frame, horizon)
    if not usable.any():
        raise ValueError("no row has both a target and a persistence value; is the input empty?")
    target_date = (pd.to_datetime(frame["date"]) + pd.Timedelta(days=horizon)).to_numpy()
    end = pd.Timestamp(target_date[usable].max())
    start = end - pd.Timedelta(days=validation_days - 1)
    early = target_date < start.to_datetime64()
    if not (usable & early).any():
        raise ValueError(
            f"the data span less than the validation window ({validation_days} days) plus training time; "
            "lower AIRWATCH_TRAIN__VALIDATION_DAYS or add data"
        )
    train, validation = split_rows(frame, (usable & early, usable & ~early), consume=consume)
    return Split(train, validation, start, end)


def score(predicted: np.ndarray, observed: np.ndarray, persistence: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, bias and RMSE skill over persistence, from the C++ kernels."""
    summary = core.error_summary(predicted, observed)
    skill = core.rmse_skill(predicted, persistence, observed)
    return {
        "rmse": summary.rmse,
        "mae": summary.mae,
        "bias": summary.bias,
        "n": float(summary.n),
        "skill_vs_persistence": skill,
    }


@dataclass
class CandidateResult:
    """A candidate's scores on both sides of the split (and the fitted candidate, when in memory)."""

    name: str
    train: dict[str, float]
    validation: dict[str, float]
    candidate: Forecaster | None = None

    @property
    def overfit_gap(self) -> float:
        """How much worse validation is than training, as a share of validation RMSE."""
        v, t = self.validation["rmse"], self.train["rmse"]
        return float((v - t) / v) if v > 0 else 0.0


def fit_and_score(candidate: Forecaster, split: Split, *, horizon: int) -> CandidateResult:
    """Fit on the training side, score on both sides."""
    return score_fitted(fit(candidate, split, horizon=horizon), split, horizon=horizon).result


def fold_skills(forecast: np.ndarray, split: Split, *, horizon: int, folds: int = 3) -> list[float]:
    """Skill over persistence on consecutive thirds of the validation window (the fold-spread gate).

    From the validation forecasts already made: one per validation row, in order.
    """
    order = np.argsort(split.validation["date"].to_numpy(), kind="stable")
    observed = split.validation[f"target_{horizon}"].to_numpy(dtype=np.float64)[order]
    persistence = split.validation["last_value"].to_numpy(dtype=np.float64)[order]
    predicted = forecast[order]
    return [
        score(predicted[part], observed[part], persistence[part])["skill_vs_persistence"]
        for part in np.array_split(np.arange(len(order)), folds)
        if len(part)
    ]


class CandidateReport(BaseModel):
    """One candidate of a training: its scores on both sides of the split and where its model is logged."""

    model_config = ConfigDict(frozen=True)

    name: str
    params: dict[str, Any]
    train: dict[str, float]
    validation: dict[str, float]
    overfit_gap: float
    fold_skills: list[float]
    run_id: str


class TrainingReport(BaseModel):
    """What a training run produced, handed from the train stage to the select stage (stored as JSON)."""

    model_config = ConfigDict(frozen=True)

    pollutant: str
    training_id: str
    features_version: str
    observations_version: str
    code_version: str
    horizon: int
    created_utc: str
    features: list[str]
    sites: int
    train_rows: int
    validation_rows: int
    validation_start: str
    validation_end: str
    candidates: list[CandidateReport]
    chosen: str  # the candidate the gates chose, on the validation window
    horizons: list[int]  # the chosen configuration refitted for each, with its interval
    refit_rows: int  # the rows of that refit: every usable row up to the newest observation
    refit_through: str  # the newest target day it learned from
    model_uri: str  # the refitted model (what select registers)
    model_run_id: str
    parent_run_id: str = ""

    def candidate(self, name: str) -> CandidateReport:
        return next(c for c in self.candidates if c.name == name)


@dataclass(frozen=True)
class TrainingPlan:
    """What a training fits: the feature columns, the time-ordered split and the candidates."""

    features: list[str]
    split: Split
    candidates: list[Forecaster]


def plan_training(
    frame: pd.DataFrame,
    features: list[str],
    *,
    horizon: int,
    validation_days: int,
    seed: int,
    lightgbm_rounds: int,
    lightgbm_learning_rate: float = LIGHTGBM_LEARNING_RATE,
    lightgbm_max_rows: int = LIGHTGBM_MAX_ROWS,
    lightgbm_sample_rows: int = LIGHTGBM_SAMPLE_ROWS,
    half_life_years: float,
    threads: int = 2,
    consume: bool = False,
) -> TrainingPlan:
    split = time_split(frame, horizon=horizon, validation_days=validation_days, consume=consume)
    candidates = make_candidates(features, seed=seed, lightgbm_rounds=lightgbm_rounds,
                                 lightgbm_learning_rate=lightgbm_learning_rate, lightgbm_max_rows=lightgbm_max_rows,
                                 lightgbm_sample_rows=lightgbm_sample_rows,
                                 horizon=horizon,
                                 half_life_years=half_life_years, threads=threads)  # fmt: skip
    return TrainingPlan(features, split, candidates)


@dataclass(frozen=True)
class Evaluation:
    """A fitted candidate's scores, its skill on each validation fold and its validation forecasts."""

    result: CandidateResult
    fold_skills: list[float]
    validation_forecast: np.ndarray

    def metrics(self) -> dict[str, float]:
        r = self.result
        return (
            {f"train_{k}": v for k, v in r.train.items()}
            | {f"val_{k}": v for k, v in r.validation.items()}
            | {"overfit_gap": r.overfit_gap}
        )

    def report(self, params: dict[str, Any], run_id: str) -> CandidateReport:
        r = self.result
        return CandidateReport(name=r.name, params=params, train=r.train, validation=r.validation,
                               overfit_gap=r.overfit_gap, fold_skills=self.fold_skills, run_id=run_id)  # fmt: skip


def fit(candidate: Forecaster, split: Split, *, horizon: int) -> Forecaster:
    """The candidate fitted on the training side."""
    return candidate.fit(split.train, split.train[f"target_{horizon}"].to_numpy(dtype=np.float64))


def score_fitted(candidate: Forecaster, split: Split, *, horizon: int) -> Evaluation:
    """A fitted candidate's scores on both sides, its fold skills and validation forecasts."""
    return score_all([candidate], split, horizon=horizon)[0]


def score_all(fitted: list[Forecaster], split: Split, *, horizon: int) -> list[Evaluation]:
    """score_fitted of each fitted candidate, predicting each side once per model.

    A blend's forecast is the mean of its members', so when its members are candidates of the list
    their forecasts are reused rather than made again: at national scale each LightGBM prediction of
    the training side costs seconds.
    """
    target = f"target_{horizon}"
    sides = {"train": split.train, "validation": split.validation}
    made: dict[tuple[int, str], np.ndarray] = {}

    def forecast(model: Forecaster, side: str) -> np.ndarray:
        key = (id(model), side)
        if key not in made:
            if isinstance(model, Blend):
                made[key] = np.mean([forecast(m, side) for m in model.members_], axis=0)
            else:
                made[key] = np.asarray(model.predict(sides[side]), dtype=np.float64)
        return made[key]

    evaluations = []
    for candidate in fitted:
        scores = {
            side: score(forecast(candidate, side), frame[target].to_numpy(dtype=np.float64),
                        frame["last_value"].to_numpy(dtype=np.float64))
            for side, frame in sides.items()
        }  # fmt: skip
        result = CandidateResult(candidate.name, scores["train"], scores["validation"], candidate)
        validation = forecast(candidate, "validation")
        evaluations.append(Evaluation(result, fold_skills(validation, split, horizon=horizon), validation))
    return evaluations


def fit_all(candidates: list[Forecaster], fitted: list[Forecaster]) -> list[Forecaster]:
    """The candidate list with each fitted, the blend composed from its fitted members."""
    by_name = {c.name: c for c in fitted}
    return [c.of(fitted) if isinstance(c, Blend) else by_name[c.name] for c in candidates]


def like(candidate: Forecaster, *, horizon: int, threads: int = 2) -> Forecaster:
    """A new, unfitted candidate of the same configuration (for another horizon or other rows)."""
    if isinstance(candidate, Persistence):
        return Persistence()
    if isinstance(candidate, Climatology):
        return Climatology(params=dict(candidate.params), horizon=horizon)
    if isinstance(candidate, Blend):
        return Blend(candidate.features, dict(candidate.params), candidate.seed, candidate.half_life_years, threads)
    assert isinstance(candidate, DeltaModel)
    return DeltaModel(candidate.name, candidate.features, dict(candidate.params), candidate.seed,
                      candidate.half_life_years, threads)  # fmt: skip


@dataclass
class HorizonModel:
    """The models of one horizon: the point forecast and the 80% interval's two quantiles."""

    point: Forecaster
    lower: DeltaModel
    upper: DeltaModel

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        point = np.asarray(self.point.predict(frame), dtype=np.float64)
        # Quantile models are fitted apart and may cross the point forecast; a published interval holds it.
        lower = np.fmin(np.asarray(self.lower.predict(frame), dtype=np.float64), point)
        upper = np.fmax(np.asarray(self.upper.predict(frame), dtype=np.float64), point)
        return point, lower, upper


@dataclass
class ForecastSet:
    """What is registered and served: one configuration fitted for every horizon, with intervals."""

    candidate: str
    horizons: dict[int, HorizonModel]

    @property
    def point(self) -> Forecaster:
        """The configuration as the first horizon's point model (what promotion compares)."""
        return self.horizons[min(self.horizons)].point

    def features(self, horizon: int) -> list[str]:
        inputs = getattr(self.horizons[horizon].point, "features", None)
        return list(inputs) if inputs is not None else list(self.horizons[horizon].lower.features)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per input row and horizon: row (the input's position), horizon, forecast, lower, upper."""
        parts = []
        for h, model in sorted(self.horizons.items()):
            point, lower, upper = model.predict(frame)
            parts.append(pd.DataFrame({"row": np.arange(len(frame)), "horizon": h, "forecast": point,
                                       "lower": lower, "upper": upper}))  # fmt: skip
        return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class RefitJob:
    """One model of a refit: a horizon's point model or one of its interval quantiles, unfitted."""

    horizon: int
    part: str  # point, lower, upper
    model: Forecaster


def refit_jobs(
    candidate: Forecaster,
    features_for: Callable[[int], list[str]],
    *,
    horizons: tuple[int, ...],
    seed: int,
    quantile_rounds: int,
    quantile_learning_rate: float,
    half_life_years: float,
    threads: int = 2,
    quantile_max_rows: int = QUANTILE_MAX_ROWS,
    sample_rows: int = LIGHTGBM_SAMPLE_ROWS,
    quantile_sample_rows: int = QUANTILE_SAMPLE_ROWS,
) -> list[RefitJob]:
    """The models a refit of the chosen configuration fits: per horizon, a point model and two quantiles."""
    jobs = []
    for h in horizons:
        point = like(_with_features(candidate, features_for(h)), horizon=h, threads=threads)
        jobs.append(RefitJob(h, "point", point))
        for part, alpha in zip(("lower", "upper"), QUANTILES, strict=True):
            quantile = make_quantile(features_for(h), alpha, seed=seed, rounds=quantile_rounds,
                                     rate=quantile_learning_rate, half_life_years=half_life_years, threads=threads,
                                     max_rows=quantile_max_rows, sample_rows=sample_rows,
                                     subsample_rows=quantile_sample_rows)  # fmt: skip
            jobs.append(RefitJob(h, part, quantile))
    return jobs


def jobs_like(models: ForecastSet, *, threads: int = 2) -> list[RefitJob]:
    """The refit jobs of a fitted ForecastSet's configuration, unfitted: to fit it again on other rows."""
    return [
        RefitJob(h, part, like(getattr(model, part), horizon=h, threads=threads))
        for h, model in sorted(models.horizons.items())
        for part in ("point", "lower", "upper")
    ]


def known_on(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The feature frame as it was known on day: rows up to it, and no target observed after it."""
    dates = pd.to_datetime(frame["date"])
    out = frame[dates <= day].copy()
    for column in [c for c in out.columns if c.startswith("target_")]:
        horizon = int(column.removeprefix("target_"))
        out.loc[pd.to_datetime(out["date"]) > day - pd.Timedelta(days=horizon), column] = np.nan
    return out


def fit_horizon(jobs: list[RefitJob], frame: pd.DataFrame) -> list[Forecaster]:
    """The models of one horizon's refit, fitted on every usable row of the horizon.

    Usable: target and persistence known. The rows are selected once, by position (each model reads
    its columns of them), and LightGBM bins them once for all the models.
    """
    (horizon,) = {job.horizon for job in jobs}
    index = np.flatnonzero(usable_rows(frame, horizon))
    rows = Rows(frame, frame[f"target_{horizon}"].to_numpy(dtype=np.float64)[index], index)
    models = []
    for job in jobs:
        models.append(job.model.fit_rows(rows))
        # What the fit's threads freed (LightGBM's, in their arenas) goes back before the next fit: kept,
        # it was under the next horizon's peak (a national refit's resident size crept by 0.1 GB a
        # horizon; docs/core.md).
        memory.trim()
    return models


def refit_groups(jobs: list[RefitJob], *, apart: bool) -> list[list[RefitJob]]:
    """Refit jobs in groups of one fit_horizon each, in horizon order.

    Each horizon's models together (its point model and quantiles bin their rows once), or, apart,
    its point model alone and its two quantiles together, so that the groups (costs 150, 200, 150,
    200 ... rounds) split evenly across workers running side by side.
    """
    groups = []
    for h in sorted({j.horizon for j in jobs}):
        mine = [j for j in jobs if j.horizon == h]
        parts = ([j for j in mine if j.part == "point"], [j for j in mine if j.part != "point"]) if apart else (mine,)
        groups += [g for g in parts if g]
    return groups


def assemble(candidate: str, groups: list[list[RefitJob]], fitted: list[list[Forecaster]]) -> ForecastSet:
    """The fitted models of a refit (refit_groups' groups and fit_horizon's models of each) as one ForecastSet."""
    parts: dict[int, dict[str, Any]] = {}
    for jobs, models in zip(groups, fitted, strict=True):
        for job, model in zip(jobs, models, strict=True):
            parts.setdefault(job.horizon, {})[job.part] = model
    return ForecastSet(candidate, {h: HorizonModel(**p) for h, p in parts.items()})


def refit_columns(chosen: Forecaster, frame_columns: list[str]) -> list[str]:
    """The feature frame's columns a refit of `chosen` reads: inputs, targets, the day and persistence.

    Not the day's own value and its source, which no model reads, nor the site and the date unless the
    model says it reads them (its key_columns: climatology learns by them): the refit's frame is the
    training's largest (1.4 M rows nationally).
    """
    unread = {"value", "value_source", "site_id", "date"} - set(chosen.key_columns)
    return [c for c in frame_columns if c not in unread]


def refit_extent(frame: pd.DataFrame, horizon: int) -> tuple[int, str]:
    """How many rows a refit learns from for a horizon, and the newest observed day among its targets."""
    usable = usable_rows(frame, horizon)
    newest = pd.Timestamp(frame["date"].to_numpy()[usable].max() if usable.any() else pd.NaT)
    return int(usable.sum()), str((newest + pd.Timedelta(days=horizon)).date())


def _with_features(candidate: Forecaster, features: list[str]) -> Forecaster:
    if isinstance(candidate, DeltaModel | Blend):
        return replace(candidate, features=features)
    return candidate
