"""Feature drift of the latest inference batch against the champion's training rows, season by season.

Air quality and its drivers follow the seasons (summer ozone, winter PM2.5 inversions, temperature),
so a January batch compared with a whole year of training rows would always look drifted. The
reference is therefore restricted to the calendar weeks of the current batch: its ISO weeks, plus or
minus a margin, in every year of the reference. Per feature, PSI (over the reference's decile bins),
the Kolmogorov-Smirnov statistic and the Wasserstein-1 distance come from the C++ kernel in one call
for the whole feature matrix. Missing values (NaN) are left out of both samples; a feature with too
few values on either side is reported as not evaluated, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from airwatch import core

# ISO week 53 exists in some years only and holds the last days of December; it is treated as week 52
# so that weeks compare on one 52-week circle (week 52 and week 1 are neighbours).
WEEKS = 52


@dataclass(frozen=True)
class DriftThresholds:
    """When a feature counts as drifted: PSI or KS at or above its threshold.

    PSI 0.2 is the usual "significant shift" level (below 0.1 no shift, 0.1-0.2 moderate). KS 0.1, a
    gap of ten percentage points between the two CDFs, is an effect size rather than a test: a day's
    batch of ~1,500 sites against ~50,000 reference rows would reject equality (p < 0.05) at a gap of
    about 0.035, and the sites of one day are not independent (one weather system moves a region), so a
    p-value would flag every day. Wasserstein is reported in each feature's own units and has no
    threshold that fits all features.
    """

    psi: float = 0.2
    ks: float = 0.1


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    n_reference: int  # non-missing values in the season-restricted reference
    n_current: int
    evaluated: bool
    psi: float  # NaN when not evaluated
    ks: float
    wasserstein: float  # in the feature's units
    drifted: bool  # False when not evaluated
    reason: str = ""  # why the feature was not evaluated


@dataclass(frozen=True)
class DriftReport:
    features: tuple[FeatureDrift, ...]
    current_weeks: tuple[int, ...]  # ISO weeks of the current batch (53 as 52)
    reference_weeks: tuple[int, ...]  # the weeks the reference was restricted to (all 52 without a margin)
    reference_rows: int  # rows of the reference in those weeks
    current_rows: int
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)

    @property
    def drifted(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    def frame(self) -> pd.DataFrame:
        """One row per feature."""
        return pd.DataFrame([asdict(f) for f in self.features], columns=list(FeatureDrift.__dataclass_fields__))


def iso_week(dates: pd.Series | pd.DatetimeIndex | npt.ArrayLike) -> npt.NDArray[np.int64]:
    """ISO 8601 week number (1-53) of each date; 0 where the date is missing."""
    days = pd.to_datetime(pd.Series(np.asarray(dates))).to_numpy(dtype="datetime64[D]")
    missing = np.isnat(days)
    d = np.where(missing, np.datetime64(0, "D"), days).astype(np.int64)
    # An ISO week belongs to the year of its Thursday and week 1 holds the year's first Thursday, so the
    # week is the number of whole weeks from 1 January of the Thursday's year. 1970-01-01 was a Thursday.
    thursday = d - (d + 3) % 7 + 3
    jan1 = thursday.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    week = (thursday - jan1) // 7 + 1
    return np.where(missing, 0, week)


def season_weeks(current_weeks: Sequence[int], margin_weeks: int) -> npt.NDArray[np.bool_]:
    """Which ISO weeks lie within margin_weeks of a current week, around the year: index 1-52 (53 as 52)."""
    weeks = np.arange(WEEKS + 1)
    allowed = np.zeros(WEEKS + 1, dtype=bool)
    for w in set(current_weeks):
        gap = np.abs(weeks - min(int(w), WEEKS))
        allowed |= np.minimum(gap, WEEKS - gap) <= margin_weeks
    allowed[0] = False  # the week of a missing date
    return allowed


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str],
    *,
    date_column: str = "date",
    margin_weeks: int | None = 2,
    thresholds: DriftThresholds | None = None,
    min_values: int = 200,
    bins: int = 10,
    threads: int = 2,
) -> DriftReport:
    """Drift of each feature of the current batch from the reference rows of the same calendar weeks.

    reference: the champion's training rows; current: the latest inference batch. Both need
    date_column and the features (numbers). The reference keeps the rows whose ISO week is within
    margin_weeks of a week of the current batch, in any year (None: every row, no season restriction).
    The default ±2 weeks gives five weeks of each reference year for a one-day batch: a wider margin
    mixes in more of the seasonal trend (spring and autumn move fastest), a narrower one leaves fewer
    rows. A feature with fewer than min_values non-missing values on either side is not evaluated: at
    200 current values the KS statistic of an undrifted feature passes 0.1 in about 4% of batches by
    sampling noise alone, and ever more often with fewer. Calendar features
    (day of year, weekday) of a one-day batch always differ from a five-week reference: leave them out.
    A feature absent from either frame is reported as not evaluated rather than raising, so a changed
    schema shows up in the report.
    """
    thresholds = thresholds or DriftThresholds()
    current_weeks = iso_week(current[date_column])
    weeks_seen = [int(w) for w in np.unique(np.minimum(current_weeks[current_weeks > 0], WEEKS))]
    reference_week = np.minimum(iso_week(reference[date_column]), WEEKS)
    if margin_weeks is None:
        allowed = np.ones(WEEKS + 1, dtype=bool)
        allowed[0] = False  # a reference row without a date cannot be placed in a season
    else:
        allowed = season_weeks(weeks_seen, margin_weeks)
    keep = allowed[reference_week]
    present = [f for f in features if f in reference.columns and f in current.columns]
    ref_rows = reference.loc[keep, present] if not keep.all() else reference[present]
    ref_matrix = ref_rows.to_numpy(dtype=np.float64, na_value=np.nan)
    stats = core.drift_columns(ref_matrix, current[present].to_numpy(dtype=np.float64, na_value=np.nan), bins, threads)
    column = {name: j for j, name in enumerate(present)}
    out = []
    for name in features:
        if name not in column:
            side = "reference" if name not in reference.columns else "current"
            out.append(_not_evaluated(name, 0, 0, f"absent from the {side} frame"))
            continue
        j = column[name]
        n_ref, n_cur = int(stats.n_reference[j]), int(stats.n_current[j])
        if min(n_ref, n_cur) < min_values:
            short = [f"{n} {side}" for n, side in ((n_ref, "reference"), (n_cur, "current")) if n < min_values]
            out.append(_not_evaluated(name, n_ref, n_cur, f"too few values: {', '.join(short)} (minimum {min_values})"))
            continue
        psi, ks = float(stats.psi[j]), float(stats.ks[j])
        drifted = psi >= thresholds.psi or ks >= thresholds.ks
        out.append(FeatureDrift(name, n_ref, n_cur, True, psi, ks, float(stats.wasserstein[j]), drifted))
    return DriftReport(
        features=tuple(out),
        current_weeks=tuple(weeks_seen),
        reference_weeks=tuple(int(w) for w in np.flatnonzero(allowed)),
        reference_rows=int(keep.sum()),
        current_rows=len(current),
        thresholds=thresholds,
    )


def _not_evaluated(name: str, n_ref: int, n_cur: int, reason: str) -> FeatureDrift:
    nan = float("nan")
    return FeatureDrift(name, n_ref, n_cur, False, nan, nan, nan, False, reason)


# Inputs that say where or when a row is rather than what the air and weather were: a one-week batch
# always differs from the reference on them (the calendar) or they never change (a site's place, its
# distance to a station).
_NOT_DRIFT = {"doy_sin", "doy_cos", "weekday", "latitude", "longitude"}


def monitored_features(features: Sequence[str]) -> list[str]:
    """The model inputs whose drift the monitor reports."""
    return [f for f in features if f not in _NOT_DRIFT and not f.endswith("_km")]
